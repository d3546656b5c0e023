"""From uploaded files to predictions: decode and crop (in threads), then run through the batcher.

Per-item failures (an undecodable image, a box outside its image, a crop the predictor refuses, a
crop the network fails on) come back as :class:`~service.http.errors.ApiError` values in the item's
slot (the runtime's :class:`~service.runtime.engine.ItemFailure` is mapped by :func:`item_failure_error`);
request-wide conditions raise: 429 ``queue_full`` (with ``Retry-After``), 504 ``timeout``, 503
``shutting_down``, and 499 ``client_closed_request`` when the client disconnects while its crops
wait (they are then dropped from the queue uncomputed, see :mod:`service.http.disconnect`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import numpy as np
from fastapi import Header

from model.inference import MAX_SIDE, MIN_SIDE, Prediction
from service.http.disconnect import current_channel, wait_for_disconnect
from service.http.errors import ApiError
from service.http.images import Box, BudgetExceeded, Crop, PixelBudget, crop_box, declared_pixels, decode_image
from service.http.schemas import item_error_json
from service.http.video import VideoInfo, iter_video_frames
from service.runtime.batcher import BatcherClosedError, DynamicBatcher, QueueFullError, WorkerCrashedError
from service.runtime.engine import CropItem, ItemFailure
from service.runtime.state import ServiceState

__all__ = [
    "Deadline",
    "PreparedCrop",
    "RequestTimeoutHeader",
    "check_capacity",
    "decode_crops",
    "error_entry",
    "item_failure_error",
    "predict_crops",
    "raise_if_all_failed",
    "sequence_crops",
]

#: The optional client deadline header of the inference endpoints (seconds, capped by the server's).
RequestTimeoutHeader = Annotated[
    float | None,
    Header(
        alias="X-Request-Timeout",
        ge=1.0,
        le=3600.0,
        description="Give up (504) after this many seconds, if sooner than the server's request timeout. "
        "At least 1 s (smaller values are refused with 422: no batch can be promised sooner).",
    ),
]


@dataclass(frozen=True)
class Deadline:
    """The request's time budget (``request_timeout_s`` from its arrival)."""

    expires: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    @classmethod
    def for_request(cls, server_timeout_s: float, client_timeout_s: float | None) -> Deadline:
        """The server's timeout, shortened by the client's ``X-Request-Timeout`` when that is smaller."""
        seconds = server_timeout_s if client_timeout_s is None else min(server_timeout_s, client_timeout_s)
        return cls.after(seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())


@dataclass(frozen=True)
class PreparedCrop:
    """A decoded person crop and how long decoding took."""

    crop: Crop
    decode_ms: float


def _crop(image: np.ndarray, box: Box | None, max_pixels: int, what: str) -> Crop:
    if box is None:
        return Crop(pixels=image, offset=(0, 0))
    return crop_box(image, box, max_pixels=max_pixels, what=what)


def _decode_all(
    blobs: Sequence[bytes], boxes: Sequence[Box | None], max_pixels: int, budget: PixelBudget, name: str
) -> list[PreparedCrop | ApiError]:
    out: list[PreparedCrop | ApiError] = []
    for i, (data, box) in enumerate(zip(blobs, boxes)):
        start = time.perf_counter()
        try:
            image = decode_image(data, max_pixels=max_pixels, what=f"{name}[{i}]", budget=budget)
            crop = _crop(image, box, max_pixels, f"box of {name}[{i}]")
        except BudgetExceeded:
            raise
        except ApiError as exc:
            out.append(exc)
            continue
        out.append(PreparedCrop(crop, (time.perf_counter() - start) * 1000.0))
    return out


#: Requests whose images together declare at most this many pixels (e.g. a few person crops of
#: surveillance size) are decoded on the event loop: a 96x48 PNG decodes in ~0.05 ms, less than
#: handing the work to a thread and back, which also wakes a thread that competes for the GIL.
INLINE_DECODE_PIXELS = 128 * 128


def _small_enough_inline(blobs: Sequence[bytes]) -> bool:
    total = 0
    for data in blobs:
        pixels = declared_pixels(data)
        if pixels is None:  # unreadable header: decoding fails fast, but take the careful path
            return False
        total += pixels
        if total > INLINE_DECODE_PIXELS:
            return False
    return True


async def decode_crops(
    state: ServiceState, blobs: Sequence[bytes], boxes: Sequence[Box | None] | None, name: str
) -> list[PreparedCrop | ApiError]:
    """Decode images (and cut their boxes); one crop or error per image.

    Small requests (:data:`INLINE_DECODE_PIXELS`) are decoded on the event loop, the others in a
    worker thread (at most ``_CPU_JOBS`` at once).

    Raises:
        ApiError: 413 ``too_many_pixels`` when the images together exceed ``max_request_pixels``.
    """
    boxes = list(boxes) if boxes is not None else [None] * len(blobs)
    s = state.settings
    budget = PixelBudget(s.max_request_pixels)
    if _small_enough_inline(blobs):
        return _decode_all(list(blobs), boxes, s.max_image_pixels, budget, name)
    return await anyio.to_thread.run_sync(
        _decode_all, list(blobs), boxes, s.max_image_pixels, budget, name, limiter=state.cpu_limiter
    )


def _crops_from_video(
    data: bytes,
    track: Sequence[Box | None] | None,
    max_pixels: int,
    max_frames: int,
    budget: PixelBudget,
    info: VideoInfo,
) -> list[PreparedCrop | ApiError | None]:
    out: list[PreparedCrop | ApiError | None] = []
    for i, frame in enumerate(iter_video_frames(data, max_pixels=max_pixels, max_frames=max_frames, info=info)):
        if track is not None and i >= len(track):
            continue  # decoded to count the frames only: the track is checked against them afterwards
        start = time.perf_counter()
        box = None if track is None else track[i]
        if track is not None and box is None:
            out.append(None)  # no person in this frame
            continue
        try:
            crop = _crop(frame, box, max_pixels, f"track[{i}]")
        except ApiError as exc:
            out.append(exc)
            continue
        h, w = crop.pixels.shape[:2]
        budget.take(h * w, f"frame {i}")  # only the crops are kept, not the frames
        out.append(PreparedCrop(crop, (time.perf_counter() - start) * 1000.0))
    return out


def _check_track(track: Sequence[Box | None] | None, info: VideoInfo) -> None:
    """422 unless the track has one entry per frame (decoded, or declared by a truncated file's header)."""
    if track is None or len(track) == info.decoded_frames:
        return
    if info.truncated and len(track) == info.declared_frames:
        return  # the missing frames are reported per frame and in the answer's warnings
    declared = (
        "" if info.declared_frames in (None, info.decoded_frames) else f" (its header says {info.declared_frames})"
    )
    raise ApiError(
        422,
        "track_length_mismatch",
        f"the track has {len(track)} entries but the video has {info.decoded_frames} decodable frames{declared}; "
        "send one entry per frame (null where no person is visible)",
        extra={
            "track_entries": len(track),
            "video_frames": info.decoded_frames,
            "declared_frames": info.declared_frames,
        },
    )


async def _video_crops(
    state: ServiceState, data: bytes, track: Sequence[Box | None] | None
) -> tuple[list[PreparedCrop | ApiError | None], VideoInfo]:
    """Decode a whole video frame by frame and cut the track's boxes (``None`` where the track has no box).

    Without a track every frame is a whole crop. Decoding runs in a worker thread. With a track
    the list has one entry per track entry: frames a truncated file lacks are 422
    ``frame_missing`` errors (the :class:`VideoInfo` says how many frames were decoded and declared).

    Raises:
        ApiError: see :func:`service.http.video.iter_video_frames`; 413 ``too_many_pixels`` when the kept
            crops exceed ``max_request_pixels``; 422 ``track_length_mismatch`` when the track's length
            is neither the number of decodable frames nor (for a truncated file) the header's count.
    """
    s = state.settings
    budget = PixelBudget(s.max_request_pixels)
    info = VideoInfo()
    out = await anyio.to_thread.run_sync(
        _crops_from_video, data, track, s.max_image_pixels, s.max_frames, budget, info, limiter=state.cpu_limiter
    )
    _check_track(track, info)
    if track is not None:
        for i in range(len(out), len(track)):
            out.append(
                None
                if track[i] is None
                else ApiError(422, "frame_missing", f"frame {i} could not be decoded: the video file is truncated")
            )
    return out, info


async def sequence_crops(
    state: ServiceState,
    batcher: DynamicBatcher[CropItem, Any],
    frames: Sequence[bytes],
    videos: Sequence[bytes],
    track: Sequence[Box | None] | None,
) -> tuple[list[PreparedCrop | ApiError | None], list[dict[str, Any]]]:
    """The crops of ``/v1/sequence``: one entry per frame (``None`` where the track has no box), and warnings.

    Args:
        frames: ordered image files, or empty when a video is sent.
        videos: the video file (exactly one when ``frames`` is empty).
        track: per-frame person boxes, or ``None`` (whole frames are the crops).

    Raises:
        ApiError: 400 unless exactly one of frames / one video is sent; 413 ``too_many_frames`` for a
            track longer than ``max_frames``; 422 ``track_length_mismatch``; 429 (see
            :func:`check_capacity`); the video decoding errors of :func:`service.http.video.iter_video_frames`.
    """
    if bool(frames) == bool(videos):
        raise ApiError(400, "bad_request", "send either image files in 'frames' or exactly one file in 'video'")
    if len(videos) > 1:
        raise ApiError(400, "bad_request", f"send one video, got {len(videos)}")
    max_frames = state.settings.max_frames
    if track is not None and len(track) > max_frames:
        raise ApiError(
            413, "too_many_frames", f"track has {len(track)} entries; at most {max_frames} frames are accepted"
        )
    if videos:
        check_capacity(batcher, 1 if track is None else max(1, sum(b is not None for b in track)))
        prepared, info = await _video_crops(state, videos[0], track)
        if not info.truncated:
            return prepared, []
        missing = "" if track is None else " (their track entries are ok=false entries)"
        warning = {
            "code": "truncated_video",
            "detail": f"the video's header states {info.declared_frames} frames but only {info.decoded_frames} could "
            f"be decoded (a cut or damaged file); the missing frames are not in the answer{missing}",
            "declared_frames": info.declared_frames,
            "decoded_frames": info.decoded_frames,
        }
        return prepared, [warning]
    if track is not None and len(track) != len(frames):
        raise ApiError(
            422,
            "track_length_mismatch",
            f"the track has {len(track)} entries for {len(frames)} frames; send one entry per frame",
            extra={"track_entries": len(track), "frames": len(frames)},
        )
    present = [i for i in range(len(frames)) if track is None or track[i] is not None]
    check_capacity(batcher, len(present))
    decoded = await decode_crops(
        state, [frames[i] for i in present], None if track is None else [track[i] for i in present], "frames"
    )
    out: list[PreparedCrop | ApiError | None] = [None] * len(frames)
    for i, d in zip(present, decoded):
        out[i] = d
    return out, []


def check_capacity(batcher: DynamicBatcher[CropItem, Any], items: int) -> None:
    """Admission: 429 before any decoding when the queue cannot take ``items`` more crops now.

    Inside the app (a request channel exists) the room is *reserved* until the crops are submitted
    by :func:`predict_crops`, so requests still decoding count against the queue bound, and it is
    given back when the request ends otherwise.
    """
    channel = current_channel()
    try:
        if channel is None:
            batcher.check_capacity(items)
            return
        batcher.reserve(items)
    except QueueFullError as exc:
        raise ApiError(429, "queue_full", str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None
    except BatcherClosedError as exc:
        raise ApiError(503, "shutting_down", str(exc)) from None
    channel.reserved += items
    channel.reserved_in = batcher


async def predict_crops(
    state: ServiceState,
    batcher: DynamicBatcher[CropItem, Any],
    crops: Sequence[np.ndarray],
    *,
    include_vertices: bool,
    deadline: Deadline,
    cut: Sequence[bool] | None = None,
) -> list[Prediction | ApiError]:
    """Run crops through the shared batcher: one prediction or per-item error per crop; ``cut``: one
    flag per crop (the person goes on beyond it; default: none is).

    Raises:
        ApiError: 429 ``queue_full``, 504 ``timeout``, 503 ``shutting_down`` or 499
            ``client_closed_request`` (the client disconnected; its queued crops were dropped) for
            the whole request.
    """
    flags = [False] * len(crops) if cut is None else [bool(f) for f in cut]
    if len(flags) != len(crops):
        raise ValueError(f"cut has {len(flags)} flags for {len(crops)} crops")
    items = [CropItem(c, include_vertices, f) for c, f in zip(crops, flags)]
    state.requests_waiting += 1
    try:
        results = await _run_unless_disconnected(batcher, items, deadline.remaining())
    except QueueFullError as exc:
        raise ApiError(429, "queue_full", str(exc), headers={"Retry-After": str(exc.retry_after_s)}) from None
    except TimeoutError:
        raise ApiError(
            504,
            "timeout",
            "the request did not finish within its timeout (server limit or X-Request-Timeout); retry later",
        ) from None
    except BatcherClosedError as exc:
        raise ApiError(503, "shutting_down", str(exc)) from None
    finally:
        state.requests_waiting -= 1
    out: list[Prediction | ApiError] = []
    for result in results:
        if isinstance(result, Prediction):
            out.append(result)
            continue
        if isinstance(result, ItemFailure):
            error = item_failure_error(result)
        elif isinstance(result, BatcherClosedError):
            error = ApiError(503, "shutting_down", str(result))
        elif isinstance(result, WorkerCrashedError):
            error = ApiError(500, "internal_error", str(result))
        else:
            error = ApiError(500, "internal_error", f"prediction failed on this item ({type(result).__name__})")
        out.append(error)
    return out


def item_failure_error(failure: ItemFailure) -> ApiError:
    """The client-facing error for a crop the runtime could not predict (see :class:`ItemFailure`)."""
    rejection = failure.rejection
    if failure.reason == "rejected" and rejection is not None:
        if rejection.reason == "too_small":
            size = f"the person crop is {rejection.width}x{rejection.height} pixels (WxH)"
            return ApiError(422, "image_too_small", f"{size}; both sides must be at least {MIN_SIDE}")
        if rejection.reason == "too_large":
            size = f"the person crop is {rejection.width}x{rejection.height} pixels (WxH)"
            return ApiError(413, "too_many_pixels", f"{size}; sides must be at most {MAX_SIDE}")
        return ApiError(422, "invalid_field", rejection.detail)
    if failure.reason == "out_of_memory":
        return ApiError(503, "out_of_memory", f"{failure.detail}; retry later")
    return ApiError(500, "internal_error", f"prediction failed on this item ({failure.detail}); others are unaffected")


async def _run_unless_disconnected(
    batcher: DynamicBatcher[CropItem, Any], items: list[CropItem], timeout: float
) -> list[Any]:
    """``batcher.run(items)``, cancelled (499) when the request's client disconnects meanwhile."""
    channel = current_channel()
    reserved = 0
    if channel is not None and channel.reserved_in is batcher:
        reserved, channel.reserved = channel.reserved, 0
    futures = batcher.submit(items, reserved=reserved)  # at once: the reserved room becomes queued items
    if channel is None or not channel.body_complete or not futures:
        return await batcher.wait(futures, timeout)
    run = asyncio.ensure_future(batcher.wait(futures, timeout))
    watch = asyncio.ensure_future(wait_for_disconnect(channel))
    try:
        await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done() and channel.disconnected:  # the client is gone: drop its queued crops
            for fut in futures:
                fut.cancel()
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
            raise ApiError(499, "client_closed_request", "the client disconnected before its crops were computed")
        return await run
    finally:
        if not run.done():
            for fut in futures:
                fut.cancel()
        for task in (watch, run):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def raise_if_all_failed(entries: Sequence[dict[str, Any]], what: str) -> None:
    """When no entry succeeded, raise the first entry's error with every entry's error in ``items``."""
    if not entries or any(e.get("ok") for e in entries):
        return
    first = entries[0]
    if len(entries) == 1:
        raise ApiError(first["status"], first["error"], first["detail"])
    raise ApiError(
        first["status"],
        first["error"],
        f"every {what} failed; first: {first['detail']}",
        extra={"items": list(entries)},
    )


def error_entry(state: ServiceState, index: int, error: ApiError) -> dict[str, Any]:
    """An item-error dict for ``error`` at ``index`` (counted in ``rscnet_item_errors_total``)."""
    state.metrics.item_errors.labels(error.code).inc()
    return item_error_json(index, error.status, error.code, error.detail)

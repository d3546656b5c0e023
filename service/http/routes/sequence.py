"""``POST /v1/sequence``: temporally smoothed body estimates for the frames of a clip.

Every frame is predicted on its own through the shared batcher, then one
:class:`~model.inference.TemporalModel` reads the sequence: RSC-Net's GRU video module when it is
loaded (and not refused with ``temporal=filter``), else the Gaussian filter. Answers name it in
``temporal_model``.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from model.inference import GruTemporalModel, Prediction
from service.http.api_docs import EXAMPLE_PNG_BASE64, IMAGE_MEDIA_TYPES, error_responses, upload_body
from service.http.auth import require_api_key
from service.http.deps import StateDep
from service.http.errors import ApiError
from service.http.pipeline import (
    Deadline,
    PreparedCrop,
    RequestTimeoutHeader,
    error_entry,
    predict_crops,
    raise_if_all_failed,
    sequence_crops,
)
from service.http.schemas import SequenceParams, SequenceResponse, item_error_json, prediction_json, to_box
from service.http.uploads import parse_fields, read_upload
from service.runtime.model_loader import TemporalModelUnavailable

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/sequence",
    operation_id="estimate_sequence",
    tags=["inference"],
    summary="Temporally smoothed body estimates for ordered frames or a video",
    dependencies=[Depends(require_api_key)],
    responses={
        200: {
            "model": SequenceResponse,
            "description": "One entry per frame; failed or skipped frames are entries with ok=false.",
            "content": {
                "application/json": {
                    "example": {
                        "body_model": "free-smpl-layout",
                        "body_model_id": "free-smpl-layout:c396bc99c5ec44d6",
                        "checkpoint_id": "untrained-seed0",
                        "is_trained": False,
                        "temporal_model": {
                            "name": "gru",
                            "kind": "gru",
                            "checkpoint_id": "0123456789abcdef",
                            "bidirectional": False,
                            "description": GruTemporalModel.MOTION_DESCRIPTION,
                        },
                        "num_frames": 2,
                        "warnings": [],
                        "frames": [
                            {
                                "index": 0,
                                "ok": True,
                                "smoothed": {"index": 0, "ok": True, "betas": [0.0] * 10, "...": "as in /v1/smpl"},
                            },
                            {
                                "index": 1,
                                "ok": False,
                                "status": 422,
                                "error": "no_person",
                                "detail": "track[1] is null: no person in this frame",
                            },
                        ],
                    }
                }
            },
        },
        **error_responses(400, 401, 413, 415, 422, 429, 503, 504),
    },
    openapi_extra=upload_body(
        SequenceParams,
        {
            "frames": (
                True,
                IMAGE_MEDIA_TYPES,
                "Ordered frames (person crops, or full frames with 'track'); one file part per frame",
                False,
            ),
            "video": (False, "video/mp4, video/x-msvideo", "One MP4 or AVI video instead of 'frames'", False),
        },
        json_fields={"track"},
        json_example={
            "frames": [EXAMPLE_PNG_BASE64] * 3,
            "sigma": 1.5,
            "include_single_frame": True,
        },
    ),
)
async def estimate_sequence(
    request: Request,
    state: StateDep,
    request_timeout: RequestTimeoutHeader = None,
) -> JSONResponse:
    """Send either ``frames`` (ordered image files) or one ``video`` (MP4 / AVI), optionally with a
    ``track`` of per-frame person boxes (JSON; ``null`` where the person is not visible). Returns
    per-frame smoothed results (same fields as ``/v1/smpl``) and, with ``include_single_frame``,
    the unsmoothed ones.

    A track box that reaches its frame's bottom row marks the person as cut by the frame (``cut``
    in each result), which a network with a cut input reads for the single-frame answers.

    A ``track`` must have one entry per frame: otherwise 422 ``track_length_mismatch`` naming
    both counts (for a truncated video file, the count its header states is accepted too). A video
    that decodes fewer frames than its header states answers with a ``truncated_video`` entry in
    ``warnings`` giving both counts.
    """
    deadline = Deadline.for_request(state.settings.request_timeout_s, request_timeout)
    predictor, batcher = state.require_ready()
    s = state.settings
    upload = await read_upload(
        request,
        file_fields={"frames", "video"},
        single_file_fields={"video"},
        max_files=s.max_frames,
        too_many_code="too_many_frames",
        too_many_what="frames",
        max_json_depth=s.max_json_depth,
    )
    params = parse_fields(SequenceParams, upload, json_fields={"track"})
    assert state.loaded is not None  # require_ready() passed
    try:  # chosen before any work: asking for a GRU that is not loaded fails at once
        temporal = state.loaded.temporal_model(params.temporal, params.sigma, params.max_turn_deg)
    except TemporalModelUnavailable as exc:
        raise ApiError(422, "invalid_field", f"temporal='gru' but the GRU video module is not loaded ({exc})") from exc
    track = None if params.track is None else [to_box(b, f"track[{i}]") for i, b in enumerate(params.track)]
    prepared, warnings = await sequence_crops(
        state,
        batcher,
        [f.data for f in upload.files.get("frames", [])],
        [v.data for v in upload.files.get("video", [])],
        track,
    )

    ok = [(i, p) for i, p in enumerate(prepared) if isinstance(p, PreparedCrop)]
    started = time.perf_counter()
    # A track box reaching the frame's bottom row is a person cut by the frame (as /v1/smpl's default rule):
    # the single-frame answers read it; the GRU reads the features, the same either way.
    preds = await predict_crops(
        state, batcher, [p.crop.pixels for _, p in ok], include_vertices=params.include_vertices, deadline=deadline,
        cut=[p.crop.cut_by_frame for _, p in ok],
    )
    inference_ms = (time.perf_counter() - started) * 1000.0

    per_frame: list[Prediction | None] = [None] * len(prepared)
    entries: list[dict[str, Any] | None] = [None] * len(prepared)
    for i, p in enumerate(prepared):
        if p is None:
            entries[i] = item_error_json(i, 422, "no_person", f"track[{i}] is null: no person in this frame")
        elif isinstance(p, ApiError):
            entries[i] = error_entry(state, i, p)
    for (i, _), pred in zip(ok, preds):
        if isinstance(pred, ApiError):
            entries[i] = error_entry(state, i, pred)
        else:
            per_frame[i] = pred

    started = time.perf_counter()
    smoothed = await anyio.to_thread.run_sync(
        functools.partial(temporal.smooth, per_frame, include_vertices=params.include_vertices),
        limiter=state.cpu_limiter,
    )
    smoothing_ms = (time.perf_counter() - started) * 1000.0
    for i, p in ok:
        raw, smooth = per_frame[i], smoothed[i]
        if raw is None or smooth is None:
            continue
        timings = {"decode": p.decode_ms, "inference": inference_ms, "smoothing": smoothing_ms}
        entry: dict[str, Any] = {
            "index": i,
            "ok": True,
            "smoothed": prediction_json(
                smooth, index=i, offset=p.crop.offset, crop_box=p.crop.box, timings_ms=timings, cut=p.crop.cut_by_frame
            ),
        }
        if params.include_single_frame:
            entry["single_frame"] = prediction_json(
                raw, index=i, offset=p.crop.offset, crop_box=p.crop.box, timings_ms=timings, cut=p.crop.cut_by_frame
            )
        entries[i] = entry
    results = [e for e in entries if e is not None]
    raise_if_all_failed(results, "frame")
    return JSONResponse(
        {
            "body_model": predictor.name,
            "body_model_id": predictor.model_id,
            "checkpoint_id": predictor.checkpoint_id,
            "is_trained": predictor.is_trained,
            "temporal_model": _temporal_summary(temporal, state.loaded),
            "num_frames": len(results),
            "frames": results,
            "warnings": warnings,
        }
    )


def _temporal_summary(temporal: Any, loaded: Any) -> dict[str, Any]:
    """``temporal_model`` of an answer; while no GRU is loaded the filter's entry says why."""
    summary = temporal.summary()
    if temporal.kind == "filter" and getattr(loaded, "sequence", None) is None:
        summary["gru_note"] = getattr(loaded, "sequence_note", None) or "no video (GRU) checkpoint is loaded"
    return summary

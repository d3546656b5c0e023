"""Uploaded videos (MP4 / AVI) decoded with OpenCV, with limits checked before decoding.

The container is recognised from its magic bytes (MP4/MOV ``ftyp`` box, AVI ``RIFF....AVI ``);
the frame size is read from the stream header and refused (413) when a frame would exceed
``max_pixels``; frames are decoded one at a time (:func:`iter_video_frames`), so a caller can
crop each frame as it comes and keep only the crops, and decoding stops at the frames needed
(more than ``max_frames`` frames is a 413).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from service.http.errors import ApiError

__all__ = ["VIDEO_CONTAINERS", "VideoInfo", "decode_video", "iter_video_frames", "sniff_container"]


@dataclass
class VideoInfo:
    """What :func:`iter_video_frames` learnt about a video (filled in as it decodes).

    Attributes:
        declared_frames: the frame count the container's header states (``None`` when it states none).
        decoded_frames: frames decoded so far (all of them once the iterator is exhausted).
    """

    declared_frames: int | None = None
    decoded_frames: int = 0

    @property
    def truncated(self) -> bool:
        """Fewer frames decoded than the header states (a cut or damaged file)."""
        return self.declared_frames is not None and self.decoded_frames < self.declared_frames


#: Accepted containers (as reported by :func:`sniff_container`).
VIDEO_CONTAINERS: tuple[str, ...] = ("mp4", "avi")


def sniff_container(data: bytes) -> str | None:
    """``"mp4"`` or ``"avi"`` from the file's first bytes, else ``None``."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mp4"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    return None


def iter_video_frames(
    data: bytes,
    *,
    max_pixels: int,
    max_frames: int,
    num_frames: int | None = None,
    what: str = "video",
    info: VideoInfo | None = None,
) -> Iterator[np.ndarray]:
    """Yield the first frames of an MP4 / AVI file as ``(H, W, 3)`` uint8 RGB arrays, one at a time.

    Args:
        data: the file's bytes.
        max_pixels: largest accepted frame ``W * H`` (checked from the stream header first).
        max_frames: most frames accepted.
        num_frames: yield exactly this many frames (from the start); ``None``: all frames.
        what: name used in error messages.
        info: filled in with the header's frame count and the frames decoded.

    Raises:
        ApiError: 415 ``undecodable_video`` (not MP4/AVI, no decodable frame), 413
            ``too_many_pixels`` / ``too_many_frames``, 422 ``not_enough_frames`` (fewer than
            ``num_frames`` frames).
    """
    container = sniff_container(data)
    if container is None:
        raise ApiError(415, "undecodable_video", f"{what} is not an MP4 or AVI file")
    if num_frames is not None and num_frames > max_frames:
        raise ApiError(413, "too_many_frames", f"{num_frames} frames requested; at most {max_frames} are accepted")
    fd, path = tempfile.mkstemp(suffix=f".{container}", prefix="rscnet-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        try:
            if not cap.isOpened():
                raise ApiError(415, "undecodable_video", f"{what} could not be opened as a {container.upper()} video")
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if width * height > max_pixels:
                raise ApiError(
                    413,
                    "too_many_pixels",
                    f"{what} frames are {width}x{height} = {width * height} pixels; at most {max_pixels} are accepted",
                )
            if info is not None:
                declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
                info.declared_frames = declared if declared > 0 else None
            limit = num_frames if num_frames is not None else max_frames
            count = 0
            while num_frames is None or count < num_frames:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] * frame.shape[1] > max_pixels:
                    raise ApiError(415, "undecodable_video", f"{what} has a frame of unexpected shape {frame.shape}")
                count += 1
                if info is not None:
                    info.decoded_frames = count
                if count > limit:
                    raise ApiError(
                        413,
                        "too_many_frames",
                        f"{what} has more than {max_frames} frames; at most {max_frames} are accepted",
                    )
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
    finally:
        os.unlink(path)
    if count == 0:
        raise ApiError(415, "undecodable_video", f"{what} has no decodable frame")
    if num_frames is not None and count < num_frames:
        raise ApiError(
            422, "not_enough_frames", f"the track has {num_frames} entries but {what} has only {count} frames"
        )


def decode_video(
    data: bytes, *, max_pixels: int, max_frames: int, num_frames: int | None = None, what: str = "video"
) -> list[np.ndarray]:
    """All frames of :func:`iter_video_frames` in a list (same arguments and errors)."""
    return list(iter_video_frames(data, max_pixels=max_pixels, max_frames=max_frames, num_frames=num_frames, what=what))

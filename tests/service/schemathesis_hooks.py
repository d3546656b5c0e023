"""Schemathesis hooks (loaded by ``openapi/schemathesis.toml``): real files for the upload parts.

Without them schemathesis sends a 1 x 1 PNG for every image part, which the service rightly
refuses (422 ``image_too_small``), so the network path would never be fuzzed. These strategies
make decodable images of every accepted format (8-96 px a side, random pixels) and small MP4 /
AVI clips, so generated requests reach the batcher, the predictor, smoothing and mesh export.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/bmp": "BMP"}


def _image(fmt: str, h: int, w: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def _clip(suffix: str, fourcc: str, frames: int, h: int = 48, w: int = 32) -> bytes:
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"clip{suffix}")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10, (w, h))
        rng = np.random.default_rng(frames)
        for _ in range(frames):
            writer.write(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        writer.release()
        return Path(path).read_bytes()


for media, fmt in _FORMATS.items():
    schemathesis.openapi.media_type(
        media,
        st.builds(
            lambda h, w, seed, fmt=fmt: _image(fmt, h, w, seed),
            st.integers(8, 96),
            st.integers(8, 96),
            st.integers(0, 2**31 - 1),
        ),
    )
schemathesis.openapi.media_type("video/mp4", st.sampled_from([_clip(".mp4", "mp4v", n) for n in (1, 3, 6)]))
schemathesis.openapi.media_type("video/x-msvideo", st.sampled_from([_clip(".avi", "MJPG", n) for n in (2, 4)]))

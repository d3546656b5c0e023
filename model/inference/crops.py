"""Which person crops the predictor accepts, and why it refuses the others.

The rule lives here once: :meth:`Predictor.predict` checks every crop with :func:`check_crop`
before any work and raises :class:`CropsRejected` with the reason of each refused crop, so a
caller (the service) can answer for those crops and run the others without checking them itself.

>>> check_crop(np.zeros((4, 30, 3), np.uint8)).reason
'too_small'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["MAX_SIDE", "MIN_SIDE", "CropRejection", "CropsRejected", "check_crop", "widen_to_min_side"]

#: Smallest accepted crop side (pixels).
MIN_SIDE = 8
#: Largest accepted crop side (pixels).
MAX_SIDE = 4096


@dataclass(frozen=True)
class CropRejection:
    """Why one crop is refused.

    Attributes:
        reason: ``"not_rgb_uint8"`` (not a ``(H, W, 3)`` uint8 array), ``"too_small"`` (a side below
            :data:`MIN_SIDE`) or ``"too_large"`` (a side above :data:`MAX_SIDE`).
        detail: what was wrong, in words.
        height, width: the crop's size (``None`` when it is not an image).
    """

    reason: Literal["not_rgb_uint8", "too_small", "too_large"]
    detail: str
    height: int | None = None
    width: int | None = None


class CropsRejected(ValueError):
    """Crops :meth:`Predictor.predict` refuses; nothing was computed.

    Args:
        rejections: the refused crops' indices (in the call) and reasons.
    """

    def __init__(self, rejections: Mapping[int, CropRejection]) -> None:
        self.rejections = dict(rejections)
        first = min(self.rejections)
        more = len(self.rejections) - 1
        super().__init__(
            f"crop {first}: {self.rejections[first].detail}" + (f" (and {more} more crops refused)" if more else "")
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.rejections,))


def widen_to_min_side(lo: int, hi: int, side: int = MIN_SIDE) -> tuple[int, int]:
    """The integer pixel interval ``[lo, hi)`` grown about its centre to ``side`` pixels when it is
    shorter: how a person box from a frame is cut (the frame's pixels beside a person too thin for a
    crop the predictor accepts; a 24-px person seen side-on has a box 6-7 px wide).

    >>> widen_to_min_side(10, 14)
    (8, 16)
    """
    if hi - lo >= side:
        return lo, hi
    lo -= (side - (hi - lo)) // 2
    return lo, lo + side


def check_crop(crop: object) -> CropRejection | None:
    """``None`` for a ``(H, W, 3)`` uint8 crop with both sides in ``[MIN_SIDE, MAX_SIDE]``, else why not."""
    if not isinstance(crop, np.ndarray):
        return CropRejection("not_rgb_uint8", f"expected a numpy array (H, W, 3) uint8 RGB, got {type(crop).__name__}")
    if crop.dtype != np.uint8:
        return CropRejection("not_rgb_uint8", f"expected dtype uint8, got {crop.dtype}")
    if crop.ndim != 3:
        return CropRejection("not_rgb_uint8", f"expected 3 dimensions (H, W, 3), got shape {crop.shape}")
    h, w, c = crop.shape
    if c != 3:
        return CropRejection("not_rgb_uint8", f"expected 3 RGB channels, got shape {crop.shape}")
    sides = f"sides must be in [{MIN_SIDE}, {MAX_SIDE}] pixels, got {h}x{w} (HxW)"
    if min(h, w) < MIN_SIDE:
        return CropRejection("too_small", sides, h, w)
    if max(h, w) > MAX_SIDE:
        return CropRejection("too_large", sides, h, w)
    return None

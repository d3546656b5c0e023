"""Partial views: re-crop a full-body training crop to the upper part of the person.

Real crops often show part of a person: the photo or the camera frame cuts them at the waist or
the thighs, a desk or a car hides the legs, and the detector's box then covers only what is
visible. The square crop the service cuts around such a box (``enlarge`` x its longer side, the
same rule as :func:`model.data.real_people.square_crop_box`) is filled by the head and the torso.
The generator always frames the whole person, so a network trained only on its crops draws a
whole, shrunken body inside a half-body crop (measured on the real-people check).

:func:`partial_view` turns a clean full-body crop into such a view: it keeps the person's top
``keep`` fraction (of the silhouette's height), takes the box of the silhouette above that line,
and resamples the square crop around that box back to the crop's size. The 3D ground truth is
unchanged (the camera's orientation is the same; only the crop moves and zooms); the 2D keypoints
follow the crop and those that leave it become invisible, so the 2D loss ignores them while the
3D terms still teach the legs the crop no longer shows.

Applied to the clean crop before the resolution ranges are drawn, so the degraded copies of a
partial view carry the same camera effects as any other crop. A zoom of ``z`` leaves a crop of
``S`` pixels with the detail of ``S / z``: with the 128-px shards and the 64-px network input, the
default ``keep`` range zooms at most ~2.4x (~53 px of detail for the full-resolution row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.pose_families import FAMILIES

__all__ = ["PartialViewConfig", "partial_view", "partial_view_box", "tight_box_view"]


@dataclass(frozen=True)
class PartialViewConfig:
    """How often and how much of a person a partial view keeps.

    Attributes:
        prob: share of samples turned into a partial view (0 = never, the default: old configs
            and their checkpoints are unchanged).
        keep: range of the kept fraction of the person's height, from the top, uniform.
        enlarge: square crop side / longer side of the kept part's box (the service's crop rule).
        min_aspect: only people whose silhouette is at least this much taller than wide (upright:
            standing, walking, sitting) are cut; lying people keep their full view.
        families: pose families (:data:`model.data.pose_families.FAMILIES`) whose people may be
            cut; ``None`` = every family. What a cut teaches about the legs it hides is the
            families' mix: cutting only people on their feet makes "standing" the network's answer
            for an upright torso whose legs it cannot see (a sitting person cut at the waist then
            comes back standing), the likelier case in surveillance and sports footage. Samples
            without a ``family`` entry are never cut when this is set.
        tight_box_prob: share of samples (after any cut) framed the way the service frames a
            detector box sent with a frame: the tight box of the visible person, padded to a square
            with black (the square of the box's longer side, everything outside the box zeroed).
            0 (the default) draws nothing: old configs see the same samples.
    """

    prob: float = 0.0
    keep: tuple[float, float] = (0.35, 0.8)
    enlarge: float = 1.2
    min_aspect: float = 1.2
    families: tuple[str, ...] | None = None
    tight_box_prob: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"partial_view.prob must be in [0, 1], got {self.prob}")
        if not 0.0 <= self.tight_box_prob <= 1.0:
            raise ValueError(f"partial_view.tight_box_prob must be in [0, 1], got {self.tight_box_prob}")
        lo, hi = self.keep
        if not 0.1 <= lo <= hi <= 1.0:
            raise ValueError(f"partial_view.keep must satisfy 0.1 <= lo <= hi <= 1, got {self.keep}")
        if not 1.0 <= self.enlarge <= 2.0:
            raise ValueError(f"partial_view.enlarge must be in [1, 2], got {self.enlarge}")
        if self.min_aspect < 0.0:
            raise ValueError(f"partial_view.min_aspect must be >= 0, got {self.min_aspect}")
        if self.families is not None:
            unknown = sorted(set(self.families) - set(FAMILIES))
            if unknown or not self.families:
                raise ValueError(f"partial_view.families must be a non-empty list of {list(FAMILIES)}, got unknown {unknown or 'empty list'}")

    @property
    def family_indices(self) -> frozenset[int] | None:
        """Indices into :data:`~model.data.pose_families.FAMILIES` that may be cut (``None`` = all)."""
        return None if self.families is None else frozenset(FAMILIES.index(f) for f in self.families)


def _extent(mask: Tensor) -> tuple[float, float, float, float] | None:
    """``(left, top, right, bottom)`` of a ``(S, S)`` bool mask in continuous pixels, ``None`` if empty."""
    rows = mask.any(dim=1).nonzero().flatten()
    cols = mask.any(dim=0).nonzero().flatten()
    if rows.numel() == 0:
        return None
    return float(cols[0]), float(rows[0]), float(cols[-1]) + 1.0, float(rows[-1]) + 1.0


def partial_view_box(silhouette: Tensor, keep: float, enlarge: float, min_aspect: float) -> tuple[float, float, float] | None:
    """The square crop ``(x0, y0, side)`` (crop pixels) of the person's top ``keep`` fraction.

    Args:
        silhouette: ``(S, S)`` person mask (> 0.5 = person).
        keep: kept fraction of the silhouette's height, from its top.
        enlarge: square side / longer side of the kept part's box.
        min_aspect: minimum silhouette height / width; flatter people give ``None``.

    Returns:
        ``(x0, y0, side)`` with the top-left corner and the side in continuous pixel coordinates
        (pixel ``j`` spans ``[j, j + 1)``), or ``None`` when the silhouette is empty or too flat.
    """
    mask = silhouette > 0.5
    extent = _extent(mask)
    if extent is None:
        return None
    left, top, right, bottom = extent
    height = bottom - top
    if height < min_aspect * (right - left):
        return None
    cut = top + keep * height
    band = mask[int(top) : max(int(math.ceil(cut)), int(top) + 1)]
    band_cols = band.any(dim=0).nonzero().flatten()
    x0, x1 = float(band_cols[0]), float(band_cols[-1]) + 1.0
    side = enlarge * max(x1 - x0, cut - top)
    cx, cy = (x0 + x1) / 2.0, (top + cut) / 2.0
    return cx - side / 2.0, cy - side / 2.0, side


def _resample(image: Tensor, x0: float, y0: float, side: float, mode: str) -> Tensor:
    """``(C, S, S)`` -> the square ``(x0, y0, side)`` of it resampled to ``(C, S, S)``, zeros outside."""
    size = image.shape[-1]
    scale = side / size
    # grid_sample (align_corners=False): output pixel centre (j + 0.5) reads source x0 + (j + 0.5) * scale.
    theta = torch.tensor([[scale, 0.0, 2.0 * x0 / size + scale - 1.0], [0.0, scale, 2.0 * y0 / size + scale - 1.0]], dtype=image.dtype)
    grid = F.affine_grid(theta[None], [1, image.shape[0], size, size], align_corners=False)
    return F.grid_sample(image[None], grid, mode=mode, padding_mode="zeros", align_corners=False)[0]


def _recrop(sample: dict[str, Tensor], x0: float, y0: float, side: float) -> None:
    """Resample the sample's image and silhouette to the square ``(x0, y0, side)`` (crop pixels) in
    place; 2D keypoints follow (those leaving the crop become invisible) and the focal scales."""
    size = sample["image"].shape[-1]
    sample["image"] = _resample(sample["image"], x0, y0, side, "bilinear")
    sample["silhouette"] = _resample(sample["silhouette"], x0, y0, side, "nearest")
    if "parts" in sample:  # class labels: nearest, never blended
        sample["parts"] = _resample(sample["parts"].float(), x0, y0, side, "nearest").round().to(torch.uint8)
    zoom = size / side
    for key in [k for k in sample if k.startswith("keypoints2d_")]:
        kp = sample[key].clone()
        kp[..., 0] = (kp[..., 0] - x0) * zoom
        kp[..., 1] = (kp[..., 1] - y0) * zoom
        inside = (kp[..., 0] >= 0) & (kp[..., 0] < size) & (kp[..., 1] >= 0) & (kp[..., 1] < size)
        kp[..., 2] = kp[..., 2] * inside.to(kp.dtype)
        sample[key] = kp
    if "focal" in sample:
        sample["focal"] = sample["focal"] * zoom


def tight_box_view(sample: dict[str, Tensor]) -> bool:
    """Frame a sample as the service frames a tight detector box (see
    :attr:`PartialViewConfig.tight_box_prob`), in place. ``False`` (nothing changed) when the
    silhouette is empty."""
    extent = _extent(sample["silhouette"][0] > 0.5)
    if extent is None:
        return False
    left, top, right, bottom = extent
    side = max(bottom - top, right - left)
    x0, y0 = (left + right - side) / 2.0, (top + bottom - side) / 2.0
    _recrop(sample, x0, y0, side)
    size = sample["image"].shape[-1]
    zoom = size / side
    # The box in the new crop's pixels; whole pixels outside it are black (the service's padding).
    bx0, bx1 = max(0, math.floor((left - x0) * zoom)), min(size, math.ceil((right - x0) * zoom))
    by0, by1 = max(0, math.floor((top - y0) * zoom)), min(size, math.ceil((bottom - y0) * zoom))
    keep = torch.zeros(size, size, dtype=torch.bool)
    keep[by0:by1, bx0:bx1] = True
    sample["image"] = sample["image"] * keep.to(sample["image"].dtype)
    return True


def partial_view(sample: dict[str, Tensor], config: PartialViewConfig, gen: torch.Generator) -> dict[str, Tensor]:
    """With probability ``config.prob``, turn a clean full-body sample into a partial view; then,
    with probability ``config.tight_box_prob``, frame it as a tight detector box (:func:`tight_box_view`).

    Args:
        sample: a clean sample with ``image (3, S, S)``, ``silhouette (1, S, S)`` and
            ``keypoints2d_<layout> (J, 3)`` (``[x, y, visible]`` in crop pixels); other entries
            (3D joints, pose, betas, ...) pass unchanged.
        config: how often and how much to keep.
        gen: the sample's generator (nothing is drawn when ``config.prob`` is 0).

    Returns:
        The same dict, changed in place when a view was cut: the image and the silhouette
        resampled, the keypoints moved and scaled, keypoints outside the new crop made invisible,
        and ``partial_view`` set to 1 (0 otherwise, when ``prob`` > 0).
    """
    if config.tight_box_prob > 0.0:
        framed = float(torch.rand(1, generator=gen)) < config.tight_box_prob
        sample = _partial_view(sample, config, gen)
        if framed and "silhouette" in sample:
            tight_box_view(sample)
        return sample
    return _partial_view(sample, config, gen)


def _partial_view(sample: dict[str, Tensor], config: PartialViewConfig, gen: torch.Generator) -> dict[str, Tensor]:
    if config.prob <= 0.0:
        return sample
    u = torch.rand(2, generator=gen)
    sample["partial_view"] = torch.tensor(0.0)
    if float(u[0]) >= config.prob or "silhouette" not in sample:
        return sample
    allowed = config.family_indices
    if allowed is not None and ("family" not in sample or int(sample["family"]) not in allowed):
        return sample
    lo, hi = config.keep
    box = partial_view_box(sample["silhouette"][0], lo + float(u[1]) * (hi - lo), config.enlarge, config.min_aspect)
    if box is None:
        return sample
    _recrop(sample, *box)
    sample["partial_view"] = torch.tensor(1.0)
    return sample

"""The heading of a body: which way it faces, as an angle about the camera's vertical axis.

A root rotation ``R`` (``(B, 3, 3)``, body frame -> camera frame, camera x right, y down, z into
the scene) sends the body's forward axis (+z of the SMPL-layout body) to its third column ``R[:, :, 2]``.
Its **heading** is the angle of that column in the camera's x-z plane::

    heading = atan2(R[0, 2], R[2, 2])      # 0: facing away from the camera, +-pi: facing it

Turning a body about the camera's y axis by ``delta`` adds ``delta`` to its heading and leaves
its tilt (the forward axis' elevation) and its roll unchanged. A body whose forward axis points
along camera y (lying on its back under a camera looking down, say) has no heading:
:func:`heading_weight` (the length of the forward axis' x-z part, in ``[0, 1]``) says how much
heading a rotation has.

Bins: ``K`` bins of width ``2 pi / K`` centred on ``k 2 pi / K`` (bin 0 straddles 0). A
classifier's logits over them decode to an angle by their probability-weighted circular mean
(:func:`heading_from_logits`), which lies between bins and is differentiable.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "angle_difference",
    "bin_centres",
    "heading_angle",
    "heading_bin",
    "heading_error_deg",
    "heading_from_logits",
    "heading_weight",
    "rotation_about_y",
    "with_heading",
]


def _check_rotmat(rotmat: Tensor) -> None:
    if rotmat.ndim < 2 or tuple(rotmat.shape[-2:]) != (3, 3):
        raise ValueError(f"rotmat must be (..., 3, 3), got {tuple(rotmat.shape)}")


def heading_angle(rotmat: Tensor) -> Tensor:
    """Heading of root rotations ``(..., 3, 3)`` -> ``(...)`` radians in ``(-pi, pi]``."""
    _check_rotmat(rotmat)
    return torch.atan2(rotmat[..., 0, 2], rotmat[..., 2, 2])


def heading_weight(rotmat: Tensor) -> Tensor:
    """How much heading a rotation has: ``(..., 3, 3)`` -> ``(...)`` in ``[0, 1]`` (1 = forward
    axis horizontal in the camera frame, 0 = along camera y)."""
    _check_rotmat(rotmat)
    return torch.sqrt(rotmat[..., 0, 2] ** 2 + rotmat[..., 2, 2] ** 2).clamp(max=1.0)


def angle_difference(a: Tensor, b: Tensor) -> Tensor:
    """``a - b`` wrapped to ``[-pi, pi)`` (radians, broadcasting)."""
    return torch.remainder(a - b + math.pi, 2 * math.pi) - math.pi


def heading_error_deg(pred: Tensor, true: Tensor) -> Tensor:
    """Heading error in degrees, ``[0, 180]``: ``(...)`` radians, ``(...)`` radians -> ``(...)``."""
    return torch.rad2deg(angle_difference(pred, true).abs())


def bin_centres(bins: int, device: torch.device | str | None = None) -> Tensor:
    """``(K,)`` bin centres ``k 2 pi / K``, wrapped to ``[-pi, pi)``."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    centres = torch.arange(bins, dtype=torch.float32, device=device) * (2 * math.pi / bins)
    return angle_difference(centres, torch.zeros((), device=device))


def heading_bin(angle: Tensor, bins: int) -> Tensor:
    """The bin of each angle: ``(...)`` radians -> ``(...)`` int64 in ``[0, K)``."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    width = 2 * math.pi / bins
    return torch.floor(torch.remainder(angle + width / 2, 2 * math.pi) / width).long() % bins


def heading_from_logits(logits: Tensor) -> Tensor:
    """Probability-weighted circular mean of the bin centres: ``(..., K)`` -> ``(...)`` radians."""
    prob = torch.softmax(logits.float(), dim=-1)
    centres = bin_centres(logits.shape[-1], device=logits.device)
    return torch.atan2((prob * centres.sin()).sum(-1), (prob * centres.cos()).sum(-1))


def rotation_about_y(angle: Tensor) -> Tensor:
    """``(...)`` radians -> ``(..., 3, 3)`` rotations about the camera's y axis that add ``angle``
    to a heading (x-z plane turned from z towards x)."""
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(angle), torch.ones_like(angle)
    rows = (torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1), torch.stack([-s, zero, c], -1))
    return torch.stack(rows, dim=-2)


def with_heading(rotmat: Tensor, angle: Tensor) -> Tensor:
    """Root rotations ``(..., 3, 3)`` turned about camera y so that their heading is ``angle``
    (``(...)`` radians); tilt and roll are kept. Rotations without a heading (forward axis along
    y) are returned turned by an arbitrary but finite amount."""
    _check_rotmat(rotmat)
    delta = angle_difference(angle.to(rotmat.dtype), heading_angle(rotmat))
    return rotation_about_y(delta) @ rotmat

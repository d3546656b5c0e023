"""Heatmap supervision of 2D keypoints: each map's softmax against a Gaussian around the true point.

The coordinate loss of the keypoint head (the ``keypoints2d`` term on the soft-argmax) sees one number
per keypoint, and a map that puts half its mass on the left wrist and half on the right one costs no
more than a map on the point between them. Here every cell of a map has a target: for keypoint ``j``
at crop pixel ``u_j`` and a map of ``H x W`` cells over a crop of side ``S``,

    t_j(c) ∝ exp(-|c - (u_j W / S - 1/2)|² / (2 σ²))     (cells c, normalised over the map)
    L = mean over the visible keypoints of  KL(t_j || softmax(logits_j))

(SimpleBaseline's Gaussian targets, scored as distributions: 0 when the softmax is the target). A
keypoint outside the crop or not visible has no target. ``σ`` is in cells (1 cell = 4 px of a 64-px
input at stride 4).
"""

from __future__ import annotations

import torch
from torch import Tensor

from model.losses.basic import masked_sample_mean

__all__ = ["gaussian_targets", "heatmap_loss"]


def gaussian_targets(keypoints: Tensor, crop_size: float, height: int, width: int, sigma: float) -> Tensor:
    """Normalised Gaussian target maps ``(B, J, H, W)`` for keypoints ``(B, J, 2)`` in crop pixels."""
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    cells = keypoints.float() * torch.tensor([width / crop_size, height / crop_size], device=keypoints.device) - 0.5
    ys = torch.arange(height, device=keypoints.device, dtype=torch.float32)
    xs = torch.arange(width, device=keypoints.device, dtype=torch.float32)
    dy = (ys - cells[..., 1:2]).square()  # (B, J, H)
    dx = (xs - cells[..., 0:1]).square()  # (B, J, W)
    log_t = -(dy[..., :, None] + dx[..., None, :]) / (2.0 * sigma * sigma)
    return torch.softmax(log_t.flatten(-2), dim=-1).reshape(*keypoints.shape[:-1], height, width)


def heatmap_loss(logits: Tensor, target: Tensor, crop_size: float, sigma: float = 1.0, has: Tensor | None = None) -> Tensor:
    """Mean KL divergence of the visible keypoints' Gaussian targets from the maps' softmax.

    Args:
        logits: ``(B, J, H, W)`` heatmap logits.
        target: ``(B, J, 3)`` ``[x, y, visibility]`` in crop pixels (visibility 0: no target; a point
            outside the crop has none either).
        crop_size: crop side ``S`` in pixels.
        sigma: the Gaussian's standard deviation in cells.
        has: ``(B,)`` 0/1 samples with 2D keypoints; ``None`` = all.

    Returns:
        scalar: per sample the visibility-weighted mean over its keypoints with a target, then the mean
        over the samples that have any.
    """
    b, j, h, w = logits.shape
    gt = target.float().to(logits.device)
    inside = ((gt[..., :2] >= 0) & (gt[..., :2] < crop_size)).all(-1)
    conf = torch.where(inside & torch.isfinite(gt[..., :2]).all(-1), gt[..., 2], torch.zeros_like(gt[..., 2]))
    uv = torch.where(conf[..., None] > 0, gt[..., :2], torch.zeros_like(gt[..., :2]))
    t = gaussian_targets(uv, crop_size, h, w, sigma).flatten(-2)
    log_p = torch.log_softmax(logits.float().reshape(b, j, h * w), dim=-1)
    kl = (t * (torch.log(t.clamp_min(1e-12)) - log_p)).sum(-1)  # (B, J)
    weight = conf.clamp(0, 1)
    per_sample = (weight * kl).sum(-1) / weight.sum(-1).clamp_min(1e-6)
    valid = weight.sum(-1) > 0
    if has is not None:
        valid = valid & (has.to(valid.device).reshape(b) > 0)
    return masked_sample_mean(per_sample, valid)

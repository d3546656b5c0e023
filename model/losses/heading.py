"""Loss of the heading head: cross-entropy over heading bins (:mod:`model.geometry.heading`).

``L_h = sum_b w_b CE(logits_b, bin(heading(R_b))) / max(sum_b m_b, 1)`` over the samples with a
ground-truth pose (``m_b``), where ``R_b`` is the true root rotation in the camera frame (after the
batch's flips and in-plane rotations, which keep it consistent with the image) and ``w_b = m_b
heading_weight(R_b)``: a body whose forward axis points along the camera's vertical has no heading
and adds nothing. Unweighted otherwise: its weight is ``TotalLossConfig.heading_head_weight``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from model.geometry.heading import heading_angle, heading_bin, heading_weight

__all__ = ["heading_loss"]


def heading_loss(logits: Tensor, true_root: Tensor, mask: Tensor | None = None) -> Tensor:
    """Cross-entropy of the heading head against the true headings.

    Args:
        logits: ``(B, K)`` the head's logits.
        true_root: ``(B, 3, 3)`` true root rotations (body -> camera frame).
        mask: ``(B,)`` 1 where the sample has a true pose (``has_smpl``); default all.

    Returns:
        Scalar float32 loss (0 when no sample has a pose; NaN placeholders in masked samples do
        not reach value or gradient).
    """
    if logits.ndim != 2 or true_root.shape != (logits.shape[0], 3, 3):
        raise ValueError(f"logits must be (B, K) and true_root (B, 3, 3), got {tuple(logits.shape)} and {tuple(true_root.shape)}")
    m = torch.ones(logits.shape[0], device=logits.device) if mask is None else mask.to(logits.device).float()
    valid = m > 0
    root = torch.where(valid[:, None, None], true_root.float(), torch.eye(3, device=true_root.device))
    target = heading_bin(heading_angle(root), logits.shape[1])
    weight = m * heading_weight(root)
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    return (weight * ce).sum() / m.sum().clamp(min=1.0)

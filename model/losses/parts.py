"""Loss of the part head: per-cell cross-entropy against the visible body-part classes.

``L_parts = mean_{b, cells} CE(logits_{b, cell}, class_{b, cell})`` where the target is the crop's
part map (:mod:`model.body.parts`, rendered with the scene, cut, flipped and turned with the
picture) taken at each cell's centre on the head's grid. Background cells count too (class 0): the
head says where the body is as well as which part shows. Unweighted: its weight is
``TotalLossConfig.part_head_weight``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

__all__ = ["part_accuracy", "part_loss", "part_targets"]


def part_targets(parts: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B, H, W)`` long classes at the centres of an ``H x W`` grid over part maps ``(B, 1, S, S)``."""
    if parts.ndim != 4 or parts.shape[1] != 1:
        raise ValueError(f"parts must be (B, 1, S, S), got {tuple(parts.shape)}")
    return F.interpolate(parts.float(), size=size, mode="nearest")[:, 0].round().long()


def part_loss(logits: Tensor, parts: Tensor) -> Tensor:
    """Cross-entropy of the part head.

    Args:
        logits: ``(N, C, H, W)`` the head's logits; ``N = B * K`` when each sample has ``K``
            resolutions (sample-major, as the trainer flattens them).
        parts: ``(B, 1, S, S)`` integer part maps of the ``B`` samples (any ``S``).

    Returns:
        Scalar float32 loss.
    """
    n, c, h, w = logits.shape
    if n % parts.shape[0] != 0:
        raise ValueError(f"{n} logit maps for {parts.shape[0]} part maps")
    target = part_targets(parts, (h, w)).repeat_interleave(n // parts.shape[0], dim=0)
    if int(target.max()) >= c:
        raise ValueError(f"part class {int(target.max())} >= the head's {c} classes")
    return F.cross_entropy(logits.float(), target)


def part_accuracy(logits: Tensor, parts: Tensor, body_only: bool = True) -> Tensor:
    """Share of cells whose strongest class is the true one (``body_only``: among body cells)."""
    n, _, h, w = logits.shape
    target = part_targets(parts, (h, w)).repeat_interleave(n // parts.shape[0], dim=0)
    hit = (logits.argmax(1) == target).float()
    if body_only:
        body = (target > 0).float()
        return (hit * body).sum() / body.sum().clamp_min(1.0)
    return hit.mean()

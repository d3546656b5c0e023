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


def _map_targets(logits: Tensor, parts: Tensor) -> Tensor:
    """``(N, H, W)`` targets of logit maps ``(N, C, H, W)``: each sample's part map ``(B, 1, S, S)`` on the
    maps' grid, repeated for its ``N / B`` resolutions (sample-major, as the trainer flattens them)."""
    n, c, h, w = logits.shape
    if n % parts.shape[0] != 0:
        raise ValueError(f"{n} logit maps for {parts.shape[0]} part maps")
    target = part_targets(parts, (h, w)).repeat_interleave(n // parts.shape[0], dim=0)
    if int(target.max()) >= c:
        raise ValueError(f"part class {int(target.max())} >= the head's {c} classes")
    return target


def part_loss(logits: Tensor, parts: Tensor) -> Tensor:
    """Cross-entropy of the part head.

    Args:
        logits: ``(N, C, H, W)`` the head's logits; ``N = B * K`` when each sample has ``K``
            resolutions (sample-major, as the trainer flattens them).
        parts: ``(B, 1, S, S)`` integer part maps of the ``B`` samples (any ``S``).

    Returns:
        Scalar float32 loss.
    """
    return F.cross_entropy(logits.float(), _map_targets(logits, parts))


def part_accuracy(logits: Tensor, parts: Tensor) -> Tensor:
    """Share of the body cells whose strongest body class is the true one (which part shows, asked
    where the body is: the training log's ``part_head/accuracy``; a loss near the class prior's hides
    a head that never names a part)."""
    target = _map_targets(logits, parts)
    answer = logits[:, 1:].argmax(1) + 1
    body = (target > 0).float()
    return ((answer == target).float() * body).sum() / body.sum().clamp_min(1.0)

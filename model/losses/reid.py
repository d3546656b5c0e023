"""Re-identification losses: identity classification (label-smoothed cross-entropy) and the
batch-hard triplet loss (Hermans et al., "In defense of the triplet loss").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["ReIDLossConfig", "ReIDLossOutput", "batch_hard_triplet", "pairwise_distances", "reid_loss"]


@dataclass(frozen=True)
class ReIDLossConfig:
    """Weights of the ReID training loss.

    Attributes:
        ce_weight: identity cross-entropy weight.
        triplet_weight: batch-hard triplet weight.
        margin: triplet margin (on Euclidean distances of L2-normalised embeddings).
        label_smoothing: cross-entropy label smoothing.
    """

    ce_weight: float = 1.0
    triplet_weight: float = 1.0
    margin: float = 0.3
    label_smoothing: float = 0.1

    def __post_init__(self) -> None:
        if min(self.ce_weight, self.triplet_weight, self.margin) < 0 or not 0 <= self.label_smoothing < 1:
            raise ValueError("weights and margin must be >= 0 and label_smoothing in [0, 1)")


@dataclass
class ReIDLossOutput:
    """Scalar losses: ``total = ce_weight * ce + triplet_weight * triplet``; ``accuracy`` of the classifier."""

    total: Tensor
    ce: Tensor
    triplet: Tensor
    accuracy: Tensor


def pairwise_distances(a: Tensor, b: Tensor | None = None) -> Tensor:
    """Euclidean distances ``(N, M)`` between rows of ``a`` ``(N, D)`` and ``b`` ``(M, D)`` (default ``a``)."""
    b = a if b is None else b
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return d2.clamp_min(1e-12).sqrt()


def batch_hard_triplet(embeddings: Tensor, labels: Tensor, margin: float = 0.3) -> Tensor:
    """Batch-hard triplet loss on L2-normalised ``embeddings`` ``(B, D)`` with ``labels`` ``(B,)``.

    For every anchor: its farthest positive and nearest negative;
    ``mean(relu(d(a, p) - d(a, n) + margin))`` over anchors that have both (0 if none has).
    """
    z = F.normalize(embeddings.float(), dim=1)
    d = pairwise_distances(z)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    valid = pos.any(1) & neg.any(1)
    if not bool(valid.any()):
        return embeddings.sum() * 0.0
    hardest_pos = torch.where(pos, d, torch.zeros_like(d)).amax(1)
    hardest_neg = torch.where(neg, d, torch.full_like(d, float("inf"))).amin(1)
    return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()


def reid_loss(embeddings: Tensor, logits: Tensor, labels: Tensor, config: ReIDLossConfig = ReIDLossConfig()) -> ReIDLossOutput:
    """Classification + triplet loss for ``embeddings`` ``(B, D)``, ``logits`` ``(B, C)``, ``labels`` ``(B,)``."""
    ce = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
    tri = batch_hard_triplet(embeddings, labels, config.margin)
    acc = (logits.argmax(1) == labels).float().mean()
    return ReIDLossOutput(total=config.ce_weight * ce + config.triplet_weight * tri, ce=ce, triplet=tri, accuracy=acc)

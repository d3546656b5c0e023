"""Re-identification losses: identity classification (label-smoothed cross-entropy) and the
batch-hard triplet loss (Hermans et al., "In defense of the triplet loss"); and the objective's
held-out measure, retrieval rank-1 / mAP (:func:`retrieval_metrics`, :func:`evaluate_reid`).

Retrieval: every image of the held-out identities is a query against all the others (the gallery),
so a query's positives are the other looks at the same identity. The ReID trainer reports it on its
held-out split after training; ``python -m model.eval.reid`` on any checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.degrade import bicubic_down_up
from model.data.identity import IdentitySet
from model.nets.reid import ReIDNet
from model.runtime import autocast

__all__ = [
    "ReIDLossConfig",
    "ReIDLossOutput",
    "RetrievalMetrics",
    "batch_hard_triplet",
    "embed",
    "evaluate_reid",
    "pairwise_distances",
    "reid_loss",
    "retrieval_metrics",
]


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


# ------------------------------------------------------------------------------- retrieval
@dataclass(frozen=True)
class RetrievalMetrics:
    """``rank1`` and ``mAP`` in ``[0, 1]`` over ``queries`` queries."""

    rank1: float
    mAP: float
    queries: int

    def to_dict(self) -> dict[str, float | int]:
        return {"rank1": self.rank1, "mAP": self.mAP, "queries": self.queries}


def retrieval_metrics(embeddings: Tensor, labels: Tensor) -> RetrievalMetrics:
    """Leave-one-out retrieval on ``embeddings`` ``(N, D)`` (cosine similarity) with ``labels`` ``(N,)``.

    Queries without any other image of their identity are skipped.
    """
    if embeddings.shape[0] != labels.shape[0] or embeddings.ndim != 2:
        raise ValueError("embeddings must be (N, D) with one label per row")
    z = F.normalize(embeddings.float(), dim=1)
    sim = z @ z.T
    n = sim.shape[0]
    sim.fill_diagonal_(-float("inf"))
    order = sim.argsort(dim=1, descending=True)[:, : n - 1]  # drop self (ranked last)
    match = (labels[order] == labels[:, None]).float()  # (N, N-1)
    npos = match.sum(1)
    keep = npos > 0
    if not bool(keep.any()):
        raise ValueError("no query has another image of its identity")
    match, npos = match[keep], npos[keep]
    rank1 = match[:, 0].mean()
    hits = match.cumsum(1)
    ranks = torch.arange(1, match.shape[1] + 1, dtype=torch.float32)
    ap = ((hits / ranks) * match).sum(1) / npos
    return RetrievalMetrics(rank1=float(rank1), mAP=float(ap.mean()), queries=int(keep.sum()))


@torch.no_grad()
def embed(net: ReIDNet, images_u8: Tensor, device: torch.device, precision: str, low_res: int | None = None, batch_size: int = 64) -> Tensor:
    """Embeddings ``(N, D)`` of uint8 images ``(N, 3, S, S)`` (optionally degraded to ``low_res`` first)."""
    net.eval()
    out = []
    for start in range(0, images_u8.shape[0], batch_size):
        x = images_u8[start : start + batch_size].float().div(255.0)
        if low_res is not None:
            x = bicubic_down_up(x, low_res, x.shape[-1])
        with autocast(precision, device):
            out.append(net(x.to(device)).embedding.float().cpu())
    return torch.cat(out)


def evaluate_reid(net: ReIDNet, test: IdentitySet, device: torch.device, precision: str, low_res: int) -> dict[str, Any]:
    """Rank-1 / mAP on the held-out identities, clean and degraded to ``low_res`` pixels."""
    clean = retrieval_metrics(embed(net, test.images, device, precision), test.identity)
    low = retrieval_metrics(embed(net, test.images, device, precision, low_res=low_res), test.identity)
    return {"clean": clean.to_dict(), f"low_res_{low_res}px": low.to_dict(), "identities": int(test.texture_ids.numel()), "images": len(test)}

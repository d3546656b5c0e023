"""Resolution-aware contrastive feature loss (RSC-Net, Eqs. 11-12) and its negative queue.

For every image, the anchor is the (projected) feature of a lower-resolution
view, the positive is the feature of the *same* image at a higher resolution,
and the negatives are features of *other* images. With cosine similarity
``s(a, b) = a.b / (|a| |b|)`` and temperature ``tau`` (0.1):

``L = -log( exp(s(a, p)/tau) / (exp(s(a, p)/tau) + sum_n exp(s(a, n)/tau)) )``

i.e. a cross-entropy over ``[p, n_1, ..., n_N]`` with the positive at index 0
(InfoNCE). Decisions, checked against RSC-Net's official code
(``models/nt_xent.py``, ``models/feat_queue.py``, ``train/trainer.py``):

* The positive (higher resolution) is **detached**: as in the directional
  self-supervision, the high-resolution representation is the target and
  only the low-resolution branch is pulled towards it (the official trainer
  detaches the higher-resolution features before the loss).
* Negatives come from a FIFO queue of detached features of earlier batches
  (MoCo-style, default 8192 entries as in the paper; the official code keeps
  a longer history and samples from it). Every entry stores the id of its
  source image; entries with the anchor's id (the same image at any
  resolution) are excluded, as the official queue does with
  ``(dataset, index)`` pairs. Slots never written are never used.
* When the queue holds nothing yet, the other samples of the batch (their
  detached positives) serve as negatives (``batch_negatives="auto"``); they
  can also be always added or never used.
* Anchors/negatives with every negative excluded reduce to ``-log 1 = 0``.

Ablation variants (``kind``): ``"infonce"`` (default), ``"mse"`` (MS: mean
over dimensions of the squared difference between anchor and positive) and
``"cosine"`` (CD: ``1 - s(a, p)``); the last two ignore the queue.

:func:`multi_resolution_contrastive_loss` sums the loss over resolution pairs
with the same pair scheme and weights as the self-supervision
(:func:`model.losses.self_supervision.resolution_pairs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.losses.self_supervision import (
    PairWeights,
    SelfSupervisionMode,
    resolution_pairs,
    sanitize_missing,
    stack_resolutions,
)

__all__ = [
    "ContrastiveKind",
    "FeatureQueue",
    "contrastive_loss",
    "multi_resolution_contrastive_loss",
]

ContrastiveKind = Literal["infonce", "mse", "cosine"]
BatchNegatives = Literal["auto", "always", "never"]

_NORM_EPS = 1e-8


class FeatureQueue(nn.Module):
    """FIFO queue of detached features with the id of their source image.

    All state is in buffers (``features``, ``ids``, ``valid``, ``ptr``), so the
    queue moves with ``.to(device)`` and is saved / restored by
    ``state_dict`` / ``load_state_dict`` (resume keeps the negatives).

    Attributes:
        features: ``(size, dim)`` storage (rows with ``valid`` false are unused).
        ids: ``(size,)`` int64 source-image id of each row (-1 when empty).
        valid: ``(size,)`` bool, rows written at least once.
        ptr: ``()`` int64, the next row to overwrite.
    """

    features: Tensor
    ids: Tensor
    valid: Tensor
    ptr: Tensor

    def __init__(self, size: int = 8192, dim: int = 128, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if size <= 0 or dim <= 0:
            raise ValueError(f"FeatureQueue: size and dim must be positive, got {size}, {dim}")
        self.size = size
        self.dim = dim
        self.register_buffer("features", torch.zeros(size, dim, dtype=dtype))
        self.register_buffer("ids", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("valid", torch.zeros(size, dtype=torch.bool))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        """Number of filled rows."""
        return int(self.valid.sum())

    @torch.no_grad()
    def enqueue(self, features: Tensor, ids: Tensor) -> None:
        """Append rows, overwriting the oldest once full (wrap-around).

        Args:
            features: ``(N, dim)``; detached and cast to the queue's dtype/device.
                If ``N > size`` only the last ``size`` rows are kept.
            ids: ``(N,)`` integer source-image ids.
        """
        features = features.detach().reshape(-1, self.dim)
        ids = torch.as_tensor(ids, device=self.ids.device).reshape(-1).long()
        if ids.shape[0] != features.shape[0]:
            raise ValueError(f"enqueue: {features.shape[0]} features but {ids.shape[0]} ids")
        if features.shape[0] > self.size:
            features, ids = features[-self.size :], ids[-self.size :]
        count = features.shape[0]
        if count == 0:
            return
        rows = (self.ptr + torch.arange(count, device=self.ptr.device)) % self.size
        self.features[rows] = features.to(self.features)
        self.ids[rows] = ids
        self.valid[rows] = True
        self.ptr.copy_((self.ptr + count) % self.size)

    @torch.no_grad()
    def enqueue_resolutions(self, features: Tensor | Sequence[Tensor], ids: Tensor, mask: Tensor | None = None) -> None:
        """Append the features of every resolution, all tagged with their image id.

        Args:
            features: ``(K, B, dim)`` or ``K`` tensors ``(B, dim)``.
            ids: ``(B,)`` image ids.
            mask: ``(B, K)`` which (sample, resolution) exist; ``None`` = all.
        """
        feats = stack_resolutions(features).detach()
        num_res, batch = feats.shape[:2]
        ids = torch.as_tensor(ids, device=feats.device).reshape(1, batch).expand(num_res, batch)
        if mask is None:
            self.enqueue(feats.reshape(num_res * batch, -1), ids.reshape(-1))
        else:
            keep = (mask.to(feats.device).reshape(batch, num_res) > 0).t()
            self.enqueue(feats[keep], ids[keep])

    def filled(self) -> tuple[Tensor, Tensor]:
        """``(features (M, dim), ids (M,))`` of the filled rows."""
        return self.features[self.valid], self.ids[self.valid]

    @torch.no_grad()
    def reset(self) -> None:
        """Empty the queue."""
        self.features.zero_()
        self.ids.fill_(-1)
        self.valid.fill_(False)
        self.ptr.zero_()

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"


def _masked_mean(per_sample: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return per_sample.mean()
    valid = mask.to(device=per_sample.device).reshape(per_sample.shape) > 0
    value = torch.where(valid, per_sample, torch.zeros_like(per_sample))
    return value.sum() / valid.sum().clamp(min=1).to(per_sample.dtype)


def contrastive_loss(
    anchors: Tensor,
    positives: Tensor,
    queue: FeatureQueue | None = None,
    ids: Tensor | None = None,
    tau: float = 0.1,
    kind: ContrastiveKind = "infonce",
    detach_positives: bool = True,
    batch_negatives: BatchNegatives = "auto",
    mask: Tensor | None = None,
) -> Tensor:
    """Contrastive feature loss between low- and high-resolution features of the same images.

    Args:
        anchors: ``(B, D)`` projected features of the lower resolution.
        positives: ``(B, D)`` projected features of the same images at a
            higher resolution.
        queue: negatives from earlier batches; ``None`` = no queue.
        ids: ``(B,)`` source-image ids; queue rows / batch samples with the
            same id are never negatives. ``None``: no id exclusion against the
            queue, and in-batch only the sample itself is excluded.
        tau: temperature of the InfoNCE loss.
        kind: ``"infonce"``, ``"mse"`` or ``"cosine"`` (module docstring).
        detach_positives: stop the gradient into the positives (default, see
            module docstring).
        batch_negatives: ``"auto"`` = use the other samples of the batch as
            negatives only when the queue is missing or empty; ``"always"``
            = add them to the queue's; ``"never"``.
        mask: ``(B,)`` samples that take part (others contribute exactly 0);
            the loss is averaged over them.

    Returns:
        ``()`` loss (0 when ``mask`` selects no sample).
    """
    if anchors.shape != positives.shape or anchors.dim() != 2:
        raise ValueError(
            f"anchors and positives must both be (B, D), got {tuple(anchors.shape)}, {tuple(positives.shape)}"
        )
    if detach_positives:
        positives = positives.detach()
    if kind == "mse":
        return _masked_mean((anchors - positives).square().mean(-1), mask)
    if kind == "cosine":
        return _masked_mean(1.0 - F.cosine_similarity(anchors, positives, dim=-1, eps=_NORM_EPS), mask)
    if kind != "infonce":
        raise ValueError(f"unknown contrastive kind {kind!r}")
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    if batch_negatives not in ("auto", "always", "never"):
        raise ValueError(f"unknown batch_negatives {batch_negatives!r}")

    batch = anchors.shape[0]
    anchor_n = F.normalize(anchors, dim=-1, eps=_NORM_EPS)
    positive_n = F.normalize(positives, dim=-1, eps=_NORM_EPS)
    if ids is not None:
        ids = torch.as_tensor(ids, device=anchors.device).reshape(batch).long()
    logits = [(anchor_n * positive_n).sum(-1, keepdim=True) / tau]

    queue_empty = queue is None or not bool(queue.valid.any())
    if not queue_empty:
        assert queue is not None
        negs = F.normalize(queue.features.to(anchors), dim=-1, eps=_NORM_EPS)
        excluded = ~queue.valid.to(anchors.device)[None, :].expand(batch, -1)
        if ids is not None:
            excluded = excluded | (queue.ids.to(anchors.device)[None, :] == ids[:, None])
        neg_logits = anchor_n @ negs.t() / tau
        logits.append(neg_logits.masked_fill(excluded, float("-inf")))

    if batch_negatives == "always" or (batch_negatives == "auto" and queue_empty):
        others = positive_n.detach()
        if ids is not None:
            excluded = ids[None, :] == ids[:, None]
        else:
            excluded = torch.eye(batch, dtype=torch.bool, device=anchors.device)
        if mask is not None:
            excluded = excluded | ~(mask.to(anchors.device).reshape(1, batch) > 0)
        logits.append((anchor_n @ others.t() / tau).masked_fill(excluded, float("-inf")))

    all_logits = torch.cat(logits, dim=1)
    per_sample = torch.logsumexp(all_logits, dim=1) - all_logits[:, 0]
    return _masked_mean(per_sample, mask)


def multi_resolution_contrastive_loss(
    features: Tensor | Sequence[Tensor],
    queue: FeatureQueue | None = None,
    ids: Tensor | None = None,
    tau: float = 0.1,
    kind: ContrastiveKind = "infonce",
    mode: SelfSupervisionMode = "directional",
    mask: Tensor | None = None,
    pair_weights: PairWeights | None = None,
    normalize_by_resolutions: bool = False,
    batch_negatives: BatchNegatives = "auto",
) -> Tensor:
    """Sum of :func:`contrastive_loss` over resolution pairs (anchor = lower, positive = higher).

    ``L_f = sum_{(i, j)} w_ij * L(anchor = f_j, positive = f_i)`` over the
    pairs and weights of :func:`resolution_pairs` (``"directional"``: all
    ``i < j`` with weight ``j - i``, positive detached; ``"highest"``: only
    ``i = 0``; ``"symmetric"``: unit weights, positive not detached). The
    queue is only read; enqueue afterwards (e.g.
    :meth:`FeatureQueue.enqueue_resolutions`), as in MoCo.

    Args:
        features: ``(K, B, D)`` or ``K`` tensors ``(B, D)``, highest resolution first.
        queue, ids, tau, kind, batch_negatives: see :func:`contrastive_loss`.
        mode, pair_weights, normalize_by_resolutions: see
            :func:`model.losses.self_supervision.self_supervision_loss`.
        mask: ``(B, K)`` which (sample, resolution) exist; ``None`` = all.

    Returns:
        ``()`` loss; 0 when ``K < 2``.
    """
    feats = stack_resolutions(features)
    num_res, batch = feats.shape[:2]
    valid_k = None
    if mask is not None:
        valid_k = mask.to(device=feats.device).reshape(batch, num_res) > 0
        feats = sanitize_missing(feats, valid_k)
    total = feats.new_zeros(())
    for i, j, weight, detach in resolution_pairs(num_res, mode, pair_weights):
        pair_mask = None if valid_k is None else valid_k[:, i] & valid_k[:, j]
        if normalize_by_resolutions:
            weight = weight / num_res
        term = contrastive_loss(
            feats[j],
            feats[i],
            queue=queue,
            ids=ids,
            tau=tau,
            kind=kind,
            detach_positives=detach,
            batch_negatives=batch_negatives,
            mask=pair_mask,
        )
        total = total + weight * term
    return total

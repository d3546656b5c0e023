"""Texture-network losses and texture metrics.

* :func:`reid_feature_distance`: RSC-Net Eq. 13 with RSTG's multi-layer variant: the distance
  between the frozen ReID network's features of the rendered person and of ``x_H``, summed over
  the stage feature maps (each L2-normalised over channels at every location, mean squared
  difference) plus the L2 distance of the normalised embeddings.
* :func:`embedding_distance`: ``||f_Re(a) - f_Re(b)||_2`` of L2-normalised embeddings (the
  evaluation's "ReID feature distance", in ``[0, 2]``).
* :func:`masked_l1` / :func:`masked_psnr`: UV-texture errors over a texel mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["TextureLossConfig", "embedding_distance", "masked_l1", "masked_psnr", "reid_feature_distance"]


@dataclass(frozen=True)
class TextureLossConfig:
    """Weights of :func:`reid_feature_distance`.

    Attributes:
        layer_weights: weight of each ReID stage's feature-map distance (one per stage).
        embedding_weight: weight of the embedding distance.
    """

    layer_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    embedding_weight: float = 1.0

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.layer_weights) or self.embedding_weight < 0:
            raise ValueError("loss weights must be >= 0")


def embedding_distance(a: Tensor, b: Tensor) -> Tensor:
    """``(B,)`` Euclidean distance of the L2-normalised embeddings ``a``, ``b`` ``(B, D)``."""
    return (F.normalize(a.float(), dim=1) - F.normalize(b.float(), dim=1)).norm(dim=1)


def reid_feature_distance(
    features_a: Sequence[Tensor],
    embedding_a: Tensor,
    features_b: Sequence[Tensor],
    embedding_b: Tensor,
    config: TextureLossConfig = TextureLossConfig(),
) -> Tensor:
    """Multi-layer ReID feature distance ``(B,)`` between renders (``a``) and targets (``b``).

    Args:
        features_a, features_b: per-stage maps ``(B, C_k, H_k, W_k)`` of :class:`~model.nets.reid.ReIDOutput`.
        embedding_a, embedding_b: ``(B, D)`` embeddings.
    """
    if len(features_a) != len(features_b) or len(features_a) != len(config.layer_weights):
        raise ValueError(f"expected {len(config.layer_weights)} feature maps on both sides, got {len(features_a)} and {len(features_b)}")
    total = config.embedding_weight * embedding_distance(embedding_a, embedding_b)
    for w, fa, fb in zip(config.layer_weights, features_a, features_b):
        if w == 0:
            continue
        na = F.normalize(fa.float(), dim=1)
        nb = F.normalize(fb.float(), dim=1)
        total = total + w * (na - nb).pow(2).sum(1).mean(dim=(1, 2))
    return total


def masked_l1(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """``(B,)`` mean absolute error over the texels of ``mask`` ``(B, 1, H, W)`` (or ``(1, 1, H, W)``) for ``(B, C, H, W)`` maps in ``[0, 1]``."""
    m = mask.to(pred.dtype).expand(pred.shape[0], 1, *pred.shape[-2:])
    count = m.sum(dim=(1, 2, 3)).clamp_min(1.0) * pred.shape[1]
    return ((pred - target).abs() * m).sum(dim=(1, 2, 3)) / count


def masked_psnr(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """``(B,)`` PSNR (dB, peak 1) over the texels of ``mask`` for maps in ``[0, 1]``."""
    m = mask.to(pred.dtype).expand(pred.shape[0], 1, *pred.shape[-2:])
    count = m.sum(dim=(1, 2, 3)).clamp_min(1.0) * pred.shape[1]
    mse = ((pred - target).pow(2) * m).sum(dim=(1, 2, 3)) / count
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))

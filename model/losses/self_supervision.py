"""Self-supervision across resolutions (RSC-Net, Eqs. 9-10).

The same images are seen at ``K`` resolutions, ordered from the highest
(``i = 0``) to the lowest (``i = K - 1``). With ``f(x_i)`` the quantity to keep
consistent (in the paper: the regressed output; the function is generic over
any per-sample vector):

* ``"directional"`` (Eq. 10, default):
  ``L_s = sum_{i<j} (j - i) * d(sg(f(x_i)), f(x_j))`` -- the higher resolution
  is the target and receives no gradient (``sg`` = stop-gradient), and pairs
  further apart in resolution weigh more.
* ``"symmetric"`` (SS-o, Eq. 9): ``sum_{i<j} d(f(x_i), f(x_j))``, plain MSE
  between every pair, no stop-gradient, unit weights. (Each unordered pair is
  counted once; counting ordered pairs ``i != j`` would only double it.)
* ``"highest"`` (SS-h): ``sum_{j>0} (j - 0) * d(sg(f(x_0)), f(x_j))`` -- only
  the highest resolution is the (detached) target. It keeps the ``(j - i)``
  weights of the directional loss so that the ablation changes only which
  pairs are used; pass ``pair_weights="uniform"`` for unit weights.

Distance: ``d(a, b)`` is the squared error **averaged** over the feature
dimensions (``mean_d (a_d - b_d)^2``, i.e. ``nn.MSELoss``, as RSC-Net's
official code does), then averaged over the samples. Averaging rather than
summing over dimensions keeps the loss independent of the feature size, so a
weight such as 0.1 means the same for a 10-D betas vector and a 2048-D
feature. The pair weights are not normalised: with ``K`` resolutions the
directional weights sum to ``sum_{i<j} (j - i) = (K^3 - K) / 6`` (RSC-Net's
official code additionally divides each pair by ``K``; pass
``normalize_by_resolutions=True`` for that).

Masks: ``mask[b, k]`` says whether sample ``b`` has resolution ``k``. A pair
contributes, for each sample, only when both resolutions are present, and is
averaged over those samples; a pair without any such sample gives exactly 0.
Missing views may hold anything (NaN included): they are replaced by zeros
before use, so their value and gradient contributions are exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "SelfSupervisionMode",
    "output_self_supervision_loss",
    "resolution_pairs",
    "sanitize_missing",
    "self_supervision_loss",
    "stack_resolutions",
]

SelfSupervisionMode = Literal["directional", "symmetric", "highest"]
PairWeights = Literal["distance", "uniform"]


def resolution_pairs(
    num_resolutions: int,
    mode: SelfSupervisionMode = "directional",
    pair_weights: PairWeights | None = None,
) -> list[tuple[int, int, float, bool]]:
    """Pairs ``(target i, prediction j, weight, detach target)`` used by a mode.

    Args:
        num_resolutions: ``K``.
        mode: ``"directional"``, ``"symmetric"`` or ``"highest"`` (module docstring).
        pair_weights: ``"distance"`` (``j - i``) or ``"uniform"`` (1);
            ``None`` = the mode's default (uniform for ``"symmetric"``,
            distance otherwise).

    Returns:
        List of ``(i, j, weight, detach)`` with ``i < j``.
    """
    if mode not in ("directional", "symmetric", "highest"):
        raise ValueError(f"unknown self-supervision mode {mode!r}")
    if pair_weights is None:
        pair_weights = "uniform" if mode == "symmetric" else "distance"
    if pair_weights not in ("distance", "uniform"):
        raise ValueError(f"unknown pair_weights {pair_weights!r}")
    firsts = range(1) if mode == "highest" else range(num_resolutions)
    detach = mode != "symmetric"
    return [
        (i, j, float(j - i) if pair_weights == "distance" else 1.0, detach)
        for i in firsts
        for j in range(i + 1, num_resolutions)
    ]


def stack_resolutions(features: Tensor | Sequence[Tensor]) -> Tensor:
    """``(K, B, ...)`` tensor or ``K`` tensors of shape ``(B, ...)`` -> ``(K, B, D)``."""
    if isinstance(features, Tensor):
        stacked = features
    else:
        stacked = torch.stack(list(features), dim=0)
    if stacked.dim() < 2:
        raise ValueError(f"expected (K, B, ...) features, got {tuple(stacked.shape)}")
    return stacked.reshape(stacked.shape[0], stacked.shape[1], -1)


def sanitize_missing(feats: Tensor, valid: Tensor) -> Tensor:
    """Zero the ``(K, B, D)`` rows whose ``valid[b, k]`` is false.

    Missing views then contribute exactly 0 to both value and gradient, even
    when they hold NaN placeholders.
    """
    keep = valid.t()[..., None]
    return torch.where(keep, feats, torch.zeros_like(feats))


def _pair_mean(per_sample: Tensor, valid: Tensor | None) -> Tensor:
    if valid is None:
        return per_sample.mean()
    value = torch.where(valid, per_sample, torch.zeros_like(per_sample))
    return value.sum() / valid.sum().clamp(min=1).to(per_sample.dtype)


def self_supervision_loss(
    features: Tensor | Sequence[Tensor],
    mode: SelfSupervisionMode = "directional",
    mask: Tensor | None = None,
    pair_weights: PairWeights | None = None,
    normalize_by_resolutions: bool = False,
) -> Tensor:
    """Consistency loss between the resolutions of the same images (Eqs. 9-10).

    Args:
        features: ``(K, B, D)`` (any trailing shape is flattened) or a
            sequence of ``K`` tensors ``(B, ...)``, highest resolution first.
        mode: ``"directional"`` (Eq. 10), ``"symmetric"`` (SS-o, Eq. 9) or
            ``"highest"`` (SS-h).
        mask: ``(B, K)`` bool/0-1, whether sample ``b`` has resolution ``k``;
            ``None`` = all present.
        pair_weights: override of the pair weighting (see :func:`resolution_pairs`).
        normalize_by_resolutions: divide every pair weight by ``K`` (RSC-Net's
            official code); off by default.

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
        target = feats[i].detach() if detach else feats[i]
        per_sample = (feats[j] - target).square().mean(-1)
        valid = None if valid_k is None else valid_k[:, i] & valid_k[:, j]
        if normalize_by_resolutions:
            weight = weight / num_res
        total = total + weight * _pair_mean(per_sample, valid)
    return total


def output_self_supervision_loss(
    outputs: Sequence[Mapping[str, Tensor]],
    weights: Mapping[str, float],
    mode: SelfSupervisionMode = "directional",
    mask: Tensor | None = None,
    pair_weights: PairWeights | None = None,
    normalize_by_resolutions: bool = False,
) -> tuple[Tensor, dict[str, float]]:
    """Eq. 10 on several network outputs at once, each with its own weight.

    The paper applies the self-supervision to the regressed output
    ``Theta = (pose, shape, camera)``; RSC-Net's official code weighs the
    parts like the supervised terms (e.g. ``{"rotmat": 1.0, "betas": 0.001,
    "cam": 1e-4}``). Each key is compared with :func:`self_supervision_loss`.

    Args:
        outputs: ``K`` dicts (highest resolution first) name -> ``(B, ...)``.
        weights: name -> weight; only these names are used.
        mode, mask, pair_weights, normalize_by_resolutions: as in
            :func:`self_supervision_loss`.

    Returns:
        ``(total, terms)``: weighted scalar and the unweighted per-name floats.
    """
    if not outputs:
        raise ValueError("output_self_supervision_loss: no outputs")
    total: Tensor | None = None
    terms: dict[str, float] = {}
    for name, weight in weights.items():
        term = self_supervision_loss(
            [out[name] for out in outputs], mode, mask, pair_weights, normalize_by_resolutions
        )
        terms[name] = float(term.detach())
        total = weight * term if total is None else total + weight * term
    if total is None:
        total = next(iter(outputs[0].values())).new_zeros(())
    return total, terms

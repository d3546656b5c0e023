"""ReID and texture losses, texture metrics and retrieval metrics."""

from __future__ import annotations

import math

import pytest
import torch

from model.losses.reid import (
    ReIDLossConfig,
    batch_hard_triplet,
    pairwise_distances,
    reid_loss,
    retrieval_metrics,
)
from model.losses.texture import (
    TextureLossConfig,
    embedding_distance,
    masked_l1,
    masked_psnr,
    reid_feature_distance,
)


def test_pairwise_distances_match_cdist() -> None:
    a, b = torch.randn(5, 3), torch.randn(4, 3)
    assert torch.allclose(pairwise_distances(a, b), torch.cdist(a, b), atol=1e-4)


def test_batch_hard_triplet_zero_when_identities_are_separated_and_positive_otherwise() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    separated = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.01]])
    assert batch_hard_triplet(separated, labels, margin=0.3) == 0
    mixed = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.01], [-1.0, 0.01]])
    # Every anchor: positive at distance 2, negative at ~0.01 -> loss ~ 2 - 0.01 + 0.3.
    assert batch_hard_triplet(mixed, labels, margin=0.3) == pytest.approx(2.29, abs=0.02)
    assert batch_hard_triplet(torch.randn(3, 4), torch.tensor([0, 1, 2])) == 0  # no positives


def test_reid_loss_combines_terms_and_reports_accuracy() -> None:
    emb = torch.randn(4, 8, requires_grad=True)
    logits = torch.tensor([[5.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 1])
    out = reid_loss(emb, logits, labels, ReIDLossConfig(ce_weight=2.0, triplet_weight=0.5))
    assert out.accuracy == pytest.approx(0.75)
    assert torch.allclose(out.total, 2.0 * out.ce + 0.5 * out.triplet)
    out.total.backward()
    assert emb.grad is not None


def test_reid_feature_distance_is_zero_for_identical_features_and_grows_with_difference() -> None:
    feats = [torch.randn(2, 4, 8, 4), torch.randn(2, 8, 4, 2)]
    emb = torch.randn(2, 16)
    cfg = TextureLossConfig(layer_weights=(1.0, 1.0))
    assert torch.allclose(reid_feature_distance(feats, emb, feats, emb, cfg), torch.zeros(2), atol=1e-5)
    other = [f + 0.5 * torch.randn_like(f) for f in feats]
    far = [f + 2.0 * torch.randn_like(f) for f in feats]
    near_d = reid_feature_distance(other, emb, feats, emb, cfg)
    far_d = reid_feature_distance(far, emb, feats, emb, cfg)
    assert (near_d > 0).all() and (far_d > near_d).all()
    with pytest.raises(ValueError, match="feature maps"):
        reid_feature_distance(feats[:1], emb, feats, emb, cfg)


def test_embedding_distance_is_scale_invariant() -> None:
    a = torch.randn(3, 5)
    assert torch.allclose(embedding_distance(a, 7.0 * a), torch.zeros(3), atol=1e-5)
    assert embedding_distance(torch.tensor([[1.0, 0.0]]), torch.tensor([[-1.0, 0.0]])) == pytest.approx(2.0)


def test_masked_l1_and_psnr_use_only_masked_texels() -> None:
    target = torch.zeros(1, 3, 4, 4)
    pred = torch.zeros(1, 3, 4, 4)
    pred[..., 0, 0] = 0.5  # error only at texel (0, 0)
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    mask[..., :2, :] = True  # 8 texels, one wrong
    assert masked_l1(pred, target, mask) == pytest.approx(0.5 / 8)
    assert masked_psnr(pred, target, mask) == pytest.approx(10 * math.log10(1 / (0.25 / 8)), rel=1e-5)
    off = torch.zeros_like(mask)
    off[..., 3, 3] = True
    assert masked_l1(pred, target, off) == 0


def test_retrieval_metrics_perfect_random_and_partial() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    perfect = torch.eye(3)[labels] + 0.01 * torch.randn(6, 3)
    m = retrieval_metrics(perfect, labels)
    assert m.rank1 == 1.0 and m.mAP == pytest.approx(1.0) and m.queries == 6
    # Query 0's positive ranked second of 2 with one negative first: AP = 1/2.
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    m2 = retrieval_metrics(emb, torch.tensor([0, 0, 1]))
    assert m2.queries == 2  # the lone identity-1 image has no positive
    assert m2.rank1 == 0.0 and m2.mAP == pytest.approx(0.5)


def test_run_means_group_runs_of_one_model_by_name() -> None:
    from model.eval.texture import _fmt_run_means, run_means

    def row(name: str, d: float) -> dict:
        return {"name": name, "metrics": {"reid_distance": d, "uv_l1_visible": 2 * d}}

    means = run_means([row("Glo-S", 0.5), row("Glo-S", 0.7), row("Glo-C", 0.6), row("w/o Glo", 0.9)])
    assert set(means) == {"Glo-S"}  # one run: nothing to average
    m = means["Glo-S"]["reid_distance"]
    assert m["runs"] == 2 and abs(m["mean"] - 0.6) < 1e-12 and abs(m["std"] - 0.2 / 2**0.5) < 1e-12
    assert abs(means["Glo-S"]["uv_l1_visible"]["mean"] - 1.2) < 1e-12
    assert "| Glo-S | 2 | 0.6000 ± 0.1414 | 1.2000 ± 0.2828 |" in _fmt_run_means(means)

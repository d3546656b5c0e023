"""Tests for model.losses.self_supervision."""

from __future__ import annotations

import pytest
import torch

from model.losses import output_self_supervision_loss, resolution_pairs, self_supervision_loss

F64 = torch.float64


def test_two_resolutions_1d_hand_computed() -> None:
    feats = torch.tensor([[[1.0], [2.0]], [[3.0], [-1.0]]], dtype=F64, requires_grad=True)  # (K=2, B=2, D=1)
    loss = self_supervision_loss(feats)
    # (j - i) = 1; mean over batch of ((3-1)^2, (-1-2)^2) = (4 + 9) / 2
    assert float(loss.detach()) == pytest.approx(6.5)
    loss.backward()
    assert torch.all(feats.grad[0] == 0)  # no gradient into the highest resolution
    torch.testing.assert_close(feats.grad[1], torch.tensor([[2.0], [-3.0]], dtype=F64))  # 2 (f1 - f0) / B


def test_three_resolutions_directional_weights_and_dim_mean() -> None:
    f = torch.tensor([[[0.0, 0.0]], [[1.0, 1.0]], [[2.0, 4.0]]], dtype=F64)  # (K=3, B=1, D=2)
    d01 = (1 + 1) / 2
    d02 = (4 + 16) / 2
    d12 = (1 + 9) / 2
    assert float(self_supervision_loss(f)) == pytest.approx(1 * d01 + 2 * d02 + 1 * d12)
    assert float(self_supervision_loss(f, mode="symmetric")) == pytest.approx(d01 + d02 + d12)
    assert float(self_supervision_loss(f, mode="highest")) == pytest.approx(1 * d01 + 2 * d02)
    assert float(self_supervision_loss(f, mode="highest", pair_weights="uniform")) == pytest.approx(d01 + d02)
    assert float(self_supervision_loss(f, normalize_by_resolutions=True)) == pytest.approx(
        (1 * d01 + 2 * d02 + 1 * d12) / 3
    )
    # A list of (B, ...) tensors with trailing dims is flattened the same way.
    as_list = [x.reshape(1, 2, 1) for x in f]
    assert float(self_supervision_loss(as_list)) == pytest.approx(float(self_supervision_loss(f)))


def test_gradient_flow_per_mode() -> None:
    base = torch.randn(3, 4, 5, dtype=F64)
    grads = {}
    for mode in ("directional", "symmetric", "highest"):
        f = base.clone().requires_grad_(True)
        self_supervision_loss(f, mode=mode).backward()
        grads[mode] = f.grad
    assert torch.all(grads["directional"][0] == 0)
    assert torch.all(grads["highest"][0] == 0)
    assert torch.any(grads["symmetric"][0] != 0)
    # directional: the middle resolution gets gradient only as a prediction (from pair 0-1)
    f = base.clone().requires_grad_(True)
    self_supervision_loss([f[0], f[1]], mode="directional").backward()
    torch.testing.assert_close(grads["directional"][1], f.grad[1])


def test_pairs() -> None:
    assert resolution_pairs(3) == [(0, 1, 1.0, True), (0, 2, 2.0, True), (1, 2, 1.0, True)]
    assert resolution_pairs(3, "symmetric") == [(0, 1, 1.0, False), (0, 2, 1.0, False), (1, 2, 1.0, False)]
    assert resolution_pairs(3, "highest") == [(0, 1, 1.0, True), (0, 2, 2.0, True)]
    assert resolution_pairs(1) == []
    with pytest.raises(ValueError):
        resolution_pairs(3, "bogus")  # type: ignore[arg-type]


def test_mask_excludes_missing_resolutions() -> None:
    f = torch.tensor([[[0.0], [0.0]], [[1.0], [float("nan")]]], dtype=F64, requires_grad=True)
    mask = torch.tensor([[1, 1], [1, 0]])
    loss = self_supervision_loss(f, mask=mask)
    assert float(loss.detach()) == pytest.approx(1.0)  # only sample 0, averaged over the valid samples
    loss.backward()
    assert torch.isfinite(f.grad).all()
    none = self_supervision_loss(f, mask=torch.tensor([[1, 0], [1, 0]]))
    assert float(none.detach()) == 0.0
    assert float(self_supervision_loss(f[:1]).detach()) == 0.0  # K = 1


def test_output_self_supervision_weights() -> None:
    gen = torch.Generator().manual_seed(0)
    outs = [
        {"rotmat": torch.randn(2, 24, 3, 3, generator=gen), "betas": torch.randn(2, 10, generator=gen)} for _ in range(3)
    ]
    total, terms = output_self_supervision_loss(outs, {"rotmat": 1.0, "betas": 0.001})
    rot = self_supervision_loss([o["rotmat"] for o in outs])
    expected = rot + 0.001 * self_supervision_loss([o["betas"] for o in outs])
    torch.testing.assert_close(total, expected)
    assert set(terms) == {"rotmat", "betas"}

"""Heatmap supervision: Gaussian targets, the KL divergence, hidden keypoints and the configuration."""

from __future__ import annotations

import math

import pytest
import torch

from model.losses import TotalLossConfig
from model.losses.heatmap import gaussian_targets, heatmap_loss


def test_targets_are_distributions_peaked_at_the_point() -> None:
    kp = torch.tensor([[[18.0, 42.0], [0.5, 63.5]]])  # crop pixels of a 64-px crop
    t = gaussian_targets(kp, 64.0, 16, 16, sigma=1.0)
    assert t.shape == (1, 2, 16, 16)
    torch.testing.assert_close(t.sum(dim=(-1, -2)), torch.ones(1, 2))
    # pixel 18 -> cell 18 / 4 - 0.5 = 4.0 (column), pixel 42 -> cell 10.0 (row)
    assert int(t[0, 0].argmax()) == 10 * 16 + 4
    assert int(t[0, 1].argmax()) == 15 * 16 + 0
    wide = gaussian_targets(kp, 64.0, 16, 16, sigma=3.0)
    assert wide[0, 0].max() < t[0, 0].max()
    with pytest.raises(ValueError, match="sigma"):
        gaussian_targets(kp, 64.0, 16, 16, sigma=0.0)


def test_loss_is_zero_at_the_target_and_grows_away_from_it() -> None:
    kp = torch.tensor([[[18.0, 42.0, 1.0], [40.0, 10.0, 1.0]]])
    t = gaussian_targets(kp[..., :2], 64.0, 16, 16, sigma=1.0)
    exact = heatmap_loss(torch.log(t.clamp_min(1e-30)), kp, 64.0, sigma=1.0)
    assert float(exact) == pytest.approx(0.0, abs=1e-5)
    flat = heatmap_loss(torch.zeros(1, 2, 16, 16), kp, 64.0, sigma=1.0)
    entropy = -(t * t.clamp_min(1e-12).log()).sum(dim=(-1, -2)).mean()
    assert float(flat) == pytest.approx(math.log(256) - float(entropy), rel=1e-4)
    # a map whose peak sits on the left/right partner's point costs more than a flat one
    swapped = torch.log(gaussian_targets(kp[:, [1, 0], :2], 64.0, 16, 16, sigma=1.0).clamp_min(1e-30))
    assert float(heatmap_loss(swapped, kp, 64.0)) > float(flat)


def test_hidden_and_outside_keypoints_have_no_target_and_no_gradient() -> None:
    kp = torch.tensor([[[18.0, 42.0, 1.0], [40.0, 10.0, 0.0], [70.0, 10.0, 1.0]], [[5.0, 5.0, 0.0], [1.0, 1.0, 0.0], [-3.0, 1.0, 1.0]]])
    logits = torch.randn(2, 3, 16, 16, requires_grad=True)
    loss = heatmap_loss(logits, kp, 64.0)
    only_first = heatmap_loss(logits[:1, :1], kp[:1, :1], 64.0)
    torch.testing.assert_close(loss, only_first)  # the second sample has no target: left out of the mean
    loss.backward()
    assert logits.grad[0, 0].abs().sum() > 0
    assert logits.grad[0, 1:].abs().sum() == 0 and logits.grad[1].abs().sum() == 0
    assert float(heatmap_loss(logits.detach(), kp, 64.0, has=torch.tensor([0.0, 1.0]))) == 0.0


def test_config_validation() -> None:
    assert TotalLossConfig(keypoint_head_loss="heatmap").keypoint_head_loss == "heatmap"
    with pytest.raises(ValueError, match="keypoint_head_loss"):
        TotalLossConfig(keypoint_head_loss="l1")
    with pytest.raises(ValueError, match="keypoint_heatmap_sigma"):
        TotalLossConfig(keypoint_heatmap_sigma=0.0)

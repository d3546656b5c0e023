"""The root angular-velocity loss of the video model (model/losses/root_velocity.py)."""

from __future__ import annotations

import math

import pytest
import torch

from model.geometry.rotations import axis_angle_to_matrix, rotation_angle
from model.losses import root_velocity_loss


def about_vertical(angles: torch.Tensor) -> torch.Tensor:
    """``(..., )`` angles (rad) -> ``(..., 3, 3)`` rotations about the camera's vertical (y)."""
    axis = torch.zeros(*angles.shape, 3)
    axis[..., 1] = angles
    return axis_angle_to_matrix(axis)


def test_rotation_angle_matches_the_axis_angle_norm() -> None:
    g = torch.Generator().manual_seed(0)
    axis = torch.nn.functional.normalize(torch.randn(500, 3, generator=g), dim=-1)
    angle = torch.rand(500, generator=g) * math.pi
    got = rotation_angle(axis_angle_to_matrix(axis * angle[:, None]))
    assert got.shape == (500,)
    assert torch.allclose(got, angle, atol=1e-3)
    assert float(rotation_angle(torch.eye(3))) < 1e-3
    assert float(rotation_angle(torch.diag(torch.tensor([-1.0, 1.0, -1.0])))) == pytest.approx(
        math.pi, abs=2e-4
    )  # the sine floor (1e-4 rad)


def test_zero_when_the_prediction_turns_like_the_truth() -> None:
    """Only the change from frame to frame counts: a constant offset in the body's frame costs
    nothing, nor does a constant heading error while the truth turns about the vertical."""
    g = torch.Generator().manual_seed(1)
    true = axis_angle_to_matrix(0.4 * torch.randn(3, 8, 3, generator=g))
    offset = axis_angle_to_matrix(torch.tensor([0.3, -1.0, 0.2]))
    assert float(root_velocity_loss(true @ offset, true)) < 1e-6
    turning = about_vertical(torch.linspace(0.0, 1.5, 8).expand(3, 8)) @ true[:, :1]
    heading_error = about_vertical(torch.tensor(2.5))
    assert float(root_velocity_loss(heading_error @ turning, turning)) < 1e-6
    assert float(root_velocity_loss(offset @ true, true)) > 1e-3  # a tilt in the camera's frame turns the steps


def test_a_jump_costs_more_than_the_same_turn_spread_over_frames() -> None:
    true = about_vertical(torch.zeros(1, 9))
    jump = about_vertical(torch.tensor([[0.0] * 4 + [math.pi * 0.95] * 5]))
    spread = about_vertical(torch.linspace(0.0, math.pi * 0.95, 9)[None])
    l_jump, l_spread = float(root_velocity_loss(jump, true)), float(root_velocity_loss(spread, true))
    assert l_jump == pytest.approx((math.pi * 0.95) ** 2 / 8, rel=1e-3)  # one pair of eight
    assert l_spread == pytest.approx((math.pi * 0.95 / 8) ** 2, rel=1e-3)  # eight small steps
    assert l_jump > 7 * l_spread


def test_gradient_is_finite_at_zero_and_near_pi() -> None:
    for start in (0.0, math.pi - 1e-4):
        x = torch.zeros(2, 5, 3)
        x[:, 2:, 1] = start
        x.requires_grad_(True)
        loss = root_velocity_loss(axis_angle_to_matrix(x), about_vertical(torch.zeros(2, 5)))
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(x.grad).all()


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="B, T, 3, 3"):
        root_velocity_loss(torch.eye(3).expand(4, 3, 3), torch.eye(3).expand(4, 3, 3))
    with pytest.raises(ValueError, match="two frames"):
        root_velocity_loss(torch.eye(3).expand(2, 1, 3, 3), torch.eye(3).expand(2, 1, 3, 3))
    with pytest.raises(ValueError, match="rotation matrices"):
        rotation_angle(torch.zeros(3, 4))


def test_margin_frees_small_changes_and_prices_jumps() -> None:
    true = about_vertical(torch.zeros(1, 9))
    spread = about_vertical(torch.linspace(0.0, math.pi * 0.95, 9)[None])  # 21 degrees a frame
    jump = about_vertical(torch.tensor([[0.0] * 4 + [math.pi * 0.95] * 5]))
    margin = math.radians(30)
    assert float(root_velocity_loss(spread, true, margin)) == 0.0
    assert float(root_velocity_loss(jump, true, margin)) == pytest.approx((math.pi * 0.95 - margin) ** 2 / 8, rel=1e-3)
    with pytest.raises(ValueError, match="margin"):
        root_velocity_loss(jump, true, -0.1)

"""The causal turn limit of sequence answers (model/inference/turn_limit.py)."""

from __future__ import annotations

import math

import pytest
import torch

from model.eval.video import facing_jumps
from model.geometry.heading import angle_difference, heading_angle, rotation_about_y
from model.geometry.rotations import axis_angle_to_matrix
from model.inference.turn_limit import limit_turn


def headings_deg(root: torch.Tensor) -> list[float]:
    return [round(float(v), 3) for v in torch.rad2deg(heading_angle(root))]


def test_a_flip_becomes_a_turn_of_at_most_the_limit_per_frame() -> None:
    h = torch.tensor([0.0, 10.0, 190.0, 20.0, 30.0, 200.0, 210.0, 220.0, 230.0])
    out = limit_turn(rotation_about_y(torch.deg2rad(h)), 45.0)
    got = torch.tensor(headings_deg(out))
    step = torch.rad2deg(angle_difference(torch.deg2rad(got[1:]), torch.deg2rad(got[:-1]))).abs()
    assert float(step.max()) <= 45.0 + 1e-3
    assert not facing_jumps(torch.deg2rad(got)).any()
    # the lone turned frame (2) is moved 45 degrees towards it; the lasting turn (5-8) is followed, 45 a frame
    assert got[:2].tolist() == [0.0, 10.0] and got[3:5].tolist() == [10.0, 30.0]
    assert abs(float(got[2])) == pytest.approx(35.0, abs=1e-3)
    assert got[5:].tolist() == pytest.approx([75.0, 120.0, 165.0, -150.0], abs=1e-3)


def test_answers_that_turn_slowly_pass_unchanged() -> None:
    g = torch.Generator().manual_seed(0)
    axis = 0.1 * torch.randn(2, 12, 3, generator=g)
    axis[..., 1] += torch.linspace(0.0, 3.0, 12)  # about 15 degrees a frame
    root = axis_angle_to_matrix(axis)
    assert torch.allclose(limit_turn(root, 60.0), root, atol=1e-6)


def test_only_the_heading_changes() -> None:
    """Tilt and roll are kept: the limited root is the model's turned about the camera's y axis."""
    g = torch.Generator().manual_seed(1)
    root = axis_angle_to_matrix(torch.randn(1, 10, 3, generator=g))
    out = limit_turn(root, 20.0)
    relative = out @ root.transpose(-1, -2)
    assert torch.allclose(relative[..., 1, :], torch.tensor([0.0, 1.0, 0.0]).expand(1, 10, 3), atol=1e-5)
    assert torch.allclose(out[..., 1, :], root[..., 1, :], atol=1e-5)  # the y row (elevations) is the model's
    assert torch.allclose(out @ out.transpose(-1, -2), torch.eye(3).expand(1, 10, 3, 3), atol=1e-5)


def test_gaps_allow_the_limit_per_missing_frame() -> None:
    h = torch.deg2rad(torch.tensor([0.0, 0.0, 999.0, 999.0, 120.0]))
    valid = torch.tensor([True, True, False, False, True])
    root = rotation_about_y(h)
    out = limit_turn(root, 45.0, valid)
    assert torch.equal(out[2:4], root[2:4])  # no person there: returned as given
    assert headings_deg(out)[4] == pytest.approx(120.0, abs=1e-3)  # three frames since the last: up to 135
    assert headings_deg(limit_turn(root, 30.0, valid))[4] == pytest.approx(90.0, abs=1e-3)


def test_a_root_without_heading_passes_and_resets_the_limit() -> None:
    lying = axis_angle_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0]))  # forward axis along camera y
    root = torch.stack([rotation_about_y(torch.tensor(0.0)), lying, rotation_about_y(torch.tensor(math.pi * 0.9))])[
        None
    ]
    out = limit_turn(root, 10.0)
    assert torch.allclose(out[0, 1], lying, atol=1e-6)


def test_bad_arguments() -> None:
    root = torch.eye(3).expand(4, 3, 3)
    with pytest.raises(ValueError, match="max_turn_deg"):
        limit_turn(root, 0.0)
    with pytest.raises(ValueError, match="max_turn_deg"):
        limit_turn(root, float("nan"))
    with pytest.raises(ValueError, match="T, 3, 3"):
        limit_turn(torch.eye(3), 45.0)
    with pytest.raises(ValueError, match="valid"):
        limit_turn(root, 45.0, torch.ones(3, dtype=torch.bool))

"""Heading of a root rotation: angle, bins, decoding of logits, turning a body to a heading."""

from __future__ import annotations

import math

import pytest
import torch

from model.geometry.heading import (
    angle_difference,
    bin_centres,
    heading_angle,
    heading_bin,
    heading_error_deg,
    heading_from_logits,
    heading_weight,
    rotation_about_y,
    with_heading,
)
from model.geometry.rotations import axis_angle_to_matrix


def _random_rotations(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return axis_angle_to_matrix(torch.randn(n, 3, generator=g) * 1.5)


def test_heading_of_turns_about_y() -> None:
    angles = torch.tensor([0.0, 0.5, -1.0, 3.0, -3.0])
    rot = rotation_about_y(angles)
    assert torch.allclose(heading_angle(rot), angles, atol=1e-6)
    assert torch.allclose(heading_weight(rot), torch.ones(5), atol=1e-6)
    # the forward axis of an unturned body points away from the camera (+z)
    assert torch.allclose(rot[0, :, 2], torch.tensor([0.0, 0.0, 1.0]))


def test_a_body_facing_along_y_has_no_heading() -> None:
    tipped = axis_angle_to_matrix(torch.tensor([[math.pi / 2, 0.0, 0.0]]))  # forward axis -> -y
    assert heading_weight(tipped).item() == pytest.approx(0.0, abs=1e-6)


def test_with_heading_sets_the_heading_and_keeps_tilt_and_roll() -> None:
    rot = _random_rotations(64)
    target = (torch.rand(64, generator=torch.Generator().manual_seed(1)) * 2 - 1) * math.pi
    turned = with_heading(rot, target)
    assert torch.allclose(turned @ turned.transpose(1, 2), torch.eye(3).expand(64, 3, 3), atol=1e-5)
    assert torch.allclose(torch.det(turned), torch.ones(64), atol=1e-5)
    keep = heading_weight(rot) > 0.1
    assert angle_difference(heading_angle(turned), target)[keep].abs().max() < 1e-4
    # a turn about camera y moves no axis up or down: every column keeps its y component
    assert torch.allclose(turned[:, 1, :], rot[:, 1, :], atol=1e-5)
    # already at the heading: unchanged
    assert torch.allclose(with_heading(rot, heading_angle(rot)), rot, atol=1e-5)


def test_bins_cover_the_circle() -> None:
    centres = bin_centres(12)
    assert centres.shape == (12,) and centres[0] == 0.0
    assert torch.equal(heading_bin(centres, 12), torch.arange(12))
    width = 2 * math.pi / 12
    # bin 0 straddles 0, up to half a bin either side; +-pi falls in bin 6
    edges = torch.tensor([width / 2 - 1e-4, -width / 2 + 1e-4, width / 2 + 1e-4, math.pi, -math.pi])
    assert heading_bin(edges, 12).tolist() == [0, 0, 1, 6, 6]
    with pytest.raises(ValueError, match="bins"):
        bin_centres(1)


def test_logits_decode_to_the_confident_bin_and_between_two() -> None:
    logits = torch.full((2, 12), -30.0)
    logits[0, 3] = 30.0
    logits[1, 5] = logits[1, 6] = 30.0  # 150 and 180 degrees, equally
    decoded = heading_from_logits(logits)
    assert decoded[0].item() == pytest.approx(3 * math.pi / 6, abs=1e-4)
    assert abs(angle_difference(decoded[1], torch.tensor(165 * math.pi / 180)).item()) < 1e-4
    assert decoded.shape == (2,)


def test_angle_difference_wraps() -> None:
    d = angle_difference(torch.tensor([3.0]), torch.tensor([-3.0]))
    assert d.item() == pytest.approx(6.0 - 2 * math.pi, abs=1e-6)
    err = heading_error_deg(torch.tensor([3.0, 0.0]), torch.tensor([-3.0, math.pi]))
    assert err.tolist() == pytest.approx([math.degrees(2 * math.pi - 6.0), 180.0], abs=1e-4)

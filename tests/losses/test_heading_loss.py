"""Heading loss: cross-entropy against the true heading's bin, masked and weighted by how much heading there is."""

from __future__ import annotations

import math

import pytest
import torch

from model.geometry.heading import rotation_about_y
from model.geometry.rotations import axis_angle_to_matrix
from model.losses.heading import heading_loss


def test_confident_right_answer_costs_nothing_wrong_one_costs() -> None:
    true = rotation_about_y(torch.tensor([0.0, math.pi / 2, math.pi]))  # bins 0, 3, 6 of 12
    right = torch.full((3, 12), -20.0)
    right[torch.arange(3), torch.tensor([0, 3, 6])] = 20.0
    assert heading_loss(right, true).item() < 1e-6
    wrong = right.roll(6, dims=1)  # the other way round
    assert heading_loss(wrong, true).item() > 30.0
    uniform = torch.zeros(3, 12)
    assert heading_loss(uniform, true).item() == pytest.approx(math.log(12), rel=1e-5)


def test_mask_and_nan_placeholders() -> None:
    true = rotation_about_y(torch.tensor([0.0, 1.0]))
    true[1] = float("nan")
    logits = torch.zeros(2, 12, requires_grad=True)
    loss = heading_loss(logits, true, mask=torch.tensor([1.0, 0.0]))
    loss.backward()
    assert torch.isfinite(loss) and loss.item() == pytest.approx(math.log(12), rel=1e-5)
    assert torch.all(logits.grad[1] == 0) and torch.isfinite(logits.grad).all()
    assert heading_loss(logits, true, mask=torch.zeros(2)).item() == 0.0


def test_a_body_without_heading_adds_nothing() -> None:
    tipped = axis_angle_to_matrix(torch.tensor([[math.pi / 2, 0.0, 0.0]]))
    logits = torch.randn(1, 12, requires_grad=True)
    heading_loss(logits, tipped).backward()
    assert logits.grad.abs().max() < 1e-5


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="logits"):
        heading_loss(torch.zeros(2, 12), torch.eye(3).expand(3, 3, 3))

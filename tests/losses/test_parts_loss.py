"""Part-head loss: the cross-entropy of each cell's class, targets taken at the cell centres, per resolution."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from model.losses.parts import part_accuracy, part_loss, part_targets


def test_targets_are_read_at_cell_centres() -> None:
    parts = torch.zeros(1, 1, 8, 8, dtype=torch.uint8)
    parts[0, 0, 4:, :4] = 3  # the lower-left quarter
    target = part_targets(parts, (2, 2))
    assert target.tolist() == [[[0, 0], [3, 0]]]
    with pytest.raises(ValueError, match=r"\(B, 1, S, S\)"):
        part_targets(parts[0], (2, 2))


def test_loss_is_the_cross_entropy_and_repeats_over_resolutions() -> None:
    parts = torch.randint(0, 5, (2, 1, 8, 8), dtype=torch.uint8)
    flat = torch.zeros(4, 5, 4, 4)  # two resolutions per sample, uniform logits
    assert float(part_loss(flat, parts)) == pytest.approx(math.log(5), rel=1e-5)
    target = part_targets(parts, (4, 4))
    perfect = F.one_hot(target, 5).permute(0, 3, 1, 2).float().repeat_interleave(2, 0) * 50.0
    assert float(part_loss(perfect, parts)) < 1e-6
    assert float(part_accuracy(perfect, parts)) == 1.0
    prior = torch.zeros(4, 5, 4, 4)
    prior[:, 0] = 5.0  # the background everywhere: still asked which body part shows where the body is
    assert float(part_accuracy(prior, parts)) == float(part_accuracy(flat, parts))
    with pytest.raises(ValueError, match="classes"):
        part_loss(torch.zeros(2, 3, 4, 4), parts)
    with pytest.raises(ValueError, match="logit maps"):
        part_loss(torch.zeros(3, 5, 4, 4), parts)

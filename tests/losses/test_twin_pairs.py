"""Twin-pair loss: zero for the truth, the whole twin difference for an outline reader, pairs only."""

from __future__ import annotations

import pytest
import torch

from model.losses.config import TotalLossConfig, combine_losses
from model.losses.twin_pairs import twin_pair_loss

HIPS = (0, 1)


def _joints(b: int, j: int = 5) -> torch.Tensor:
    return torch.randn(b, j, 3, generator=torch.Generator().manual_seed(b))


def test_truth_costs_nothing_and_any_translation_is_ignored() -> None:
    true = _joints(4)
    pred = (true + torch.tensor([0.3, -0.2, 5.0]))[:, None].expand(4, 2, 5, 3)  # K = 2 resolutions
    loss = twin_pair_loss(pred, true, torch.tensor([10, 11, 20, 21]), HIPS)
    assert float(loss) == pytest.approx(0.0, abs=1e-10)


def test_answering_both_twins_alike_costs_the_true_difference() -> None:
    true = _joints(4)
    pred = true[[0, 0, 2, 2]][:, None].clone().requires_grad_(True)
    loss = twin_pair_loss(pred, true, torch.tensor([10, 11, 20, 21]), HIPS)
    centred = true - 0.5 * (true[:, :1] + true[:, 1:2])
    expected = torch.stack([(centred[0] - centred[1]).square().mean(), (centred[2] - centred[3]).square().mean()]).mean()
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    loss.backward()
    assert pred.grad is not None and float(pred.grad.abs().sum()) > 0


def test_only_pairs_count() -> None:
    true, pred = _joints(5), torch.zeros(5, 1, 5, 3)
    index = torch.tensor([10, 11, 21, 22, 30])  # one pair; (21, 22) starts odd; the last is alone
    one_pair = twin_pair_loss(pred, true, index, HIPS)
    alone = twin_pair_loss(pred[:2], true[:2], index[:2], HIPS)
    assert float(one_pair) == pytest.approx(float(alone))
    none = twin_pair_loss(pred, true, torch.tensor([1, 2, 3, 4, 5]), HIPS)
    assert float(none) == 0.0


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(B, K, J, 3\)"):
        twin_pair_loss(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), torch.tensor([0, 1]), HIPS)
    with pytest.raises(ValueError, match="layouts differ"):
        twin_pair_loss(torch.zeros(2, 1, 4, 3), torch.zeros(2, 5, 3), torch.tensor([0, 1]), HIPS)


def test_weight_in_the_total() -> None:
    basic, twin = torch.tensor(1.0), torch.tensor(0.5)
    total, terms = combine_losses(basic, None, None, TotalLossConfig(twin_pair_weight=4.0), twin_pair=twin)
    assert float(total) == pytest.approx(3.0) and terms["twin_pair"] == 0.5
    with pytest.raises(ValueError, match="twin_pair_weight"):
        TotalLossConfig(twin_pair_weight=-1.0)

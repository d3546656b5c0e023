"""Learning-rate schedules: warm-up, constant and cosine, and the optim config that selects them."""

from __future__ import annotations

import math

import pytest

from model.train.config import OptimConfig
from model.train.schedule import lr_factor


def test_warmup_then_constant() -> None:
    assert lr_factor(0, 100, 10, cosine=False) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, cosine=False) == pytest.approx(1.0)
    assert lr_factor(50, 100, 10, cosine=False) == 1.0


def test_cosine_runs_from_one_to_the_floor() -> None:
    assert lr_factor(10, 110, 10, final_ratio=0.05) == pytest.approx(1.0)
    assert lr_factor(60, 110, 10, final_ratio=0.05) == pytest.approx(0.05 + 0.95 * 0.5)
    assert lr_factor(110, 110, 10, final_ratio=0.05) == pytest.approx(0.05)
    assert lr_factor(500, 110, 10, final_ratio=0.05) == pytest.approx(0.05)
    values = [lr_factor(s, 110, 10) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_optim_config_schedules() -> None:
    const = OptimConfig(lr=1e-3, warmup_steps=0)
    assert const.lr_at(999, 1000) == 1e-3
    cos = OptimConfig(lr=1e-3, schedule="cosine", final_lr_ratio=0.1)
    assert cos.lr_at(0, 1001) == pytest.approx(1e-3)
    assert cos.lr_at(1000, 1001) == pytest.approx(1e-4)
    assert cos.lr_at(500, 1001) == pytest.approx(1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    with pytest.raises(ValueError, match="schedule"):
        OptimConfig(schedule="step")
    with pytest.raises(ValueError, match="final_lr_ratio"):
        OptimConfig(final_lr_ratio=1.5)


def test_cosine_held_until_anneal_from() -> None:
    """A long run annealed over its last steps: the rate holds at lr until anneal_from, then falls."""
    assert lr_factor(5, 100, 10, final_ratio=0.1, hold_until=60) == pytest.approx(0.6)  # warm-up first
    assert lr_factor(30, 100, 10, final_ratio=0.1, hold_until=60) == 1.0
    assert lr_factor(60, 100, 10, final_ratio=0.1, hold_until=60) == pytest.approx(1.0)
    assert lr_factor(80, 100, 10, final_ratio=0.1, hold_until=60) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(100, 100, 10, final_ratio=0.1, hold_until=60) == pytest.approx(0.1)
    cfg = OptimConfig(lr=1e-3, schedule="cosine", final_lr_ratio=0.1, warmup_steps=10, anneal_from=60)
    assert cfg.lr_at(30, 101) == pytest.approx(1e-3)
    assert cfg.lr_at(100, 101) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="anneal_from"):
        OptimConfig(anneal_from=-1)

"""Learning-rate schedules shared by the trainers: linear warm-up, then constant or half-cosine."""

from __future__ import annotations

import math


def lr_factor(step: int, steps: int, warmup: int, final_ratio: float = 0.01, cosine: bool = True) -> float:
    """Multiplier of the base learning rate at optimiser step ``step`` (0-based) of ``steps``.

    Linear warm-up ``(step + 1) / warmup`` for the first ``warmup`` steps; then 1 (``cosine=False``)
    or a half cosine from 1 at the end of the warm-up down to ``final_ratio`` at step ``steps``.
    """
    if warmup and step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    t = min(1.0, max(step - warmup, 0) / max(1, steps - warmup))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

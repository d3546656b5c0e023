"""Learning-rate schedules shared by the trainers: linear warm-up, then constant or half-cosine."""

from __future__ import annotations

import math


def lr_factor(step: int, steps: int, warmup: int, final_ratio: float = 0.01, cosine: bool = True, hold_until: int = 0) -> float:
    """Multiplier of the base learning rate at optimiser step ``step`` (0-based) of ``steps``.

    Linear warm-up ``(step + 1) / warmup`` for the first ``warmup`` steps; then 1 (``cosine=False``)
    or a half cosine from 1 down to ``final_ratio`` at step ``steps``. The cosine starts at the end
    of the warm-up, or at ``hold_until`` when that is later (the rate holds at 1 until then: a long
    run annealed only over its last steps).
    """
    if warmup and step < warmup:
        return (step + 1) / warmup
    if not cosine:
        return 1.0
    start = max(warmup, hold_until)
    t = min(1.0, max(step - start, 0) / max(1, steps - start))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

"""Python floats drawn in blocks from a ``torch.Generator``: cheap scalar randomness for procedural content.

Drawing one scalar at a time from torch costs a call each; :class:`BlockDraws` draws ``block``
uniforms at once and hands them out in order, so a sequence of draws stays a deterministic
function of the generator. The block size is part of that function: a module that changes it
changes what it draws.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["BlockDraws"]


class BlockDraws:
    """Uniform, Bernoulli, index, table and normal draws served from blocks of ``torch.rand``.

    Args:
        generator: source of the draws (``None``: torch's global generator).
        block: uniforms drawn per call to ``torch.rand``.
    """

    def __init__(self, generator: torch.Generator | None, block: int = 64) -> None:
        if block < 1:
            raise ValueError(f"block must be >= 1, got {block}")
        self.generator = generator
        self.block = block
        self.values: list[float] = []

    def u(self, lo: float = 0.0, hi: float = 1.0) -> float:
        """Uniform in ``[lo, hi)``."""
        if not self.values:
            self.values = torch.rand(self.block, generator=self.generator, dtype=torch.float64).tolist()[::-1]
        return lo + (hi - lo) * self.values.pop()

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.u() < p

    def index(self, n: int) -> int:
        """Uniform integer in ``[0, n)``."""
        return min(int(self.u() * n), n - 1)

    def pick(self, cumulative: np.ndarray) -> int:
        """Index drawn from a table of cumulative probabilities ``(K,)`` ending at 1."""
        return min(int(np.searchsorted(cumulative, self.u(), side="right")), len(cumulative) - 1)

    def normal(self) -> float:
        """Standard normal (Box-Muller from two uniforms)."""
        return math.sqrt(-2.0 * math.log(max(self.u(), 1e-12))) * math.cos(2.0 * math.pi * self.u())

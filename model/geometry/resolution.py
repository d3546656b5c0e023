"""Resolution ranges of RSC-Net, as data.

The paper groups person crops by their resolution into ranges written
``224, (224, 128], (128, 64], (64, 40], (40, 24]``. They are encoded here by a
tuple of strictly decreasing *upper bounds* ``bounds = (224, 128, 64, 40, 24)``
with one range (one row of a results table) per bound:

========  ===========================  ==================
row       sizes ``s`` (crop pixels)    paper's notation
========  ===========================  ==================
0         ``s >= 224``                 224
1         ``128 <= s < 224``           (224, 128]
2         ``64 <= s < 128``            (128, 64]
3         ``40 <= s < 64``             (64, 40]
4         ``s < 40`` (nominally >= 24) (40, 24]
========  ===========================  ==================

i.e. a paper range ``(a, b]``, written high to low, is read as
``b <= s < a``: its lower bound ``b`` is included, its upper bound ``a``
belongs to the next-higher range. Row 0 holds the full resolution
``bounds[0]`` and everything above it; sizes below the last bound still fall in
the last row (they are even lower resolutions, never an error).

Size of a crop
--------------
The *size* of a crop is ``max(height, width)`` in pixels of the original image:
the side of the square crop the network sees (see
:mod:`model.geometry.camera`, whose crops are squares of side
``max(w, h) * scale``). Person boxes are usually taller than wide, so this is
the box height for most people.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["PAPER_RANGES", "ResolutionRanges", "resolution_index"]

PAPER_RANGES: tuple[int, ...] = (224, 128, 64, 40, 24)
"""Upper bounds of the paper's ranges ``{224, (224,128], (128,64], (64,40], (40,24]}``."""


def _uniform_int(low: int, high: int, generator: torch.Generator | None) -> int:
    """One integer uniformly in ``[low, high]`` (both included), from ``generator``."""
    return int(torch.randint(low, high + 1, (), generator=generator, device=_gen_device(generator)).item())


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


@dataclass(frozen=True)
class ResolutionRanges:
    """Resolution ranges given by strictly decreasing upper bounds (see module docstring).

    Attributes:
        bounds: strictly decreasing positive integers; ``bounds[0]`` is the full
            resolution, ``bounds[i]`` (``i >= 1``) the smallest size of row ``i``.
    """

    bounds: tuple[int, ...] = PAPER_RANGES

    def __post_init__(self) -> None:
        bounds = tuple(self.bounds)
        if len(bounds) == 0:
            raise ValueError("ResolutionRanges needs at least one bound")
        for b in bounds:
            if isinstance(b, bool) or int(b) != b or b < 1:
                raise ValueError(f"bounds must be positive integers, got {bounds}")
        if any(a <= b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"bounds must be strictly decreasing, got {bounds}")
        object.__setattr__(self, "bounds", tuple(int(b) for b in bounds))

    @property
    def num_ranges(self) -> int:
        """Number of rows (one per bound)."""
        return len(self.bounds)

    @property
    def full_size(self) -> int:
        """The full resolution ``bounds[0]``."""
        return self.bounds[0]

    def _check_index(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.num_ranges:
            raise IndexError(f"range index {index} out of [0, {self.num_ranges})")
        return index

    def limits(self, index: int) -> tuple[int, int]:
        """Smallest and largest integer size ``(low, high)`` of row ``index``, both included.

        Row 0 is ``(bounds[0], bounds[0])``; row ``i >= 1`` is
        ``(bounds[i], bounds[i-1] - 1)``.
        """
        index = self._check_index(index)
        if index == 0:
            return self.bounds[0], self.bounds[0]
        return self.bounds[index], self.bounds[index - 1] - 1

    def index(self, size: float) -> int:
        """Row of a crop of ``size`` pixels (``max(h, w)``): the number of bounds ``> size``, clamped.

        ``size >= bounds[0]`` gives 0; ``bounds[i] <= size < bounds[i-1]`` gives
        ``i``; sizes below ``bounds[-1]`` give the last row.
        """
        size = float(size)
        if size != size:  # NaN
            raise ValueError("size is NaN")
        above = sum(1 for b in self.bounds if b > size)
        return min(above, self.num_ranges - 1)

    def index_tensor(self, sizes: Tensor) -> Tensor:
        """Vectorised :meth:`index`: ``int64`` rows with the shape and device of ``sizes``."""
        sizes = torch.as_tensor(sizes)
        bounds = torch.tensor(self.bounds, device=sizes.device, dtype=torch.float64)
        above = (bounds > sizes.to(torch.float64)[..., None]).sum(-1)
        return above.clamp(max=self.num_ranges - 1)

    def sample_size(self, index: int, generator: torch.Generator | None = None) -> int:
        """An integer size drawn uniformly in row ``index`` (see :meth:`limits`).

        Row 0 always gives exactly ``bounds[0]`` and draws nothing from ``generator``.
        """
        low, high = self.limits(index)
        if low == high:
            return low
        return _uniform_int(low, high, generator)

    def sample_sizes(
        self,
        indices: Tensor | list[int],
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Vectorised :meth:`sample_size`: one uniform integer size per row index.

        Args:
            indices: ``(K,)`` row indices.
            generator: source of randomness (one ``torch.rand`` of ``K`` values,
                drawn even for row-0 entries so the stream does not depend on
                which rows were asked).

        Returns:
            ``(K,)`` ``int64`` sizes on the CPU.
        """
        idx = torch.as_tensor(indices, dtype=torch.int64).cpu().reshape(-1)
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.num_ranges):
            raise IndexError(f"range indices must be in [0, {self.num_ranges}), got {idx.tolist()}")
        lims = torch.tensor([self.limits(i) for i in range(self.num_ranges)], dtype=torch.int64)
        low, high = lims[idx, 0], lims[idx, 1]
        u = torch.rand(idx.shape, generator=generator, device=_gen_device(generator), dtype=torch.float64).cpu()
        sizes = low + torch.floor(u * (high - low + 1).to(torch.float64)).to(torch.int64)
        return torch.minimum(sizes, high)

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        weights: list[float] | Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Draw ``n`` random rows (uniformly, or with ``weights``) and a size in each.

        Returns:
            ``(indices (n,), sizes (n,))``, both ``int64`` on the CPU.
        """
        if weights is None:
            probs = torch.full((self.num_ranges,), 1.0 / self.num_ranges, dtype=torch.float64)
        else:
            probs = torch.as_tensor(weights, dtype=torch.float64).cpu()
            if probs.shape != (self.num_ranges,) or (probs < 0).any() or probs.sum() <= 0:
                raise ValueError(f"weights must be {self.num_ranges} non-negative numbers with a positive sum")
            probs = probs / probs.sum()
        u = torch.rand((n,), generator=generator, device=_gen_device(generator), dtype=torch.float64).cpu()
        cdf = torch.cumsum(probs, 0)
        indices = torch.searchsorted(cdf, u, right=True).clamp(max=self.num_ranges - 1)
        return indices, self.sample_sizes(indices, generator)

    def representative(self, index: int) -> int:
        """A typical size of row ``index``.

        ``bounds[0]`` for row 0, else the middle of :meth:`limits`, rounded down.
        """
        low, high = self.limits(index)
        return (low + high) // 2

    def label(self, index: int) -> str:
        """The paper's notation of row ``index``, e.g. ``"224"`` or ``"(224,128]"``."""
        index = self._check_index(index)
        if index == 0:
            return str(self.bounds[0])
        return f"({self.bounds[index - 1]},{self.bounds[index]}]"


def resolution_index(height: float, width: float, ranges: ResolutionRanges = ResolutionRanges()) -> int:
    """Row of an ``height x width`` crop: ``ranges.index(max(height, width))``."""
    return ranges.index(max(height, width))

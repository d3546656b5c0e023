"""Resolution ranges: boundaries, vectorised lookup, sampling."""

from __future__ import annotations

import pytest
import torch

from model.geometry.resolution import PAPER_RANGES, ResolutionRanges, resolution_index

R = ResolutionRanges()


@pytest.mark.parametrize(
    "size, row",
    [(1000, 0), (224, 0), (223.9, 1), (223, 1), (128, 1), (127.5, 2), (127, 2), (64, 2), (63, 3),
     (40, 3), (39, 4), (24, 4), (23, 4), (8, 4), (1, 4)],
)  # fmt: skip
def test_index_boundaries(size: float, row: int) -> None:
    assert R.index(size) == row


def test_index_tensor_matches_scalar() -> None:
    sizes = torch.tensor([[300, 224, 223, 128], [127, 64, 40, 24]])
    expected = torch.tensor([[R.index(s) for s in row] for row in sizes.tolist()])
    assert torch.equal(R.index_tensor(sizes), expected)
    assert R.index_tensor(sizes.float() + 0.5).dtype == torch.int64


def test_resolution_index_uses_longer_side() -> None:
    assert resolution_index(150, 60) == 1
    assert resolution_index(60, 150) == 1
    assert resolution_index(30, 20) == 4


def test_validation_and_labels() -> None:
    assert R.bounds == PAPER_RANGES and R.num_ranges == 5 and R.full_size == 224
    for bad in [(), (128, 224), (224, 224), (224, 0), (224.5, 100)]:
        with pytest.raises(ValueError):
            ResolutionRanges(bad)
    assert [R.label(i) for i in range(5)] == ["224", "(224,128]", "(128,64]", "(64,40]", "(40,24]"]
    assert [R.limits(i) for i in range(5)] == [(224, 224), (128, 223), (64, 127), (40, 63), (24, 39)]
    assert [R.representative(i) for i in range(5)] == [224, 175, 95, 51, 31]
    with pytest.raises(IndexError):
        R.limits(5)


def test_sampling_in_range_and_deterministic() -> None:
    g = torch.Generator().manual_seed(0)
    for i in range(R.num_ranges):
        for _ in range(50):
            assert R.index(R.sample_size(i, g)) == i
    idx = torch.tensor([0, 1, 2, 3, 4] * 200)
    a = R.sample_sizes(idx, torch.Generator().manual_seed(3))
    b = R.sample_sizes(idx, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.equal(R.index_tensor(a), idx)
    # Both ends of each range are reachable.
    for i in range(1, 5):
        got = a[idx == i]
        lo, hi = R.limits(i)
        assert got.min() == lo and got.max() == hi
    rows, sizes = R.sample(1000, torch.Generator().manual_seed(1), weights=[0, 1, 0, 0, 1])
    assert set(rows.tolist()) == {1, 4}
    assert torch.equal(R.index_tensor(sizes), rows)

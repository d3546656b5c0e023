"""SyntheticDataset: K resolutions per sample, active ranges, per-index reproducibility, epochs,
batched access and worker-independent loading."""

from __future__ import annotations

import pytest
import torch

from model.data.dataset import ResolutionConfig, ResolutionTransform, SyntheticDataset, make_loader, unbatch
from model.data.degrade import DegradeConfig
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.geometry.resolution import ResolutionRanges

S = 64
RANGES = ResolutionRanges((64, 48, 32, 24, 16))
K = 3


def _dataset(length: int = 6, per_sample: int = K, active=None, **kwargs) -> SyntheticDataset:
    res = ResolutionConfig(ranges=RANGES, out_size=S, per_sample=per_sample, active=active, degrade=DegradeConfig(mode="realistic"))
    return SyntheticDataset(length, SyntheticConfig(crop_size=S), res, **kwargs)


@pytest.fixture(scope="module")
def data() -> SyntheticDataset:
    return _dataset(keep_clean=True)


@pytest.fixture(scope="module")
def items(data: SyntheticDataset) -> list[dict[str, torch.Tensor]]:
    return data.__getitems__([0, 1, 2])


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_sample_layout(items: list[dict[str, torch.Tensor]]) -> None:
    for sample in items:
        assert sample["images"].shape == (K, 3, S, S) and sample["images"].dtype == torch.float32
        assert sample["images"].min() >= 0 and sample["images"].max() <= 1
        assert sample["image_hr"].shape == (3, S, S)
        assert "image" not in sample
        ri, sizes = sample["range_index"], sample["sizes"]
        assert ri.shape == sizes.shape == (K,) and ri.dtype == torch.int64
        assert ri.tolist() == sorted(set(ri.tolist())), "range_index must be ascending and distinct"
        assert set(ri.tolist()) <= set(range(RANGES.num_ranges))
        for r, size in zip(ri.tolist(), sizes.tolist()):
            lo, hi = RANGES.limits(r)
            assert lo <= size <= hi
            assert RANGES.index(size) == r
        # GT from the renderer is passed through.
        assert sample["keypoints2d_coco17"].shape == (17, 3) and sample["joints3d_smpl24"].shape == (24, 3)
        # Full resolution rows stay clean (only resized to S == crop size: identical).
        for r, img in zip(ri.tolist(), sample["images"]):
            if r == 0:
                torch.testing.assert_close(img, sample["image_hr"], atol=2e-3, rtol=0)
            else:
                assert (img - sample["image_hr"]).abs().mean() > 1e-3  # degraded
    # Not every sample draws the same ranges (K < number of ranges).
    assert len({tuple(s["range_index"].tolist()) for s in items}) > 1


def test_all_ranges_when_k_covers_them() -> None:
    data = _dataset(per_sample=7, active=(3, 1))
    t = data.transform
    out = t(torch.rand(3, S, S), torch.Generator().manual_seed(0))
    assert out["range_index"].tolist() == [1, 3]
    assert out["images"].shape == (2, 3, S, S)


def test_active_ranges_restrict(data: SyntheticDataset, items: list[dict[str, torch.Tensor]]) -> None:
    transform = data.transform
    try:
        data.set_active_ranges((4, 2))
        assert data.transform.config.active == (2, 4)
        assert data.transform.config.per_sample == K and data.transform.config.out_size == S
        (sample,) = data.__getitems__([0])
        assert sample["range_index"].tolist() == [2, 4]  # K=3 >= 2 active: both, sorted
        assert sample["images"].shape == (2, 3, S, S)
        for r, size in zip(sample["range_index"].tolist(), sample["sizes"].tolist()):
            assert RANGES.limits(r)[0] <= size <= RANGES.limits(r)[1]
        # The rendered GT does not depend on the active ranges.
        assert torch.equal(sample["joints3d_smpl24"], items[0]["joints3d_smpl24"])
        assert torch.equal(sample["image_hr"], items[0]["image_hr"])
        data.set_active_ranges((0, 1, 2, 3))
        img = items[1]["image_hr"]
        for seed in range(20):  # the transform alone: no rendering needed
            ri = data.transform(img, torch.Generator().manual_seed(seed))["range_index"].tolist()
            assert len(ri) == K and set(ri) <= {0, 1, 2, 3} and ri == sorted(set(ri))
    finally:
        data.transform = transform


def test_getitems_equals_getitem_reproducibly(data: SyntheticDataset, items: list[dict[str, torch.Tensor]]) -> None:
    # Rendered alone, later, the sample is bit-identical to its copy from the batched call
    # (renders and degradations are seeded by the index; see also the DataLoader test, where
    # fresh worker processes with their own renderers give the same samples).
    _assert_same(data[2], items[2])


def test_set_epoch_changes_samples(data: SyntheticDataset, items: list[dict[str, torch.Tensor]]) -> None:
    try:
        data.set_epoch(1)
        moved = data[0]
        assert data.scene_index(0) == data.length
        assert int(moved["index"]) == data.length
        assert not torch.equal(moved["image_hr"], items[0]["image_hr"])
        assert not torch.equal(moved["joints3d_smpl24"], items[0]["joints3d_smpl24"])
        data.set_epoch(0)
        assert data.scene_index(0) == 0
    finally:
        data.set_epoch(0)


def test_index_bounds_and_validation(data: SyntheticDataset) -> None:
    assert len(data) == 6
    with pytest.raises(IndexError):
        data[6]
    with pytest.raises(IndexError):
        data.scene_index(-1)
    with pytest.raises(ValueError):
        SyntheticDataset(0)
    with pytest.raises(ValueError):
        ResolutionConfig(per_sample=0)
    with pytest.raises(ValueError):
        ResolutionConfig(active=(5,))
    with pytest.raises(ValueError):
        ResolutionConfig(active=())
    assert ResolutionConfig(active=(2, 0, 2)).active == (0, 2)
    assert ResolutionConfig().active_ranges == (0, 1, 2, 3, 4)


def test_transform_reproducible_from_generator() -> None:
    t = ResolutionTransform(ResolutionConfig(ranges=RANGES, out_size=S, per_sample=2, degrade=DegradeConfig(mode="realistic")))
    img = torch.rand(3, S, S, generator=torch.Generator().manual_seed(1))
    a = t(img, torch.Generator().manual_seed(5))
    b = t(img, torch.Generator().manual_seed(5))
    _assert_same(a, b)


def test_unbatch() -> None:
    batch = {"a": torch.arange(6).reshape(3, 2), "b": torch.zeros(3)}
    parts = unbatch(batch)
    assert len(parts) == 3 and torch.equal(parts[1]["a"], torch.tensor([2, 3]))


def test_loader_workers_match_single_process(data: SyntheticDataset, items: list[dict[str, torch.Tensor]]) -> None:
    """Samples are seeded by index, so two worker processes give the same batches as none."""
    serial_data = _dataset(length=2, keep_clean=True)
    serial_data._people = data.people  # share the module's renderer (same config): saves a setup
    serial = list(make_loader(serial_data, batch_size=1, workers=0, shuffle=False))
    fresh = _dataset(length=2, keep_clean=True)  # each worker builds its own renderer
    parallel = list(make_loader(fresh, batch_size=1, workers=2, shuffle=False))
    assert len(serial) == len(parallel) == 2
    for i, (a, b) in enumerate(zip(serial, parallel)):
        assert a["images"].shape == (1, K, 3, S, S)
        _assert_same(a, b)
        # ... and the same as the collated dataset item.
        _assert_same({k: v[0] for k, v in a.items()}, items[i])
    assert not torch.equal(serial[0]["images"], serial[1]["images"])


def test_make_loader_shuffle_is_seeded() -> None:
    class Ids(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 10

        def __getitem__(self, i: int) -> int:
            return i

    order = lambda seed: torch.cat(list(make_loader(Ids(), batch_size=5, seed=seed))).tolist()  # noqa: E731
    assert order(3) == order(3)
    assert sorted(order(3)) == list(range(10))
    assert order(3) != order(4)


def test_people_built_lazily(data: SyntheticDataset) -> None:
    assert _dataset()._people is None  # nothing rendered, nothing built (cheap to send to workers)
    assert isinstance(data.people, SyntheticPeople) and data.people is data.people


def test_keypoints_follow_the_resize_to_the_network_input() -> None:
    from model.data.dataset import ResolutionConfig, SyntheticDataset
    from model.data.synthetic import SyntheticConfig

    big = SyntheticDataset(4, SyntheticConfig(crop_size=64), ResolutionConfig(out_size=64, per_sample=1))[1]
    small = SyntheticDataset(4, SyntheticConfig(crop_size=64), ResolutionConfig(out_size=32, per_sample=1))[1]
    assert small["images"].shape[-1] == 32
    for key in ("keypoints2d_coco17", "keypoints2d_lsp14", "keypoints2d_smpl24"):
        torch.testing.assert_close(small[key][..., :2], big[key][..., :2] * 0.5)
        torch.testing.assert_close(small[key][..., 2], big[key][..., 2])
    torch.testing.assert_close(small["focal"], big["focal"] * 0.5)

"""service.runtime.engine.PredictorEngine: refused crops, per-item isolation, vertices, OOM splitting; the HTTP mapping."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch
from service_support import BOUNDS, TINY_NET_DICT, random_rgb

from model.inference import CropsRejected, Prediction, Predictor, check_crop
from service.http.pipeline import item_failure_error
from service.runtime.engine import CropItem, ItemFailure, PredictorEngine, is_out_of_memory


def fake_prediction(crop: np.ndarray, with_vertices: bool) -> Prediction:
    z = np.zeros
    side = max(crop.shape[:2])
    return Prediction(
        betas=z(10, np.float32), pose=z((24, 3), np.float32), camera_weak=np.array([1, 0, 0], np.float32),
        translation=z(3, np.float32), focal=1.0, principal=z(2, np.float32), joints3d_smpl24=z((24, 3), np.float32),
        joints3d_coco17=z((17, 3), np.float32), keypoints2d_coco17=z((17, 2), np.float32), resolution_index=0,
        input_size=side, vertices=z((5, 3), np.float32) if with_vertices else None, phi=z(4, np.float32),
    )  # fmt: skip


class FakePredictor:
    """Records batch sizes; refuses crops as the real predictor does (before any work); OOMs on
    batches above ``oom_above``; raises on crops whose first pixel is 255."""

    def __init__(self, oom_above: int | None = None) -> None:
        self.calls: list[int] = []
        self.cuts: list[list[bool] | None] = []
        self.oom_above = oom_above

    def predict(
        self, crops: Sequence[np.ndarray], include_vertices: bool = False, batch_size: int = 32,
        cut: Sequence[bool] | None = None,
    ) -> list[Prediction]:
        rejected = {i: r for i, c in enumerate(crops) if (r := check_crop(c)) is not None}
        if rejected:
            raise CropsRejected(rejected)
        self.calls.append(len(crops))
        self.cuts.append(None if cut is None else list(cut))
        if self.oom_above is not None and len(crops) > self.oom_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if any(c[0, 0, 0] == 255 for c in crops):
            raise RuntimeError("poisoned crop")
        return [fake_prediction(c, include_vertices) for c in crops]


def crop(h: int = 32, w: int = 16, value: int = 0) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def rejected(bad: object) -> ItemFailure:
    [out] = PredictorEngine(FakePredictor()).run_batch([CropItem(bad)])  # type: ignore[arg-type]
    assert isinstance(out, ItemFailure) and out.reason == "rejected" and out.rejection is not None
    return out


def test_refused_crops_map_to_http_errors() -> None:
    small = item_failure_error(rejected(crop(4, 30)))
    assert (small.status, small.code) == (422, "image_too_small") and "30x4 pixels (WxH)" in small.detail
    big = item_failure_error(rejected(crop(5000, 10)))
    assert (big.status, big.code) == (413, "too_many_pixels")
    for bad in (np.zeros((20, 20), np.uint8), np.zeros((20, 20, 3), np.float32), np.zeros((20, 20, 4), np.uint8), "x"):
        err = item_failure_error(rejected(bad))
        assert (err.status, err.code) == (422, "invalid_field")


def test_item_failures_pickle() -> None:
    import pickle

    failure = rejected(crop(4, 30))
    again = pickle.loads(pickle.dumps(failure))
    assert (again.reason, again.detail, again.rejection) == (failure.reason, failure.detail, failure.rejection)
    exc = pickle.loads(pickle.dumps(CropsRejected({1: failure.rejection})))  # type: ignore[dict-item]
    assert exc.rejections[1] == failure.rejection and str(exc).startswith("crop 1:")


def test_bad_crops_fail_alone_and_good_ones_share_one_pass() -> None:
    fake = FakePredictor()
    out = PredictorEngine(fake).run_batch([CropItem(crop()), CropItem(crop(3, 3)), CropItem(crop(40, 20))])
    assert isinstance(out[0], Prediction) and isinstance(out[2], Prediction)
    assert isinstance(out[1], ItemFailure) and out[1].rejection.reason == "too_small"  # type: ignore[union-attr]
    assert fake.calls == [2]  # refused before any work, then the others as one pass


def test_vertices_only_for_items_that_asked() -> None:
    out = PredictorEngine(FakePredictor()).run_batch([CropItem(crop(), True), CropItem(crop(), False)])
    assert out[0].vertices is not None and out[1].vertices is None  # type: ignore[union-attr]


def test_an_exception_is_isolated_to_its_item() -> None:
    fake = FakePredictor()
    out = PredictorEngine(fake).run_batch([CropItem(crop()), CropItem(crop(value=255)), CropItem(crop())])
    assert isinstance(out[0], Prediction) and isinstance(out[2], Prediction)
    assert isinstance(out[1], ItemFailure) and out[1].reason == "crashed" and out[1].detail == "RuntimeError"
    error = item_failure_error(out[1])
    assert (error.status, error.code) == (500, "internal_error") and "RuntimeError" in error.detail
    assert fake.calls == [3, 1, 1, 1]  # the batch, then one by one


def test_out_of_memory_splits_the_batch() -> None:
    fake = FakePredictor(oom_above=2)
    engine = PredictorEngine(fake)
    out = engine.run_batch([CropItem(crop()) for _ in range(7)])
    assert all(isinstance(p, Prediction) for p in out)
    assert engine.oom_splits == 3  # 7 -> 3 + 4 -> (1 + 2) + (2 + 2)
    assert sorted(c for c in fake.calls if c <= 2) == [1, 2, 2, 2]  # every crop computed exactly once


def test_out_of_memory_on_a_single_crop_is_a_503_for_that_crop() -> None:
    out = PredictorEngine(FakePredictor(oom_above=0)).run_batch([CropItem(crop()), CropItem(crop())])
    assert all(isinstance(e, ItemFailure) and e.reason == "out_of_memory" for e in out)
    assert {(e.status, e.code) for e in map(item_failure_error, out)} == {(503, "out_of_memory")}  # type: ignore[arg-type]


def test_is_out_of_memory() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_real_predictor_batch() -> None:
    predictor = Predictor.random_init(TINY_NET_DICT, BOUNDS, device="cpu", precision="fp32")
    items = [
        CropItem(random_rgb(50, 30), include_vertices=True),
        CropItem(random_rgb(2, 30)),
        CropItem(random_rgb(24, 24)),
    ]
    out = PredictorEngine(predictor).run_batch(items)
    assert isinstance(out[0], Prediction) and out[0].vertices is not None and out[0].vertices.shape[1] == 3
    assert isinstance(out[1], ItemFailure) and item_failure_error(out[1]).code == "image_too_small"
    assert isinstance(out[2], Prediction) and out[2].vertices is None
    # Batched results equal single-crop results (the batch is one forward pass of independent crops).
    [alone] = predictor.predict([items[2].crop])
    np.testing.assert_allclose(out[2].joints3d_coco17, alone.joints3d_coco17, atol=1e-4)


@pytest.mark.parametrize("value", [0, 255])
def test_fake_predictor_sanity(value: int) -> None:
    fake = FakePredictor()
    if value == 255:
        with pytest.raises(RuntimeError):
            fake.predict([crop(value=value)])
    else:
        assert len(fake.predict([crop(value=value)])) == 1


def test_cut_flags_go_with_their_crops_through_splits() -> None:
    fake = FakePredictor()
    engine = PredictorEngine(fake)
    engine.run_batch([CropItem(crop()), CropItem(crop())])
    assert fake.cuts == [[False, False]]  # every crop's flag goes with it, whole people too
    out = engine.run_batch([CropItem(crop(), cut=True), CropItem(crop(2, 2)), CropItem(crop(), cut=False), CropItem(crop(), cut=True)])
    assert isinstance(out[1], ItemFailure) and out[1].reason == "rejected"
    assert fake.cuts[-1] == [True, False, True]  # the refused crop left out, the flags stay with their crops


"""The batch function the worker runs: person crops in, one prediction or one error per crop out.

:meth:`PredictorEngine.run_batch` is the ``process`` of :class:`service.batcher.DynamicBatcher`.
It never raises for an item:

* each crop is validated on its own first (:func:`check_crop`), so a bad crop becomes an
  :class:`~service.errors.ApiError` for that crop only;
* the valid crops run as **one** forward pass (vertices are computed for the whole batch when
  any item asked for them and dropped from the others);
* CUDA out-of-memory splits the batch in halves and retries each half (down to single crops,
  which then fail with 503 ``out_of_memory``);
* any other exception of a multi-crop pass re-runs the crops one by one, so only the crop that
  triggers it fails (with 500 ``internal_error``: a bug, since the crop was already validated).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from model.inference import MAX_SIDE, MIN_SIDE, Prediction
from service.errors import ApiError

__all__ = ["CropItem", "CropPredictor", "PredictorEngine", "check_crop", "is_out_of_memory", "warm_up"]

log = logging.getLogger("service.engine")


@dataclass(frozen=True)
class CropItem:
    """One unit of work for the worker.

    Attributes:
        crop: ``(H, W, 3)`` uint8 RGB person crop.
        include_vertices: also return the ``(V, 3)`` mesh vertices.
    """

    crop: np.ndarray
    include_vertices: bool = False


class CropPredictor(Protocol):
    """What the engine needs of :class:`model.inference.Predictor` (a fake can stand in for tests)."""

    def predict(
        self, crops: Sequence[np.ndarray], include_vertices: bool = False, batch_size: int = 32
    ) -> list[Prediction]: ...


def check_crop(crop: object) -> ApiError | None:
    """The error for a crop the predictor would reject, or ``None`` when it is acceptable.

    Accepted: a ``(H, W, 3)`` uint8 array with both sides in ``[MIN_SIDE, MAX_SIDE]``.
    """
    if not isinstance(crop, np.ndarray) or crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
        shape = getattr(crop, "shape", None)
        return ApiError(
            422, "invalid_field", f"expected an (H, W, 3) uint8 RGB image, got {type(crop).__name__} {shape}"
        )
    h, w = int(crop.shape[0]), int(crop.shape[1])
    if min(h, w) < MIN_SIDE:
        return ApiError(
            422, "image_too_small", f"the person crop is {w}x{h} pixels (WxH); both sides must be at least {MIN_SIDE}"
        )
    if max(h, w) > MAX_SIDE:
        return ApiError(
            413, "too_many_pixels", f"the person crop is {w}x{h} pixels (WxH); sides must be at most {MAX_SIDE}"
        )
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a (CUDA) out-of-memory error."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class PredictorEngine:
    """Runs batches of :class:`CropItem` through a predictor with per-item error isolation.

    Args:
        predictor: a :class:`model.inference.Predictor` (or anything with its ``predict``).
    """

    def __init__(self, predictor: CropPredictor) -> None:
        self.predictor = predictor
        self.oom_splits = 0

    def run_batch(self, items: Sequence[CropItem]) -> list[Prediction | BaseException]:
        """One :class:`Prediction` or one exception per item, in order (never raises for an item)."""
        results: list[Prediction | BaseException | None] = [None] * len(items)
        valid: list[int] = []
        for i, item in enumerate(items):
            error = check_crop(item.crop)
            if error is None:
                valid.append(i)
            else:
                results[i] = error
        self._predict_into(valid, items, results)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _predict(self, items: Sequence[CropItem]) -> list[Prediction]:
        want_vertices = any(it.include_vertices for it in items)
        preds = self.predictor.predict([it.crop for it in items], include_vertices=want_vertices, batch_size=len(items))
        if len(preds) != len(items):
            raise RuntimeError(f"the predictor returned {len(preds)} predictions for {len(items)} crops")
        if want_vertices:
            preds = [p if it.include_vertices else dataclasses.replace(p, vertices=None) for p, it in zip(preds, items)]
        return preds

    def _predict_into(
        self, idx: list[int], items: Sequence[CropItem], results: list[Prediction | BaseException | None]
    ) -> None:
        if not idx:
            return
        try:
            preds = self._predict([items[i] for i in idx])
        except Exception as exc:  # noqa: BLE001 - isolate the failing item(s)
            if is_out_of_memory(exc):
                _release_cuda_cache()
                if len(idx) == 1:
                    results[idx[0]] = ApiError(
                        503, "out_of_memory", "the device ran out of memory on this crop even alone; retry later"
                    )
                    return
                self.oom_splits += 1
                half = len(idx) // 2
                log.warning(
                    "out of memory on a batch of %d crops: splitting into %d + %d", len(idx), half, len(idx) - half
                )
                self._predict_into(idx[:half], items, results)
                self._predict_into(idx[half:], items, results)
                return
            if len(idx) == 1:
                log.exception("prediction failed on one crop")
                results[idx[0]] = _item_failure(exc)
                return
            log.warning("a batch of %d crops failed (%s); retrying them one by one", len(idx), exc)
            for i in idx:
                self._predict_into([i], items, results)
            return
        for i, pred in zip(idx, preds):
            results[i] = pred


def warm_up(engine: PredictorEngine, side: int, batch_size: int) -> None:
    """One single-crop pass with vertices and one full batch of ``side``-pixel crops (allocates memory).

    Raises:
        RuntimeError: an item of the warm-up failed.
    """
    crop = np.zeros((side, side, 3), dtype=np.uint8)
    for items in ([CropItem(crop, include_vertices=True)], [CropItem(crop)] * batch_size):
        for result in engine.run_batch(items):
            if isinstance(result, BaseException):
                raise RuntimeError(f"warm-up failed: {result}") from result


def _item_failure(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValueError):  # the predictor's own input check (should have been caught earlier)
        return ApiError(422, "invalid_field", str(exc))
    return ApiError(
        500, "internal_error", f"prediction failed on this item ({type(exc).__name__}); others are unaffected"
    )


def _release_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

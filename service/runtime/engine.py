"""The batch function the worker runs: person crops in, one prediction or one failure per crop out.

:meth:`PredictorEngine.run_batch` is the ``process`` of :class:`service.runtime.batcher.DynamicBatcher`.
It never raises for an item; a crop without a prediction gets an :class:`ItemFailure` saying why
(the HTTP layer turns it into a status and an error code):

* the crops run as **one** forward pass (vertices are computed for the whole batch when any item
  asked for them and dropped from the others);
* the predictor checks the crops itself before any work (:func:`model.inference.check_crop`):
  those it refuses fail with ``reason="rejected"`` and its :class:`~model.inference.CropRejection`,
  and the others run again as one pass;
* out-of-memory splits the batch in halves and retries each half (down to single crops, which then
  fail with ``reason="out_of_memory"``);
* any other exception of a multi-crop pass re-runs the crops one by one, so only the crop that
  triggers it fails (``reason="crashed"``: a bug, since the crop was accepted).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import torch

from model.inference import CropRejection, CropsRejected, Prediction

__all__ = ["CropItem", "CropPredictor", "ItemFailure", "PredictorEngine", "is_out_of_memory", "warm_up"]

log = logging.getLogger("service.runtime.engine")


@dataclass(frozen=True)
class CropItem:
    """One unit of work for the worker.

    Attributes:
        crop: ``(H, W, 3)`` uint8 RGB person crop.
        include_vertices: also return the ``(V, 3)`` mesh vertices.
        cut: the person goes on beyond the crop (read by a network with a cut input,
            :attr:`model.nets.config.NetConfig.cut_input`; ignored by others).
    """

    crop: np.ndarray
    include_vertices: bool = False
    cut: bool = False


class ItemFailure(Exception):
    """One crop got no prediction.

    Args:
        reason: ``"rejected"`` (the predictor refused the crop: see ``rejection``),
            ``"out_of_memory"`` (even alone) or ``"crashed"`` (the predictor raised on it).
        detail: what happened, in words (for ``"crashed"``: the exception's type name only).
        rejection: the predictor's reason for a ``"rejected"`` crop.
    """

    def __init__(
        self,
        reason: Literal["rejected", "out_of_memory", "crashed"],
        detail: str,
        rejection: CropRejection | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.rejection = rejection

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by fields (failures in the worker process travel back to the server process)."""
        return (type(self), (self.reason, self.detail, self.rejection))


class CropPredictor(Protocol):
    """What the engine needs of :class:`model.inference.Predictor` (a fake can stand in for tests):
    ``predict`` raises :class:`~model.inference.CropsRejected` for crops it refuses."""

    def predict(
        self,
        crops: Sequence[np.ndarray],
        include_vertices: bool = False,
        batch_size: int = 32,
        cut: Sequence[bool] | None = None,
    ) -> list[Prediction]: ...


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
        self._predict_into(list(range(len(items))), items, results)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _predict(self, items: Sequence[CropItem]) -> list[Prediction]:
        want_vertices = any(it.include_vertices for it in items)
        preds = self.predictor.predict(
            [it.crop for it in items], include_vertices=want_vertices, batch_size=len(items), cut=[it.cut for it in items]
        )
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
        except CropsRejected as exc:  # nothing was computed: answer the refused crops, run the others
            for j, rejection in exc.rejections.items():
                results[idx[j]] = ItemFailure("rejected", rejection.detail, rejection)
            self._predict_into([i for j, i in enumerate(idx) if j not in exc.rejections], items, results)
            return
        except Exception as exc:  # noqa: BLE001 - isolate the failing item(s)
            if is_out_of_memory(exc):
                _release_cuda_cache()
                if len(idx) == 1:
                    results[idx[0]] = ItemFailure(
                        "out_of_memory", "the device ran out of memory on this crop even alone"
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
                results[idx[0]] = ItemFailure("crashed", type(exc).__name__)  # the log has the traceback
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


def _release_cuda_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

"""The inference worker in a process of its own, so the network never waits for the server's GIL.

Why: a forward pass is a few hundred small torch calls, and each one takes the GIL back from
Python. With the worker as a *thread* of the server, every call waits behind the event loop
(HTTP parsing, multipart, JSON) whenever that is busy. ``python
benchmarks/service/gil_contention.py`` on the 2-core CI machine, committed 64-px ResNet-18, batch
8, one torch thread: 21 ms alone and beside another *process* running Python, but 148 ms beside a
Python *thread* of the same process with a 0.5 ms switch interval (1.7 s with the default 5 ms).
Under load this capped the thread worker at ~70 % of the offline throughput.

How it works:

* :func:`worker_pool_factory` builds a :class:`concurrent.futures.ProcessPoolExecutor` with
  one **spawned** process (spawn: safe with CUDA and with the server's threads). The
  :class:`~service.runtime.batcher.DynamicBatcher` sends it batches of
  :class:`~service.runtime.engine.CropItem` (:func:`run_batch`) and receives one
  :class:`~model.inference.Prediction` or :class:`~service.runtime.engine.ItemFailure` per crop.
* The process loads its network on first use with the server's settings
  (:func:`service.runtime.model_loader.load_network`, or the ``network_loader`` given) and warms it up.
  The server calls :func:`describe` at start-up, so loading errors surface there and the
  checkpoint the worker loaded is checked against the server's.
* If the process dies (segfault, out-of-memory kill, ``os._exit``), the pool is broken; the
  batcher treats that as a crash: new pool, and the crashed batch re-run item by item.
* The process ignores SIGINT (Ctrl+C in a terminal reaches the whole process group): the
  server drains its queue first and then shuts the pool down. It exits by itself within a second
  when the server process is gone, however that ended (even SIGKILL), so no orphan keeps a model
  in memory.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from model.inference import Prediction
from service.runtime.engine import CropItem, PredictorEngine, warm_up
from service.runtime.model_loader import load_network
from service.settings import ServiceSettings

__all__ = ["NetworkLoader", "describe", "run_batch", "worker_pool_factory"]

log = logging.getLogger("service.runtime.worker_process")

#: ``loader(settings) -> (predictor, warning)``; must be picklable (a module-level function).
NetworkLoader = Callable[[ServiceSettings], tuple[Any, str | None]]

# State of the worker process (set by the pool initializer, filled on first use).
_settings: ServiceSettings | None = None
_loader: NetworkLoader | None = None
_warmup_batch = 0
_engine: PredictorEngine | None = None
_predictor: Any = None


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """Daemon thread of the worker process: exit as soon as the server process is gone.

    However the server ends (SIGKILL, a crash, an orchestrator's timeout), its worker must not
    stay behind holding a model in memory: an orphan is re-parented, so ``getppid`` changes.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="rscnet-parent-watch", daemon=True).start()


def _initialise(settings: ServiceSettings, loader: NetworkLoader, warmup_batch: int, parent: int) -> None:
    """Pool initializer: remember how to load (cannot fail; loading happens on first use)."""
    global _settings, _loader, _warmup_batch
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _settings, _loader, _warmup_batch = settings, loader, warmup_batch


def _ensure_engine() -> PredictorEngine:
    global _engine, _predictor
    if _engine is None:
        if _settings is None or _loader is None:
            raise RuntimeError("the worker process was not initialised (use worker_pool_factory)")
        predictor, _ = _loader(_settings)
        engine = PredictorEngine(predictor)
        if _warmup_batch > 0:
            warm_up(engine, int(predictor.input_size), _warmup_batch)
        _engine, _predictor = engine, predictor
        log.info("worker process %d ready: %s", os.getpid(), predictor)
    return _engine


def describe() -> dict[str, Any]:
    """Load the network if needed; ``{"pid", "checkpoint_id", "device"}`` of the worker process."""
    _ensure_engine()
    return {"pid": os.getpid(), "checkpoint_id": _predictor.checkpoint_id, "device": str(_predictor.device)}


def run_batch(items: Sequence[CropItem]) -> list[Prediction | BaseException]:
    """:meth:`PredictorEngine.run_batch` in the worker process (one result or error per item)."""
    return _ensure_engine().run_batch(items)


def worker_pool_factory(
    settings: ServiceSettings, warmup_batch: int, network_loader: NetworkLoader = load_network
) -> Callable[[], concurrent.futures.Executor]:
    """A factory of one-process pools that run :func:`run_batch` (see the module docstring).

    Args:
        settings: the server's settings (the worker loads the same network).
        warmup_batch: size of the warm-up batch (0: no warm-up).
        network_loader: builds the predictor in the worker process.
    """
    context = multiprocessing.get_context("spawn")

    def make() -> concurrent.futures.Executor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_initialise,
            initargs=(settings, network_loader, warmup_batch, os.getpid()),
        )

    return make

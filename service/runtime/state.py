"""The service's lifecycle: load the model, warm up, serve, drain and stop.

States (reported by ``/readyz`` and ``/v1/models``)::

    starting -> loading -> warming_up -> ready -> stopping
                     \\-------------\\-> failed   (model could not be loaded / warm-up failed)

Loading runs in the background after the server starts listening, so ``/healthz`` answers at
once and ``/readyz`` answers 503 until the model is loaded and warmed up (the usual liveness /
readiness split of orchestrators). On shutdown the service stops taking work (503
``shutting_down``) and the batcher drains its queue before the worker stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from typing import Any

import anyio

from model.inference import Predictor
from service.runtime.batcher import DynamicBatcher
from service.runtime.engine import CropItem, PredictorEngine, warm_up
from service.runtime.metrics import ServiceMetrics
from service.runtime.model_loader import LoadedPredictor, load_network, load_predictor
from service.runtime.worker_process import NetworkLoader, describe, run_batch, worker_pool_factory
from service.settings import ServiceSettings

__all__ = ["NotReadyError", "ServiceState"]

log = logging.getLogger("service.runtime.state")

#: CPU-side jobs (image decoding, mesh export, rendering, smoothing) running at once.
_CPU_JOBS = 2


class NotReadyError(Exception):
    """Work was asked of a service that cannot take it: still loading, failed, or shutting down.

    Args:
        detail: what the state is, in words.
        shutting_down: the service is stopping (retry elsewhere) rather than not ready yet.
    """

    def __init__(self, detail: str, *, shutting_down: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.shutting_down = shutting_down


class ServiceState:
    """Everything a request needs: settings, metrics, the predictor and the batcher.

    Args:
        settings: validated service settings.
        metrics: where to report.
        loader: builds the predictor (default :func:`service.runtime.model_loader.load_predictor`; tests
            may pass another).
        network_loader: builds the network in the worker process when ``settings.worker`` is
            ``"process"`` (default :func:`service.runtime.model_loader.load_network`; must be picklable).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        metrics: ServiceMetrics,
        loader: Any = load_predictor,
        network_loader: NetworkLoader = load_network,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._loader = loader
        self._network_loader = network_loader
        #: The worker process (``{"pid", "checkpoint_id", "device"}``) when ``settings.worker`` is "process".
        self.worker_process: dict[str, Any] | None = None
        self.status = "starting"
        self.error: str | None = None
        self.loaded: LoadedPredictor | None = None
        self.engine: PredictorEngine | None = None
        self.batcher: DynamicBatcher[CropItem, Any] | None = None
        self.max_batch_size: int | None = None
        self.started_at = time.time()
        self.ready_at: float | None = None
        self.cpu_limiter = anyio.CapacityLimiter(_CPU_JOBS)
        #: Inference requests inside the app, and those of them waiting for the worker (kept by the
        #: HTTP layer's admission middleware and pipeline): the batcher waits for stragglers only while
        #: some requests are still preparing their crops.
        self.requests_in_app = 0
        self.requests_waiting = 0
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ accessors
    @property
    def predictor(self) -> Predictor | None:
        return None if self.loaded is None else self.loaded.predictor

    @property
    def ready(self) -> bool:
        return self.status == "ready" and self.batcher is not None and self.batcher.running

    def require_ready(self) -> tuple[Predictor, DynamicBatcher[CropItem, Any]]:
        """The predictor and batcher.

        Raises:
            NotReadyError: not ready yet, failed, or shutting down.
        """
        if self.status == "stopping":
            raise NotReadyError("the service is shutting down; retry on another replica", shutting_down=True)
        if not self.ready or self.loaded is None or self.batcher is None:
            detail = f"the service is not ready (status: {self.status})"
            if self.error:
                detail += f": {self.error}"
            raise NotReadyError(detail, shutting_down=False)
        return self.loaded.predictor, self.batcher

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Begin loading in the background (returns at once)."""
        self._task = asyncio.get_running_loop().create_task(self._load_and_warm_up(), name="rscnet-startup")

    async def _load_and_warm_up(self) -> None:
        s = self.settings
        try:
            self.status = "loading"
            self.loaded = await anyio.to_thread.run_sync(self._loader, s)
            predictor = self.loaded.predictor
            self.max_batch_size = s.resolved_max_batch_size(predictor.device.type)
            self.engine = PredictorEngine(predictor)
            self.status = "warming_up"
            in_process = s.worker == "process"
            if s.warmup and not in_process:
                await anyio.to_thread.run_sync(self._warm_up)
            self.batcher = DynamicBatcher(
                run_batch if in_process else self.engine.run_batch,
                executor_factory=(
                    worker_pool_factory(s, self.max_batch_size if s.warmup else 0, self._network_loader)
                    if in_process
                    else None
                ),
                pipeline_depth=2 if in_process else 1,
                max_batch_size=self.max_batch_size,
                max_delay_s=s.max_delay_ms / 1000.0,
                max_queue=s.queue_size,
                observer=self.metrics,
                name=str(predictor.device),
                wait_for_reserved_only=True,
                more_coming=lambda: self.requests_in_app > self.requests_waiting,
            )
            await self.batcher.start()
            if in_process:
                await self._check_worker_process(predictor)
            if s.ready_delay_s > 0:
                await asyncio.sleep(s.ready_delay_s)
            self.status = "ready"
            self.ready_at = time.time()
            self.metrics.ready.set(1)
            log.info("ready: %s, max_batch_size=%d", predictor, self.max_batch_size)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported on /readyz; the process stays up
            if self.batcher is not None:
                await self.batcher.stop(drain=False)
            self.status = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("the model could not be loaded; /readyz will answer 503")

    def _warm_up(self) -> None:
        """One single-crop pass with vertices and one full batch (allocates the device memory)."""
        assert self.engine is not None and self.loaded is not None and self.max_batch_size is not None
        started = time.perf_counter()
        warm_up(self.engine, self.loaded.predictor.input_size, self.max_batch_size)
        log.info("warm-up done in %.2f s", time.perf_counter() - started)

    async def _check_worker_process(self, predictor: Predictor) -> None:
        """Start the worker process (it loads and warms up) and check it loaded the server's network."""
        assert self.batcher is not None
        started = time.perf_counter()
        try:
            info = await self.batcher.call_in_worker(describe)
        except concurrent.futures.BrokenExecutor as exc:
            raise RuntimeError("the inference worker process died while loading (see its log above)") from exc
        if info["checkpoint_id"] != predictor.checkpoint_id:
            raise RuntimeError(
                f"the worker process loaded checkpoint {info['checkpoint_id']}, the server {predictor.checkpoint_id} "
                "(did the file change during start-up?)"
            )
        self.worker_process = info
        log.info("worker process %d ready on %s in %.2f s", info["pid"], info["device"], time.perf_counter() - started)

    async def stop(self) -> None:
        """Stop taking work, drain the queue, stop the worker."""
        self.status = "stopping"
        self.metrics.ready.set(0)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.batcher is not None:
            await self.batcher.stop(drain=True, timeout=self.settings.shutdown_timeout_s)
        log.info("stopped")

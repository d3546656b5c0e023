"""Dynamic batcher: a bounded queue of items and one worker that runs them in batches.

Requests :meth:`~DynamicBatcher.submit` items (e.g. person crops) and await one future per
item. One worker task per device collects up to ``max_batch_size`` items, waiting at most
``max_delay_s`` after the first one for more, and runs ``process(items)`` as one call in a
dedicated worker thread (off the event loop), or in the executor ``executor_factory`` makes
(e.g. one worker process, :mod:`service.runtime.worker_process`). Items of different requests and endpoints share
batches.

Guarantees:

* **Backpressure**: the queue holds at most ``max_queue`` items, counting the items *reserved*
  by requests admitted but still preparing them (:meth:`~DynamicBatcher.reserve`, e.g. while
  their images decode); a submission or reservation that does not fit whole is refused with
  :class:`QueueFullError` (the service answers 429 with ``Retry-After`` from
  :meth:`~DynamicBatcher.retry_after_s`). Nothing of a refused submission is queued, so under
  overload admitted work stays bounded and the rest is refused at once.
* **Adaptive wait** (``wait_for_reserved_only``): after the first item of a batch the worker
  waits up to ``max_delay_s`` for more only while more are on their way: reserved items, or what
  the ``more_coming`` hint reports (the service: requests inside the app not yet waiting for the
  worker); a lone request is computed at once instead of waiting out the window.
* **Isolation**: ``process`` returns one result *or exception* per item; an exception fails only
  its item's future. If ``process`` itself raises, every item of that batch fails with that
  exception and the worker goes on with the next batch: the worker never dies of an item.
* **Crashes**: if ``process`` dies with a ``BaseException`` that is not an ``Exception`` (e.g.
  ``SystemExit`` raised inside a library), or its executor breaks (a worker *process* died:
  :class:`concurrent.futures.BrokenExecutor`), the executor is replaced and the items of
  that batch are re-run one by one, so only the item that crashes it again fails (with
  :class:`WorkerCrashedError`); the others and later batches are served. Should the worker task
  itself ever end unexpectedly, it is restarted.
* **Timeouts**: :meth:`~DynamicBatcher.run` gives up after ``timeout`` seconds and cancels the
  request's futures; cancelled items still queued are dropped without computing them (also when
  the caller is cancelled, e.g. because its client disconnected).
* **Shutdown**: :meth:`~DynamicBatcher.stop` refuses new items (:class:`BatcherClosedError`),
  drains what is queued (up to a timeout), then fails whatever is left.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["BatchObserver", "BatcherClosedError", "DynamicBatcher", "QueueFullError", "WorkerCrashedError"]

log = logging.getLogger("service.runtime.batcher")

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class QueueFullError(Exception):
    """The queue cannot take the submission now.

    Attributes:
        requested: items of the refused submission.
        queued: items waiting when it was refused.
        capacity: the queue bound.
        retry_after_s: suggested wait before retrying (whole seconds, >= 1).
    """

    def __init__(self, requested: int, queued: int, capacity: int, retry_after_s: int) -> None:
        super().__init__(
            f"the inference queue is full ({queued} of {capacity} items waiting, {requested} more requested); "
            f"retry in {retry_after_s} s"
        )
        self.requested = requested
        self.queued = queued
        self.capacity = capacity
        self.retry_after_s = retry_after_s


class BatcherClosedError(Exception):
    """The batcher is shutting down (or not started) and takes no more items."""


class WorkerCrashedError(Exception):
    """``process`` died (with a non-``Exception`` ``BaseException``) on this item, even alone."""


class BatchObserver(Protocol):
    """What the batcher reports (e.g. to Prometheus); every method must be cheap and never raise."""

    def on_queue_length(self, length: int) -> None: ...

    def on_batch(self, size: int, seconds: float) -> None: ...

    def on_rejected(self, items: int) -> None: ...

    # Optional (looked up with getattr): ``on_crash()`` per crashed batch, ``on_dropped(items)``
    # for queued items dropped uncomputed because their request was cancelled or timed out.


class _NullObserver:
    def on_queue_length(self, length: int) -> None:
        pass

    def on_batch(self, size: int, seconds: float) -> None:
        pass

    def on_rejected(self, items: int) -> None:
        pass


@dataclass
class _Entry(Generic[ItemT, ResultT]):
    item: ItemT
    future: asyncio.Future[ResultT]


class DynamicBatcher(Generic[ItemT, ResultT]):
    """Bounded queue plus one batching worker (see the module docstring).

    Args:
        process: ``process(items) -> results``, called in the worker thread with ``1 <= len(items)
            <= max_batch_size`` items; returns one result or :class:`BaseException` per item, in order.
        max_batch_size: most items per ``process`` call.
        max_delay_s: longest wait for more items after the first item of a batch is taken.
        max_queue: most items waiting (not counting the batch being computed).
        observer: receives queue lengths, batch sizes and times, rejections.
        name: for logs and the worker thread's name.
        wait_for_reserved_only: wait for more items (up to ``max_delay_s``) only while reserved
            items are being prepared or ``more_coming()`` is true (see the module docstring);
            default: always wait.
        more_coming: cheap hint that more items will be submitted soon (called on the event loop).
        executor_factory: makes the executor ``process`` runs in (again after a crash); default a
            one-thread pool. With a process pool, ``process`` and the items must be picklable.
        pipeline_depth: batches handed to the executor at once. 2 keeps a worker *process* busy
            while the previous batch's results travel back (its executor queues the second batch,
            which keeps filling until it is full or the worker is free); default 1.
    """

    def __init__(
        self,
        process: Callable[[list[ItemT]], Sequence[ResultT | BaseException]],
        *,
        max_batch_size: int,
        max_delay_s: float,
        max_queue: int,
        observer: BatchObserver | None = None,
        name: str = "worker",
        wait_for_reserved_only: bool = False,
        more_coming: Callable[[], bool] | None = None,
        executor_factory: Callable[[], concurrent.futures.Executor] | None = None,
        pipeline_depth: int = 1,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_delay_s < 0:
            raise ValueError(f"max_delay_s must be >= 0, got {max_delay_s}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        if pipeline_depth < 1:
            raise ValueError(f"pipeline_depth must be >= 1, got {pipeline_depth}")
        self.pipeline_depth = int(pipeline_depth)
        self._inflight: set[asyncio.Task[None]] = set()
        self._process = process
        self.max_batch_size = int(max_batch_size)
        self.max_delay_s = float(max_delay_s)
        self.max_queue = int(max_queue)
        self._observer: BatchObserver = observer or _NullObserver()
        self.name = name
        self._queue: collections.deque[_Entry[ItemT, ResultT]] = collections.deque()
        self._not_empty: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: concurrent.futures.Executor | None = None
        self._executor_factory = executor_factory or self._thread_pool
        self._closing = False
        self._batch_seconds_ema: float | None = None
        self.batches_run = 0
        self.wait_for_reserved_only = bool(wait_for_reserved_only)
        self._more_coming = more_coming
        self._reserved = 0
        self.crashes = 0
        self.restarts = 0
        self.items_dropped = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the worker on the running event loop (idempotent)."""
        if self._task is not None:
            return
        self._not_empty = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._executor = self._executor_factory()
        self._closing = False
        self._spawn_worker()

    def _thread_pool(self) -> concurrent.futures.Executor:
        return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rscnet-{self.name}")

    async def call_in_worker(self, fn: Callable[..., ResultT], *args: object) -> ResultT:
        """Run ``fn(*args)`` in the worker's executor, outside the batch queue (e.g. a start-up check)."""
        if self._executor is None:
            raise BatcherClosedError("the inference worker is not running (starting up or shutting down)")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _spawn_worker(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")
        self._task.add_done_callback(self._on_worker_exit)

    def _on_worker_exit(self, task: asyncio.Task[None]) -> None:
        """Restart the worker task if it ended while the batcher is running (a bug; never silent)."""
        if task is not self._task or self._closing or task.cancelled():
            return
        exc = task.exception()
        log.error("%s: the worker task ended unexpectedly (%r); restarting it", self.name, exc)
        self.restarts += 1
        assert self._idle is not None
        self._idle.set()
        self._spawn_worker()

    @property
    def running(self) -> bool:
        """Started, not stopping, and the worker task alive."""
        return self._task is not None and not self._task.done() and not self._closing

    @property
    def queue_length(self) -> int:
        """Items waiting (not counting the batch being computed)."""
        return len(self._queue)

    async def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Refuse new items; with ``drain`` finish the queued ones (at most ``timeout`` s); stop the worker."""
        self._closing = True
        if self._task is None:
            return
        assert self._not_empty is not None and self._idle is not None
        self._not_empty.set()  # wake the worker so it sees the closing flag
        if drain:
            try:
                await asyncio.wait_for(self._drained(), timeout)
            except TimeoutError:
                log.warning("%s: shutdown drain timed out with %d items queued", self.name, len(self._queue))
        while self._queue:
            entry = self._queue.popleft()
            if not entry.future.done():
                entry.future.set_exception(BatcherClosedError("the service is shutting down"))
        self._observer.on_queue_length(0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        for task in list(self._inflight):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._task = None

    async def _drained(self) -> None:
        assert self._idle is not None
        while self._queue or not self._idle.is_set():
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------ submission
    def retry_after_s(self) -> int:
        """Seconds a refused client should wait: the time to work off the current queue (>= 1)."""
        per_batch = self._batch_seconds_ema if self._batch_seconds_ema is not None else 0.1
        batches = math.ceil(len(self._queue) / self.max_batch_size) + 1
        return max(1, math.ceil(batches * per_batch))

    @property
    def reserved(self) -> int:
        """Items reserved by admitted requests and not yet submitted."""
        return self._reserved

    def _refuse_unless_fits(self, n: int) -> None:
        if len(self._queue) + self._reserved + n > self.max_queue:
            self._observer.on_rejected(n)
            raise QueueFullError(n, len(self._queue) + self._reserved, self.max_queue, self.retry_after_s())

    def count_rejected(self, n: int) -> None:
        """Report ``n`` items refused elsewhere for lack of room (e.g. before a body was read)."""
        self._observer.on_rejected(n)

    def check_capacity(self, n: int) -> None:
        """Raise :class:`QueueFullError` if ``n`` items would not fit now (nothing is queued or counted).

        Lets a caller refuse early, before preparing the items; :meth:`submit` checks again.
        """
        self._refuse_unless_fits(n)

    def reserve(self, n: int) -> None:
        """Hold room for ``n`` items a caller will :meth:`submit` (with ``reserved=n``) once prepared.

        Raises:
            BatcherClosedError: not started or shutting down.
            QueueFullError: they do not fit now (nothing is reserved).
        """
        if self._task is None or self._closing:
            raise BatcherClosedError("the inference worker is not running (starting up or shutting down)")
        self._refuse_unless_fits(n)
        self._reserved += n

    def release(self, n: int) -> None:
        """Give back ``n`` reserved items that will not be submitted."""
        self._reserved = max(0, self._reserved - n)
        if self._not_empty is not None:
            self._not_empty.set()  # a worker waiting for reserved items re-checks

    def submit(self, items: Sequence[ItemT], reserved: int = 0) -> list[asyncio.Future[ResultT]]:
        """Queue ``items`` (all or none) and return one future per item.

        Args:
            reserved: items this caller reserved earlier (:meth:`reserve`); released here, whether
                the submission fits or not.

        Raises:
            BatcherClosedError: not started or shutting down.
            QueueFullError: the items do not fit in the queue now.
        """
        if reserved:
            self._reserved = max(0, self._reserved - reserved)
        if self._task is None or self._closing or self._task.done():
            raise BatcherClosedError("the inference worker is not running (starting up or shutting down)")
        assert self._not_empty is not None
        n = len(items)
        if n == 0:
            self._not_empty.set()
            return []
        self._refuse_unless_fits(n)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[ResultT]] = []
        for item in items:
            fut: asyncio.Future[ResultT] = loop.create_future()
            self._queue.append(_Entry(item, fut))
            futures.append(fut)
        self._observer.on_queue_length(len(self._queue))
        self._not_empty.set()
        return futures

    async def run(
        self, items: Sequence[ItemT], timeout: float | None = None, reserved: int = 0
    ) -> list[ResultT | BaseException]:
        """Submit ``items`` and wait for all of them: one result or exception per item, in order.

        ``reserved``: see :meth:`submit`.

        Raises:
            BatcherClosedError, QueueFullError: see :meth:`submit`.
            TimeoutError: not all items were done within ``timeout`` seconds (the unfinished ones
                are cancelled and will not be computed if still queued).
        """
        return await self.wait(self.submit(items, reserved=reserved), timeout)

    async def wait(
        self, futures: Sequence[asyncio.Future[ResultT]], timeout: float | None = None
    ) -> list[ResultT | BaseException]:
        """Wait for futures from :meth:`submit`: one result or exception each (see :meth:`run`)."""
        if not futures:
            return []
        try:
            done, pending = await asyncio.wait(futures, timeout=timeout)
        except asyncio.CancelledError:
            for fut in futures:
                fut.cancel()
            raise
        if pending:
            for fut in pending:
                fut.cancel()
            for fut in done:
                fut.exception()  # mark retrieved: the request is answered with 504 anyway
            raise TimeoutError(f"{len(pending)} of {len(futures)} items not done within {timeout} s")
        out: list[ResultT | BaseException] = []
        for fut in futures:
            exc = fut.exception()
            out.append(exc if exc is not None else fut.result())
        return out

    # ------------------------------------------------------------------ worker
    def _expecting_more(self) -> bool:
        if self._reserved > 0:
            return True
        try:
            return bool(self._more_coming()) if self._more_coming is not None else False
        except Exception:  # noqa: BLE001 - a hint must never stop the worker
            return False

    def _pop_live(self) -> _Entry[ItemT, ResultT] | None:
        """Next queued entry whose future is still wanted (cancelled ones are dropped)."""
        while self._queue:
            entry = self._queue.popleft()
            if not entry.future.done():
                return entry
            self.items_dropped += 1
            on_dropped = getattr(self._observer, "on_dropped", None)
            if on_dropped is not None:
                on_dropped(1)
        return None

    async def _collect(self) -> list[_Entry[ItemT, ResultT]]:
        """Wait for a first item, then up to ``max_delay_s`` for more (or until the batch is full).

        While earlier batches are still in flight (``pipeline_depth > 1``) the batch keeps filling
        until it is full or the worker is free; then the usual rules decide how much longer to wait.
        """
        assert self._not_empty is not None
        loop = asyncio.get_running_loop()
        batch: list[_Entry[ItemT, ResultT]] = []
        while not batch:
            first = self._pop_live()
            if first is not None:
                batch.append(first)
                break
            self._not_empty.clear()
            if self._closing:
                return batch
            await self._not_empty.wait()
        deadline = loop.time() + self.max_delay_s
        while len(batch) < self.max_batch_size:
            entry = self._pop_live()
            if entry is not None:
                batch.append(entry)
                continue
            if self._closing:
                break
            self._not_empty.clear()
            if self._inflight:
                await self._not_empty.wait()  # a submission, or a batch finishing, wakes us
                continue
            if self.wait_for_reserved_only and not self._expecting_more():
                break  # nothing admitted is on its way: compute now
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._not_empty.wait(), remaining)
            except TimeoutError:
                break
        return batch

    async def _loop(self) -> None:
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        while True:
            if len(self._inflight) >= self.pipeline_depth:
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            batch = await self._collect()
            self._observer.on_queue_length(len(self._queue))
            if not batch:
                if self._closing:
                    await asyncio.sleep(0.01)  # stop() cancels us once it has drained
                continue
            self._idle.clear()
            task = loop.create_task(self._deliver(loop, batch), name=f"batch-{self.name}")
            self._inflight.add(task)
            task.add_done_callback(self._on_batch_done)

    def _on_batch_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not self._inflight and self._idle is not None:
            self._idle.set()
        if self._not_empty is not None:
            self._not_empty.set()  # a collector waiting for the worker to be free re-checks

    async def _deliver(self, loop: asyncio.AbstractEventLoop, batch: list[_Entry[ItemT, ResultT]]) -> None:
        """Run one batch and settle its futures (never raises but for cancellation)."""
        try:
            await self._run_batch(loop, batch)
        except asyncio.CancelledError:
            for entry in batch:
                if not entry.future.done():
                    entry.future.set_exception(BatcherClosedError("the service is shutting down"))
            raise
        except Exception:  # noqa: BLE001 - never let the worker die
            log.exception("%s: unexpected error while delivering a batch", self.name)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Entry[ItemT, ResultT]]) -> None:
        items = [e.item for e in batch]
        start = time.perf_counter()
        results: Sequence[ResultT | BaseException]
        executor = self._executor
        work = loop.run_in_executor(executor, _timed, self._process, items)
        try:
            results, seconds = await work
            if len(results) != len(items):
                raise RuntimeError(f"process returned {len(results)} results for {len(items)} items")
        except BaseException as exc:
            # A crash *of the batch function* (its future holds the exception) is recovered from;
            # cancellation and other BaseExceptions raised on the event loop itself propagate.
            from_process = work.done() and not work.cancelled() and work.exception() is exc
            if isinstance(exc, asyncio.CancelledError):
                raise
            if from_process and _is_crash(exc):
                await self._recover_from_crash(loop, batch, exc, executor)
                return
            if not isinstance(exc, Exception):
                raise
            log.exception("%s: batch of %d items failed", self.name, len(items))  # the worker goes on
            results, seconds = [exc] * len(items), time.perf_counter() - start
        self.batches_run += 1
        ema = self._batch_seconds_ema
        self._batch_seconds_ema = seconds if ema is None else 0.8 * ema + 0.2 * seconds
        self._observer.on_batch(len(items), seconds)
        for entry, result in zip(batch, results):
            if entry.future.done():  # timed out or cancelled meanwhile
                continue
            if isinstance(result, BaseException):
                entry.future.set_exception(result)
            else:
                entry.future.set_result(result)

    async def _recover_from_crash(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Entry[ItemT, ResultT]],
        exc: BaseException,
        executor: concurrent.futures.Executor | None,
    ) -> None:
        """New executor (unless another crashed batch already made one); re-run a crashed
        multi-item batch item by item; fail a crashed single item."""
        self.crashes += 1
        log.error("%s: the batch function crashed (%r) on a batch of %d items", self.name, exc, len(batch))
        on_crash = getattr(self._observer, "on_crash", None)
        if on_crash is not None:
            on_crash()
        if self._executor is executor:
            self._executor = self._executor_factory()
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        if len(batch) == 1:
            entry = batch[0]
            if not entry.future.done():
                entry.future.set_exception(
                    WorkerCrashedError(
                        f"the inference worker crashed on this item ({type(exc).__name__}) and was restarted"
                    )
                )
            return
        for entry in batch:
            if not entry.future.done():
                await self._run_batch(loop, [entry])


def _timed(
    process: Callable[[list[ItemT]], Sequence[ResultT | BaseException]], items: list[ItemT]
) -> tuple[Sequence[ResultT | BaseException], float]:
    """``process(items)`` and the seconds it took (run in the executor: the worker's own compute time)."""
    start = time.perf_counter()
    results = process(items)
    return results, time.perf_counter() - start


def _is_crash(exc: BaseException) -> bool:
    """A dead worker (broken executor) or a ``BaseException`` that is not an ``Exception``."""
    return isinstance(exc, concurrent.futures.BrokenExecutor) or not isinstance(exc, Exception)

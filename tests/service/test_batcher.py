"""service.runtime.batcher.DynamicBatcher: batch formation, backpressure, per-item errors, timeouts, shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from service.runtime.batcher import BatcherClosedError, DynamicBatcher, QueueFullError, WorkerCrashedError


class Recorder:
    """A ``process`` function that records batches; optionally blocks until released."""

    def __init__(self, fail: Callable[[Any], BaseException | None] = lambda item: None, raise_on: Any = None) -> None:
        self.batches: list[list[Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.fail = fail
        self.raise_on = raise_on

    def __call__(self, items: list[Any]) -> list[Any]:
        self.started.set()
        self.release.wait(5)
        self.batches.append(list(items))
        if self.raise_on is not None and self.raise_on in items:
            raise RuntimeError("the whole batch failed")
        out: list[Any] = []
        for item in items:
            err = self.fail(item)
            out.append(err if err is not None else item * 10)
        return out


class Observer:
    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.rejected = 0
        self.lengths: list[int] = []

    def on_queue_length(self, length: int) -> None:
        self.lengths.append(length)

    def on_batch(self, size: int, seconds: float) -> None:
        self.sizes.append(size)

    def on_rejected(self, items: int) -> None:
        self.rejected += items


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def make(process: Recorder, **kw: Any) -> DynamicBatcher[Any, Any]:
    kw.setdefault("max_batch_size", 4)
    kw.setdefault("max_delay_s", 0.02)
    kw.setdefault("max_queue", 64)
    return DynamicBatcher(process, **kw)


def test_batches_are_cut_at_max_batch_size() -> None:
    rec, obs = Recorder(), Observer()

    async def main() -> list[Any]:
        b = make(rec, observer=obs)
        await b.start()
        out = await b.run(list(range(10)))
        await b.stop()
        return out

    assert run(main()) == [i * 10 for i in range(10)]
    assert [len(x) for x in rec.batches] == [4, 4, 2]
    assert [x for batch in rec.batches for x in batch] == list(range(10))  # FIFO
    assert obs.sizes == [4, 4, 2]


def test_items_of_concurrent_requests_share_a_batch_within_max_delay() -> None:
    rec = Recorder()

    async def main() -> list[list[Any]]:
        b = make(rec, max_batch_size=8, max_delay_s=0.3)
        await b.start()
        first = asyncio.create_task(b.run([1]))
        await asyncio.sleep(0.02)  # well inside the 300 ms window
        second = asyncio.create_task(b.run([2, 3]))
        results = await asyncio.gather(first, second)
        await b.stop()
        return results

    assert run(main()) == [[10], [20, 30]]
    assert rec.batches == [[1, 2, 3]]


def test_a_lone_item_waits_at_most_max_delay() -> None:
    rec = Recorder()

    async def main() -> float:
        b = make(rec, max_batch_size=8, max_delay_s=0.05)
        await b.start()
        start = time.perf_counter()
        await b.run([1])
        elapsed = time.perf_counter() - start
        await b.stop()
        return elapsed

    elapsed = run(main())
    assert rec.batches == [[1]]
    assert 0.04 <= elapsed < 2.0  # waited for the window, then ran alone


def test_full_queue_refuses_whole_submissions_with_retry_after() -> None:
    rec, obs = Recorder(), Observer()
    rec.release.clear()  # the worker blocks inside its first batch

    async def main() -> None:
        b = make(rec, max_batch_size=1, max_queue=3, observer=obs)
        await b.start()
        busy = asyncio.create_task(b.run([0]))
        while not rec.started.is_set():
            await asyncio.sleep(0.005)
        queued = b.submit([1, 2])  # fits: 2 of 3
        with pytest.raises(QueueFullError) as info:
            b.submit([3, 4])  # would need 4 slots
        assert info.value.retry_after_s >= 1 and info.value.queued == 2 and info.value.capacity == 3
        assert b.queue_length == 2  # nothing of the refused submission was queued
        with pytest.raises(QueueFullError):
            b.check_capacity(2)  # the early check refuses like submit, without queuing
        b.check_capacity(1)
        queued += b.submit([5])  # exactly full
        with pytest.raises(QueueFullError):
            b.submit([6])
        rec.release.set()
        assert await busy == [0]
        assert [await f for f in queued] == [10, 20, 50]
        await b.stop()

    run(main())
    assert obs.rejected == 5
    assert [x for batch in rec.batches for x in batch] == [0, 1, 2, 5]


def test_an_item_error_fails_only_that_item() -> None:
    rec = Recorder(fail=lambda item: ValueError(f"bad {item}") if item == 2 else None)

    async def main() -> list[Any]:
        b = make(rec)
        await b.start()
        out = await b.run([1, 2, 3])
        await b.stop()
        return out

    out = run(main())
    assert out[0] == 10 and out[2] == 30
    assert isinstance(out[1], ValueError) and "bad 2" in str(out[1])
    assert rec.batches == [[1, 2, 3]]


def test_a_failing_batch_does_not_kill_the_worker() -> None:
    rec = Recorder(raise_on="boom")

    async def main() -> tuple[list[Any], list[Any]]:
        b = make(rec, max_batch_size=4)
        await b.start()
        failed = await b.run(["boom", 1])
        ok = await b.run([2])
        assert b.running
        await b.stop()
        return failed, ok

    failed, ok = run(main())
    assert all(isinstance(r, RuntimeError) for r in failed)
    assert ok == [20]


def test_timeout_cancels_queued_items() -> None:
    rec = Recorder()
    rec.release.clear()

    async def main() -> None:
        b = make(rec, max_batch_size=1)
        await b.start()
        busy = asyncio.create_task(b.run([0]))
        while not rec.started.is_set():
            await asyncio.sleep(0.005)
        with pytest.raises(TimeoutError):
            await b.run([1, 2], timeout=0.05)
        rec.release.set()
        assert await busy == [0]
        assert await b.run([3]) == [30]
        await b.stop()

    run(main())
    assert [x for batch in rec.batches for x in batch] == [0, 3]  # 1 and 2 were dropped, never computed


def test_stop_drains_the_queue_then_refuses() -> None:
    rec = Recorder()
    rec.release.clear()

    async def main() -> None:
        b = make(rec, max_batch_size=2)
        await b.start()
        futures = b.submit([1, 2, 3, 4, 5])
        while not rec.started.is_set():
            await asyncio.sleep(0.005)
        stopping = asyncio.create_task(b.stop(drain=True, timeout=5))
        await asyncio.sleep(0.02)
        with pytest.raises(BatcherClosedError):
            b.submit([6])
        rec.release.set()
        await stopping
        assert [f.result() for f in futures] == [10, 20, 30, 40, 50]
        assert not b.running

    run(main())


def test_submit_before_start_is_refused() -> None:
    async def main() -> None:
        b = make(Recorder())
        with pytest.raises(BatcherClosedError):
            b.submit([1])

    run(main())


@pytest.mark.parametrize("kw", [{"max_batch_size": 0}, {"max_delay_s": -1.0}, {"max_queue": 0}])
def test_invalid_configuration(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make(Recorder(), **kw)


def test_reservations_count_against_the_queue_bound() -> None:
    rec, obs = Recorder(), Observer()

    async def main() -> list[Any]:
        b = make(rec, observer=obs, max_queue=4)
        await b.start()
        b.reserve(3)  # a request admitted with 3 crops, still decoding them
        assert b.reserved == 3
        with pytest.raises(QueueFullError):
            b.reserve(2)
        with pytest.raises(QueueFullError):
            b.check_capacity(2)
        b.reserve(1)
        b.release(1)  # that one failed before submitting: its room comes back
        out = await b.run([1, 2], reserved=3)  # fewer than reserved: the rest is given back too
        assert b.reserved == 0
        b.check_capacity(4)
        await b.stop()
        return out

    assert run(main()) == [10, 20]
    assert obs.rejected == 4


def test_adaptive_wait_only_while_reserved_items_are_coming() -> None:
    rec = Recorder()

    async def main() -> tuple[float, list[list[Any]]]:
        b = make(rec, max_batch_size=8, max_delay_s=1.0, wait_for_reserved_only=True)
        await b.start()
        t0 = time.perf_counter()
        assert await b.run([1]) == [10]  # nothing else admitted: no 1 s wait
        alone = time.perf_counter() - t0
        b.reserve(1)  # a second request is admitted and still preparing its crop

        async def late() -> list[Any]:
            await asyncio.sleep(0.2)
            return await b.run([3], reserved=1)

        first, second = await asyncio.gather(b.run([2]), late())
        assert (first, second) == ([20], [30])
        await b.stop()
        return alone, rec.batches

    alone, batches = run(main())
    assert alone < 0.5
    assert batches == [[1], [2, 3]]  # the worker waited for the reserved crop


def test_crash_of_the_batch_function_fails_only_the_crashing_item() -> None:
    class Crash(BaseException):
        pass

    calls: list[list[Any]] = []

    def process(items: list[Any]) -> list[Any]:
        calls.append(list(items))
        if 13 in items:
            raise Crash("the library called exit()")
        return [i * 10 for i in items]

    async def main() -> tuple[list[Any], list[Any], int]:
        b = DynamicBatcher(process, max_batch_size=4, max_delay_s=0.05, max_queue=16)
        await b.start()
        out = await b.run([11, 12, 13, 14])
        after = await b.run([15])  # the worker (with a new thread) still serves
        crashes = b.crashes
        assert b.running
        await b.stop()
        return out, after, crashes

    out, after, crashes = run(main())
    assert out[0] == 110 and out[1] == 120 and out[3] == 140
    assert isinstance(out[2], WorkerCrashedError) and "Crash" in str(out[2])
    assert after == [150]
    assert crashes == 2  # the batch, then item 13 alone
    assert calls[0] == [11, 12, 13, 14] and [13] in calls and [11] in calls


def test_worker_task_is_restarted_if_it_dies() -> None:
    rec = Recorder()

    async def main() -> list[Any]:
        b = make(rec)
        await b.start()
        first = b._task
        assert first is not None
        original = b._collect
        failed = []

        async def broken_once() -> list[Any]:
            if not failed:
                failed.append(True)
                raise RuntimeError("a bug in the worker loop")
            return await original()

        b._collect = broken_once  # type: ignore[method-assign]
        out = await b.run([1, 2])
        await asyncio.sleep(0.05)
        out += await b.run([3])  # served by the restarted worker task
        assert b.restarts == 1 and b._task is not first
        await b.stop()
        return out

    assert run(main()) == [10, 20, 30]


def test_pipelined_batches_overlap_and_keep_order_per_request() -> None:
    """pipeline_depth=2: the next batch is handed over while one runs; results stay per item."""
    started = threading.Event()
    gate = threading.Event()
    calls: list[list[Any]] = []

    def process(items: list[Any]) -> list[Any]:
        calls.append(list(items))
        if len(calls) == 1:
            started.set()
            gate.wait(5)
        return [i + 1000 for i in items]

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)  # two at once: handed-over batches run

    async def main() -> tuple[list[Any], list[Any], bool]:
        b = DynamicBatcher(
            process, max_batch_size=2, max_delay_s=0.01, max_queue=16, pipeline_depth=2, executor_factory=lambda: pool
        )
        await b.start()
        first = asyncio.ensure_future(b.run([1, 2]))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        second = asyncio.ensure_future(b.run([3, 4]))
        while len(calls) < 2:  # handed over although the first batch is still running
            await asyncio.sleep(0.005)
        first_still_running = not first.done()
        gate.set()
        out = await asyncio.gather(first, second)
        await b.stop()
        return out[0], out[1], first_still_running

    a, c, first_still_running = run(main())
    assert (a, c) == ([1001, 1002], [1003, 1004])
    assert first_still_running and calls == [[1, 2], [3, 4]]


def test_pipelined_batch_waits_until_full_or_worker_free() -> None:
    """While a batch runs, the next one fills up (it is not cut by max_delay_s)."""
    gate = threading.Event()
    calls: list[list[Any]] = []

    def process(items: list[Any]) -> list[Any]:
        calls.append(list(items))
        if len(calls) == 1:
            gate.wait(5)
        return list(items)

    async def main() -> None:
        b = DynamicBatcher(process, max_batch_size=3, max_delay_s=0.001, max_queue=16, pipeline_depth=2)
        await b.start()
        first = asyncio.ensure_future(b.run([0]))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(b.run([i])) for i in (1, 2)]
        await asyncio.sleep(0.05)  # far past max_delay_s: still one open batch of 2
        late = asyncio.ensure_future(b.run([3]))
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(first, late, *rest)
        await b.stop()

    run(main())
    assert calls == [[0], [1, 2, 3]]


def test_two_batches_in_flight_when_the_worker_breaks_make_one_new_executor() -> None:
    made: list[concurrent.futures.Executor] = []
    gate = threading.Event()

    def factory() -> concurrent.futures.Executor:
        made.append(concurrent.futures.ThreadPoolExecutor(max_workers=2))
        return made[-1]

    def process(items: list[Any]) -> list[Any]:
        if len(made) == 1:  # the first executor "dies" under both batches
            gate.wait(5)
            raise concurrent.futures.BrokenExecutor("worker process died")
        return [i * 2 for i in items]

    async def main() -> tuple[list[Any], int]:
        b = DynamicBatcher(
            process, max_batch_size=2, max_delay_s=0.001, max_queue=16, pipeline_depth=2, executor_factory=factory
        )
        await b.start()
        first = asyncio.ensure_future(b.run([1, 2]))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(b.run([3, 4]))
        await asyncio.sleep(0.05)
        gate.set()
        out = (await first) + (await second)
        crashes = b.crashes
        await b.stop()
        return out, crashes

    out, crashes = run(main())
    assert out == [2, 4, 6, 8]  # nothing lost: both broken batches re-run item by item
    assert crashes == 2 and len(made) == 2

"""Load benchmark of the HTTP service: ``python -m benchmarks.service.bench`` (loopback only, stops by itself).

One run measures, on this machine:

1. **Offline**: :meth:`model.inference.Predictor.predict` on the same crops, in this process, at
   batch 1 and at the service's batch size (crops/s; the network, checkpoint, precision and torch
   threads are those the servers get). Measured before any server starts, so nothing competes.
2. **Sweep**: ``python -m service`` is started on 127.0.0.1 twice, once with ``max_batch_size=1``
   and once with the default batch size; each is driven by a closed-loop httpx load generator
   (``POST /v1/smpl``, one crop per request) at each concurrency level (default 1, 4, 16, 32,
   64): requests/s, crops/s, p50 / p95 / p99 latency, the server's mean batch size (from
   ``/metrics``) and the ratio of service to offline throughput.
3. **Overload**: a server with a small queue gets an open-loop arrival rate of ``--overload-factor``
   (4) times the capacity measured at concurrency 32; every answer must be 200 or 429.
4. **Soak**: the batched server under a mixed load (``/v1/smpl``, ``/v1/sequence``, ``/v1/texture``)
   for ``--soak-seconds``; its resident memory (RSS) is sampled from ``/proc`` at start and end.

Targets (reported as PASS / FAIL, never asserted in tests): batched service >= 85 % of offline
batched throughput at concurrency 32, and >= 1.5x the batch-1 service there; overload answers
only 200 and 429 (no 5xx, no dropped connection); RSS within 10 % over the soak.

Writes ``--out``/REPORT.md (tables, the exact command, machine and model), ``service_bench.png``
(throughput, latency, batch size vs concurrency; RSS over the soak) and ``service_bench.json``.
``--quick`` runs a tiny random network with short phases (about a minute) to check the tooling;
its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from tqdm import tqdm

from service.settings import DEFAULT_CHECKPOINT

__all__ = ["LevelResult", "main", "run_load"]

_LOOPBACK = "127.0.0.1"
#: A tiny random network for --quick (ResNet-18, 64 px input).
QUICK_NET = '{"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}'
#: Crop of the load: height x width (a person-shaped low-resolution crop).
CROP_HW = (96, 48)


# ---------------------------------------------------------------------------------------- payloads
def _crop(seed: int, hw: tuple[int, int] = CROP_HW) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*hw, 3), dtype=np.uint8)


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _multipart(files: list[tuple[str, tuple[str, bytes, str]]], data: Mapping[str, str] | None = None) -> dict:
    """``post`` arguments with the multipart body encoded once (httpx's own encoder)."""
    request = httpx.Request("POST", "http://127.0.0.1/", files=files, data=data)
    return {"content": request.read(), "headers": {"content-type": request.headers["content-type"]}}


@dataclass(frozen=True)
class Payloads:
    """Request bodies encoded once: the load generator spends its CPU on HTTP, not on encoding."""

    crops: list[bytes]
    bodies: dict[str, list[dict[str, Any]]]

    @classmethod
    def make(cls, n: int = 16) -> Payloads:
        crops = [_png(_crop(seed)) for seed in range(n)]
        bodies = {
            "smpl": [_multipart([("images", (f"{i}.png", c, "image/png"))]) for i, c in enumerate(crops)],
            "sequence": [
                _multipart([("frames", (f"{j}.png", crops[(i + j) % n], "image/png")) for j in range(4)])
                for i in range(n)
            ],
            "texture": [_multipart([("image", ("a.png", c, "image/png"))], {"format": "glb"}) for c in crops],
        }
        return cls(crops, bodies)

    def smpl(self, i: int) -> dict[str, Any]:
        return self.bodies["smpl"][i % len(self.crops)]

    def sequence(self, i: int) -> dict[str, Any]:
        return self.bodies["sequence"][i % len(self.crops)]

    def texture(self, i: int) -> dict[str, Any]:
        return self.bodies["texture"][i % len(self.crops)]


# ---------------------------------------------------------------------------------------- server
def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"VmRSS of process {pid} not found")


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux ``/proc``)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.is_file() else []


@dataclass
class ServerProcess:
    """``python -m service`` on 127.0.0.1 (any free port) in a subprocess."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{_LOOPBACK}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its children (the worker process; Linux ``/proc``)."""
        return sum(_rss_bytes(pid) for pid in (self.proc.pid, *_children(self.proc.pid)))

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_server(env_settings: Mapping[str, str], workdir: Path, name: str, timeout: float = 300.0) -> ServerProcess:
    """Start the service with ``RSCNET_*`` settings; returns once ``/readyz`` answers 200."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSCNET_")}
    env.update(env_settings)
    env["OMP_NUM_THREADS"] = env_settings.get("RSCNET_TORCH_THREADS", "1")
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "--host", _LOOPBACK, "--port", "0", "--log-level", "warning"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(proc, log_path)
    deadline = time.monotonic() + timeout
    # uvicorn prints its address at info level only: ask the kernel which port the process listens on.
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {name} exited with {proc.returncode}:\n{server.log()[-3000:]}")
        port = _listening_port(proc.pid)
        if port:
            server.port = port
            break
        time.sleep(0.1)
    with httpx.Client(base_url=server.url, timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if client.get("/readyz").status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server {name} not ready within {timeout} s:\n{server.log()[-3000:]}")


def _listening_port(pid: int) -> int | None:
    """The TCP port a process listens on at 127.0.0.1 (from /proc/net/tcp and its socket inodes)."""
    try:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            match = re.match(r"socket:\[(\d+)\]", target)
            if match:
                inodes.add(match.group(1))
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and inode in inodes and local.startswith("0100007F:"):
                return int(local.split(":")[1], 16)
    except OSError:
        return None
    return None


def _metric_totals(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.labels:
                out[s.name] = out.get(s.name, 0.0) + s.value
    return out


# ---------------------------------------------------------------------------------------- load
@dataclass
class LevelResult:
    """One closed-loop measurement."""

    label: str
    concurrency: int
    seconds: float
    statuses: dict[str, int]
    ok_requests_per_s: float
    ok_crops_per_s: float
    latency_ms: dict[str, float | None]
    mean_batch_size: float | None
    batch_ms: float | None = None  # mean compute time of one forward pass in the server
    worker_busy: float | None = None  # share of the window the worker spent computing
    ratio_to_offline: float | None = None


def _percentiles(latencies_s: Sequence[float]) -> dict[str, float | None]:
    if not latencies_s:
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    ms = np.asarray(latencies_s) * 1000.0
    return {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
        "p99": round(float(np.percentile(ms, 99)), 2),
        "mean": round(float(ms.mean()), 2),
    }


async def run_load(
    url: str,
    payloads: Payloads,
    *,
    concurrency: int,
    seconds: float,
    warmup_s: float,
    label: str,
    mix: Mapping[str, float] | None = None,
) -> LevelResult:
    """Closed loop: ``concurrency`` workers send requests back to back for ``warmup_s + seconds``.

    Only requests started after the warm-up and finished before the end are counted; the mean
    batch size is the server's over the same window. ``mix`` maps endpoints ("smpl", "sequence",
    "texture") to shares (default: only ``/v1/smpl``, one crop per request).
    """
    if not url.startswith(f"http://{_LOOPBACK}:"):
        raise ValueError(f"refusing to load {url}: the benchmark only targets {_LOOPBACK}")
    mix = dict(mix or {"smpl": 1.0})
    kinds = list(mix)
    weights = np.asarray([mix[k] for k in kinds], dtype=float)
    weights /= weights.sum()
    rng = np.random.default_rng(0)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    crops_ok = 0
    # One client (one keep-alive connection) per worker: a shared pool of many connections costs
    # the generator more CPU per request than the server spends on it.
    one = httpx.Limits(max_connections=1)
    clients = [httpx.AsyncClient(base_url=url, timeout=120, limits=one) for _ in range(concurrency)]
    async with httpx.AsyncClient(base_url=url, timeout=30) as probe:  # /metrics never waits for a load connection
        start = time.perf_counter()
        measure_from = start + warmup_s
        end = measure_from + seconds
        before: dict[str, float] = {}
        counter = 0

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal counter, crops_ok
            while True:
                t0 = time.perf_counter()
                if t0 >= end:
                    return
                i = counter
                counter += 1
                kind = kinds[int(rng.choice(len(kinds), p=weights))] if len(kinds) > 1 else kinds[0]
                body = getattr(payloads, kind)(i)
                try:
                    r = await client.post(f"/v1/{kind}", **body)
                    status = str(r.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                t1 = time.perf_counter()
                if t0 >= measure_from and t1 <= end:
                    statuses[status] += 1
                    if status == "200":
                        latencies.append(t1 - t0)
                        crops_ok += 4 if kind == "sequence" else 1

        async def snapshot() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            before.update(_metric_totals((await probe.get("/metrics")).text))

        snap = asyncio.ensure_future(snapshot())
        try:
            await asyncio.gather(*(worker(c) for c in clients))
        finally:
            for c in clients:
                await c.aclose()
        await snap
        after = _metric_totals((await probe.get("/metrics")).text)
    ok = statuses.get("200", 0)
    batches = after.get("rscnet_batch_size_count", 0.0) - before.get("rscnet_batch_size_count", 0.0)
    crops = after.get("rscnet_batch_size_sum", 0.0) - before.get("rscnet_batch_size_sum", 0.0)
    busy = after.get("rscnet_batch_compute_seconds_sum", 0.0) - before.get("rscnet_batch_compute_seconds_sum", 0.0)
    return LevelResult(
        label=label,
        concurrency=concurrency,
        seconds=round(seconds, 2),
        statuses=dict(statuses),
        ok_requests_per_s=round(ok / seconds, 2),
        ok_crops_per_s=round(crops_ok / seconds, 2),
        latency_ms=_percentiles(latencies),
        mean_batch_size=round(crops / batches, 2) if batches else None,
        batch_ms=round(1000.0 * busy / batches, 2) if batches else None,
        worker_busy=round(busy / seconds, 3) if seconds > 0 else None,
    )


@dataclass
class OverloadResult:
    target_rate_per_s: float
    seconds: float
    sent: int
    statuses: dict[str, int]
    ok_latency_ms: dict[str, float | None]  # client side: from scheduling the request to its answer
    server_latency_ms: dict[str, float | None]  # server side (all answers), from the histogram buckets
    queue_size: int
    passed: bool = False


def _histogram(text: str, name: str, labels: Mapping[str, str]) -> dict[float, float]:
    """Cumulative bucket counts ``{upper bound: count}`` of one labelled histogram."""
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == f"{name}_bucket" and all(s.labels.get(k) == v for k, v in labels.items()):
                out[float(s.labels["le"])] = s.value
    return out


def _bucket_quantiles(before: dict[float, float], after: dict[float, float]) -> dict[str, float | None]:
    """p50 / p99 as the upper bound of the bucket where the cumulative count crosses them."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        bound = next((b for b, c in zip(bounds, counts) if total and c >= q * total), None)
        out[name] = None if bound is None or math.isinf(bound) else round(bound * 1000.0, 1)
    return out


async def run_overload(url: str, payloads: Payloads, *, rate: float, seconds: float, queue_size: int) -> OverloadResult:
    """Open loop: one ``POST /v1/smpl`` every ``1 / rate`` s for ``seconds`` (at most 1024 in flight)."""
    if not url.startswith(f"http://{_LOOPBACK}:"):
        raise ValueError(f"refusing to load {url}: the benchmark only targets {_LOOPBACK}")
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    in_flight = asyncio.Semaphore(1024)
    # 64 small pools rather than one of 1024 connections (whose bookkeeping would load the CPU).
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    clients = [httpx.AsyncClient(base_url=url, timeout=120, limits=limits) for _ in range(64)]
    hist = ("rscnet_request_duration_seconds", {"endpoint": "/v1/smpl"})
    async with httpx.AsyncClient(base_url=url, timeout=30) as probe:
        before = _histogram((await probe.get("/metrics")).text, *hist)

        async def one(i: int) -> None:
            async with in_flight:
                t0 = time.perf_counter()
                try:
                    r = await clients[i % len(clients)].post("/v1/smpl", **payloads.smpl(i))
                    statuses[str(r.status_code)] += 1
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

        tasks = []
        start = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(i)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for c in clients:
                await c.aclose()
        after = _histogram((await probe.get("/metrics")).text, *hist)
    passed = set(statuses) <= {"200", "429"} and statuses.get("200", 0) > 0
    return OverloadResult(
        target_rate_per_s=round(rate, 2),
        seconds=seconds,
        sent=n,
        statuses=dict(statuses),
        ok_latency_ms=_percentiles(latencies),
        server_latency_ms=_bucket_quantiles(before, after),
        queue_size=queue_size,
        passed=passed,
    )


@dataclass
class SoakResult:
    seconds: float
    warmup_seconds: float
    concurrency: int
    load: LevelResult
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    growth_percent: float = 0.0
    passed: bool = False


_SOAK_MIX = {"smpl": 0.9, "sequence": 0.05, "texture": 0.05}


async def run_soak(
    server: ServerProcess, payloads: Payloads, *, seconds: float, concurrency: int, warmup_s: float
) -> SoakResult:
    """Mixed closed-loop load for ``seconds`` while sampling the server's RSS every few seconds.

    The same mix runs ``warmup_s`` first, unmeasured: the first texture and sequence requests
    allocate for good (mesh buffers, the renderer), which is not a leak.
    """
    await run_load(
        server.url,
        payloads,
        concurrency=concurrency,
        seconds=warmup_s,
        warmup_s=0.0,
        label="soak-warmup",
        mix=_SOAK_MIX,
    )
    samples: list[tuple[float, float]] = []
    start = time.perf_counter()
    interval = max(1.0, seconds / 60)

    async def sample() -> None:
        while True:
            samples.append((round(time.perf_counter() - start, 1), server.rss_bytes() / 2**20))
            await asyncio.sleep(interval)

    sampler = asyncio.ensure_future(sample())
    load = await run_load(
        server.url,
        payloads,
        concurrency=concurrency,
        seconds=seconds,
        warmup_s=0.0,
        label="soak",
        mix=_SOAK_MIX,
    )
    sampler.cancel()
    samples.append((round(time.perf_counter() - start, 1), server.rss_bytes() / 2**20))
    # Start / end: medians of the first and last tenth of the samples (RSS breathes with the load).
    k = max(1, len(samples) // 10)
    rss_start = statistics.median(v for _, v in samples[:k])
    rss_end = statistics.median(v for _, v in samples[-k:])
    growth = 100.0 * (rss_end - rss_start) / rss_start
    ok_statuses = set(load.statuses) <= {"200"}
    return SoakResult(
        seconds=seconds,
        warmup_seconds=warmup_s,
        concurrency=concurrency,
        load=load,
        rss_mb=[(t, round(v, 1)) for t, v in samples],
        rss_start_mb=round(rss_start, 1),
        rss_end_mb=round(rss_end, 1),
        growth_percent=round(growth, 2),
        passed=abs(growth) <= 10.0 and ok_statuses,
    )


# ---------------------------------------------------------------------------------------- offline
@dataclass
class OfflineResult:
    batch_size: int
    crops: int
    seconds: float
    crops_per_s: float


def run_offline(env_settings: Mapping[str, str], batch_sizes: Sequence[int], seconds: float) -> tuple[list, dict]:
    """``Predictor.predict`` throughput at each batch size, with the servers' network and threads."""
    import torch

    from service.runtime.model_loader import load_predictor
    from service.settings import ServiceSettings

    saved = {k: v for k, v in os.environ.items() if k.startswith("RSCNET_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(env_settings)
    try:
        settings = ServiceSettings()  # read exactly as the servers read it
    finally:
        for k in env_settings:
            os.environ.pop(k, None)
        os.environ.update(saved)
    threads = settings.torch_threads or 1
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        loaded = load_predictor(settings)
        predictor = loaded.predictor
        crops = [_crop(seed) for seed in range(64)]
        results = []
        for bs in batch_sizes:
            predictor.predict(crops[:bs], batch_size=bs)  # warm-up
            done = 0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                predictor.predict(crops[:bs], batch_size=bs)
                done += bs
            elapsed = time.perf_counter() - t0
            results.append(OfflineResult(bs, done, round(elapsed, 2), round(done / elapsed, 2)))
        model = {
            "checkpoint_id": predictor.checkpoint_id,
            "is_trained": predictor.is_trained,
            "input_size": predictor.input_size,
            "backbone_depth": predictor.net.config.backbone.depth,
            "precision": predictor.precision,
            "device": str(predictor.device),
            "torch_threads": threads,
            "warning": loaded.warning,
        }
        return results, model
    finally:
        torch.set_num_threads(previous)


# ---------------------------------------------------------------------------------------- report
def _fmt(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def write_plot(
    path: Path, sweeps: dict[str, list[LevelResult]], offline: list[OfflineResult], soak: SoakResult
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    ax = axes[0, 0]
    for label, levels in sweeps.items():
        xs = [lv.concurrency for lv in levels]
        ax.plot(xs, [lv.ok_crops_per_s for lv in levels], "o-", label=f"service, {label}")
    for off in offline:
        ax.axhline(off.crops_per_s, ls="--", lw=1, color="grey" if off.batch_size == 1 else "black")
        ax.text(1, off.crops_per_s, f" offline batch {off.batch_size}", va="bottom", fontsize=8)
    ax.set(xscale="log", xlabel="concurrent requests", ylabel="crops / s", title="Throughput")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for label, levels in sweeps.items():
        xs = [lv.concurrency for lv in levels]
        for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            ax.plot(xs, [lv.latency_ms[q] or np.nan for lv in levels], style, label=f"{label} {q}")
    ax.set(xscale="log", yscale="log", xlabel="concurrent requests", ylabel="latency (ms)", title="Latency")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1, 0]
    for label, levels in sweeps.items():
        ax.plot([lv.concurrency for lv in levels], [lv.mean_batch_size or np.nan for lv in levels], "o-", label=label)
    ax.set(xscale="log", xlabel="concurrent requests", ylabel="crops per forward pass", title="Mean batch size")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot([t for t, _ in soak.rss_mb], [v for _, v in soak.rss_mb], "-")
    ax.axhline(soak.rss_start_mb * 1.1, ls=":", color="red", lw=1)
    ax.set(xlabel="soak time (s)", ylabel="server RSS (MiB)", title=f"Soak: RSS {soak.growth_percent:+.1f} %")
    ax.set_ylim(0, max(v for _, v in soak.rss_mb) * 1.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(path: Path, result: dict[str, Any]) -> str:
    lines = ["# Service load benchmark", ""]
    lines += [
        f"Command: `{result['command']}`  ",
        f"Date (UTC): {result['date']}; wall time {result['wall_s']:.0f} s; machine: {result['machine']}.  ",
    ]
    m = result["model"]
    trained = "trained checkpoint" if m["is_trained"] else "**randomly initialised network** (no checkpoint)"
    lines += [
        f"Model: {trained} `{m['checkpoint_id']}`, ResNet-{m['backbone_depth']}, {m['input_size']} px input, "
        f"{m['precision']} on {m['device']}, {m['torch_threads']} torch thread(s) (server and offline alike); "
        f"the servers run the network in a worker {result.get('worker', 'thread')}.  ",
        f"Load: `POST /v1/smpl`, one {CROP_HW[0]}x{CROP_HW[1]} PNG crop per request, closed loop "
        f"({result['level_seconds']} s per level after {result['warmup_seconds']} s warm-up), "
        "httpx on the same machine as the server.",
        "",
    ]
    if result["quick"]:
        lines += ["> `--quick`: tiny network and short phases, a check of the tooling; the numbers mean nothing.", ""]
    lines += ["## Offline `Predictor.predict`", "", "| batch | crops/s |", "|---:|---:|"]
    lines += [f"| {o['batch_size']} | {o['crops_per_s']:.1f} |" for o in result["offline"]]
    lines += ["", "## Service sweep", ""]
    lines += [
        "| server | concurrency | req/s | crops/s | p50 ms | p95 ms | p99 ms | mean batch | ms / batch | worker busy "
        "| vs offline | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, levels in result["sweeps"].items():
        for lv in levels:
            lat = lv["latency_ms"]
            ratio = "-" if lv["ratio_to_offline"] is None else f"{100 * lv['ratio_to_offline']:.0f} %"
            busy = "-" if lv.get("worker_busy") is None else f"{100 * lv['worker_busy']:.0f} %"
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(lv["statuses"].items()))
            lines.append(
                f"| {label} | {lv['concurrency']} | {lv['ok_requests_per_s']:.1f} | {lv['ok_crops_per_s']:.1f} | "
                f"{_fmt(lat['p50'])} | {_fmt(lat['p95'])} | {_fmt(lat['p99'])} | {_fmt(lv['mean_batch_size'], 2)} | "
                f"{_fmt(lv.get('batch_ms'))} | {busy} | {ratio} | {statuses} |"
            )
    offline_ms = ", ".join(
        f"batch {o['batch_size']}: {1000 * o['batch_size'] / o['crops_per_s']:.1f} ms" for o in result["offline"]
    )
    lines += [
        "",
        "Ratios compare with offline throughput at the same batch size as the server's. `ms / batch` is the "
        f"server's mean forward-pass time (offline: {offline_ms}) and `worker busy` the share of the window it "
        "spent computing (passes straddling the window's edges can take it past 100 %): a busy worker with "
        "slower passes than offline means the HTTP side competes with it for the CPU; an idle one means the "
        "HTTP side cannot feed it.",
        "",
    ]
    o = result["overload"]
    lines += [
        "## Overload",
        "",
        f"Open loop at {o['target_rate_per_s']:.1f} requests/s ({result['overload_factor']:g}x the batched capacity "
        f"at concurrency 32) for {o['seconds']:g} s, queue of {o['queue_size']} crops: {o['sent']} sent, statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(o["statuses"].items()))
        + f". Accepted requests, client side (from the scheduled send, so including the load generator's own "
        f"queueing on this CPU): p50 {_fmt(o['ok_latency_ms']['p50'])} ms, p99 {_fmt(o['ok_latency_ms']['p99'])} ms; "
        f"all answers, server side (histogram bucket bounds): p50 <= {_fmt(o['server_latency_ms']['p50'])} ms, "
        f"p99 <= {_fmt(o['server_latency_ms']['p99'])} ms.",
        "",
    ]
    s = result["soak"]
    lines += [
        "## Soak",
        "",
        f"{s['seconds']:g} s at concurrency {s['concurrency']} (90 % `/v1/smpl`, 5 % `/v1/sequence` of 4 frames, "
        f"5 % `/v1/texture` GLB), after {s['warmup_seconds']:g} s of the same load unmeasured: "
        f"{s['load']['ok_requests_per_s']:.1f} requests/s, statuses "
        + ", ".join(f"{k}: {v}" for k, v in sorted(s["load"]["statuses"].items()))
        + f". Server RSS {s['rss_start_mb']:.1f} MiB at the start, {s['rss_end_mb']:.1f} MiB at the end "
        f"({s['growth_percent']:+.2f} %).",
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'PASS' if t['passed'] else 'FAIL'} |")
    lines += ["", "![throughput, latency, batch size, RSS](service_bench.png)", ""]
    text = "\n".join(lines)
    path.write_text(text)
    return text


# ---------------------------------------------------------------------------------------- main
def _server_env(args: argparse.Namespace, workdir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "RSCNET_DEVICE": args.device,
        "RSCNET_TORCH_THREADS": str(args.torch_threads),
        "RSCNET_CHECKPOINT": str(args.checkpoint) if not args.quick else str(workdir / "absent.pt"),
        "RSCNET_LOG_LEVEL": "warning",
        "RSCNET_QUEUE_SIZE": "1024",
        "RSCNET_WORKER": args.worker,
    }
    if args.precision:
        env["RSCNET_PRECISION"] = args.precision
    if args.quick or args.random_init_net:
        env["RSCNET_RANDOM_INIT_NET"] = args.random_init_net or QUICK_NET
    if args.batch_size:
        env["RSCNET_MAX_BATCH_SIZE"] = str(args.batch_size)
    if args.video_checkpoint is not None:
        env["RSCNET_VIDEO_CHECKPOINT"] = str(args.video_checkpoint)
    env.update(overrides)
    return env


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    sweeps = result["sweeps"]
    batched = {lv["concurrency"]: lv for lv in sweeps["batched"]}
    single = {lv["concurrency"]: lv for lv in sweeps["batch=1"]}
    c = 32 if 32 in batched else max(batched)
    b, one = batched[c], single.get(c)
    ratio = b["ratio_to_offline"] or 0.0
    speedup = b["ok_crops_per_s"] / one["ok_crops_per_s"] if one and one["ok_crops_per_s"] else 0.0
    o, s = result["overload"], result["soak"]
    return [
        {
            "target": f"batched service >= 85 % of offline batched throughput (concurrency {c})",
            "measured": f"{100 * ratio:.0f} %",
            "passed": ratio >= 0.85,
        },
        {
            "target": f"batched service >= 1.5x the batch=1 service (concurrency {c})",
            "measured": f"{speedup:.2f}x",
            "passed": speedup >= 1.5,
        },
        {
            "target": "overload: only 200 and 429, no 5xx",
            "measured": ", ".join(f"{k}: {v}" for k, v in sorted(o["statuses"].items())),
            "passed": o["passed"],
        },
        {
            "target": "soak: RSS flat within 10 %",
            "measured": f"{s['rss_start_mb']:.0f} -> {s['rss_end_mb']:.0f} MiB ({s['growth_percent']:+.1f} %)",
            "passed": s["passed"],
        },
    ]


def _soak_warmup(soak_seconds: float) -> float:
    """Unmeasured mixed load before the soak: the allocator's per-thread arenas fill during roughly
    the first minute of mixed traffic (RSS then plateaus), which is not a leak."""
    return max(5.0, min(60.0, soak_seconds / 3))


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    payloads = Payloads.make()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rscnet-bench-") as tmp:
        workdir = Path(tmp)
        base_env = _server_env(args, workdir)
        default_batch = args.batch_size or (8 if args.device in ("cpu", "auto") else 32)
        print(f"offline Predictor at batch 1 and {default_batch} ...", file=sys.stderr)
        offline, model = run_offline(base_env, sorted({1, default_batch}), args.offline_seconds)
        offline_by_bs = {o.batch_size: o.crops_per_s for o in offline}
        sweeps: dict[str, list[LevelResult]] = {}
        total = 2 * len(args.concurrency)
        with tqdm(total=total, desc="sweep", unit="level", file=sys.stderr) as bar:
            for label, batch in (("batch=1", 1), ("batched", default_batch)):
                server = start_server({**base_env, "RSCNET_MAX_BATCH_SIZE": str(batch)}, workdir, label)
                try:
                    levels = []
                    for conc in args.concurrency:
                        bar.set_postfix(server=label, concurrency=conc)
                        level = asyncio.run(
                            run_load(
                                server.url,
                                payloads,
                                concurrency=conc,
                                seconds=args.level_seconds,
                                warmup_s=args.warmup_seconds,
                                label=label,
                            )
                        )
                        level.ratio_to_offline = round(level.ok_crops_per_s / offline_by_bs[batch], 3)
                        levels.append(level)
                        bar.update(1)
                    sweeps[label] = levels
                    if label == "batched":
                        print(f"soak for {args.soak_seconds:g} s ...", file=sys.stderr)
                        soak = asyncio.run(
                            run_soak(
                                server,
                                payloads,
                                seconds=args.soak_seconds,
                                concurrency=args.soak_concurrency,
                                warmup_s=_soak_warmup(args.soak_seconds),
                            )
                        )
                finally:
                    server.stop()
        by_conc = {lv.concurrency: lv for lv in sweeps["batched"]}
        capacity = by_conc.get(32, max(sweeps["batched"], key=lambda lv: lv.ok_requests_per_s)).ok_requests_per_s
        rate = max(1.0, args.overload_factor * capacity)
        queue = max(2 * default_batch, 4)
        print(f"overload at {rate:.1f} requests/s, queue {queue} ...", file=sys.stderr)
        server = start_server(
            {
                **base_env,
                "RSCNET_MAX_BATCH_SIZE": str(default_batch),
                "RSCNET_QUEUE_SIZE": str(queue),
                "RSCNET_MAX_IMAGES": str(min(queue, 32)),
                "RSCNET_MAX_FRAMES": str(queue),
            },
            workdir,
            "overload",
        )
        try:
            overload = asyncio.run(
                run_overload(server.url, payloads, rate=rate, seconds=args.overload_seconds, queue_size=queue)
            )
            with httpx.Client(base_url=server.url, timeout=30) as client:  # and it still serves afterwards
                after = client.post("/v1/smpl", **payloads.smpl(0)).status_code
            overload.passed = overload.passed and after == 200
        finally:
            server.stop()
    result: dict[str, Any] = {
        "command": "python -m benchmarks.service.bench " + " ".join(shlex.quote(a) for a in args.argv),
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
        "wall_s": time.time() - started,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "quick": args.quick,
        "worker": args.worker,
        "level_seconds": args.level_seconds,
        "warmup_seconds": args.warmup_seconds,
        "overload_factor": args.overload_factor,
        "model": model,
        "offline": [asdict(o) for o in offline],
        "sweeps": {label: [asdict(lv) for lv in levels] for label, levels in sweeps.items()},
        "overload": asdict(overload),
        "soak": asdict(soak),
    }
    result["targets"] = _targets(result)
    write_plot(out / "service_bench.png", sweeps, offline, soak)
    (out / "service_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    text = write_report(out / "REPORT.md", result)
    print(text)
    return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.service.bench",
        description="Load benchmark of the HTTP service (starts its own servers on 127.0.0.1).",
        epilog="Full run: about 8 minutes with the defaults (soak 60 + 180 s). --quick: about 1.5 minutes.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent, help="report folder (default: benchmarks/service/)"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=None, help="levels (default 1 4 16 32 64)")
    parser.add_argument("--level-seconds", type=float, default=None, help="measured seconds per level (default 10)")
    parser.add_argument("--warmup-seconds", type=float, default=None, help="unmeasured seconds per level (default 2)")
    parser.add_argument("--offline-seconds", type=float, default=None, help="seconds per offline batch size (10)")
    parser.add_argument("--overload-seconds", type=float, default=None, help="overload phase (default 20)")
    parser.add_argument("--overload-factor", type=float, default=4.0, help="overload rate / capacity (default 4)")
    parser.add_argument("--soak-seconds", type=float, default=None, help="soak phase (default 180)")
    parser.add_argument("--soak-concurrency", type=int, default=16, help="soak load (default 16)")
    parser.add_argument("--batch-size", type=int, default=None, help="the batched server's max batch (default 8 CPU)")
    parser.add_argument(
        "--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="served checkpoint"
    )
    parser.add_argument(
        "--video-checkpoint",
        type=Path,
        default=None,
        help="video model for /v1/sequence (default: the service's; a missing file means the Gaussian filter)",
    )
    parser.add_argument("--random-init-net", default=None, help="NetConfig JSON of a random network instead")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--precision", default=None, help="auto | fp32 | bf16 | fp16 (default: the service's)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads of server and offline (1)")
    parser.add_argument(
        "--worker",
        choices=("process", "thread"),
        default="process",
        help="where the servers run the network (RSCNET_WORKER; default process)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny network, short phases: checks the tooling")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    quick = args.quick
    defaults = {
        "concurrency": [1, 4, 16, 32] if quick else [1, 4, 16, 32, 64],
        "level_seconds": 3.0 if quick else 10.0,
        "warmup_seconds": 1.0 if quick else 2.0,
        "offline_seconds": 2.0 if quick else 10.0,
        "overload_seconds": 5.0 if quick else 20.0,
        "soak_seconds": 15.0 if quick else 180.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.concurrency) < 1 or args.level_seconds <= 0 or args.soak_seconds <= 0:
        parser.error("concurrency levels and durations must be positive")
    if args.torch_threads < 1:
        parser.error("--torch-threads must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args)
    except (RuntimeError, httpx.HTTPError, ValueError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

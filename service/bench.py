"""Load benchmark of a running service: ``python -m service.bench --url http://127.0.0.1:8000``.

Sends ``--requests`` ``POST /v1/smpl`` requests (each ``--images`` random crops of
``--crop-size`` pixels) with ``--concurrency`` in flight, then prints throughput, latency
percentiles, status counts and the mean batch size the server formed (from ``/metrics``), as
JSON. It only talks to loopback addresses (127.0.0.1, ::1, localhost) and stops by itself after
the requests (or ``--max-seconds``). Speed targets belong here, not in unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["main", "run_benchmark"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _png(side: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, max(8, side // 2), 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _batch_totals(metrics_text: str) -> tuple[float, float]:
    """``(sum, count)`` of the ``rscnet_batch_size`` histogram."""
    total = count = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for s in family.samples:
            if s.name == "rscnet_batch_size_sum":
                total = s.value
            elif s.name == "rscnet_batch_size_count":
                count = s.value
    return total, count


async def run_benchmark(
    url: str, *, requests: int, concurrency: int, images: int, crop_size: int, max_seconds: float, api_key: str | None
) -> dict[str, Any]:
    """Run the load and return the summary (see the module docstring)."""
    host = urlparse(url).hostname
    if host not in _LOOPBACK:
        raise ValueError(
            f"refusing to load {host!r}: the benchmark only targets loopback addresses {sorted(_LOOPBACK)}"
        )
    payloads = [_png(crop_size, seed) for seed in range(8)]
    headers = {"X-API-Key": api_key} if api_key else {}
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    deadline = time.monotonic() + max_seconds
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, headers=headers) as client:
        before = _batch_totals((await client.get("/metrics")).text)

        async def worker() -> None:
            nonlocal next_index
            while next_index < requests and time.monotonic() < deadline:
                i = next_index
                next_index += 1
                files = [
                    ("images", (f"{j}.png", payloads[(i + j) % len(payloads)], "image/png")) for j in range(images)
                ]
                start = time.perf_counter()
                try:
                    r = await client.post("/v1/smpl", files=files)
                    statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        after = _batch_totals((await client.get("/metrics")).text)
    ok = statuses.get(200, 0)
    crops, batches = after[0] - before[0], after[1] - before[1]
    lat_ms = sorted(x * 1000 for x in latencies)

    def pct(q: float) -> float | None:
        return round(lat_ms[min(len(lat_ms) - 1, int(q * len(lat_ms)))], 2) if lat_ms else None

    return {
        "url": url,
        "requests_sent": sum(statuses.values()),
        "concurrency": concurrency,
        "images_per_request": images,
        "crop_size": crop_size,
        "seconds": round(elapsed, 3),
        "statuses": {str(k): v for k, v in statuses.items()},
        "ok_requests_per_s": round(ok / elapsed, 2) if elapsed > 0 else None,
        "ok_crops_per_s": round(ok * images / elapsed, 2) if elapsed > 0 else None,
        "latency_ms": {
            "p50": pct(0.5),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "mean": round(statistics.fmean(lat_ms), 2) if lat_ms else None,
        },
        "server_mean_batch_size": round(crops / batches, 2) if batches else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="service base URL (loopback only)")
    parser.add_argument("--requests", type=int, default=200, help="requests to send (default 200)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--images", type=int, default=1, help="crops per request (default 1)")
    parser.add_argument("--crop-size", type=int, default=64, help="crop height in pixels (default 64)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long (default 120)")
    parser.add_argument("--api-key", default=None, help="X-API-Key, when the server requires one")
    args = parser.parse_args(argv)
    if min(args.requests, args.concurrency, args.images) < 1 or args.crop_size < 8:
        parser.error("--requests, --concurrency and --images must be >= 1 and --crop-size >= 8")
    try:
        summary = asyncio.run(
            run_benchmark(
                args.url,
                requests=args.requests,
                concurrency=args.concurrency,
                images=args.images,
                crop_size=args.crop_size,
                max_seconds=args.max_seconds,
                api_key=args.api_key,
            )
        )
    except (ValueError, httpx.HTTPError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

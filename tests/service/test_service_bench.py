"""The load benchmark's pieces against the suite's main server (short phases; numbers not judged).

Speed targets belong to ``python -m benchmarks.service.bench`` itself; this only checks that each phase
measures what it says and that the report and plot are written.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path

import pytest
from PIL import Image
from service_support import Server

from benchmarks.service.bench import (
    OfflineResult,
    Payloads,
    ServerProcess,
    _bucket_quantiles,
    _targets,
    parse_args,
    run_load,
    run_overload,
    run_soak,
    write_plot,
    write_report,
)

pytestmark = pytest.mark.integration


def test_bucket_quantiles() -> None:
    before = {0.1: 0.0, 0.5: 0.0, 1.0: 0.0, float("inf"): 0.0}
    after = {0.1: 50.0, 0.5: 98.0, 1.0: 100.0, float("inf"): 100.0}
    assert _bucket_quantiles(before, after) == {"p50": 100.0, "p99": 1000.0}


def test_phases_and_report(main_server: Server, tmp_path: Path) -> None:
    payloads = Payloads.make(4)
    url = main_server.url
    levels = [
        asyncio.run(run_load(url, payloads, concurrency=c, seconds=1.0, warmup_s=0.2, label="batched")) for c in (1, 4)
    ]
    overload = asyncio.run(run_overload(url, payloads, rate=40.0, seconds=1.0, queue_size=64))
    assert overload.sent == 40 and sum(overload.statuses.values()) == 40 and overload.passed
    server = ServerProcess(main_server.proc, main_server.log_path, main_server.port or 0)
    soak = asyncio.run(run_soak(server, payloads, seconds=2.0, concurrency=4, warmup_s=0.5))
    assert soak.rss_start_mb > 50 and len(soak.rss_mb) >= 2 and set(soak.load.statuses) == {"200"}
    offline = [OfflineResult(1, 10, 1.0, 10.0), OfflineResult(8, 80, 1.0, 80.0)]
    for lv in levels:
        lv.ratio_to_offline = round(lv.ok_crops_per_s / 80.0, 3)
    sweeps = {"batch=1": levels, "batched": levels}
    result = {
        "command": "python -m benchmarks.service.bench (test)",
        "date": "2026-01-01 00:00",
        "wall_s": 1.0,
        "machine": "test",
        "quick": True,
        "level_seconds": 1.0,
        "warmup_seconds": 0.2,
        "overload_factor": 4.0,
        "model": {
            "checkpoint_id": "untrained-seed0",
            "is_trained": False,
            "input_size": 64,
            "backbone_depth": 18,
            "precision": "fp32",
            "device": "cpu",
            "torch_threads": 1,
        },
        "offline": [asdict(o) for o in offline],
        "sweeps": {k: [asdict(lv) for lv in v] for k, v in sweeps.items()},
        "overload": asdict(overload),
        "soak": asdict(soak),
    }
    result["targets"] = _targets(result)
    assert [t["passed"] for t in result["targets"]][2] is True  # overload: 200 / 429 only
    write_plot(tmp_path / "service_bench.png", sweeps, offline, soak)
    text = write_report(tmp_path / "REPORT.md", result)
    assert Image.open(tmp_path / "service_bench.png").size[0] > 500
    for heading in ("## Offline", "## Service sweep", "## Overload", "## Soak", "## Targets"):
        assert heading in text
    assert "| batched | 4 |" in text and "randomly initialised" in text


def test_cli_defaults() -> None:
    full = parse_args([])
    assert full.concurrency == [1, 4, 16, 32, 64] and full.soak_seconds == 180 and full.torch_threads == 1
    assert full.out == Path(__file__).resolve().parents[2] / "benchmarks" / "service"  # wherever it is run from
    quick = parse_args(["--quick"])
    assert quick.level_seconds < full.level_seconds and quick.soak_seconds < full.soak_seconds
    with pytest.raises(SystemExit):
        parse_args(["--concurrency", "0"])

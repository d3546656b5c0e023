"""The throughput script runs and prints its table (tiny setting)."""

from __future__ import annotations

import pytest
import torch

from model.nets import bench


def test_bench_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    threads = torch.get_num_threads()
    try:
        bench.main(["--depths", "18", "--sizes", "32", "--batch", "2", "--iters", "1", "--warmup", "0", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)  # main() sets the process-wide thread count
    out = capsys.readouterr().out
    assert "| ResNet-18 | 32x32 |" in out and "bf16-cl / fp32" in out

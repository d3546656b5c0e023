"""The worker process never outlives its server (no orphan holding a model in memory)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from service_support import launch

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) counts as gone
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_worker_process_ends_with_its_server(tmp_path: Path, how: signal.Signals) -> None:
    server = launch(f"lifetime-{how.name}", {"RSCNET_WARMUP": "false"}, tmp_path)
    try:
        server.wait_listening()
        server.wait_ready()
        batching = httpx.get(f"{server.url}/v1/models", timeout=30).json()["batching"]
        worker = batching["worker_pid"]
        assert batching["worker"] == "process" and _alive(worker) and worker != server.proc.pid
        server.proc.send_signal(how)
        server.proc.wait(30)
        assert _gone_within(worker, 10.0), f"worker {worker} outlived its server ({how.name})"
    finally:
        if server.proc.poll() is None:
            server.proc.kill()

"""Integration: schemathesis fuzzes every operation of the live server against its OpenAPI document.

Runs the schemathesis CLI with ``openapi/schemathesis.toml`` (fixed seed, bounded examples per
operation, every check on; the per-operation adjustments are justified in that file) against the
suite's main server on 127.0.0.1, loading the schema the server itself serves. Real images and
clips for the file parts come from ``tests/service/schemathesis_hooks.py``. Any failure fails the
test, with schemathesis' report (and a curl line to reproduce each failure) as the message.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from service_support import REPO, Server

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_schemathesis_finds_no_failures(main_server: Server) -> None:
    url = main_server.url
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(REPO / "openapi" / "schemathesis.toml"),
        "--no-color",
        "run",
        "--checks",
        "all",
        "--url",
        url,
        f"{url}/openapi.json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-12000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", report)
    assert summary, report[-4000:]
    generated, passed = int(summary.group(1)), int(summary.group(2))
    assert generated == passed and generated >= 100, report[-4000:]
    assert "Selected: 7/7" in report and "Tested: 7" in report, report[-4000:]
    assert main_server.proc.poll() is None  # the server survived the fuzzing

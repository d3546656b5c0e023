"""Deployment files (no Docker engine here): compose files parse and reference what exists, the
Dockerfiles follow the rules (non-root, /readyz healthcheck), install commands match the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from service_support import Server

from service.healthcheck import check
from service.settings import ENV_PREFIX, ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = [REPO / "docker" / "Dockerfile", REPO / "docker" / "Dockerfile.gpu"]


def compose(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


def logical_lines(dockerfile: Path) -> list[str]:
    """Instructions with continuation lines joined and comments dropped."""
    out, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        out.append(" ".join((current + line).split()))
        current = ""
    return out


def pip_commands(dockerfile: Path) -> list[str]:
    """Every ``pip install ...`` command of the RUN instructions, whitespace-normalised."""
    cmds = []
    for line in logical_lines(dockerfile):
        if line.startswith("RUN "):
            for piece in re.split(r"&&|;|\bthen\b", line[4:]):
                match = re.search(r"pip install .*", piece)
                if match:
                    cmds.append(match.group(0).strip())
    return cmds


def known_env_names() -> set[str]:
    names = {ENV_PREFIX + name.upper() for name in ServiceSettings.model_fields}
    return names | {"SMPL_MODEL_DIR"}


def test_compose_file_parses_and_references_existing_files() -> None:
    base = compose("docker-compose.yml")
    api = base["services"]["api"]
    assert (REPO / api["build"]["context"] / api["build"]["dockerfile"]).is_file()
    assert api["restart"] in ("unless-stopped", "always", "on-failure")
    assert api["healthcheck"]["test"] == ["CMD", "python", "-m", "service.healthcheck"]
    targets = {v.rsplit(":", 2)[1] for v in api["volumes"]}  # "${SRC:-default}:TARGET:ro"
    assert {"/app/checkpoints", "/models/smpl"} <= targets
    unknown = set(api["environment"]) - known_env_names()
    assert not unknown, f"compose sets variables the service does not read: {unknown}"
    assert any(p.endswith(":8000") for p in api["ports"])


def test_gpu_overlay_reserves_an_nvidia_device() -> None:
    gpu = compose("docker-compose.gpu.yml")["services"]["api"]
    assert (REPO / gpu["build"]["context"] / gpu["build"]["dockerfile"]).is_file()
    assert "BUILD_PYTORCH3D" in gpu["build"]["args"]
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert set(gpu["environment"]) <= known_env_names()


def test_dockerfiles() -> None:
    cpu, gpu = (logical_lines(p) for p in DOCKERFILES)
    assert cpu[0] == "FROM python:3.11-slim"
    assert any(line.startswith("ARG BUILD_PYTORCH3D") for line in gpu)
    for lines, path in ((cpu, DOCKERFILES[0]), (gpu, DOCKERFILES[1])):
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users and users[-1] not in ("root", "0"), f"{path.name}: must run as a non-root user"
        health = [line for line in lines if line.startswith("HEALTHCHECK ")]
        assert health and "service.healthcheck" in health[0], path.name
        assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in lines
        assert "ENV RSCNET_HOST=0.0.0.0" in " ".join(lines)
        ignore = path.with_name(path.name + ".dockerignore").read_text().split()
        for needed in ("!model/", "!service/", "!pyproject.toml", "!docker/entrypoint.sh"):
            assert needed in ignore, f"{path.name}.dockerignore drops {needed[1:]}"
    entrypoint = REPO / "docker" / "entrypoint.sh"
    assert entrypoint.is_file() and os.access(entrypoint, os.X_OK)
    assert "python -m service" in entrypoint.read_text()


def test_install_commands_match_the_readme() -> None:
    readme = " ".join((REPO / "README.md").read_text().split())
    if "docker/Dockerfile" not in readme:
        pytest.skip("README has no Docker section yet")
    for path in DOCKERFILES:
        cmds = pip_commands(path)
        assert cmds, path
        for cmd in cmds:
            assert cmd in readme, f"README does not show the install command of {path.name}: {cmd}"


def test_entrypoint_runs_the_service_or_a_command(tmp_path: Path) -> None:
    script = REPO / "docker" / "entrypoint.sh"
    out = subprocess.run(["sh", str(script), "echo", "hello"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "hello"
    fake = tmp_path / "python"  # stands in for python: prints its arguments
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["sh", str(script), "--port", "9000"], capture_output=True, text=True, env=env, timeout=30)
    assert out.stdout.strip() == "-m service --port 9000"


@pytest.mark.integration
def test_healthcheck_command(main_server: Server) -> None:
    assert check(f"{main_server.url}/readyz", timeout=5)
    assert not check("http://127.0.0.1:9/readyz", timeout=1)
    ok = subprocess.run(
        [sys.executable, "-m", "service.healthcheck", "--url", f"{main_server.url}/readyz"], cwd=REPO, timeout=60
    )
    assert ok.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-m", "service.healthcheck", "--url", "http://127.0.0.1:9/readyz"], cwd=REPO, timeout=60
    )
    assert bad.returncode == 1


@pytest.mark.integration
def test_load_generator_runs_against_loopback_only(main_server: Server) -> None:
    import asyncio

    from service.bench import Payloads, _listening_port, run_load

    assert _listening_port(main_server.proc.pid) == main_server.port
    payloads = Payloads.make(4)
    level = asyncio.run(run_load(main_server.url, payloads, concurrency=3, seconds=1.5, warmup_s=0.3, label="t"))
    assert set(level.statuses) == {"200"} and level.statuses["200"] >= 3
    assert level.ok_requests_per_s > 0 and level.latency_ms["p50"] <= level.latency_ms["p99"]
    assert level.mean_batch_size is not None and 1 <= level.mean_batch_size <= 8
    with pytest.raises(ValueError, match="127.0.0.1"):
        asyncio.run(run_load("http://192.0.2.1:8000", payloads, concurrency=1, seconds=1, warmup_s=0, label="x"))

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

from service.settings import ENV_PREFIX, ServiceSettings
from service.tools.healthcheck import check

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


def _default_source(volume: str) -> str:
    """The host side of ``"${VAR:-default}:TARGET:ro"`` or ``"./path:TARGET"`` (its default when a variable)."""
    source = volume.rsplit(":", 2)[0] if volume.count(":") >= 2 and not volume.startswith("${") else volume
    match = re.match(r"^\$\{[A-Z_]+:-([^}]*)\}", volume)
    return match.group(1) if match else source.split(":")[0]


def test_compose_file_parses_and_references_existing_files() -> None:
    base = compose("docker-compose.yml")
    api = base["services"]["api"]
    assert (REPO / api["build"]["context"] / api["build"]["dockerfile"]).is_file()
    assert api["restart"] in ("unless-stopped", "always", "on-failure")
    assert api["healthcheck"]["test"] == ["CMD", "python", "-m", "service.tools.healthcheck"]
    targets = {v.rsplit(":", 2)[1] for v in api["volumes"]}  # "${SRC:-default}:TARGET:ro"
    assert "/app/checkpoints" in targets
    unknown = set(api["environment"]) - known_env_names()
    assert not unknown, f"compose sets variables the service does not read: {unknown}"
    assert "ports" not in api, "replicas are reached through the load balancer only"
    # every bind mount's default source exists in the repository (Docker would create an empty root-owned folder)
    for service in base["services"].values():
        for volume in service.get("volumes", []):
            source = _default_source(volume)
            if source.startswith("."):
                assert (REPO / source).exists(), f"compose mounts {source}, which the repository lacks"


def test_compose_has_nginx_in_front_of_healthy_replicas() -> None:
    services = compose("docker-compose.yml")["services"]
    lb, api = services["lb"], services["api"]
    assert lb["image"].startswith("nginx:")
    assert any(p.endswith(":8000") for p in lb["ports"])
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"
    assert "./docker/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    assert str(api["deploy"]["replicas"]).startswith("${RSCNET_REPLICAS:-")
    assert api["environment"]["RSCNET_FORWARDED_ALLOW_IPS"] == "*"


def test_smpl_overlay_requires_its_folder() -> None:
    api = compose("docker-compose.smpl.yml")["services"]["api"]
    (volume,) = api["volumes"]
    assert volume.startswith("${RSCNET_SMPL_HOST_DIR:?") and volume.endswith(":/models/smpl:ro")
    assert api["environment"]["RSCNET_SMPL_MODEL_DIR"] == "/models/smpl"


def test_one_python_version_everywhere() -> None:
    cpu, gpu = (" ".join(logical_lines(p)) for p in DOCKERFILES)
    assert "FROM python:3.11-slim" in cpu
    assert "ARG PYTHON_VERSION=3.11" in gpu and "python${PYTHON_VERSION} -m venv /opt/venv" in gpu
    assert re.search(r"apt-get install [^&]*python\$\{PYTHON_VERSION\} libglib", gpu), "runtime stage needs the same Python"
    assert not re.search(r"\bpython3(\.1[02])?\b(?!\.11)", gpu.replace("python3.11", "")), "another Python in the GPU image"
    assert "PYTHON ?= python3.11" in (REPO / "Makefile").read_text()
    assert "Needs Python 3.11" in (REPO / "README.md").read_text()


def _patterns(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_root_dockerignore_for_the_legacy_builder() -> None:
    root = _patterns(REPO / ".dockerignore")
    assert root[0] == "*" and "!service/" in root and ".venv" not in " ".join(root)
    for path in DOCKERFILES:
        assert _patterns(path.with_name(path.name + ".dockerignore")) == root, path.name


def test_committed_nginx_conf_is_generated_and_nginx_accepts_it(tmp_path: Path) -> None:
    import shutil

    from service.tools.lb_config import LoadBalancerConfig, render_nginx_conf

    committed = (REPO / "docker" / "nginx" / "nginx.conf").read_text()
    assert committed == render_nginx_conf(ServiceSettings(_env_file=None), LoadBalancerConfig(upstreams=("api:8000",)))
    settings = ServiceSettings()
    assert f"client_max_body_size {settings.max_upload_bytes};" in committed
    assert f"client_header_timeout {int(settings.header_timeout_s)}s;" in committed
    assert f"client_body_timeout {int(settings.body_timeout_s)}s;" in committed
    assert "non_idempotent;" in committed  # POSTs are pure inference: a replica's stop must not lose them
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/run installs it)")
    local = committed.replace("server api:8000", "server 127.0.0.1:8000").replace("/tmp/", f"{tmp_path}/")
    local = local.replace("error_log stderr warn;", f"error_log {tmp_path}/error.log warn;")
    (tmp_path / "nginx.conf").write_text(local)
    out = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr


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
        assert health and "service.tools.healthcheck" in health[0], path.name
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
        [sys.executable, "-m", "service.tools.healthcheck", "--url", f"{main_server.url}/readyz"], cwd=REPO, timeout=60
    )
    assert ok.returncode == 0
    bad = subprocess.run(
        [sys.executable, "-m", "service.tools.healthcheck", "--url", "http://127.0.0.1:9/readyz"], cwd=REPO, timeout=60
    )
    assert bad.returncode == 1


@pytest.mark.integration
def test_load_generator_runs_against_loopback_only(main_server: Server) -> None:
    import asyncio

    from benchmarks.service.bench import Payloads, _listening_port, run_load

    assert _listening_port(main_server.proc.pid) == main_server.port
    payloads = Payloads.make(4)
    level = asyncio.run(run_load(main_server.url, payloads, concurrency=3, seconds=1.5, warmup_s=0.3, label="t"))
    assert set(level.statuses) == {"200"} and level.statuses["200"] >= 3
    assert level.ok_requests_per_s > 0 and level.latency_ms["p50"] <= level.latency_ms["p99"]
    assert level.mean_batch_size is not None and 1 <= level.mean_batch_size <= 8
    with pytest.raises(ValueError, match="127.0.0.1"):
        asyncio.run(run_load("http://192.0.2.1:8000", payloads, concurrency=1, seconds=1, warmup_s=0, label="x"))

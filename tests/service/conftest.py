"""Fixtures of the service tests: the two integration servers (see :mod:`service_support`)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest
from service_support import API_KEY, MAIN_SETTINGS, SMALL_SETTINGS, Server, launch, png_bytes


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    tmp = tmp_path_factory.mktemp("servers")
    servers = {"main": launch("main", MAIN_SETTINGS, tmp), "small": launch("small", SMALL_SETTINGS, tmp)}
    try:
        yield servers
    finally:
        codes = {name: s.stop() for name, s in servers.items()}
        # uvicorn re-raises SIGTERM after its graceful shutdown, so -SIGTERM is a clean exit too.
        bad = {
            name: code
            for name, code in codes.items()
            if code not in (0, -signal.SIGTERM) or "Application shutdown complete" not in servers[name].log()
        }
        assert not bad, f"servers did not shut down cleanly: {bad}\n" + "\n".join(
            s.log()[-3000:] for s in servers.values()
        )


@pytest.fixture(scope="session")
def main_server(_servers: dict[str, Server]) -> Server:
    """Tiny model, batches of up to 8 crops, 50 ms batching window; records readiness before warm-up."""
    server = _servers["main"]
    if server.port is None:
        server.wait_listening()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            server.early["healthz"] = client.get("/healthz").status_code
            server.early["readyz"] = client.get("/readyz").status_code
            server.early["smpl"] = client.post(
                "/v1/smpl", files=[("images", ("a.png", png_bytes(40, 20), "image/png"))]
            ).status_code
        server.wait_ready()
    return server


@pytest.fixture(scope="session")
def small_server(_servers: dict[str, Server]) -> Server:
    """Tiny limits (queue of 4 crops, batches of 2, 2 images / 4 frames / 200 kB per request), API key."""
    server = _servers["small"]
    if server.port is None:
        server.wait_listening()
        server.wait_ready()
    return server


@pytest.fixture
def client(main_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=main_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def small_client(small_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=small_server.url, timeout=30, headers={"X-API-Key": API_KEY}) as c:
        yield c

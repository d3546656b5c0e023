"""Issue 16: Debian's nginx with the generated config in front of two real service replicas, on 127.0.0.1.

Checks balancing (both replicas answer), the limits at the edge (413 JSON, header and body
timeouts), and failover: one replica is stopped (SIGTERM, as Docker stops a container) mid-load;
no request is lost and the survivor takes all the load. Skipped when nginx is not installed
(``.ci/run`` installs it). Bounded: a few seconds of traffic from three threads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_support import Server, launch, png_bytes

from service.settings import ServiceSettings
from service.tools.lb_config import LoadBalancerConfig, render_nginx_conf

pytestmark = pytest.mark.integration

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
MAX_BYTES = 300_000
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 3
REPLICA_SETTINGS = {
    "RSCNET_MAX_UPLOAD_BYTES": str(MAX_BYTES),
    "RSCNET_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "RSCNET_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "RSCNET_WORKER": "thread",
    "RSCNET_WARMUP": "false",
    "RSCNET_MAX_BATCH_SIZE": "4",
    "RSCNET_SHUTDOWN_TIMEOUT_S": "10",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Balancer:
    def __init__(self, replicas: list[Server]) -> None:
        assert NGINX is not None
        self.replicas = replicas
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rscnet-lb-"))
        self.dir.chmod(0o777)  # nginx workers (user nobody when run as root) write temporary files here
        settings = ServiceSettings(
            _env_file=None, max_upload_bytes=MAX_BYTES, header_timeout_s=HEADER_TIMEOUT_S, body_timeout_s=BODY_TIMEOUT_S
        )
        lb = LoadBalancerConfig(
            upstreams=tuple(f"127.0.0.1:{r.port}" for r in replicas),
            listen=f"127.0.0.1:{self.port}",
            state_dir=str(self.dir),
            error_log=f"{self.dir}/error.log warn",
            access_log="off",
            worker_processes="1",
        )
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(render_nginx_conf(settings, lb))
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.dir), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-c", str(self.conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        raise TimeoutError(f"nginx did not listen:\n{self.errors()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def errors(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Balancer, list[Server]]]:
    if NGINX is None:
        if os.environ.get("RSCNET_TEST_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required here (.ci/run installs it) but is not installed")
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    tmp = tmp_path_factory.mktemp("lb")
    replicas = [launch(f"replica-{i}", REPLICA_SETTINGS, tmp) for i in range(2)]
    balancer = None
    try:
        for r in replicas:
            r.wait_listening(120)
        for r in replicas:
            r.wait_ready(120)
        balancer = Balancer(replicas)
        yield balancer, replicas
    finally:
        if balancer is not None:
            balancer.stop()
        for r in replicas:
            r.stop()


def post_crop(c: httpx.Client) -> httpx.Response:
    return c.post("/v1/smpl", files=[("images", ("a.png", png_bytes(40, 20), "image/png"))])


def served_by(r: httpx.Response) -> str:
    """The replica that answered (the last address nginx tried)."""
    return r.headers.get("x-upstream", "").split(",")[-1].strip()


def test_nginx_balances_over_both_replicas(cluster: tuple[Balancer, list[Server]]) -> None:
    balancer, replicas = cluster
    with httpx.Client(base_url=balancer.url, timeout=30) as c:
        answers = [post_crop(c) for _ in range(12)]
        ready = c.get("/readyz")
    assert all(r.status_code == 200 for r in answers), [r.text[:200] for r in answers if r.status_code != 200]
    assert {served_by(r) for r in answers} == {f"127.0.0.1:{r.port}" for r in replicas}
    assert ready.status_code == 200 and answers[0].headers["x-body-model"] == "free-smpl-layout"


def test_limits_at_the_edge(cluster: tuple[Balancer, list[Server]]) -> None:
    balancer, _ = cluster
    with httpx.Client(base_url=balancer.url, timeout=30) as c:
        r = c.post("/v1/smpl", content=b"x" * (MAX_BYTES + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_many_bytes", r.text[:300]
    silent = socket.create_connection(("127.0.0.1", balancer.port), timeout=HEADER_TIMEOUT_S + 10)
    stalled = socket.create_connection(("127.0.0.1", balancer.port), timeout=BODY_TIMEOUT_S + 10)
    try:
        stalled.sendall(
            b"POST /v1/smpl HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999\r\n\r\n{"
        )
        for sock, limit in ((silent, HEADER_TIMEOUT_S), (stalled, BODY_TIMEOUT_S)):
            start = time.monotonic()
            data = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(4096):
                    data += chunk
            took = time.monotonic() - start
            assert took < limit + 8, f"connection held {took:.1f} s (limit {limit} s)"
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]
    finally:
        silent.close()
        stalled.close()


def test_failover_loses_no_request(cluster: tuple[Balancer, list[Server]]) -> None:
    balancer, (first, second) = cluster
    survivor = f"127.0.0.1:{second.port}"
    results: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=balancer.url, timeout=60) as c:
            while not stop.is_set():
                r = post_crop(c)
                results.append((time.monotonic(), r.status_code, served_by(r)))

    threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        first.proc.send_signal(signal.SIGTERM)  # graceful: finishes what it accepted, refuses new connections
        first.proc.wait(30)
        gone = time.monotonic()
        time.sleep(3.0)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    statuses = [s for _, s, _ in results]
    assert statuses and all(s == 200 for s in statuses), {s: statuses.count(s) for s in set(statuses)}
    after = [u for t, _, u in results if t > gone + 0.5]
    assert after and set(after) == {survivor}, set(after)
    # the survivor keeps answering, also idempotent requests, with the other replica gone for good
    with httpx.Client(base_url=balancer.url, timeout=30) as c:
        for _ in range(4):
            r = c.get("/v1/models")
            assert r.status_code == 200 and served_by(r) == survivor
    print(f"\nfailover: {len(results)} requests, all 200; {len(after)} after the stop, all on {survivor}")

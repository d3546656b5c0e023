"""Issue 16, slow and hostile clients: stalled uploads cannot lock others out, and they end by themselves.

One server of its own (queue of 64 crops, body deadline 8 s, header timeout 2 s, 16 uploads in
progress per client). All traffic goes to 127.0.0.1; the stalled uploads come from other loopback
addresses (127.0.1.x, 127.0.2.1) so that per-client caps and "normal" clients can be told apart.
Everything is bounded: every socket is closed at the end, and the server's timeouts end them
anyway.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from service_support import Server, launch, png_bytes

pytestmark = pytest.mark.integration

BODY_TIMEOUT_S = 8.0
HEADER_TIMEOUT_S = 2.0
PER_CLIENT = 16
STALLED_ADDRESSES = 40
STALLED_PER_ADDRESS = 15  # 600 stalled uploads in all, each client under its cap

SETTINGS = {
    "RSCNET_QUEUE_SIZE": "64",
    "RSCNET_MAX_IMAGES": "8",
    "RSCNET_MAX_FRAMES": "16",
    "RSCNET_MAX_BATCH_SIZE": "4",
    "RSCNET_WARMUP": "false",
    "RSCNET_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "RSCNET_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "RSCNET_MAX_UPLOADS_PER_CLIENT": str(PER_CLIENT),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = launch("slow-clients", SETTINGS, tmp_path_factory.mktemp("slow"))
    try:
        s.wait_listening(120)
        s.wait_ready(120)
        yield s
    finally:
        s.stop()


def stalled_upload(port: int, source: str, declared: int = 200_000) -> socket.socket:
    """A POST /v1/smpl whose headers promise ``declared`` bytes of which only a few are sent."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    head = (
        "POST /v1/smpl HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=XyZ\r\n"
        f"Content-Length: {declared}\r\n\r\n--XyZ\r\n"
    )
    sock.sendall(head.encode())
    return sock


def read_answers(socks: list[socket.socket], timeout: float) -> list[bytes]:
    """What each socket receives until the server closes it (or ``timeout`` passes)."""
    sel = selectors.DefaultSelector()
    data = {s.fileno(): b"" for s in socks}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    open_count = len(socks)
    while open_count and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            sock = key.fileobj
            try:
                chunk = sock.recv(65536)  # type: ignore[union-attr]
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if chunk:
                data[key.fd] += chunk
            else:
                sel.unregister(sock)
                open_count -= 1
    sel.close()
    return [data[s.fileno()] for s in socks]


def status_of(raw: bytes) -> int | None:
    if not raw.startswith(b"HTTP/1.1 "):
        return None
    return int(raw[9:12])


def body_of(raw: bytes) -> dict:
    return json.loads(raw.split(b"\r\n\r\n", 1)[1].decode())


def test_stalled_uploads_do_not_lock_others_out_and_time_out(server: Server) -> None:
    assert server.port is not None
    image = png_bytes(40, 20)
    stalled: list[socket.socket] = []
    try:
        for a in range(STALLED_ADDRESSES):
            for _ in range(STALLED_PER_ADDRESS):
                stalled.append(stalled_upload(server.port, f"127.0.1.{a + 1}"))
        opened = time.monotonic()
        latencies = []
        with httpx.Client(base_url=server.url, timeout=30) as c:
            for i in range(12):
                start = time.monotonic()
                r = c.post("/v1/smpl", files=[("images", ("a.png", image, "image/png"))])
                latencies.append(time.monotonic() - start)
                assert r.status_code == 200, (i, r.status_code, r.text[:300])
            metrics = c.get("/metrics").text
        assert time.monotonic() - opened < BODY_TIMEOUT_S, "the normal requests must finish while the uploads stall"
        print(
            f"\n{len(stalled)} stalled uploads: 12 normal requests all 200, latency "
            f"median {sorted(latencies)[6] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        assert max(latencies) < 5.0
        assert "rscnet_requests_total" in metrics

        answers = read_answers(stalled, BODY_TIMEOUT_S + 20)
        statuses = [status_of(a) for a in answers]
        assert statuses.count(408) == len(stalled), {s: statuses.count(s) for s in set(statuses)}
        assert body_of(answers[0])["error"] == "body_timeout"
    finally:
        for s in stalled:
            with contextlib.suppress(OSError):
                s.close()


def test_per_client_cap_on_uploads_in_progress(server: Server) -> None:
    assert server.port is not None
    socks: list[socket.socket] = []
    try:
        for _ in range(PER_CLIENT):
            socks.append(stalled_upload(server.port, "127.0.2.1"))
        time.sleep(1.5)  # older than SLOW_AFTER_S: now they count as slow uploads
        extra = stalled_upload(server.port, "127.0.2.1")
        socks.append(extra)
        (answer,) = read_answers([extra], 10)
        assert status_of(answer) == 429, answer[:300]
        body = body_of(answer)
        assert body["error"] == "too_many_uploads" and f"at most {PER_CLIENT}" in body["detail"]
        # another address is not affected
        with httpx.Client(base_url=server.url, timeout=30) as c:
            r = c.post("/v1/smpl", files=[("images", ("a.png", png_bytes(40, 20), "image/png"))])
        assert r.status_code == 200, r.text
    finally:
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()


def test_short_body_gets_408_not_a_hang(server: Server) -> None:
    """Content-Length larger than what is sent: answered at the body deadline, not when the client gives up."""
    assert server.port is not None
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(
            b"POST /v1/smpl HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 5000\r\n\r\n{"images": ['
        )
        start = time.monotonic()
        (raw,) = read_answers([sock], BODY_TIMEOUT_S + 20)
        took = time.monotonic() - start
    finally:
        sock.close()
    assert status_of(raw) == 408 and body_of(raw)["error"] == "body_timeout", raw[:300]
    assert b"connection: close" in raw.lower()
    assert BODY_TIMEOUT_S - 1 <= took < BODY_TIMEOUT_S + 10


def test_header_timeout_closes_silent_and_slow_header_connections(server: Server) -> None:
    assert server.port is not None
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    partial = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        partial.sendall(b"POST /v1/smpl HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        start = time.monotonic()
        answers = read_answers([silent, partial], HEADER_TIMEOUT_S + 15)
        took = time.monotonic() - start
        assert took < HEADER_TIMEOUT_S + 10
        for raw in answers:
            assert status_of(raw) == 408, raw[:200]
            assert body_of(raw)["error"] == "header_timeout"
    finally:
        silent.close()
        partial.close()

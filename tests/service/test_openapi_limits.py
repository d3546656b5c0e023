"""Issue 16: the OpenAPI document and the server agree on every limit.

Each test reads the limit from a live server's ``/openapi.json`` and checks the server's answer
at the limit and just past it; ``info.x-limits`` must equal ``/v1/models``' ``limits``, and the
committed document must carry the default settings' limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from service_support import REPO, Server, launch, png_bytes

from service.http.api_docs import service_limits
from service.settings import ServiceSettings

pytestmark = pytest.mark.integration

PNG = png_bytes(40, 20)

#: A server of this module with limits unlike the defaults and unlike the suite's main server.
ODD_LIMITS = {
    "RSCNET_MAX_UPLOAD_BYTES": "200000",
    "RSCNET_MAX_IMAGES": "3",
    "RSCNET_MAX_FRAMES": "5",
    "RSCNET_QUEUE_SIZE": "16",
    "RSCNET_MAX_RENDER_SIZE": "128",
    "RSCNET_MAX_JSON_DEPTH": "8",
    "RSCNET_HEADER_TIMEOUT_S": "7",
    "RSCNET_BODY_TIMEOUT_S": "9",
    "RSCNET_BODY_TIMEOUT_STATUS": "400",
    "RSCNET_MAX_UPLOADS_PER_CLIENT": "5",
    "RSCNET_WARMUP": "false",
    "RSCNET_WORKER": "thread",
}


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = launch("odd-limits", ODD_LIMITS, tmp_path_factory.mktemp("odd"))
    try:
        server.wait_listening(120)
        server.wait_ready(120)
        yield server
    finally:
        server.stop()


@pytest.fixture
def odd_client(odd_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=odd_server.url, timeout=30) as c:
        yield c


def props(doc: dict[str, Any], path: str, media: str = "application/json") -> dict[str, Any]:
    return doc["paths"][path]["post"]["requestBody"]["content"][media]["schema"]["properties"]


def array_of(schema: dict[str, Any], kind: str = "array") -> dict[str, Any]:
    return next((o for o in schema.get("anyOf", []) if o.get("type") == kind), schema)


def test_committed_document_has_the_default_limits() -> None:
    doc = json.loads((REPO / "openapi" / "openapi.json").read_text())
    defaults = ServiceSettings.model_construct()
    assert doc["info"]["x-limits"] == service_limits(defaults)
    assert array_of(props(doc, "/v1/texture")["size"], "integer")["maximum"] == defaults.max_render_size == 1024
    assert props(doc, "/v1/smpl")["images"]["maxItems"] == defaults.max_images
    assert props(doc, "/v1/sequence")["frames"]["maxItems"] == defaults.max_frames


@pytest.mark.parametrize("which", ["main", "odd"])
def test_live_document_limits_equal_models_limits(main_server: Server, odd_server: Server, which: str) -> None:
    server = main_server if which == "main" else odd_server
    with httpx.Client(base_url=server.url, timeout=30) as c:
        doc = c.get("/openapi.json").json()
        limits = c.get("/v1/models").json()["limits"]
    documented = doc["info"]["x-limits"]
    assert documented == {k: limits[k] for k in documented}
    if which == "odd":  # every limit set by the environment shows up, none is a default
        expected = {k.removeprefix("RSCNET_").lower(): v for k, v in ODD_LIMITS.items()}
        for name, value in expected.items():
            if name in documented:
                assert str(documented[name]).removesuffix(".0") == value, (name, documented[name], value)
    assert props(doc, "/v1/smpl")["images"]["maxItems"] == limits["max_images"]
    assert array_of(props(doc, "/v1/sequence")["track"])["maxItems"] == limits["max_frames"]
    assert array_of(props(doc, "/v1/texture")["size"], "integer")["maximum"] == limits["max_render_size"]
    assert props(doc, "/v1/texture", "multipart/form-data")["size"]["maximum"] == limits["max_render_size"]


def test_file_counts_and_body_bytes_at_and_past_the_limits(odd_client: httpx.Client) -> None:
    small_client = odd_client
    doc = small_client.get("/openapi.json").json()
    most = props(doc, "/v1/smpl", "multipart/form-data")["images"]["maxItems"]
    files = [("images", (f"{i}.png", png_bytes(20, 10, i), "image/png")) for i in range(most + 1)]
    assert small_client.post("/v1/smpl", files=files[:most]).status_code == 200
    r = small_client.post("/v1/smpl", files=files)
    assert r.status_code == 413 and r.json()["error"] == "too_many_images"
    max_bytes = doc["info"]["x-limits"]["max_upload_bytes"]
    r = small_client.post("/v1/smpl", content=b"x" * (max_bytes + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_many_bytes"


@pytest.mark.parametrize("which", ["main", "odd"])
def test_texture_size_render_limit_at_and_past(client: httpx.Client, odd_client: httpx.Client, which: str) -> None:
    client = client if which == "main" else odd_client
    doc = client.get("/openapi.json").json()
    size = props(doc, "/v1/texture", "multipart/form-data")["size"]
    most, least = size["maximum"], size["minimum"]
    image = [("image", ("a.png", PNG, "image/png"))]
    r = client.post("/v1/texture", files=image, data={"format": "png", "size": str(most)})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text[:300]
    for bad, fmt in ((most + 1, "png"), (most + 1, "glb"), (least - 1, "png")):
        r = client.post("/v1/texture", files=image, data={"format": fmt, "size": str(bad)})
        assert r.status_code == 422 and "size" in r.json()["detail"], (bad, fmt, r.text[:300])


def test_frames_track_and_box_shapes(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    seq = props(doc, "/v1/sequence")
    most = seq["frames"]["maxItems"]
    frames = [("frames", (f"{i}.png", png_bytes(20, 10, i), "image/png")) for i in range(most + 1)]
    r = client.post("/v1/sequence", files=frames)
    assert r.status_code == 413 and r.json()["error"] == "too_many_frames"
    r = client.post(
        "/v1/sequence", files=frames[:2], data={"track": json.dumps([None] * (array_of(seq["track"])["maxItems"] + 1))}
    )
    assert r.status_code in (413, 422)
    box = array_of(props(doc, "/v1/texture")["box"])
    assert box["minItems"] == box["maxItems"] == 4
    for numbers in ([0, 0, 20], [0, 0, 20, 40, 1]):
        r = client.post(
            "/v1/texture", files=[("image", ("a.png", PNG, "image/png"))], data={"box": json.dumps(numbers)}
        )
        assert r.status_code == 422, r.text[:300]


def test_numeric_field_and_header_bounds(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    sigma = props(doc, "/v1/sequence")["sigma"]
    yaw = props(doc, "/v1/texture")["yaw"]
    header = next(p for p in doc["paths"]["/v1/smpl"]["post"]["parameters"] if p["name"] == "X-Request-Timeout")
    frame = [("frames", ("a.png", PNG, "image/png"))]
    image = [("image", ("a.png", PNG, "image/png"))]
    assert client.post("/v1/sequence", files=frame, data={"sigma": str(sigma["maximum"])}).status_code == 200
    assert client.post("/v1/sequence", files=frame, data={"sigma": str(sigma["maximum"] + 0.5)}).status_code == 422
    turn = props(doc, "/v1/sequence")["max_turn_deg"]
    assert client.post("/v1/sequence", files=frame, data={"max_turn_deg": str(turn["maximum"])}).status_code == 200
    assert client.post("/v1/sequence", files=frame, data={"max_turn_deg": str(turn["maximum"] + 1)}).status_code == 422
    assert (
        client.post(
            "/v1/texture", files=image, data={"format": "png", "size": "64", "yaw": str(yaw["maximum"] + 1)}
        ).status_code
        == 422
    )
    for value, ok in (
        (header["schema"]["minimum"], True),
        (header["schema"]["minimum"] - 0.5, False),
        (header["schema"]["maximum"] + 1, False),
    ):
        r = client.post(
            "/v1/smpl", files=[("images", ("a.png", PNG, "image/png"))], headers={"X-Request-Timeout": str(value)}
        )
        assert (r.status_code == 200) == ok, (value, r.status_code, r.text[:200])


@pytest.mark.parametrize("which", ["main", "odd"])
def test_json_depth_limit_at_and_past(client: httpx.Client, odd_client: httpx.Client, which: str) -> None:
    client = client if which == "main" else odd_client
    depth = client.get("/openapi.json").json()["info"]["x-limits"]["max_json_depth"]
    image = [("images", ("a.png", PNG, "image/png"))]
    at = "[" * depth + "]" * depth
    r = client.post("/v1/smpl", files=image, data={"boxes": at})
    assert r.status_code == 422 and "nested more than" not in r.json()["detail"]  # parsed, then refused as a box
    r = client.post("/v1/smpl", files=image, data={"boxes": "[" + at + "]"})
    assert r.status_code == 422 and f"nested more than {depth}" in r.json()["detail"]


def test_documented_body_timeout_and_status_are_what_a_stalled_body_gets(odd_server: Server) -> None:
    import socket
    import time

    limits = httpx.get(f"{odd_server.url}/openapi.json", timeout=30).json()["info"]["x-limits"]
    assert odd_server.port is not None
    with socket.create_connection(("127.0.0.1", odd_server.port), timeout=limits["body_timeout_s"] + 15) as sock:
        sock.sendall(
            b"POST /v1/smpl HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"
        )
        start = time.monotonic()
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
        took = time.monotonic() - start
    assert raw.startswith(f"HTTP/1.1 {limits['body_timeout_status']} ".encode()), raw[:100]
    assert limits["body_timeout_s"] - 1 <= took < limits["body_timeout_s"] + 8

"""Integration: bad input and injected faults, all over HTTP on 127.0.0.1.

Bad files go to the suite's main server (``python -m service`` subprocess). Faults inside the
worker need a predictor that misbehaves on cue: those tests run an in-process uvicorn server
whose predictor is a :class:`service_support.FaultyPredictor` around the tiny network (marked
crops make it block, raise, or "crash" with ``SystemExit``).

Every request gets its documented status, and nothing that was accepted is lost: the other items
of a failing batch, and later requests, are answered normally.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from service_support import (
    MARK_CRASH,
    MARK_RAISE,
    MARK_SLOW,
    FaultyPredictor,
    InProcessServer,
    encode,
    exiting_worker_server,
    faulty_server,
    marked_crop,
    mp4_bytes,
    png_bomb_header,
    png_bytes,
    random_rgb,
)

pytestmark = pytest.mark.integration


def part(data: bytes, name: str = "a.png", media: str = "image/png", field: str = "images") -> tuple:
    return (field, (name, data, media))


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code and isinstance(body["detail"], str) and body["detail"], body
    return body


def counter(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and not s.labels:
                return s.value
    return 0.0


def save(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------- bad files
def _sixteen_bit_png(grey8: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG whose samples are ``grey8 * 257`` (the same picture at 16 bits)."""
    img = Image.fromarray(grey8.astype(np.uint16) * 257)
    assert img.mode.startswith("I;16")
    return save(img)


@pytest.mark.parametrize(
    ("data", "name", "media", "status", "code"),
    [
        (b"", "empty.png", "image/png", 415, "undecodable_image"),
        (b"just some text, not a picture\n" * 20, "photo.jpg", "image/jpeg", 415, "undecodable_image"),
        (encode(random_rgb(64, 48), "JPEG")[:300], "cut.jpg", "image/jpeg", 415, "undecodable_image"),
        (png_bomb_header(100_000, 100_000), "bomb.png", "image/png", 413, "too_many_pixels"),
        (save(Image.new("RGB", (5000, 5000), (90, 90, 90))), "big.png", "image/png", 413, "too_many_pixels"),
        (png_bytes(1, 1), "dot.png", "image/png", 422, "image_too_small"),
    ],
    ids=["zero-byte", "text-named-jpg", "truncated-jpeg", "png-bomb", "5000x5000", "1x1"],
)
def test_bad_image_files_get_their_status(
    client: httpx.Client, data: bytes, name: str, media: str, status: int, code: str
) -> None:
    assert_error(client.post("/v1/smpl", files=[part(data, name, media)]), status, code)
    assert_error(client.post("/v1/texture", files=[part(data, name, media, field="image")]), status, code)


def test_unusual_but_valid_modes_are_read_correctly(client: httpx.Client) -> None:
    """16-bit, grey, RGBA and CMYK uploads are accepted and mean the same pixels as their RGB twins."""
    grey = random_rgb(48, 32, seed=5)[..., 0]
    rgba = random_rgb(48, 32, seed=6)
    alpha = np.where(np.arange(32)[None, :] < 16, 255, 0).astype(np.uint8) * np.ones((48, 1), np.uint8)
    over_black = (rgba.astype(np.uint16) * alpha[..., None] // 255).astype(np.uint8)
    rgba_png = save(Image.fromarray(np.dstack([rgba, alpha]), mode="RGBA"))
    cmyk = save(Image.fromarray(random_rgb(48, 32, seed=7)).convert("CMYK"), "JPEG")
    assert Image.open(io.BytesIO(cmyk)).mode == "CMYK"
    uploads = [
        part(_sixteen_bit_png(grey), "grey16.png"),
        part(encode(np.repeat(grey[..., None], 3, axis=2)), "grey-as-rgb.png"),
        part(save(Image.fromarray(grey, mode="L")), "grey8.png"),
        part(rgba_png, "rgba.png"),
        part(encode(over_black), "rgba-over-black.png"),
        part(cmyk, "cmyk.jpg", "image/jpeg"),
    ]
    r = client.post("/v1/smpl", files=uploads)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [e["ok"] for e in res] == [True] * 6, res
    betas = [np.asarray(e["betas"]) for e in res]
    np.testing.assert_allclose(betas[0], betas[1], atol=1e-5)  # 16-bit scaled, not clipped at 255
    np.testing.assert_allclose(betas[2], betas[1], atol=1e-5)  # grey replicated to RGB
    np.testing.assert_allclose(betas[3], betas[4], atol=1e-5)  # transparency composited over black
    assert res[5]["crop_box"] == [0, 0, 32, 48]


def test_one_request_mixing_good_and_bad_files(client: httpx.Client) -> None:
    files = [
        part(b"", "empty.png"),
        part(png_bytes(40, 24, seed=1), "good-1.png"),
        part(b"not an image", "text.jpg", "image/jpeg"),
        part(png_bomb_header(5000, 5000), "bomb.png"),
        part(png_bytes(1, 1), "dot.png"),
        part(png_bytes(40, 24, seed=2), "good-2.png"),
    ]
    r = client.post("/v1/smpl", files=files)
    assert r.status_code == 200, r.text
    got = [(e["index"], e["ok"], e.get("status")) for e in r.json()["results"]]
    assert got == [(0, False, 415), (1, True, None), (2, False, 415), (3, False, 413), (4, False, 422), (5, True, None)]


@pytest.mark.parametrize(
    ("path", "files", "code"),
    [
        ("/v1/smpl", [part(png_bytes(30, 30), field="image")], "invalid_field"),
        ("/v1/smpl", [part(png_bytes(30, 30), field="frames")], "invalid_field"),
        ("/v1/texture", [part(png_bytes(30, 30), field="images")], "invalid_field"),
        ("/v1/sequence", [part(png_bytes(30, 30), field="frame")], "invalid_field"),
    ],
    ids=["smpl-image", "smpl-frames", "texture-images", "sequence-frame"],
)
def test_wrong_field_names_are_422(client: httpx.Client, path: str, files: list, code: str) -> None:
    assert_error(client.post(path, files=files), 422, code)


def test_too_many_files_everywhere(client: httpx.Client) -> None:
    nine = [part(png_bytes(10, 10), f"{i}.png") for i in range(9)]
    assert_error(client.post("/v1/smpl", files=nine), 413, "too_many_images")
    frames = [part(png_bytes(10, 10), f"{i}.png", field="frames") for i in range(17)]
    assert_error(client.post("/v1/sequence", files=frames), 413, "too_many_frames")
    two = [part(png_bytes(10, 10), f"{i}.png", field="image") for i in range(2)]
    assert_error(client.post("/v1/texture", files=two), 413, "too_many_images")


@pytest.mark.parametrize(
    "video",
    [b"", mp4_bytes(frames=6)[:400], b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 4, b"RIFF\0\0\0\0AVI LIST" + b"x" * 90],
    ids=["empty", "truncated-mp4", "garbage-after-ftyp", "garbage-avi"],
)
def test_corrupt_videos_are_415(client: httpx.Client, video: bytes) -> None:
    r = client.post("/v1/sequence", files=[("video", ("clip.mp4", video, "video/mp4"))])
    assert_error(r, 415, "undecodable_video")


def test_json_field_types_are_strict(client: httpx.Client) -> None:
    import base64

    b64 = base64.b64encode(png_bytes(30, 20)).decode()
    for body in (
        {"images": b64},  # a list is required
        {"images": [b64], "include_vertices": "true"},  # JSON booleans, not strings
        {"images": [b64], "boxes": [["0", 0, 20, 30]]},
    ):
        assert_error(client.post("/v1/smpl", json=body), 422, "invalid_field")
    assert_error(client.post("/v1/texture", json={"image": [b64, b64]}), 422, "invalid_field")
    # An empty multipart text for a JSON field means "not given".
    r = client.post("/v1/smpl", files=[part(png_bytes(30, 20))], data={"boxes": ""})
    assert r.status_code == 200 and r.json()["results"][0]["crop_box"] == [0, 0, 20, 30]


# ---------------------------------------------------------------------------------------- injected faults
@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessServer, FaultyPredictor]]:
    server, predictor = faulty_server(tmp_path_factory.mktemp("faulty"))
    try:
        yield server, predictor
    finally:
        predictor.gate.set()
        server.stop()


def crops_part(*crops: np.ndarray) -> list[tuple]:
    return [part(encode(c), f"{i}.png") for i, c in enumerate(crops)]


def _hold_worker(server: InProcessServer, predictor: FaultyPredictor, tag: int) -> tuple[threading.Thread, list]:
    """Send a request whose crop blocks the worker until ``predictor.gate`` is set; wait until it does."""
    predictor.gate.clear()
    predictor.holding.clear()
    out: list[httpx.Response] = []

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            out.append(c.post("/v1/smpl", files=crops_part(marked_crop(MARK_SLOW, tag))))

    thread = threading.Thread(target=send)
    thread.start()
    assert predictor.holding.wait(20), "the blocking request never reached the predictor"
    return thread, out


async def _post_all(url: str, bodies: list[list[tuple]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as ac:
        tasks = []
        for files in bodies:
            tasks.append(asyncio.ensure_future(ac.post("/v1/smpl", files=files)))
            await asyncio.sleep(0.05)  # in this order into the queue
        return await asyncio.gather(*tasks)


def _release_after(predictor: FaultyPredictor, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, predictor.gate.set)
    timer.start()
    return timer


def test_predictor_raising_for_one_item_fails_only_that_item(faulty: tuple) -> None:
    server, predictor = faulty
    holder, held = _hold_worker(server, predictor, tag=10)
    _release_after(predictor, 0.6)  # meanwhile both requests below queue up behind the blocked batch
    a, b = asyncio.run(
        _post_all(
            server.url,
            [
                crops_part(marked_crop(None, 11), marked_crop(MARK_RAISE, 12), marked_crop(None, 13)),
                crops_part(marked_crop(None, 14)),
            ],
        )
    )
    holder.join(30)
    assert held[0].status_code == 200
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    res = a.json()["results"]
    assert [e["ok"] for e in res] == [True, False, True]
    assert (res[1]["status"], res[1]["error"]) == (500, "internal_error")
    assert b.json()["results"][0]["ok"] is True
    assert any({11, 12, 13, 14} <= set(call) for call in predictor.calls), predictor.calls  # one shared batch
    r = httpx.post(f"{server.url}/v1/smpl", files=crops_part(marked_crop(MARK_RAISE, 15)), timeout=30)
    assert_error(r, 500, "internal_error")  # alone: the request's only item failed


def test_worker_crash_mid_batch_recovers(faulty: tuple) -> None:
    server, predictor = faulty
    before = counter(httpx.get(f"{server.url}/metrics").text, "rscnet_worker_crashes_total")
    holder, _ = _hold_worker(server, predictor, tag=20)
    _release_after(predictor, 0.6)
    a, b = asyncio.run(
        _post_all(
            server.url,
            [
                crops_part(marked_crop(None, 21), marked_crop(MARK_CRASH, 22)),
                crops_part(marked_crop(None, 23), marked_crop(None, 24)),
            ],
        )
    )
    holder.join(30)
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    res = a.json()["results"]
    assert res[0]["ok"] is True and (res[1]["ok"], res[1]["status"], res[1]["error"]) == (False, 500, "internal_error")
    assert "crashed" in res[1]["detail"]
    assert all(e["ok"] for e in b.json()["results"])  # the other request of the crashed batch is not lost
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/readyz").status_code == 200
        assert counter(c.get("/metrics").text, "rscnet_worker_crashes_total") >= before + 1
        assert_error(c.post("/v1/smpl", files=crops_part(marked_crop(MARK_CRASH, 25))), 500, "internal_error")
        r = c.post("/v1/smpl", files=crops_part(marked_crop(None, 26), marked_crop(None, 27)))
        assert r.status_code == 200 and all(e["ok"] for e in r.json()["results"])  # serving after two crashes


def test_worker_process_death_mid_batch_recovers(tmp_path: Path) -> None:
    """The worker *process* dies (os._exit) on one crop of a shared batch: a new process serves the rest."""
    server = exiting_worker_server(tmp_path)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            models = c.get("/v1/models").json()
            assert models["batching"]["worker"] == "process"
            first_pid = models["batching"]["worker_pid"]
            assert isinstance(first_pid, int) and first_pid != os.getpid()
        a, b = asyncio.run(
            _post_all(
                server.url,
                [
                    crops_part(marked_crop(None, 31), marked_crop(MARK_CRASH, 32)),
                    crops_part(marked_crop(None, 33), marked_crop(None, 34)),
                ],
            )
        )
        assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
        res = a.json()["results"]
        assert res[0]["ok"] is True and (res[1]["ok"], res[1]["status"], res[1]["error"]) == (False, 500, "internal_error")
        assert "crashed" in res[1]["detail"]
        assert all(e["ok"] for e in b.json()["results"])
        with httpx.Client(base_url=server.url, timeout=60) as c:
            assert c.get("/readyz").status_code == 200
            assert counter(c.get("/metrics").text, "rscnet_worker_crashes_total") >= 2  # the batch, then the crop alone
            r = c.post("/v1/smpl", files=crops_part(marked_crop(None, 35), marked_crop(None, 36)))
            assert r.status_code == 200 and all(e["ok"] for e in r.json()["results"])
    finally:
        server.stop()


def test_client_disconnect_while_queued_drops_its_crops(faulty: tuple) -> None:
    server, predictor = faulty
    before = counter(httpx.get(f"{server.url}/metrics").text, "rscnet_items_dropped_total")
    holder, held = _hold_worker(server, predictor, tag=30)
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes its connection
        httpx.post(
            f"{server.url}/v1/smpl",
            files=crops_part(marked_crop(None, 31), marked_crop(None, 32)),
            timeout=httpx.Timeout(30, read=0.5),
        )
    deadline = time.monotonic() + 20  # until the server has noticed the disconnect (crops still queued)
    while 'status="499"' not in httpx.get(f"{server.url}/metrics").text and time.monotonic() < deadline:
        time.sleep(0.02)
    predictor.gate.set()
    holder.join(30)
    assert held[0].status_code == 200  # the request being computed is unaffected
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/v1/smpl", files=crops_part(marked_crop(None, 33)))
        assert r.status_code == 200
        assert counter(c.get("/metrics").text, "rscnet_items_dropped_total") >= before + 2
        statuses = c.get("/metrics").text
    assert not {31, 32} & predictor.computed_tags(), predictor.calls  # never computed
    assert 'status="499"' in statuses


def test_request_timeout_answers_504_and_drops_the_crops(faulty: tuple) -> None:
    server, predictor = faulty
    holder, _ = _hold_worker(server, predictor, tag=40)
    try:
        r = httpx.post(
            f"{server.url}/v1/smpl",
            files=crops_part(marked_crop(None, 41)),
            headers={"X-Request-Timeout": "1"},
            timeout=30,
        )
        assert_error(r, 504, "timeout")
    finally:
        predictor.gate.set()
        holder.join(30)
    r = httpx.post(f"{server.url}/v1/smpl", files=crops_part(marked_crop(None, 42)), timeout=30)
    assert r.status_code == 200
    assert 41 not in predictor.computed_tags()


def test_faulty_server_docs_match_statuses(faulty: tuple) -> None:
    """Every status the fault tests saw is documented for /v1/smpl (499 never reaches a client)."""
    server, _ = faulty
    spec = httpx.get(f"{server.url}/openapi.json").json()
    documented = set(spec["paths"]["/v1/smpl"]["post"]["responses"])
    seen = {"200", "500", "504", "413", "415", "422"}
    assert seen <= documented, seen - documented
    assert json.dumps(spec["paths"]["/v1/smpl"]["post"]["responses"]["500"]).count("internal_error") == 1


def test_full_queue_refuses_before_parsing_and_loses_nothing(tmp_path: Path) -> None:
    """With the queue full, even a malformed body gets 429 (it is not parsed); queued work completes."""
    server, predictor = faulty_server(tmp_path, queue_size=8, max_images=8, max_frames=8)
    try:
        holder, held = _hold_worker(server, predictor, tag=50)
        results: list[httpx.Response] = []
        filler = threading.Thread(
            target=lambda: results.append(
                httpx.post(
                    f"{server.url}/v1/smpl",
                    files=crops_part(*(marked_crop(None, 51 + i) for i in range(8))),
                    timeout=60,
                )
            )
        )
        filler.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until its 8 crops fill the queue
            m = httpx.get(f"{server.url}/metrics").text
            if any(
                s.name == "rscnet_queue_length" and s.value >= 8
                for f in text_string_to_metric_families(m)
                for s in f.samples
            ):
                break
            time.sleep(0.02)
        malformed = httpx.post(
            f"{server.url}/v1/smpl", content=b"--x\r\nnot multipart", headers={"content-type": "multipart/form-data"}
        )
        body = assert_error(malformed, 429, "queue_full")
        assert int(malformed.headers["retry-after"]) >= 1 and "capacity" in body["detail"]
        r = httpx.post(f"{server.url}/v1/texture", files=[part(png_bytes(40, 20), field="image")], timeout=30)
        assert_error(r, 429, "queue_full")
        predictor.gate.set()
        holder.join(30)
        filler.join(30)
        assert held[0].status_code == 200
        assert results[0].status_code == 200 and all(e["ok"] for e in results[0].json()["results"])
        assert {51 + i for i in range(8)} <= predictor.computed_tags()
        r = httpx.post(f"{server.url}/v1/smpl", files=crops_part(marked_crop(None, 60)), timeout=30)
        assert r.status_code == 200
    finally:
        predictor.gate.set()
        server.stop()

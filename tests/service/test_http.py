"""Integration: every endpoint of a real server (uvicorn on 127.0.0.1, tiny random network) over HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from service_support import Server, encode, mp4_bytes, png_bomb_header, png_bytes, random_rgb

pytestmark = pytest.mark.integration

BODY = "free-smpl-layout"


def image_part(
    data: bytes, name: str = "a.png", field: str = "images", media: str = "image/png"
) -> tuple[str, tuple[str, bytes, str]]:
    return (field, (name, data, media))


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) >= {"error", "detail"} and isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["error"] == code, body
    return body


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


# ---------------------------------------------------------------------------------------- operations
def test_readiness_before_and_after_warm_up(main_server: Server, client: httpx.Client) -> None:
    assert main_server.early == {"healthz": 200, "readyz": 503, "smpl": 503}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready" and r.json()["device"] == "cpu"
    assert client.get("/healthz").json() == {"status": "alive"}


def test_models_says_what_is_loaded(client: httpx.Client) -> None:
    r = client.get("/v1/models")
    assert r.status_code == 200
    m = r.json()
    assert m["body_model"]["name"] == BODY and m["body_model"]["has_uv_map"]
    assert m["checkpoint"]["is_trained"] is False and "RANDOMLY INITIALISED" in m["checkpoint"]["warning"]
    assert m["network"]["input_size"] == 64 and m["network"]["backbone_depth"] == 18 and m["network"]["device"] == "cpu"
    assert m["network"]["flip_test"] is False  # RSCNET_FLIP_TEST defaults off
    assert [r["index"] for r in m["network"]["resolution_ranges"]] == [0, 1, 2, 3, 4]
    assert m["modules"]["sequence"]["gru_loaded"] is False and m["modules"]["sequence"]["kind"] == "filter"
    assert m["modules"]["texture"]["loaded"] is False and m["modules"]["texture"]["texture"] == "flat-default"
    pid = m["batching"].pop("worker_pid")
    assert isinstance(pid, int) and pid > 0  # the network runs in a worker process of its own
    assert m["batching"] == {"max_batch_size": 8, "max_delay_ms": 50.0, "queue_size": 64, "worker": "process"}
    assert m["versions"]["api"] == "v1" and m["versions"]["torch"]
    assert r.headers["x-body-model"] == BODY


def test_docs_and_openapi_are_served(client: httpx.Client) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "rscnet"
    assert client.get("/docs").status_code == 200


# ---------------------------------------------------------------------------------------- /v1/smpl
def test_smpl_multipart_boxes_and_per_item_errors(client: httpx.Client) -> None:
    full = random_rgb(120, 90, seed=3)
    box = [10, 20, 40, 80]
    files = [
        image_part(encode(full), "full.png"),
        image_part(b"\x89PNG garbage", "bad.png"),
        image_part(png_bytes(5, 5), "tiny.png"),
        image_part(encode(full[20:100, 10:50]), "crop.png"),
        image_part(encode(full), "thin.png"),
    ]
    thin = [60, 30, 5, 24]  # a 24-px person seen side-on: narrower than the smallest crop (8 px)
    r = client.post("/v1/smpl", files=files, data={"boxes": json.dumps([box, None, None, None, thin])})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["body_model"] == BODY and body["checkpoint_id"] == "untrained-seed0" and body["is_trained"] is False
    res = body["results"]
    assert [e["index"] for e in res] == [0, 1, 2, 3, 4] and [e["ok"] for e in res] == [True, False, False, True, True]
    assert res[4]["crop_box"] == [59, 30, 8, 24]  # widened about its centre with the frame's pixels
    assert (res[1]["status"], res[1]["error"]) == (415, "undecodable_image")
    assert (res[2]["status"], res[2]["error"]) == (422, "image_too_small")
    boxed, crop = res[0], res[3]
    assert boxed["crop_box"] == box and crop["crop_box"] == [0, 0, 40, 80]
    assert np.asarray(boxed["pose"]).shape == (24, 3) and len(boxed["betas"]) == 10
    assert np.asarray(boxed["joints3d"]["smpl24"]).shape == (24, 3) and np.asarray(
        boxed["joints3d"]["coco17"]
    ).shape == (17, 3)
    assert boxed["vertices"] is None and boxed["crop_size"] == 80 and boxed["resolution_index"] == 2
    assert set(boxed["timings_ms"]) == {"decode", "inference"}
    assert boxed["flip_disagreement"] is None  # the flip test is off by default
    assert boxed["cut"] is False and crop["cut"] is False  # the box ends above the last row; a crop is whole
    # Same pixels, so same body; 2D keypoints and principal point move by the box offset exactly.
    np.testing.assert_allclose(boxed["betas"], crop["betas"], atol=1e-5)
    kp_box, kp_crop = np.asarray(boxed["keypoints2d"]["coco17"]), np.asarray(crop["keypoints2d"]["coco17"])
    np.testing.assert_allclose(kp_box - kp_crop, np.tile([10, 20], (17, 1)), atol=1e-3)
    np.testing.assert_allclose(
        np.subtract(boxed["camera"]["principal"], crop["camera"]["principal"]), [10, 20], atol=1e-4
    )


def test_smpl_json_base64_with_vertices(client: httpx.Client) -> None:
    payload = {
        "images": [
            base64.b64encode(png_bytes(50, 30)).decode(),
            "data:image/jpeg;base64," + base64.b64encode(encode(random_rgb(40, 40), "JPEG")).decode(),
        ],
        "include_vertices": True,
    }
    r = client.post("/v1/smpl", json=payload)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert len(res) == 2 and all(e["ok"] for e in res)
    assert np.asarray(res[0]["vertices"]).shape == (13718, 3)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "bad_request"),
        ({"json": ["a list"]}, 400, "bad_request"),
        ({"json": {"images": ["***not base64***"]}}, 400, "bad_request"),
        ({"json": {"include_vertices": True}}, 400, "bad_request"),
        ({"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}}, 400, "bad_request"),
        ({"files": [image_part(b"GIF89a....", "a.gif", media="image/gif")]}, 415, "undecodable_image"),
        ({"files": [image_part(png_bytes(3, 30))]}, 422, "image_too_small"),
        ({"files": [image_part(png_bytes(30, 30))], "data": {"include_vertices": "maybe"}}, 422, "invalid_field"),
        ({"files": [image_part(png_bytes(30, 30))], "data": {"colour": "red"}}, 422, "invalid_field"),
        ({"files": [image_part(png_bytes(30, 30))], "data": {"boxes": "[[1, 2, 3]]"}}, 422, "invalid_field"),
        ({"files": [image_part(png_bytes(30, 30))], "data": {"boxes": "[null, null]"}}, 422, "invalid_field"),
        ({"files": [image_part(png_bytes(30, 30))], "data": {"boxes": "[[500, 500, 20, 40]]"}}, 422, "invalid_box"),
        ({"files": [image_part(png_bomb_header())]}, 413, "too_many_pixels"),
        ({"files": [image_part(png_bytes(10, 10), f"{i}.png") for i in range(9)]}, 413, "too_many_images"),
        ({"json": {"images": [base64.b64encode(png_bytes(10, 10)).decode()] * 9}}, 413, "too_many_images"),
        ({"files": [image_part(png_bytes(30, 30), field="video")]}, 422, "invalid_field"),
    ],
    ids=[
        "text-plain", "bad-json", "json-not-object", "bad-base64", "no-images", "bad-multipart", "gif", "too-small",
        "bad-bool", "unknown-field", "short-box", "box-count", "box-outside", "pixel-bomb", "too-many-files",
        "too-many-json", "wrong-file-field",
    ],
)  # fmt: skip
def test_smpl_bad_requests_get_json_4xx(client: httpx.Client, kwargs: dict, status: int, code: str) -> None:
    r = client.post("/v1/smpl", **kwargs)
    assert_error(r, status, code)
    assert r.headers["x-body-model"] == BODY  # even errors name the model


def test_all_items_failed_lists_every_error(client: httpx.Client) -> None:
    r = client.post("/v1/smpl", files=[image_part(b"junk", "a.png"), image_part(png_bytes(2, 2), "b.png")])
    body = assert_error(r, 415, "undecodable_image")
    assert [(e["index"], e["error"]) for e in body["items"]] == [(0, "undecodable_image"), (1, "image_too_small")]


def test_request_timeout_header_is_validated(client: httpx.Client) -> None:
    """X-Request-Timeout must be in [1, 3600] s (the 504 itself: test_http_faults, with a slow predictor)."""
    for bad in ("0.000001", "-1", "5e-324", "99999", "soon"):
        r = client.post("/v1/smpl", files=[image_part(png_bytes(30, 30))], headers={"X-Request-Timeout": bad})
        assert_error(r, 422, "invalid_field")
    r = client.post("/v1/smpl", files=[image_part(png_bytes(30, 30))], headers={"X-Request-Timeout": "1"})
    assert r.status_code == 200, r.text


def test_unknown_route_and_method_are_json(client: httpx.Client) -> None:
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/smpl"), 405, "method_not_allowed")


# ---------------------------------------------------------------------------------------- /v1/sequence
def test_sequence_frames_smoothed_and_single(client: httpx.Client) -> None:
    frames = [image_part(png_bytes(64, 40, seed=i), f"{i}.png", field="frames") for i in range(5)]
    track = [[0, 0, 40, 64], [0, 0, 40, 64], None, [2, 2, 36, 60], [0, 0, 40, 64]]
    r = client.post(
        "/v1/sequence", files=frames, data={"track": json.dumps(track), "sigma": "1.5", "include_single_frame": "true"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (
        body["body_model"] == BODY
        and body["temporal_model"]["kind"] == "filter"
        and body["temporal_model"]["sigma"] == 1.5
        and "not found" in body["temporal_model"]["gru_note"]  # no GRU loaded: the answer says why
    )
    frames_out = body["frames"]
    assert [f["index"] for f in frames_out] == [0, 1, 2, 3, 4] and [f["ok"] for f in frames_out] == [
        True,
        True,
        False,
        True,
        True,
    ]
    assert frames_out[2]["error"] == "no_person"
    f0 = frames_out[0]
    assert f0["smoothed"]["crop_box"] == [0, 0, 40, 64] and f0["single_frame"]["crop_box"] == [0, 0, 40, 64]
    assert not np.allclose(f0["smoothed"]["betas"], f0["single_frame"]["betas"])  # neighbours were mixed in
    assert frames_out[3]["smoothed"]["crop_box"] == [2, 2, 36, 60]
    # track boxes reaching the frame's bottom row mark the person as cut by the frame
    assert [f["single_frame"]["cut"] for f in frames_out if f["ok"]] == [True, True, False, True]
    assert body["temporal_model"]["max_turn_deg"] == 45.0 and "45 degrees per frame" in body["temporal_model"]["description"]


def test_sequence_turn_limit_off_and_on(client: httpx.Client) -> None:
    """``max_turn_deg=0`` answers without the limit (none in the summary); a limit is reported as given."""
    frames = [image_part(png_bytes(64, 40, seed=i), f"{i}.png", field="frames") for i in range(3)]
    off = client.post("/v1/sequence", files=frames, data={"max_turn_deg": "0"})
    assert off.status_code == 200, off.text
    assert off.json()["temporal_model"].get("max_turn_deg") is None
    on = client.post("/v1/sequence", files=frames, data={"max_turn_deg": "10"})
    assert on.status_code == 200 and on.json()["temporal_model"]["max_turn_deg"] == 10.0


def test_sequence_video_with_track(client: httpx.Client) -> None:
    video = mp4_bytes(frames=5, h=48, w=32)
    track = [[0, 0, 32, 48], [4, 4, 24, 40], None, [0, 0, 32, 48], [0, 0, 32, 48]]  # one entry per frame
    r = client.post(
        "/v1/sequence", files=[("video", ("clip.mp4", video, "video/mp4"))], data={"track": json.dumps(track)}
    )
    assert r.status_code == 200, r.text
    out = r.json()["frames"]
    assert [f["ok"] for f in out] == [True, True, False, True, True] and "single_frame" not in out[0]
    assert r.json()["warnings"] == []
    assert out[1]["smoothed"]["crop_box"] == [4, 4, 24, 40]
    r = client.post("/v1/sequence", files=[("video", ("clip.mp4", video, "video/mp4"))])  # no track: whole frames
    assert r.status_code == 200 and len(r.json()["frames"]) == 5


@pytest.mark.parametrize(
    ("files", "data", "status", "code"),
    [
        ([("video", ("x.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 64, "video/mp4"))], {}, 415, "undecodable_video"),
        ([("video", ("x.mkv", b"\x1aE\xdf\xa3" + b"\0" * 64, "video/x-matroska"))], {}, 415, "undecodable_video"),
        (
            [("video", ("c.mp4", b"x", "video/mp4")), image_part(png_bytes(20, 20), field="frames")],
            {},
            400,
            "bad_request",
        ),
        ([], {"sigma": "1"}, 400, "bad_request"),
        ([image_part(png_bytes(20, 20), field="frames")], {"sigma": "-1"}, 422, "invalid_field"),
        ([image_part(png_bytes(20, 20), field="frames")], {"max_turn_deg": "-5"}, 422, "invalid_field"),
        ([image_part(png_bytes(20, 20), field="frames")], {"track": "[null, null]"}, 422, "track_length_mismatch"),
        ([image_part(png_bytes(20, 20), f"{i}.png", field="frames") for i in range(17)], {}, 413, "too_many_frames"),
        ([image_part(png_bytes(20, 20), field="frames")], {"temporal": "gru"}, 422, "invalid_field"),
    ],
    ids=["corrupt-mp4", "mkv", "both", "neither", "bad-sigma", "bad-max-turn", "track-length", "too-many-frames", "gru-not-loaded"],
)
def test_sequence_bad_requests(client: httpx.Client, files: list, data: dict, status: int, code: str) -> None:
    kwargs = {"files": files, "data": data} if files else {"json": {"sigma": 1}}  # "neither": no frames, no video
    assert_error(client.post("/v1/sequence", **kwargs), status, code)


# ---------------------------------------------------------------------------------------- /v1/texture
@pytest.mark.parametrize("fmt", ["glb", "obj", "png"])
def test_texture_formats(client: httpx.Client, fmt: str) -> None:
    data = {"format": fmt, "size": "96", "yaw": "45"}
    r = client.post("/v1/texture", files=[image_part(png_bytes(80, 40), field="image")], data=data)
    assert r.status_code == 200, r.text
    assert r.headers["x-texture"] == "flat-default" and r.headers["x-texture-model"] == "none"
    assert r.headers["x-body-model"] == BODY and r.headers["x-checkpoint-id"] == "untrained-seed0"
    if fmt == "glb":
        assert r.headers["content-type"] == "model/gltf-binary" and r.content[:4] == b"glTF"
    elif fmt == "obj":
        assert r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
            assert sorted(zf.namelist()) == ["material.mtl", "mesh.obj", "texture.png"]
    else:
        assert r.headers["content-type"] == "image/png"
        img = Image.open(io.BytesIO(r.content))
        assert img.size == (96, 96) and img.mode == "RGBA"
        alpha = np.asarray(img)[..., 3]
        assert 0.05 < (alpha > 0).mean() < 0.9  # a body in the middle of a transparent background


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"files": [image_part(png_bytes(40, 40), field="image")], "data": {"format": "fbx"}}, 422, "invalid_field"),
        (
            {"files": [image_part(png_bytes(40, 40), field="image")], "data": {"format": "png", "size": "512"}},
            422,
            "invalid_field",
        ),
        ({"files": [image_part(b"junk", field="image")]}, 415, "undecodable_image"),
        (
            {
                "files": [
                    image_part(png_bytes(40, 40), "a.png", field="image"),
                    image_part(png_bytes(40, 40), "b.png", field="image"),
                ]
            },
            413,
            "too_many_images",
        ),
        ({"json": {"format": "glb"}}, 400, "bad_request"),
    ],
    ids=["format", "size-over-limit", "junk", "two-images", "no-image"],
)
def test_texture_bad_requests(client: httpx.Client, kwargs: dict, status: int, code: str) -> None:
    assert_error(client.post("/v1/texture", **kwargs), status, code)


# ---------------------------------------------------------------------------------------- batching and metrics
def test_concurrent_requests_share_batches(main_server: Server, client: httpx.Client) -> None:
    before = metric_samples(client.get("/metrics").text)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(base_url=main_server.url, timeout=30) as ac:
            rs = await asyncio.gather(
                *(ac.post("/v1/smpl", files=[image_part(png_bytes(40, 24, seed=i))]) for i in range(8))
            )
        return [r.status_code for r in rs]

    assert asyncio.run(burst()) == [200] * 8
    after = metric_samples(client.get("/metrics").text)

    def delta(name: str, labels: tuple = ()) -> float:
        return after.get((name, labels), 0.0) - before.get((name, labels), 0.0)

    batches = delta("rscnet_batch_size_count")
    singles = delta("rscnet_batch_size_bucket", (("le", "1.0"),))
    assert delta("rscnet_batch_size_sum") == 8  # 8 single-crop requests ...
    assert batches < 8 and singles < batches  # ... ran in fewer passes, some with several requests' crops
    assert delta("rscnet_requests_total", (("endpoint", "/v1/smpl"), ("method", "POST"), ("status", "200"))) == 8


def test_metrics_exposition(client: httpx.Client) -> None:
    client.post("/v1/smpl", content=b"x", headers={"content-type": "text/plain"})
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = metric_samples(r.text)
    names = {name for name, _ in samples}
    expected = {
        "rscnet_requests_total", "rscnet_request_duration_seconds_bucket", "rscnet_queue_length",
        "rscnet_batch_size_bucket", "rscnet_batch_compute_seconds_bucket", "rscnet_ready", "rscnet_item_errors_total",
    }  # fmt: skip
    assert expected <= names, expected - names
    assert samples[("rscnet_requests_total", (("endpoint", "/v1/smpl"), ("method", "POST"), ("status", "415")))] >= 1
    assert samples[("rscnet_ready", ())] == 1.0
    assert client.get("/readyz").status_code == 200  # still healthy after all the bad input

"""Issue 16, bad input: deep / huge / repeated / truncated JSON never gives a 5xx, and honest sequence answers.

Every test talks to the real ``main`` server over HTTP on 127.0.0.1 (see ``conftest.py``).
The fuzz tests use hypothesis with a fixed seed and a bounded number of examples.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from service_support import Server, mp4_bytes, png_bytes, random_rgb

from service.http.json_limits import JsonLimitError, json_depth, load_bounded_json

pytestmark = pytest.mark.integration

PNG = png_bytes(40, 20)
PNG_B64 = base64.b64encode(PNG).decode()


def nested(depth: int, leaf: Any = 0) -> str:
    return "[" * depth + json.dumps(leaf) + "]" * depth


def assert_error(r: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    body = r.json()
    assert set(body) >= {"error", "detail"}, body
    return body


# ---------------------------------------------------------------------------------------- unit
def test_json_depth_scan_ignores_brackets_in_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1, [2]]}') == 3
    assert json_depth(r'["\"[[[["]') == 1
    assert json_depth("1") == 0
    assert json_depth(nested(100_000), stop_above=10) == 11
    with pytest.raises(JsonLimitError) as info:
        load_bounded_json(nested(5000), max_depth=16, max_bytes=1 << 20)
    assert info.value.reason == "depth"
    with pytest.raises(JsonLimitError) as info:
        load_bounded_json("[" + "1," * 100 + "1]", max_depth=16, max_bytes=50)
    assert info.value.reason == "size"
    with pytest.raises(JsonLimitError) as info:
        load_bounded_json("[1, 2", max_depth=16, max_bytes=100)
    assert info.value.reason == "syntax"
    with pytest.raises(JsonLimitError):
        load_bounded_json("9" * 10_000, max_depth=16, max_bytes=1 << 20)  # Python refuses int('9' * 10000)


# ---------------------------------------------------------------------------------------- deep JSON
@pytest.mark.parametrize("depth", [17, 1000, 50_000])
def test_deep_json_body_is_400_not_500(client: httpx.Client, depth: int) -> None:
    body = '{"images": ["' + PNG_B64 + '"], "boxes": ' + nested(depth) + "}"
    r = client.post("/v1/smpl", content=body, headers={"content-type": "application/json"})
    assert "nested more than 16" in assert_error(r, 400)["detail"]
    r = client.post("/v1/smpl", content=nested(depth, {}), headers={"content-type": "application/json"})
    assert_error(r, 400)


@pytest.mark.parametrize(
    ("path", "field", "files"),
    [
        ("/v1/smpl", "boxes", [("images", ("a.png", PNG, "image/png"))]),
        ("/v1/sequence", "track", [("frames", ("a.png", PNG, "image/png"))]),
        ("/v1/texture", "box", [("image", ("a.png", PNG, "image/png"))]),
    ],
)
@pytest.mark.parametrize("depth", [17, 5000])
def test_deep_json_in_form_fields_is_422(client: httpx.Client, path: str, field: str, files: list, depth: int) -> None:
    r = client.post(path, files=files, data={field: nested(depth)})
    body = assert_error(r, 422)
    assert body["detail"].startswith(f"{field}: ") and "nested more than 16" in body["detail"], body


def test_models_reports_the_json_limits(client: httpx.Client) -> None:
    limits = client.get("/v1/models").json()["limits"]
    assert limits["max_json_depth"] == 16 and limits["max_field_bytes"] == 4 * 1024 * 1024


# ---------------------------------------------------------------------------------------- fuzz
def _json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda kids: st.lists(kids, max_size=6) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
        max_leaves=max_leaves,
    )


@st.composite
def _mangled_text(draw: st.DrawFn) -> str:
    """JSON text nested, repeated or truncated: what a broken or hostile client sends."""
    kind = draw(st.sampled_from(["nest", "repeat", "truncate", "value", "garbage"]))
    if kind == "nest":
        depth = draw(st.sampled_from([15, 16, 17, 64, 999, 1001, 20_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return opener * depth + "1" + closer * depth
    if kind == "repeat":
        unit = draw(st.sampled_from(["[0, 0, 8, 8]", "null", "[1e308, 1e308, 1e308, 1e308]", "[-1, -1, 0, 0]"]))
        return "[" + ", ".join([unit] * draw(st.sampled_from([0, 1, 2, 17, 300, 5000]))) + "]"
    text = json.dumps(draw(_json_values()), allow_nan=True)
    if kind == "truncate":
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    if kind == "garbage":
        return draw(st.text(max_size=40))
    return text


_FUZZ = settings(
    max_examples=int(os.environ.get("RSCNET_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)


def _assert_no_5xx(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert set(r.json()) >= {"error", "detail"}, r.text[:300]


@_FUZZ
@seed(16)
@given(
    endpoint=st.sampled_from(["smpl", "sequence", "texture"]),
    field=st.sampled_from(["json-field", "number", "flag", "extra"]),
    text=_mangled_text(),
)
def test_fuzz_multipart_fields_never_5xx(main_server: Server, endpoint: str, field: str, text: str) -> None:
    file_field, json_field, number, flag = {
        "smpl": ("images", "boxes", "include_vertices", "include_vertices"),
        "sequence": ("frames", "track", "sigma", "include_single_frame"),
        "texture": ("image", "box", "size", "format"),
    }[endpoint]
    name = {"json-field": json_field, "number": number, "flag": flag, "extra": "surprise"}[field]
    with httpx.Client(base_url=main_server.url, timeout=60) as c:
        r = c.post(f"/v1/{endpoint}", files=[(file_field, ("a.png", PNG, "image/png"))], data={name: text})
    _assert_no_5xx(r)


@_FUZZ
@seed(17)
@given(
    endpoint=st.sampled_from(["smpl", "sequence", "texture"]),
    value=_json_values(max_leaves=20),
    mangle=st.sampled_from(["as-field", "as-body", "truncate-body", "nest-body"]),
)
def test_fuzz_json_bodies_never_5xx(main_server: Server, endpoint: str, value: Any, mangle: str) -> None:
    file_field, json_field = {
        "smpl": ("images", "boxes"),
        "sequence": ("frames", "track"),
        "texture": ("image", "box"),
    }[endpoint]
    files: Any = PNG_B64 if endpoint == "texture" else [PNG_B64]
    if mangle == "as-field":
        text = json.dumps({file_field: files, json_field: value}, allow_nan=True)
    elif mangle == "as-body":
        text = json.dumps(value, allow_nan=True)
    elif mangle == "truncate-body":
        full = json.dumps({file_field: files, json_field: value}, allow_nan=True)
        text = full[: len(full) // 2]
    else:
        text = '{"' + file_field + '": ' + json.dumps(files) + ', "' + json_field + '": ' + nested(3000, value) + "}"
    with httpx.Client(base_url=main_server.url, timeout=60) as c:
        r = c.post(f"/v1/{endpoint}", content=text, headers={"content-type": "application/json"})
    _assert_no_5xx(r)


# ---------------------------------------------------------------------------------------- sequences
def _avi_bytes(frames: int, h: int = 48, w: int = 32) -> bytes:
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.avi")
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
        assert writer.isOpened()
        for i in range(frames):
            writer.write(random_rgb(h, w, seed=i))
        writer.release()
        return Path(path).read_bytes()


@pytest.mark.parametrize("entries", [3, 20])
def test_video_track_length_mismatch_names_both_lengths(client: httpx.Client, entries: int) -> None:
    track = json.dumps([[0, 0, 32, 48]] * entries)
    r = client.post(
        "/v1/sequence", files=[("video", ("c.mp4", mp4_bytes(frames=12), "video/mp4"))], data={"track": track}
    )
    body = assert_error(r, (422, 413))
    if r.status_code == 422:
        assert body["error"] == "track_length_mismatch"
        assert f"{entries} entries" in body["detail"] and "12 decodable frames" in body["detail"], body
        assert body["track_entries"] == entries and body["video_frames"] == 12


def test_frames_track_length_mismatch_names_both_lengths(client: httpx.Client) -> None:
    files = [("frames", (f"{i}.png", png_bytes(40, 20, i), "image/png")) for i in range(4)]
    r = client.post("/v1/sequence", files=files, data={"track": json.dumps([None, [0, 0, 20, 40]])})
    body = assert_error(r, 422)
    assert body["error"] == "track_length_mismatch" and "2 entries for 4 frames" in body["detail"]


def test_whole_video_with_matching_track_has_no_warnings(client: httpx.Client) -> None:
    track = json.dumps([[0, 0, 32, 48], None, [0, 0, 32, 48], [0, 0, 32, 48], [0, 0, 32, 48]])
    r = client.post(
        "/v1/sequence", files=[("video", ("c.mp4", mp4_bytes(frames=5), "video/mp4"))], data={"track": track}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["warnings"] == [] and len(body["frames"]) == 5 and body["frames"][1]["error"] == "no_person"


def test_truncated_video_answers_with_a_warning_and_the_counts(client: httpx.Client) -> None:
    data = _avi_bytes(16)
    cut = data[: int(len(data) * 0.5)]
    r = client.post("/v1/sequence", files=[("video", ("c.avi", cut, "video/x-msvideo"))])
    assert r.status_code == 200, r.text
    body = r.json()
    (warning,) = body["warnings"]
    assert warning["code"] == "truncated_video" and warning["declared_frames"] == 16
    assert 0 < warning["decoded_frames"] < 16 and body["num_frames"] == warning["decoded_frames"]
    assert f"states 16 frames but only {warning['decoded_frames']}" in warning["detail"]
    # with a track as long as the header says, the frames the file lacks are per-frame errors
    track = json.dumps([[0, 0, 32, 48]] * 16)
    r = client.post("/v1/sequence", files=[("video", ("c.avi", cut, "video/x-msvideo"))], data={"track": track})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["frames"]) == 16 and body["warnings"][0]["code"] == "truncated_video"
    missing = [f for f in body["frames"] if not f["ok"]]
    assert len(missing) == 16 - warning["decoded_frames"] and all(f["error"] == "frame_missing" for f in missing)


@_FUZZ
@seed(18)
@given(
    endpoint=st.sampled_from(["smpl", "sequence", "texture"]),
    cut=st.integers(0, len(PNG)),
    repeat=st.sampled_from([1, 2, 3]),
    as_text=st.booleans(),
)
def test_fuzz_file_parts_truncated_repeated_or_text_never_5xx(
    main_server: Server, endpoint: str, cut: int, repeat: int, as_text: bool
) -> None:
    """The file fields themselves: truncated image bytes, repeated parts, a text part instead of a file."""
    file_field = {"smpl": "images", "sequence": "frames", "texture": "image"}[endpoint]
    data = PNG[:cut]
    with httpx.Client(base_url=main_server.url, timeout=60) as c:
        if as_text:
            r = c.post(f"/v1/{endpoint}", data={file_field: data.decode("latin-1")})
        else:
            r = c.post(f"/v1/{endpoint}", files=[(file_field, ("a.png", data, "image/png"))] * repeat)
    _assert_no_5xx(r)

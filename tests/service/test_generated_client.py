"""Integration: the generated Python client (openapi-python-client) against the live server.

The client is generated from the committed ``openapi/openapi.json`` with ``openapi/client-config.yaml``
(:mod:`service.tools.client_codegen`, failing on any generator warning) into a temporary folder,
imported from there, and every endpoint is called through it on the suite's main server
(uvicorn on 127.0.0.1), checking the *parsed* results, binary GLB / PNG / zip answers included.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from service_support import Server, mp4_bytes, png_bytes

from service.tools.client_codegen import generate

pytestmark = pytest.mark.integration

BODY = "free-smpl-layout"


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The generated package's modules (imported from a temporary folder, unloaded afterwards)."""
    out: Path = tmp_path_factory.mktemp("client")
    package = generate(out)
    assert package.name == "rscnet_client" and not list(package.rglob("*.orig"))
    sys.path.insert(0, str(out))
    try:
        names = {
            "root": "rscnet_client",
            "models": "rscnet_client.models",
            "types": "rscnet_client.types",
            "smpl": "rscnet_client.api.inference.estimate_smpl",
            "sequence": "rscnet_client.api.inference.estimate_sequence",
            "texture": "rscnet_client.api.inference.estimate_texture",
            "get_models": "rscnet_client.api.models.get_models",
            "healthz": "rscnet_client.api.operations.healthz",
            "readyz": "rscnet_client.api.operations.readyz",
            "metrics": "rscnet_client.api.operations.metrics",
        }
        yield SimpleNamespace(**{key: importlib.import_module(name) for key, name in names.items()})
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "rscnet_client" or n.startswith("rscnet_client.")]:
            del sys.modules[name]


@pytest.fixture
def api(gen: SimpleNamespace, main_server: Server) -> Iterator[object]:
    """An ``AuthenticatedClient`` (the main server has no key, so any key is accepted)."""
    import httpx

    client = gen.root.AuthenticatedClient(
        base_url=main_server.url,
        token="not-checked-here",
        prefix="",
        auth_header_name="X-API-Key",
        timeout=httpx.Timeout(60.0),
        raise_on_unexpected_status=True,
    )
    with client as c:
        yield c


def file(gen: SimpleNamespace, data: bytes, name: str = "a.png", media: str = "image/png") -> object:
    return gen.types.File(payload=io.BytesIO(data), file_name=name, mime_type=media)


def test_generated_file_parts_are_binary(gen: SimpleNamespace) -> None:
    """Files are typed ``File`` (not ``str``: the contentMediaType pitfall) and texture answers are kept."""
    import inspect

    body = gen.models.EstimateSmplFilesBody
    assert "list[File]" in str(inspect.signature(body).parameters["images"].annotation)
    assert "File" in str(inspect.signature(gen.models.EstimateTextureFilesBody).parameters["image"].annotation)
    assert "File" in str(inspect.signature(gen.texture.sync).return_annotation)


def test_operations_endpoints(gen: SimpleNamespace, api: object) -> None:
    health = gen.healthz.sync(client=api)
    assert isinstance(health, gen.models.HealthResponse) and health.status == "alive"
    ready = gen.readyz.sync(client=api)
    assert isinstance(ready, gen.models.ReadyResponse) and ready.device == "cpu" and ready.body_model == BODY
    metrics = gen.metrics.sync(client=api)
    assert isinstance(metrics, str) and "rscnet_requests_total" in metrics
    models = gen.get_models.sync(client=api)
    assert isinstance(models, gen.models.ModelsResponse)
    assert models.body_model["name"] == BODY and models.checkpoint["is_trained"] is False
    assert models.network["input_size"] == 64


def test_smpl_multipart_and_json(gen: SimpleNamespace, api: object) -> None:
    m = gen.models
    body = m.EstimateSmplFilesBody(
        images=[file(gen, png_bytes(120, 90, seed=3), "full.png"), file(gen, b"junk", "bad.png")],
        boxes=json.dumps([[10, 20, 40, 80], None]),
        include_vertices=True,
    )
    res = gen.smpl.sync_detailed(client=api, body=body, x_request_timeout=30.0)
    assert res.status_code == 200, res.content
    out = res.parsed
    assert isinstance(out, m.SmplResponse) and out.body_model == BODY and out.is_trained is False
    first, second = out.results
    assert isinstance(first, m.SmplResult) and isinstance(second, m.ItemError)
    assert len(first.betas) == 10 and np.asarray(first.pose).shape == (24, 3)
    assert np.asarray(first.joints3d.coco17).shape == (17, 3) and np.asarray(first.keypoints2d.coco17).shape == (17, 2)
    assert first.crop_box == [10, 20, 40, 80] and np.asarray(first.vertices).shape == (13718, 3)
    assert (second.status, second.error) == (415, "undecodable_image")

    json_body = m.EstimateSmplJsonBody(images=[base64.b64encode(png_bytes(50, 30)).decode()])
    out = gen.smpl.sync(client=api, body=json_body)
    assert isinstance(out, m.SmplResponse) and isinstance(out.results[0], m.SmplResult)
    assert out.results[0].crop_box == [0, 0, 30, 50] and out.results[0].vertices is None


def test_smpl_errors_are_parsed(gen: SimpleNamespace, api: object) -> None:
    m = gen.models
    bad = gen.smpl.sync_detailed(client=api, body=m.EstimateSmplFilesBody(images=[file(gen, b"", "empty.png")]))
    assert bad.status_code == 415 and isinstance(bad.parsed, m.ErrorResponse)
    assert bad.parsed.error == "undecodable_image" and bad.parsed.detail
    small = gen.smpl.sync_detailed(client=api, body=m.EstimateSmplFilesBody(images=[file(gen, png_bytes(3, 3))]))
    assert small.status_code == 422 and small.parsed.error == "image_too_small"


def test_sequence_frames_video_and_json(gen: SimpleNamespace, api: object) -> None:
    m = gen.models
    frames = [file(gen, png_bytes(64, 40, seed=i), f"{i}.png") for i in range(3)]
    out = gen.sequence.sync(
        client=api,
        body=m.EstimateSequenceFilesBody(
            frames=frames,
            track=json.dumps([[0, 0, 40, 64], None, [0, 0, 40, 64]]),
            include_single_frame=True,
            temporal=m.EstimateSequenceFilesBodyTemporal.FILTER,
        ),
    )
    assert isinstance(out, m.SequenceResponse) and out.temporal_model.kind.value == "filter"
    assert out.temporal_model.sigma == 1.5
    assert [type(f).__name__ for f in out.frames] == ["SequenceFrame", "ItemError", "SequenceFrame"]
    assert out.frames[1].error == "no_person" and len(out.frames[0].smoothed.betas) == 10
    assert out.frames[0].single_frame is not None

    video = file(gen, mp4_bytes(frames=4, h=48, w=32), "clip.mp4", "video/mp4")
    out = gen.sequence.sync(client=api, body=m.EstimateSequenceFilesBody(video=video, sigma=0.0))
    assert isinstance(out, m.SequenceResponse) and out.num_frames == 4
    np.testing.assert_allclose(out.frames[0].smoothed.crop_box, [0, 0, 32, 48])

    b64 = [base64.b64encode(png_bytes(48, 32, seed=i)).decode() for i in range(2)]
    out = gen.sequence.sync(client=api, body=m.EstimateSequenceJsonBody(frames=b64))
    assert isinstance(out, m.SequenceResponse) and out.num_frames == 2


@pytest.mark.parametrize("fmt", ["glb", "png", "obj"])
def test_texture_binary_answers(gen: SimpleNamespace, api: object, fmt: str) -> None:
    m = gen.models
    body = m.EstimateTextureFilesBody(
        image=file(gen, png_bytes(80, 40)), format_=m.EstimateTextureFilesBodyFormat(fmt), size=96, yaw=30.0
    )
    res = gen.texture.sync_detailed(client=api, body=body)
    assert res.status_code == 200, res.content
    data = res.parsed.payload.read()
    assert isinstance(res.parsed, gen.types.File) and data == res.content
    assert res.headers["x-texture"] == "flat-default"
    if fmt == "glb":
        assert data[:4] == b"glTF" and res.headers["content-type"] == "model/gltf-binary"
    elif fmt == "png":
        img = Image.open(io.BytesIO(data))
        assert img.format == "PNG" and img.size == (96, 96) and img.mode == "RGBA"
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert sorted(zf.namelist()) == ["material.mtl", "mesh.obj", "texture.png"]


def test_texture_json_and_error(gen: SimpleNamespace, api: object) -> None:
    m = gen.models
    body = m.EstimateTextureJsonBody(
        image=base64.b64encode(png_bytes(60, 30)).decode(), format_=m.EstimateTextureJsonBodyFormat.GLB
    )
    res = gen.texture.sync_detailed(client=api, body=body)
    assert res.status_code == 200 and res.parsed.payload.read()[:4] == b"glTF"
    bad = gen.texture.sync_detailed(client=api, body=m.EstimateTextureFilesBody(image=file(gen, b"junk")))
    assert bad.status_code == 415 and isinstance(bad.parsed, m.ErrorResponse) and bad.parsed.error == "undecodable_image"

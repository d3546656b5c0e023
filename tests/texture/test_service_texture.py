"""``POST /v1/texture`` and ``/v1/models`` with a TexGlo checkpoint loaded (real server on 127.0.0.1),
and the loader's fallback / error behaviour."""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from model.body import load_body_model
from model.nets.checkpoint import TEXTURE_FORMAT, body_model_entry
from model.nets.texture import TexGlo, TexGloConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from service_support import TINY_NET_DICT, Server, launch, png_bytes


def write_tiny_texture_checkpoint(path: Path) -> Path:
    """A small (untrained, seeded) TexGlo checkpoint in the served format: 32 x 32 UV maps."""
    torch.manual_seed(0)
    cfg = TexGloConfig(input_size=(32, 16), uv_size=32, widths=(8, 16), reduce_channels=4, fc_dim=16, out_channels=4)
    net = TexGlo(cfg)
    with torch.no_grad():
        net.head.bias.copy_(torch.tensor([2.0, -2.0, 0.0]))  # a reddish texture, clearly not the flat grey
    ckpt = {
        "format": TEXTURE_FORMAT, "kind": "texture", "name": "tiny-test", "step": 0,
        "model": {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()},
        "net_config": cfg.to_dict(), "body_model": body_model_entry(load_body_model().info),
        "data": {"crop_size": 32}, "geometry": {"source": "ground_truth", "checkpoint": None},
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="module")
def textured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("texsrv")
    ckpt = write_tiny_texture_checkpoint(tmp / "texture" / "model.pt")
    server = launch("textured", {"RSCNET_TEXTURE_CHECKPOINT": str(ckpt), "RSCNET_WARMUP": "false", "RSCNET_MAX_RENDER_SIZE": "256"}, tmp)
    try:
        server.wait_listening(120)
        server.wait_ready(120)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tclient(textured_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=textured_server.url, timeout=60) as c:
        yield c


def _post(client: httpx.Client, fmt: str, **extra: str) -> httpx.Response:
    return client.post("/v1/texture", files=[("image", ("p.png", png_bytes(80, 40), "image/png"))], data={"format": fmt, **extra})


def test_models_reports_the_texture_network(tclient: httpx.Client) -> None:
    r = tclient.get("/v1/models")
    assert r.status_code == 200
    tex = r.json()["modules"]["texture"]
    assert tex["loaded"] is True and tex["texture"] == "texglo"
    assert tex["texture_model"].startswith("tiny-test:") and tex["uv_size"] == 32 and tex["glo"] == "sum"


def test_obj_zip_carries_the_predicted_texture(tclient: httpx.Client) -> None:
    r = _post(tclient, "obj")
    assert r.status_code == 200, r.text
    assert r.headers["x-texture"] == "texglo" and r.headers["x-texture-model"].startswith("tiny-test:")
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        tex = np.asarray(Image.open(io.BytesIO(zf.read("texture.png"))).convert("RGB"))
    assert tex.shape == (32, 32, 3)
    assert tex[..., 0].mean() > tex[..., 1].mean() + 100  # the network's reddish output, not flat grey


def test_glb_and_png_views(tclient: httpx.Client) -> None:
    glb = _post(tclient, "glb")
    assert glb.status_code == 200 and glb.content[:4] == b"glTF" and glb.headers["x-texture"] == "texglo"
    views = [_post(tclient, "png", yaw=str(y), size="96") for y in (0, 90)]
    for v in views:
        assert v.status_code == 200 and v.headers["content-type"] == "image/png" and v.headers["x-texture"] == "texglo"
    a, b = (np.asarray(Image.open(io.BytesIO(v.content))) for v in views)
    assert a.shape == b.shape == (96, 96, 4) and not np.array_equal(a, b)
    fg = a[..., 3] > 200
    assert fg.any() and a[fg][:, 0].mean() > a[fg][:, 1].mean() + 40  # textured red, not grey


def test_bad_requests_stay_4xx_with_the_texture_network(tclient: httpx.Client) -> None:
    r = tclient.post("/v1/texture", files=[("image", ("p.png", b"junk", "image/png"))])
    assert r.status_code == 415 and set(r.json()) >= {"error", "detail"}
    r = _post(tclient, "png", size="4096")
    assert r.status_code == 422 and r.json()["error"] == "invalid_field"


def test_loader_falls_back_to_flat_texture_when_absent_and_fails_on_corrupt(tmp_path: Path) -> None:
    from service.runtime.model_loader import load_predictor
    from service.settings import ServiceSettings

    common = {"checkpoint": tmp_path / "absent.pt", "device": "cpu", "precision": "fp32", "random_init_net": TINY_NET_DICT}
    loaded = load_predictor(ServiceSettings(texture_checkpoint=tmp_path / "none.pt", **common))
    assert loaded.texture is None and "not found" in (loaded.texture_note or "")
    ok = load_predictor(ServiceSettings(texture_checkpoint=write_tiny_texture_checkpoint(tmp_path / "t.pt"), **common))
    assert ok.texture is not None and ok.texture_note is None and ok.texture.uv_size == 32
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="texture checkpoint"):
        load_predictor(ServiceSettings(texture_checkpoint=corrupt, **common))

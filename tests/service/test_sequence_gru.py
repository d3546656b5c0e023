"""``/v1/sequence`` with the GRU video module loaded (a real server on 127.0.0.1, tiny checkpoints)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from service_support import BOUNDS, TINY_NET_DICT, launch, png_bytes, random_rgb

from model.body import load_body_model
from model.inference import Predictor, SequencePredictor
from model.nets import NetConfig, RSCNet
from model.nets.checkpoint import VIDEO_FORMAT, body_model_entry, save_checkpoint
from model.nets.temporal import TemporalConfig, TemporalRegressor

pytestmark = pytest.mark.integration


def write_checkpoints(tmp: Path) -> tuple[Path, Path]:
    """A trained-looking tiny backbone and a video model on its features (GRU projection non-zero)."""
    body = load_body_model()
    cfg = NetConfig.from_dict(TINY_NET_DICT)
    torch.manual_seed(0)
    net = RSCNet(cfg, body.mean_params)
    backbone = save_checkpoint(
        {"model": net.state_dict(), "net_config": cfg.to_dict(), "body_model": body_model_entry(body.info),
         "resolution_bounds": list(BOUNDS), "input_size": cfg.input_size, "step": 1},
        tmp / "backbone.pt",
    )
    predictor = Predictor.from_checkpoint(backbone, device="cpu", body=body)
    tcfg = TemporalConfig(hidden_dim=16, regressor_hidden_dim=64, chunk_size=4, chunk_overlap=1)
    temporal = TemporalRegressor(tcfg, body.mean_params)
    temporal.regressor.load_state_dict(net.regressor.state_dict())
    with torch.no_grad():
        temporal.encoder.proj.weight.normal_(0, 0.2)
    video = save_checkpoint(
        {"format": VIDEO_FORMAT, "model": temporal.state_dict(), "temporal_config": tcfg.to_dict(),
         "body_model": body_model_entry(body.info), "step": 1,
         "backbone": {"path": str(backbone), "checkpoint_id": predictor.checkpoint_id, "input_size": cfg.input_size,
                      "resolution_bounds": list(BOUNDS), "feature_dim": 512}},
        tmp / "video.pt",
    )
    return backbone, video


@pytest.fixture(scope="module")
def gru_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    tmp = tmp_path_factory.mktemp("gru")
    backbone, video = write_checkpoints(tmp)
    server = launch("gru", {"RSCNET_CHECKPOINT": str(backbone), "RSCNET_VIDEO_CHECKPOINT": str(video), "RSCNET_WARMUP": "false"}, tmp)
    try:
        server.wait_listening()
        server.wait_ready()
        yield server.url, backbone, video
    finally:
        code = server.stop()  # uvicorn re-raises SIGTERM after its graceful shutdown
        assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in server.log(), server.log()


def test_models_reports_the_gru(gru_server) -> None:
    url, _, video = gru_server
    m = httpx.get(f"{url}/v1/models").json()["modules"]["sequence"]
    assert m["gru_loaded"] is True and m["kind"] == "gru" and m["checkpoint"] == str(video)
    assert m["bidirectional"] is False


def test_sequence_uses_the_gru_and_matches_the_library(gru_server) -> None:
    url, backbone, video = gru_server
    images = [random_rgb(40 + 4 * i, 30, seed=i) for i in range(6)]
    files = [("frames", (f"f{i}.png", png_bytes(40 + 4 * i, 30, seed=i), "image/png")) for i in range(6)]
    track = [None if i == 2 else [0, 0, 30, 40 + 4 * i] for i in range(6)]
    r = httpx.post(f"{url}/v1/sequence", files=files, data={"track": json.dumps(track), "include_single_frame": "true"}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["temporal_model"]["kind"] == "gru" and body["temporal_model"]["bidirectional"] is False
    frames = body["frames"]
    assert frames[2]["ok"] is False and frames[2]["error"] == "no_person"
    seq = SequencePredictor.from_checkpoint(video, backbone=backbone, device="cpu")
    expected = seq.predict([None if t is None else img for t, img in zip(track, images)])
    for i in (0, 1, 3, 4, 5):
        got = frames[i]["smoothed"]
        np.testing.assert_allclose(got["pose"], expected[i].pose, atol=2e-3)
        np.testing.assert_allclose(got["keypoints2d"]["coco17"], expected[i].keypoints2d_coco17, atol=0.05)
        assert got["pose"] != frames[i]["single_frame"]["pose"]  # the GRU changed the estimate


def test_filter_still_available_and_gru_choice(gru_server) -> None:
    url, _, _ = gru_server
    files = [("frames", (f"f{i}.png", png_bytes(40, 30, seed=i), "image/png")) for i in range(3)]
    r = httpx.post(f"{url}/v1/sequence", files=files, data={"temporal": "filter", "sigma": "2"}, timeout=60)
    assert r.status_code == 200 and r.json()["temporal_model"] == {**r.json()["temporal_model"], "kind": "filter", "sigma": 2.0}
    assert "gru_note" not in r.json()["temporal_model"]  # the filter was chosen; the GRU is loaded
    r = httpx.post(f"{url}/v1/sequence", files=files, data={"temporal": "median"}, timeout=60)
    assert r.status_code == 422 and r.json()["error"] == "invalid_field"


def _other_backbone(tmp: Path, reference: Path) -> Path:
    """A second backbone of the same architecture with other weights (another checkpoint id)."""
    ckpt = torch.load(reference, map_location="cpu", weights_only=True)
    torch.manual_seed(1)
    body = load_body_model()
    ckpt["model"] = RSCNet(NetConfig.from_dict(TINY_NET_DICT), body.mean_params).state_dict()
    return save_checkpoint(ckpt, tmp / "other-backbone.pt")


def test_default_video_checkpoint_of_another_backbone_leaves_the_filter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed GRU belongs to an older network: serving another one by default means no GRU, said plainly."""
    from service.runtime.model_loader import load_sequence
    from service.settings import DEFAULT_VIDEO_CHECKPOINT, ServiceSettings

    backbone, video = write_checkpoints(tmp_path)
    other = _other_backbone(tmp_path, backbone)
    default_video = tmp_path / DEFAULT_VIDEO_CHECKPOINT
    default_video.parent.mkdir(parents=True)
    default_video.write_bytes(video.read_bytes())
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("RSCNET_")]:
        monkeypatch.delenv(name)
    predictor = Predictor.from_checkpoint(other, device="cpu")
    sequence, note = load_sequence(ServiceSettings(checkpoint=other), predictor)
    assert sequence is None
    assert "not loaded" in note and predictor.checkpoint_id in note and str(backbone) in note and "Gaussian filter" in note
    # Its own backbone still gets the GRU from the same default path.
    own = Predictor.from_checkpoint(backbone, device="cpu")
    sequence, note = load_sequence(ServiceSettings(checkpoint=backbone), own)
    assert isinstance(sequence, SequencePredictor) and note is None


def test_chosen_video_checkpoint_of_another_backbone_is_an_error(tmp_path: Path) -> None:
    from model.inference import BackboneMismatch
    from service.runtime.model_loader import load_sequence
    from service.settings import ServiceSettings

    backbone, video = write_checkpoints(tmp_path)
    other = _other_backbone(tmp_path, backbone)
    predictor = Predictor.from_checkpoint(other, device="cpu")
    with pytest.raises(BackboneMismatch, match="trained on features of backbone"):
        load_sequence(ServiceSettings(checkpoint=other, video_checkpoint=video), predictor)

"""Video trainer (kind: video), export, SequencePredictor and the evaluation CLI, on a tiny backbone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from model.body import load_body_model
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor, SequencePredictor
from model.nets import NetConfig, RSCNet
from model.nets.checkpoint import (
    VIDEO_FORMAT,
    body_model_entry,
    load_checkpoint,
    save_checkpoint,
)
from model.nets.temporal import TemporalConfig, TemporalRegressor
from model.train.__main__ import main as train_main
from model.train.config import ConfigError
from model.train.export import main as export_main
from model.train.video import load_video_config

TINY = {"backbone": {"depth": 18, "num_ranges": 4}, "input_size": 32, "regressor_hidden_dim": 64}
BOUNDS = (128, 64, 40, 24)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def write_backbone(body, path: Path, seed: int) -> Path:
    cfg = NetConfig.from_dict(TINY)
    torch.manual_seed(seed)
    net = RSCNet(cfg, body.mean_params)
    state = {
        "model": net.state_dict(), "net_config": cfg.to_dict(), "train_config": {}, "body_model": body_model_entry(body.info),
        "resolution_bounds": list(BOUNDS), "input_size": cfg.input_size, "step": 1,
    }
    return save_checkpoint(state, path)


def write_config(tmp: Path, backbone: Path, steps: int = 3) -> Path:
    cfg = {
        "kind": "video",
        "name": "video-test",
        "backbone_checkpoint": str(backbone),
        "temporal": {"hidden_dim": 16, "chunk_size": 8, "chunk_overlap": 2},
        "discriminator": {"hidden_dim": 16, "attention_dim": 8},
        "data": {"clips": 2, "clip_length": 6, "resolution_range": [16, 24], "cache": str(tmp / "cache.pt"), "real_motion_clips": 4},
        "loss": {"accel_weight": 1.0},
        "optim": {"batch_size": 2, "seq_len": 4, "steps": steps, "warmup_steps": 1},
        "runtime": {"out_dir": str(tmp / "run"), "log_every": 1, "checkpoint_every": 1},
    }
    path = tmp / "video.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def trained(body, tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("video")
    backbone = write_backbone(body, tmp / "backbone.pt", seed=0)
    config = write_config(tmp, backbone)
    train_main(["--config", str(config), "--max-steps", "2", "--no-progress"])
    train_main(["--config", str(config), "--resume", "--no-progress"])
    served = tmp / "served.pt"
    export_main(["--checkpoint", str(tmp / "run" / "last.pt"), "--out", str(served)])
    return {"tmp": tmp, "backbone": backbone, "config": config, "served": served}


def test_training_resumes_and_records_provenance(trained, body) -> None:
    ckpt = load_checkpoint(trained["tmp"] / "run" / "last.pt", expected_format=VIDEO_FORMAT)
    assert ckpt["step"] == 3
    assert ckpt["body_model"]["sha256"] == body.info.sha256
    backbone = Predictor.from_checkpoint(trained["backbone"], device="cpu", body=body)
    assert ckpt["backbone"]["checkpoint_id"] == backbone.checkpoint_id
    assert ckpt["backbone"]["resolution_bounds"] == list(BOUNDS)
    lines = [json.loads(x) for x in (trained["tmp"] / "run" / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3]
    assert all(np.isfinite(x["total"]) and "discriminator" in x and "accel" in x for x in lines)
    cache = torch.load(trained["tmp"] / "cache.pt", weights_only=True)
    assert cache["phi"].shape == (2, 2, 6, 512) and cache["phi"].dtype == torch.float16
    assert ((cache["sizes"] >= 16) & (cache["sizes"] <= 24)).all()


def test_served_checkpoint_drops_training_state(trained) -> None:
    served = torch.load(trained["served"], weights_only=True)
    assert served["format"] == VIDEO_FORMAT
    assert "optimizer" not in served and "discriminator" not in served and "disc_optimizer" not in served
    assert all(v.dtype == torch.float16 for v in served["model"].values() if v.is_floating_point())


def test_sequence_predictor_loads_strictly(trained, body) -> None:
    seq = SequencePredictor.from_checkpoint(trained["served"], device="cpu")
    assert seq.causal and seq.describe()["kind"] == "gru"
    other = Predictor.from_checkpoint(write_backbone(body, trained["tmp"] / "other.pt", seed=1), device="cpu", body=body)
    with pytest.raises(ValueError, match="features of backbone"):
        SequencePredictor.from_checkpoint(trained["served"], backbone=other)


def crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 255, (30 + 2 * i, 20 + i, 3), dtype=np.uint8) for i in range(n)]


def test_untrained_video_model_equals_single_frame_and_keeps_gaps(body) -> None:
    backbone = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=0, body=body, precision="fp32")
    temporal = TemporalRegressor(TemporalConfig(hidden_dim=16, regressor_hidden_dim=64), body.mean_params)
    temporal.regressor.load_state_dict(backbone.net.regressor.state_dict())
    seq = SequencePredictor(backbone, temporal)
    frames = crops(5)
    singles = backbone.predict(frames)
    out = seq.predict([frames[0], None, frames[2], frames[3], None])
    assert out[1] is None and out[4] is None
    for i in (0, 2, 3):
        assert out[i].input_size == singles[i].input_size
        np.testing.assert_allclose(out[i].keypoints2d_coco17, singles[i].keypoints2d_coco17, atol=1e-3)
        np.testing.assert_allclose(out[i].principal, singles[i].principal)
        np.testing.assert_allclose(out[i].pose, singles[i].pose, atol=1e-4)
    with pytest.raises(ValueError, match="at least one frame"):
        seq.smooth([None, None])


def test_trained_video_model_predicts_every_frame(trained) -> None:
    seq = SequencePredictor.from_checkpoint(trained["served"], device="cpu")
    out = seq.predict(crops(20))  # longer than a chunk (8): chunked, carried GRU state
    assert len(out) == 20 and all(p is not None and p.keypoints2d_coco17.shape == (17, 2) for p in out)
    with_vertices = seq.smooth(seq.backbone.predict(crops(2)), include_vertices=True)
    assert with_vertices[0].vertices.shape == (body_vertices(), 3)


def body_vertices() -> int:
    return load_body_model().num_vertices


def test_eval_cli_writes_table_json_and_plot(trained, capsys) -> None:
    from model.eval.video import main as eval_main

    out = trained["tmp"] / "eval"
    eval_main(["--video-checkpoint", str(trained["served"]), "--clips", "2", "--frames", "5", "--resolutions", "24,40", "--out", str(out), "--json"])
    results = json.loads((out / "video_eval.json").read_text())
    assert set(results) == {"24", "40"}
    for models in results.values():
        assert set(models) == {"single-frame", "video"}
        for e in models.values():
            assert all(np.isfinite(e[k]) and e[k] >= 0 for k in ("mpjpe", "pa_mpjpe", "acc", "acc_err"))
    assert "video vs single" in (out / "video_eval.md").read_text()
    assert (out / "video_trajectory.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{") :]) == results


def test_config_validation(tmp_path) -> None:
    path = write_config(tmp_path, tmp_path / "missing.pt")
    assert load_video_config(path).optim.seq_len == 4
    data = yaml.safe_load(path.read_text())
    for mutate, needle in (
        (lambda d: d["data"].update(colour=1), "unknown key"),
        (lambda d: d.update(kind="rscnet"), "expected kind 'video'"),
        (lambda d: d["optim"].update(seq_len=50), "seq_len"),
    ):
        bad = json.loads(json.dumps(data))
        mutate(bad)
        p = tmp_path / "bad.yaml"
        p.write_text(yaml.safe_dump(bad))
        with pytest.raises(ConfigError, match=needle):
            load_video_config(p)


def test_joints_only_matches_the_full_body_model(body) -> None:
    torch.manual_seed(0)
    betas, pose = torch.randn(4, 10), axis_angle_to_matrix(0.4 * torch.randn(4, 24, 3))
    assert torch.allclose(body.joints_only(betas, pose), body(betas, pose).joints, atol=1e-5)


def test_projection_in_the_loss_stays_bounded_for_degenerate_cameras(body) -> None:
    from model.train.video import predicted_joints

    betas, pose = torch.zeros(3, 10), torch.eye(3).expand(3, 24, 3, 3).contiguous()
    camera = torch.tensor([[0.9, 0.0, 0.1], [1e-6, 0.0, 0.0], [-0.5, 0.2, 0.0]])
    joints, kp = predicted_joints(body, betas, pose, camera, 96)
    assert joints.shape == (3, 24, 3) and kp.shape == (3, 24, 2)
    assert torch.isfinite(kp).all() and kp.abs().max() < 1e3

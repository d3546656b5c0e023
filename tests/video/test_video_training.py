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
        "temporal": {"hidden_dim": 16, "chunk_size": 8, "chunk_overlap": 2, "init_state": "first_frame"},
        "discriminator": {"hidden_dim": 16, "attention_dim": 8},
        "data": {"clips": 2, "clip_length": 6, "resolution_range": [16, 24], "cache": str(tmp / "cache.pt"), "real_motion_clips": 4,
                 "orbit_fraction": 0.5},
        "loss": {"accel_weight": 1.0, "static_weight": 1.0, "root_velocity_weight": 1.0, "root_velocity_margin_deg": 10.0},
        "optim": {"batch_size": 2, "seq_len": 4, "steps": steps, "warmup_steps": 1, "static_prob": 0.5},
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
    assert all(np.isfinite(x["total"]) and "discriminator" in x and "accel" in x and np.isfinite(x["root_velocity"]) for x in lines)
    cache = torch.load(trained["tmp"] / "cache.pt", weights_only=True)
    assert cache["phi"].shape == (2, 2, 6, 512) and cache["phi"].dtype == torch.float16
    assert ((cache["sizes"] >= 16) & (cache["sizes"] <= 24)).all()
    assert cache["orbit"].shape == (2,) and cache["orbit"].dtype == torch.bool
    assert ckpt["temporal_config"]["init_state"] == "first_frame"


def test_static_windows_and_their_loss(trained) -> None:
    """Repeated-frame windows repeat one frame's features and labels; their loss is the distance to
    the frozen single-frame answer: zero for the untrained model (which is the single-frame one)."""
    from model.train.video import VideoTrainer

    config = load_video_config(trained["config"], {"optim": {"static_prob": 0.5, "batch_size": 16}})
    trainer = VideoTrainer(config, device="cpu", show_progress=False)
    batch = trainer.sample_batch()
    static = batch["static"]
    assert static.any() and (~static).any()
    phi, pose = batch["phi"][static], batch["pose"][static]
    assert torch.equal(phi, phi[:, :1].expand_as(phi)) and torch.equal(pose, pose[:, :1].expand_as(pose))
    moving = batch["joints3d_smpl24"][~static]
    assert not torch.equal(moving, moving[:, :1].expand_as(moving))
    _, logs, _ = trainer.generator_losses(batch)
    assert logs["static"] < 1e-10  # step 0: the video model is the single-frame model
    with torch.no_grad():
        trainer.model.encoder.proj.weight.normal_(0, 0.3)
    _, logs, _ = trainer.generator_losses(batch)
    assert logs["static"] > 1e-6
    from model.train.video import frame_targets

    target = frame_targets(batch, ~static)  # static_ground_truth: false
    t = batch["phi"].shape[1]
    used = (~static)[:, None].expand(-1, t).reshape(-1).float()
    assert torch.equal(target.has_smpl, used) and torch.equal(target.has_joints3d, used) and torch.equal(target.has_keypoints2d, used)
    assert torch.equal(frame_targets(batch).has_smpl, torch.ones_like(used))
    with pytest.raises(ValueError, match="static_prob"):
        load_video_config(trained["config"], {"optim": {"static_prob": 0.0}})


def test_frozen_regressor_and_motion_input(trained) -> None:
    """``optim.train_regressor: false`` trains the temporal encoder only: the regressor stays the
    backbone's; with ``gru_input: motion`` a still window then gets exactly the single-frame answer
    after training steps."""
    from model.train.video import VideoTrainer

    overrides = {
        "temporal": {"hidden_dim": 16, "chunk_size": 8, "chunk_overlap": 2, "init_state": "zeros", "gru_input": "motion"},
        "optim": {"train_regressor": False, "static_prob": 0.5, "batch_size": 8},
        "runtime": {"out_dir": str(trained["tmp"] / "run-motion")},
    }
    trainer = VideoTrainer(load_video_config(trained["config"], overrides), device="cpu", show_progress=False, max_steps=2)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train()
    after = trainer.model.state_dict()
    reference = trainer.backbone.net.regressor.state_dict()
    assert all(torch.equal(after[f"regressor.{k}"], v) for k, v in reference.items())
    assert any(not torch.equal(after[k], before[k]) for k in before if k.startswith("encoder."))
    batch = trainer.sample_batch()
    static = batch["static"]
    assert static.any()
    with torch.no_grad():
        _, logs, _ = trainer.generator_losses(batch)
    # The single-frame answer: the same regressor on the same features, so equal up to float rounding.
    # The two calls batch the frames differently (W*T rows against W), and some CPUs' kernels (an
    # AVX-512 Xeon here) then sum in another order: ~1e-18 m^2, i.e. nanometres, instead of 0.
    assert logs["static"] < 1e-12
    with pytest.raises(ValueError, match="train_regressor"):
        load_video_config(trained["config"], {"optim": {"train_regressor": "no"}})


def test_served_checkpoint_drops_training_state(trained) -> None:
    served = torch.load(trained["served"], weights_only=True)
    assert served["format"] == VIDEO_FORMAT
    assert "optimizer" not in served and "discriminator" not in served and "disc_optimizer" not in served
    assert all(v.dtype == torch.float16 for v in served["model"].values() if v.is_floating_point())


def test_sequence_predictor_loads_strictly(trained, body) -> None:
    seq = SequencePredictor.from_checkpoint(trained["served"], device="cpu")
    assert seq.causal and seq.describe()["kind"] == "gru"
    assert seq.describe()["init_state"] == "first_frame" and seq.describe()["gru_input"] == "features"
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
    eval_main([
        "--video-checkpoint", str(trained["served"]), "--clips", "2", "--frames", "5", "--resolutions", "24,40", "--out", str(out), "--json",
        "--still-frames", "4", "--turn-clips", "2", "--cache", str(trained["tmp"] / "test-cache.pt"),
    ])  # fmt: skip
    results = json.loads((out / "video_eval.json").read_text())
    assert set(results) == {"24", "40", "still", "turning", "feature_change", "seed"}
    assert all(v >= 0 for v in results["feature_change"].values())
    for table in (results["24"], results["40"], *results["turning"]["errors"].values()):
        assert set(table) == {"single-frame", "filter", "video"}
        for e in table.values():
            assert all(np.isfinite(e[k]) and e[k] >= 0 for k in ("mpjpe", "pa_mpjpe", "acc", "acc_err"))
    # the filter smooths the single-frame answers: less acceleration
    assert results["24"]["filter"]["acc"] < results["24"]["single-frame"]["acc"]
    for d in results["still"].values():
        assert 0 <= d["later_mean"] <= d["later_max"] <= d["worst_clip"]
    for models in results["turning"]["facing"].values():
        assert set(models) == {"single-frame", "filter", "video"}
        assert all(0 <= f["clips_with_flip"] <= 1 and 0 <= f["wrong_facing"] <= 1 for f in models.values())
    md = (out / "video_eval.md").read_text()
    assert "video vs single" in md and "Still input" in md and "turning-camera" in md
    assert (trained["tmp"] / "test-cache-turn.pt").is_file()
    turning = torch.load(trained["tmp"] / "test-cache-turn.pt", weights_only=True)
    assert turning["orbit"].all()
    assert (out / "video_trajectory.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{") :]) == results

    # --facing adds the decoder's rows (the same cache), --sweep a row per switch cost
    eval_main([
        "--video-checkpoint", str(trained["served"]), "--clips", "2", "--frames", "5", "--resolutions", "24,40", "--out", str(out),
        "--still-frames", "0", "--turn-clips", "2", "--cache", str(trained["tmp"] / "test-cache.pt"), "--facing", "--sweep", "0,1e6",
    ])  # fmt: skip
    with_facing = json.loads((out / "video_eval.json").read_text())
    assert set(with_facing["24"]) == {"single-frame", "filter", "video", "filter+facing", "video+facing"}
    assert with_facing["24"]["video"] == results["24"]["video"]  # the cache was reused
    for models in with_facing["twin"].values():
        assert set(models) == {"single-frame", "video"}
        for d in models.values():
            assert 0 <= d["wrong_facing"] <= 1 and (np.isnan(d["twin_closer"]) or 0 <= d["twin_closer"] <= 1)
    assert "depth-mirror twin" in (out / "video_eval.md").read_text()
    # a prohibitive switch cost turns nothing: the decoded rows are the plain ones
    never = with_facing["sweep"]["1e+06"]["24"]
    for name in ("filter", "video"):
        assert never[f"{name}+facing"]["pa_mpjpe"] == pytest.approx(with_facing["turning"]["errors"]["24"][name]["pa_mpjpe"], abs=1e-4)


def test_facing_flips_hand_made() -> None:
    from model.eval.video import facing_flips

    turn = torch.linspace(0.0, 1.0, 10)  # the truth turns 1 rad over 10 frames about the vertical
    axis = torch.zeros(1, 10, 3)
    axis[..., 1] = turn
    true = axis_angle_to_matrix(axis)
    same = facing_flips(true, true)
    assert same.flips_per_clip == 0 and same.wrong_facing == 0 and same.mean_error_deg < 1e-3
    flipped = axis.clone()
    flipped[0, 6:, 1] += torch.pi  # turns round at frame 6 and stays
    f = facing_flips(axis_angle_to_matrix(flipped), true)
    assert f.flips_per_clip == 1 and f.clips_with_flip == 1 and abs(f.wrong_facing - 0.4) < 1e-6
    assert f.early_flips_per_clip == 0  # frame 6 is past the first EARLY_FRAMES
    early = axis.clone()
    early[0, 2:, 1] += torch.pi  # turns round at frame 2: a flip into the first frames
    e = facing_flips(axis_angle_to_matrix(early), true)
    assert e.flips_per_clip == 1 and e.early_flips_per_clip == 1


def test_still_drift_of_the_untrained_video_model_is_zero(body) -> None:
    from model.eval.video import still_drift

    backbone = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=0, body=body, precision="fp32")
    temporal = TemporalRegressor(TemporalConfig(hidden_dim=16, regressor_hidden_dim=64, init_state="first_frame"), body.mean_params)
    temporal.regressor.load_state_dict(backbone.net.regressor.state_dict())
    seq = SequencePredictor(backbone, temporal)
    phi = torch.randn(3, 512)
    gt = torch.randn(3, 14, 3) * 0.3
    d = still_drift(seq, phi, 6, gt)
    assert d.first < 1e-3 and d.worst_clip < 1e-3
    # the same answer: the same error against the truth
    assert d.truth["video"]["mpjpe"] == pytest.approx(d.truth["single-frame"]["mpjpe"], abs=1e-2)
    assert d.truth["video"]["pa_mpjpe"] == pytest.approx(d.truth["single-frame"]["pa_mpjpe"], abs=1e-2)
    assert still_drift(seq, phi, 6).truth == {}
    with torch.no_grad():
        temporal.encoder.proj.weight.normal_(0, 0.05)
    moved = still_drift(seq, phi, 6)
    assert moved.later_mean > 0.1 and moved.later_mean <= moved.later_max <= moved.worst_clip
    with pytest.raises(ValueError, match="frames"):
        still_drift(seq, phi, 1)


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


def test_feature_change_hand_made() -> None:
    from model.eval.video import feature_change

    still = torch.ones(2, 5, 4)
    assert feature_change(still) == 0.0
    steps = torch.zeros(1, 3, 2)
    steps[0, :, 0] = torch.tensor([1.0, 2.0, 3.0])  # norms 1, 2, 3 (mean 2); every change has norm 1
    assert feature_change(steps) == pytest.approx(0.5)


def test_command_line_overrides_reach_the_video_config() -> None:
    """``--seed`` repeats a video run with another seed (it was silently ignored before)."""
    from model.train.__main__ import build_parser
    from model.train.video import config_from_args

    path = str(Path(__file__).resolve().parents[2] / "configs" / "train" / "video-motion.yaml")
    args = build_parser().parse_args(["--config", path, "--seed", "3", "--threads", "1", "--out-dir", "runs/x"])
    config = config_from_args(args)
    assert (config.runtime.seed, config.runtime.threads, config.runtime.out_dir) == (3, 1, "runs/x")
    assert config_from_args(build_parser().parse_args(["--config", path])).runtime == load_video_config(path).runtime
    with pytest.raises(ConfigError, match="workers"):
        config_from_args(build_parser().parse_args(["--config", path, "--workers", "2"]))

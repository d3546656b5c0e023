"""The real-video clips loader, the metrics of ``model.eval.video_real`` and its CLI on a tiny backbone."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_support import write_tiny_checkpoint

from model.body.joint_names import COCO17_NAMES
from model.data.real_video import DEFAULT_ROOT, RealClip, load_real_clips
from model.eval.video import MODELS
from model.eval.video_real import (
    clip_error_2d,
    consecutive_distance,
    count_flips,
    joints_jitter,
    keypoint_jitter,
    main,
)
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor
from model.nets.checkpoint import VIDEO_FORMAT, body_model_entry, save_checkpoint
from model.nets.temporal import TemporalConfig, TemporalRegressor


# ---------------------------------------------------------------------------------------- loader
@pytest.fixture(scope="module")
def clips() -> list[RealClip]:
    return load_real_clips()


def test_committed_clips_load(clips) -> None:
    by_id = {c.id: c for c in clips}
    assert list(by_id) == ["cyclist", "suit_rider", "passenger"]
    assert len(by_id["cyclist"]) >= 30 and by_id["cyclist"].still
    assert len(by_id["suit_rider"]) >= 8 and len(by_id["passenger"]) == 120
    for c in clips:
        frames = [f.frame for f in c.frames]
        assert frames == list(range(frames[0], frames[-1] + 1))  # consecutive
        assert (
            c.keypoints.shape == (len(c), 17, 3) and c.valid.shape == (len(c), 17) and c.box_heights.shape == (len(c),)
        )
        assert sum(f.detected for f in c.frames) >= len(c) - 1
        first = c.frames[0]
        image = first.image()
        assert image.shape == (first.crop_side, first.crop_side, 3) and image.dtype == np.uint8
        kp = c.keypoints[c.valid]
        assert (kp[:, :2] >= -1).all() and (kp[:, :2] <= first.crop_side + 1).all()
    # out-of-view joints the review excluded are never valid
    passenger = by_id["passenger"]
    arms = [COCO17_NAMES.index(n) for n in ("left_wrist", "right_elbow", "left_hip")]
    assert not passenger.valid[:, arms].any() and passenger.valid[:, COCO17_NAMES.index("nose")].all()
    # the frame without a detection has NaN keypoints and no valid joint
    missed = [f for f in by_id["suit_rider"].frames if not f.detected]
    assert all(np.isnan(f.keypoints).all() and not f.valid.any() for f in missed)
    # source coordinates: the crop's corner maps to the crop box's corner
    f = by_id["cyclist"].frames[0]
    np.testing.assert_allclose(f.to_source(np.zeros(2)), f.crop_box[:2])


def test_loader_selects_and_rejects(tmp_path) -> None:
    assert [c.id for c in load_real_clips(clips=["passenger", "cyclist"])] == ["passenger", "cyclist"]
    with pytest.raises(ValueError, match="unknown clips"):
        load_real_clips(clips=["nobody"])
    data = json.loads((DEFAULT_ROOT / "clips.json").read_text())
    data["clips"].append(data["clips"][0])
    (tmp_path / "clips.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="duplicated"):
        load_real_clips(tmp_path)
    data["clips"] = [dict(data["clips"][0], frames=list(reversed(data["clips"][0]["frames"])))]
    (tmp_path / "clips.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="increasing"):
        load_real_clips(tmp_path)
    data["clips"] = [dict(data["clips"][0], excluded_joints=["tail"])]
    (tmp_path / "clips.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unknown joints"):
        load_real_clips(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_real_clips(tmp_path / "missing")


# ---------------------------------------------------------------------------------------- metrics
def test_keypoint_jitter_known_answers() -> None:
    t = np.arange(5, dtype=np.float64)
    linear = np.stack([np.stack([3 * t, -t], -1), np.stack([t * 0 + 7, 2 * t], -1)], 1)  # (5, 2, 2), constant velocity
    assert keypoint_jitter(linear, np.full(5, 10.0)) == pytest.approx(0.0)
    spike = np.zeros((3, 2, 2))
    spike[1, 0] = (3.0, 4.0)  # |0 - 2 * (3, 4) + 0| = 10
    assert keypoint_jitter(spike, np.array([1.0, 10.0, 1.0])) == pytest.approx(0.5)  # joints 0 (1.0) and 1 (0.0)
    mask = np.ones((3, 2), bool)
    mask[2, 1] = False  # joint 1 not seen in the last frame: only joint 0 counts
    assert keypoint_jitter(spike, np.full(3, 10.0), mask) == pytest.approx(1.0)
    assert math.isnan(keypoint_jitter(spike, np.full(3, 10.0), np.zeros((3, 2), bool)))
    assert math.isnan(keypoint_jitter(spike[:2], np.full(2, 10.0)))
    with pytest.raises(ValueError, match="positive"):
        keypoint_jitter(spike, np.zeros(3))


def test_3d_jitter_drift_and_flips_known_answers() -> None:
    torch.manual_seed(0)
    body = torch.randn(14, 3) * 0.3
    t = torch.arange(6, dtype=torch.float32)[:, None, None]
    walking = body + t * torch.tensor([0.05, 0.0, 0.02])  # the whole body translates: nothing moves pelvis-centred
    assert joints_jitter(walking) == pytest.approx(0.0, abs=1e-3)
    assert consecutive_distance(walking) == pytest.approx(0.0, abs=1e-3)
    waving = body.repeat(6, 1, 1)
    waving[:, 9, 0] += 0.01 * t[:, 0, 0] ** 2  # right wrist (LSP-14 index 9) accelerates 2 cm/frame^2
    assert joints_jitter(waving) == pytest.approx(20.0 / 14, rel=1e-4)  # mm/frame^2, mean over 14 joints
    # consecutive distances 10, 30, 50, 70, 90 mm of one joint of 14
    assert consecutive_distance(waving) == pytest.approx(50.0 / 14, rel=1e-4)
    yaw = torch.tensor([0.0, 0.1, 0.2, math.pi + 0.2, math.pi + 0.3, 0.3])
    root = axis_angle_to_matrix(torch.stack([torch.zeros(6), yaw, torch.zeros(6)], -1))
    assert count_flips(root) == 2
    assert count_flips(root[:3]) == 0


def test_clip_error_2d_against_blazepose(clips) -> None:
    clip = clips[0]
    kp = np.nan_to_num(clip.keypoints[..., :2])
    assert clip_error_2d(kp, clip) == pytest.approx(0.0)
    shifted = kp + np.array([[[0.0, 0.1]]]) * np.array([f.box_height for f in clip.frames])[:, None, None]
    assert clip_error_2d(shifted, clip) == pytest.approx(0.1)


# ---------------------------------------------------------------------------------------- CLI
def write_checkpoints(tmp: Path) -> Path:
    """A tiny random backbone and an untrained video model on its features (which answers as the single frame)."""
    backbone = write_tiny_checkpoint(tmp / "backbone.pt", seed=0)
    predictor = Predictor.from_checkpoint(backbone, device="cpu")
    net, body = predictor.net, predictor.body_model
    tcfg = TemporalConfig(hidden_dim=16, regressor_hidden_dim=net.config.regressor_hidden_dim)
    temporal = TemporalRegressor(tcfg, body.mean_params)
    temporal.regressor.load_state_dict(net.regressor.state_dict())
    return save_checkpoint(
        {"format": VIDEO_FORMAT, "model": temporal.state_dict(), "temporal_config": tcfg.to_dict(),
         "body_model": body_model_entry(body.info), "step": 1,
         "backbone": {"path": str(backbone), "checkpoint_id": predictor.checkpoint_id, "input_size": predictor.input_size,
                      "resolution_bounds": list(predictor.ranges.bounds), "feature_dim": net.feature_dim}},
        tmp / "video.pt",
    )  # fmt: skip


def test_cli_end_to_end_untrained_video_equals_single_frame(tmp_path, capsys) -> None:
    video = write_checkpoints(tmp_path)
    root = tmp_path / "set"  # a small copy of the committed set: two clips, the passenger cut to 12 frames
    data = json.loads((DEFAULT_ROOT / "clips.json").read_text())
    keep = []
    for c in data["clips"]:
        if c["id"] == "passenger":
            c["frames"] = c["frames"][:12]
        if c["id"] in ("cyclist", "passenger"):
            keep.append(c)
            for f in c["frames"]:
                (root / "crops" / f["file"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(DEFAULT_ROOT / "crops" / f["file"], root / "crops" / f["file"])
    (root / "clips.json").write_text(json.dumps(dict(data, clips=keep)))
    out = tmp_path / "eval"
    main(
        [
            "--video-checkpoint",
            str(video),
            "--root",
            str(root),
            "--heights",
            "32,52",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    result = json.loads((out / "video_real.json").read_text())
    assert [c["id"] for c in result["clips"]] == ["cyclist", "passenger"] and result["heights"] == [32, 52]
    for h in ("32", "52"):
        for clip in ("cyclist", "passenger"):
            rows = result["per_clip"][clip][h]
            assert set(rows) == set(MODELS)
            for m in MODELS:
                assert all(
                    rows[m][k] is not None and rows[m][k] >= 0 for k in ("error_2d", "jitter_2d", "jitter_3d", "flips")
                )
            for k in ("error_2d", "jitter_2d", "jitter_3d"):  # the untrained GRU is the single-frame model
                assert rows["video"][k] == pytest.approx(rows["single-frame"][k], rel=1e-3, abs=1e-5)
            assert rows["video"]["flips"] == rows["single-frame"]["flips"]
            assert rows["filter"]["jitter_3d"] < rows["single-frame"]["jitter_3d"]  # the filter smooths
        assert result["per_clip"]["cyclist"][h]["video"]["still_drift"] > 0
        assert result["per_clip"]["passenger"][h]["video"]["still_drift"] is None  # not a still clip
        mean = result["mean"][h]["single-frame"]["error_2d"]
        assert mean == pytest.approx(
            np.mean([result["per_clip"][c][h]["single-frame"]["error_2d"] for c in ("cyclist", "passenger")])
        )
    assert result["blazepose_reference"]["per_clip"]["cyclist"]["jitter_2d"] > 0
    md = (out / "video_real.md").read_text()
    assert "BlazePose (native)" in md and "### cyclist" in md and "| 52 px | video |" in md
    assert md in capsys.readouterr().out
    assert (out / "video_real_strip.png").stat().st_size > 1000
    noisy = tmp_path / "eval-realistic"
    main(["--video-checkpoint", str(video), "--root", str(root), "--heights", "32", "--out", str(noisy), "--no-progress", "--clips", "cyclist", "--camera", "realistic"])
    degraded = json.loads((noisy / "video_real.json").read_text())
    assert degraded["camera"] == "realistic" and result["camera"] == "clean"
    assert degraded["per_clip"]["cyclist"]["32"]["single-frame"] != result["per_clip"]["cyclist"]["32"]["single-frame"]
    boxed = tmp_path / "eval-box"
    main(["--video-checkpoint", str(video), "--root", str(root), "--heights", "32", "--out", str(boxed), "--no-progress", "--clips", "cyclist", "--framing", "box"])
    cut = json.loads((boxed / "video_real.json").read_text())
    assert cut["framing"] == "box" and result["framing"] == "crop" and "framing: box" in (boxed / "video_real.md").read_text()
    box_rows, crop_rows = cut["per_clip"]["cyclist"]["32"], result["per_clip"]["cyclist"]["32"]
    assert box_rows["single-frame"]["error_2d"] != crop_rows["single-frame"]["error_2d"]  # another input
    # keypoints come back in the saved crop's pixels either way: errors of the same order (box heights)
    assert 0 < box_rows["single-frame"]["error_2d"] < 1.0 and 0 < crop_rows["single-frame"]["error_2d"] < 1.0
    # a backbone alone: its single-frame and filter rows, the same numbers as with its video model
    alone = tmp_path / "eval-backbone"
    backbone = json.loads((out / "video_real.json").read_text())["backbone_checkpoint"]
    main(["--checkpoint", str(backbone), "--root", str(root), "--heights", "32", "--out", str(alone), "--no-progress", "--clips", "cyclist"])
    solo = json.loads((alone / "video_real.json").read_text())
    assert solo["models"] == ["single-frame", "filter"] and set(solo["per_clip"]["cyclist"]["32"]) == {"single-frame", "filter"}
    for m in ("single-frame", "filter"):
        assert solo["per_clip"]["cyclist"]["32"][m] == pytest.approx(crop_rows[m])
    assert "| 32 px | video |" not in (alone / "video_real.md").read_text()
    with pytest.raises(SystemExit):
        main(["--root", str(root), "--out", str(alone)])


def test_realistic_camera_degrades_each_frame_with_one_draw_per_clip(clips) -> None:
    """``--camera realistic``: same shape and type, changed pixels, seeded; a still clip's frames get
    the same effects (one draw per clip) but fresh noise (frames differ)."""
    from model.data.real_people import real_crop_at_height
    from model.eval.video_real import camera_degrade

    small = real_crop_at_height(clips[0].frames[0].image(), 32)[0]
    still = [small] * 4
    out = camera_degrade(still, seed=7)
    assert len(out) == 4 and all(o.shape == small.shape and o.dtype == np.uint8 for o in out)
    assert all(np.abs(o.astype(int) - small.astype(int)).mean() > 0.5 for o in out)
    assert all(np.array_equal(a, b) for a, b in zip(out, camera_degrade(still, seed=7)))
    assert not np.array_equal(out[0], out[1])  # fresh noise per frame
    # one draw per clip: the frames' colours agree (only the noise differs)
    assert np.abs(out[0].mean((0, 1)) - out[1].mean((0, 1))).max() < 3.0

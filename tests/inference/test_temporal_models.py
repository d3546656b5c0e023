"""model.inference.temporal: the Gaussian filter (weights, rotation projection, re-posed outputs) and the GRU adapter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor, SequencePredictor
from model.inference.temporal import GaussianFilter, GruTemporalModel, gaussian_weights, project_to_rotation
from model.nets.temporal import TemporalConfig, TemporalRegressor

TINY_NET_DICT = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)


def random_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.random_init(TINY_NET_DICT, BOUNDS, device="cpu", precision="fp32")


def test_gaussian_weights() -> None:
    valid = np.array([True, True, False, True, True, True])
    w = gaussian_weights(valid, sigma=1.0)
    assert w.shape == (6, 6)
    np.testing.assert_allclose(w[valid].sum(axis=1), 1.0)
    assert not w[2].any() and not w[:, 2].any()  # an invalid frame neither gets nor gives weight
    assert w[0, 5] == 0.0  # beyond ceil(3 sigma) = 3 frames
    assert w[4, 3] == pytest.approx(w[4, 5]) and w[4, 4] > w[4, 3] > w[4, 1] > 0  # symmetric, decreasing
    np.testing.assert_array_equal(gaussian_weights(valid, 0.0), np.diag(valid.astype(float)))


def test_project_to_rotation() -> None:
    r = axis_angle_to_matrix(torch.randn(5, 3, dtype=torch.float64))
    np.testing.assert_allclose(project_to_rotation(r).numpy(), r.numpy(), atol=1e-10)  # rotations stay
    m = r + 0.1 * torch.randn(5, 3, 3, dtype=torch.float64)
    p = project_to_rotation(m)
    eye = torch.eye(3, dtype=torch.float64).expand(5, 3, 3)
    np.testing.assert_allclose((p @ p.transpose(-1, -2)).numpy(), eye.numpy(), atol=1e-10)
    np.testing.assert_allclose(torch.det(p).numpy(), 1.0, atol=1e-10)


def test_sigma_zero_reproduces_the_predictor(predictor: Predictor) -> None:
    crops = [random_rgb(48, 30, seed=i) for i in range(3)] + [random_rgb(100, 100, seed=9)]
    preds = predictor.predict(crops, include_vertices=True)
    frames = [preds[0], None, preds[1], preds[2], preds[3]]
    out = GaussianFilter(predictor.body_model, predictor.input_size, sigma=0.0).smooth(frames, include_vertices=True)
    assert out[1] is None
    for p, q in zip([preds[0], preds[1], preds[2], preds[3]], [out[0], out[2], out[3], out[4]]):
        assert q is not None
        for name in ("betas", "camera_weak", "translation", "joints3d_smpl24", "joints3d_coco17", "vertices"):
            np.testing.assert_allclose(getattr(q, name), getattr(p, name), atol=2e-4, err_msg=name)
        np.testing.assert_allclose(q.keypoints2d_coco17, p.keypoints2d_coco17, atol=1e-2 * p.input_size / 64)
        np.testing.assert_allclose(
            axis_angle_to_matrix(torch.from_numpy(q.pose)), axis_angle_to_matrix(torch.from_numpy(p.pose)), atol=1e-4
        )
        assert q.resolution_index == p.resolution_index and q.input_size == p.input_size


def test_smoothing_reduces_jitter(predictor: Predictor) -> None:
    [base] = predictor.predict([random_rgb(64, 64)])
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(20):
        noisy_pose = base.pose + rng.normal(0, 0.05, base.pose.shape).astype(np.float32)
        noisy_betas = base.betas + rng.normal(0, 0.3, base.betas.shape).astype(np.float32)
        frames.append(replace(base, pose=noisy_pose, betas=noisy_betas))
    raw = GaussianFilter(predictor.body_model, predictor.input_size, sigma=0.0).smooth(frames)  # re-posed as is
    out = GaussianFilter(predictor.body_model, predictor.input_size, sigma=2.0).smooth(frames)
    raw_jitter = np.abs(np.diff([f.joints3d_smpl24 for f in raw], axis=0)).mean()  # type: ignore[union-attr]
    smooth_jitter = np.abs(np.diff([f.joints3d_smpl24 for f in out], axis=0)).mean()  # type: ignore[union-attr]
    assert smooth_jitter < 0.5 * raw_jitter
    assert all(f is not None and f.vertices is None for f in out)


def test_all_frames_missing() -> None:
    out = GaussianFilter(body=None, input_size=64, sigma=1.0).smooth([None, None])  # type: ignore[arg-type]
    assert out == [None, None]


def test_filter_summary_and_bad_sigma(predictor: Predictor) -> None:
    summary = GaussianFilter(predictor.body_model, predictor.input_size, sigma=2).summary()
    assert summary["kind"] == "filter" and summary["name"] == "gaussian-chordal" and summary["sigma"] == 2.0
    with pytest.raises(ValueError, match="sigma"):
        GaussianFilter(predictor.body_model, predictor.input_size, sigma=-1.0)


def test_gru_adapter(predictor: Predictor) -> None:
    config = TemporalConfig(hidden_dim=16, regressor_hidden_dim=64, chunk_size=4, chunk_overlap=1)
    gru = GruTemporalModel(SequencePredictor(predictor, TemporalRegressor(config, predictor.body_model.mean_params)))
    assert gru.smooth([None, None]) == [None, None]  # no person anywhere: nothing to run
    preds = predictor.predict([random_rgb(48, 30, seed=i) for i in range(2)])
    out = gru.smooth([preds[0], None, preds[1]], include_vertices=True)
    assert out[1] is None and out[0] is not None and out[2] is not None and out[2].vertices is not None
    assert out[0].input_size == preds[0].input_size
    summary = gru.summary()
    assert summary["kind"] == "gru" and summary["bidirectional"] is False and summary["checkpoint_id"] == "untrained"


def test_turn_limited_turns_a_flipped_frame_and_keeps_the_rest(predictor: Predictor) -> None:
    """A frame whose body is turned round (heading +180 degrees) comes back turned by at most the
    limit from its neighbour, posed again (joints, keypoints, vertices from the new root); frames the
    limit does not touch are the inner model's answers unchanged."""
    from model.geometry.heading import heading_angle, rotation_about_y
    from model.geometry.rotations import matrix_to_axis_angle
    from model.inference.temporal import TurnLimited

    crops = [random_rgb(64, 40, seed=i) for i in range(4)]
    preds = predictor.predict(crops, include_vertices=True)
    root = axis_angle_to_matrix(torch.from_numpy(np.stack([p.pose[0] for p in preds])).double())
    flipped = matrix_to_axis_angle(rotation_about_y(torch.tensor(torch.pi * 0.98, dtype=torch.float64)) @ root[2]).float().numpy()
    pose2 = preds[2].pose.copy()
    pose2[0] = flipped
    frames = [preds[0], preds[1], replace(preds[2], pose=pose2), None, preds[3]]
    inner = GaussianFilter(predictor.body_model, predictor.input_size, sigma=0.0)
    limited = TurnLimited(inner, predictor.body_model, predictor.input_size, max_turn_deg=30.0)
    plain = inner.smooth(frames, include_vertices=True)
    out = limited.smooth(frames, include_vertices=True)
    assert out[3] is None
    headings = heading_angle(axis_angle_to_matrix(torch.from_numpy(np.stack([p.pose[0] for p in out if p is not None])).double()))
    steps = torch.rad2deg(torch.remainder(headings[1:] - headings[:-1] + torch.pi, 2 * torch.pi) - torch.pi).abs()
    assert float(steps[:2].max()) <= 30.0 + 1e-3  # frame 1 -> 2 at most 30 degrees
    assert out[0] is plain[0] or np.array_equal(out[0].joints3d_smpl24, plain[0].joints3d_smpl24)
    moved = out[2]
    assert moved is not None and plain[2] is not None
    assert not np.allclose(moved.joints3d_smpl24, plain[2].joints3d_smpl24, atol=1e-3)  # the body was turned and posed again
    np.testing.assert_allclose(moved.pose[1:], plain[2].pose[1:], atol=1e-5)  # only the root changed
    np.testing.assert_allclose(moved.translation, plain[2].translation, atol=1e-6)
    assert moved.vertices is not None and moved.vertices.shape == plain[2].vertices.shape
    summary = limited.summary()
    assert summary["max_turn_deg"] == 30.0 and summary["kind"] == "filter" and "30 degrees per frame" in summary["description"]
    with pytest.raises(ValueError, match="max_turn_deg"):
        TurnLimited(inner, predictor.body_model, predictor.input_size, max_turn_deg=0.0)
    assert limited.smooth([None, None]) == [None, None]

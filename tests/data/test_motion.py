"""Tests of the procedural motion clips (model/data/motion.py)."""

from __future__ import annotations

import math

import pytest
import torch

from model.body.model import load_body_model
from model.data.motion import MOTION_FAMILIES, MotionClip, MotionConfig, ground_clip, sample_clip, sample_clips
from model.data.poses import PosePrior, stride_length
from model.geometry.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


WALK = MotionConfig(length=25, idle_prob=0.0, run_prob=0.0, gesture_prob=0.0, start_stop_prob=0.0)
IDLE = MotionConfig(length=25, idle_prob=1.0)


def _posed(body, clip: MotionClip, betas: torch.Tensor | None = None):
    betas = torch.zeros(clip.length, 10) if betas is None else betas.reshape(1, 10).expand(clip.length, 10)
    with torch.no_grad():
        return body(betas, clip.pose, clip.transl)


def test_clip_shapes_and_dtypes():
    cfg = MotionConfig(length=20, fps=30.0)
    clips = sample_clips(6, cfg, _gen(0))
    assert len(clips) == 6
    for c in clips:
        assert c.pose.shape == (20, 24, 3) and c.pose.dtype == torch.float32
        assert c.transl.shape == (20, 3) and c.transl.dtype == torch.float32
        assert c.speed.shape == (20,) and c.heading.shape == (20,) and c.phase.shape == (20,)
        assert c.fps == 30.0 and c.length == 20
        assert c.family in MOTION_FAMILIES
        assert torch.isfinite(c.pose).all() and torch.isfinite(c.transl).all()
        lo, hi = cfg.speed_range
        assert (c.speed >= lo).all() and (c.speed <= hi + 1e-6).all()


def test_deterministic_given_seed():
    a = sample_clips(4, MotionConfig(), _gen(3))
    b = sample_clips(4, MotionConfig(), _gen(3))
    c = sample_clips(4, MotionConfig(), _gen(4))
    for x, y in zip(a, b):
        assert torch.equal(x.pose, y.pose) and torch.equal(x.transl, y.transl) and x.family == y.family
    assert any(not torch.allclose(x.pose, z.pose) for x, z in zip(a, c))


def test_families_all_occur():
    fams = {c.family for c in sample_clips(120, MotionConfig(length=4), _gen(5))}
    assert fams == set(MOTION_FAMILIES)


@pytest.mark.parametrize(
    "kwargs",
    [{"length": 0}, {"fps": 0.0}, {"speed_range": (2.0, 1.0)}, {"idle_prob": 1.5}, {"max_accel": -1.0}, {"speed_range": (0.0, 9.0)}],
)
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        MotionConfig(**kwargs)


def test_motion_is_smooth_compared_with_random_poses(body):
    poses = PosePrior().sample(24, _gen(6)).pose
    with torch.no_grad():
        j = body(torch.zeros(24, 10), poses).joints
    baseline = (j[2:] - 2 * j[1:-1] + j[:-2]).norm(dim=-1).max(-1).values.median()
    for c in sample_clips(8, MotionConfig(length=20), _gen(7)):
        j = _posed(body, c).joints
        second = (j[2:] - 2 * j[1:-1] + j[:-2]).norm(dim=-1).max()
        assert second < 0.25 * baseline, (c.family, float(second), float(baseline))


def test_translation_follows_speed_and_heading():
    for c in sample_clips(10, MotionConfig(length=20), _gen(8)):
        step = c.transl[1:] - c.transl[:-1]
        ground_speed = step[:, [0, 2]].norm(dim=-1) * c.fps
        assert torch.allclose(ground_speed, 0.5 * (c.speed[1:] + c.speed[:-1]), atol=1e-3)
        moving = c.speed[1:] > 0.3
        if moving.any():
            direction = torch.atan2(step[:, 0], step[:, 2])
            mid_heading = 0.5 * (c.heading[1:] + c.heading[:-1])
            err = torch.remainder(direction - mid_heading + math.pi, 2 * math.pi) - math.pi
            assert err[moving].abs().max() < math.radians(3.0)
            # the body faces where it walks (up to the gait's pelvis rotation and the turn lean)
            fwd = axis_angle_to_matrix(c.pose[:, 0])[:, :, 2]
            facing = torch.atan2(fwd[:, 0], fwd[:, 2])
            err = torch.remainder(facing - c.heading + math.pi, 2 * math.pi) - math.pi
            assert err[1:][moving].abs().max() < math.radians(15.0)


def test_heading_and_speed_change_smoothly():
    cfg = MotionConfig(length=50, idle_prob=0.0, heading_change_deg_per_s=30.0, max_accel=1.0)
    for c in sample_clips(10, cfg, _gen(9)):
        rate = (c.heading[1:] - c.heading[:-1]) * c.fps
        assert rate.abs().max() <= math.radians(30.0) + 1e-4
        accel = (c.speed[1:] - c.speed[:-1]) * c.fps
        assert accel.abs().max() <= 1.0 * 1.05 + 1e-3


def test_idle_clips_stand_still_and_sway(body):
    families = set()
    for c in sample_clips(8, IDLE, _gen(10)):
        families.add(c.family)
        assert c.family in ("standing", "phone", "pointing", "carrying")
        assert (c.speed == 0).all()
        assert torch.allclose(c.transl[:, [0, 2]], c.transl[:1, [0, 2]].expand(c.length, 2))
        assert torch.allclose(c.heading, c.heading[:1].expand(c.length))
        j = _posed(body, c).joints
        motion = (j - j[:1]).norm(dim=-1).max()
        # standing: only sway and head turns; gestures may raise or lower an arm
        assert 1e-4 < motion < (0.15 if c.family == "standing" else 1.2)
    assert "standing" in families and len(families) > 1


def test_feet_on_the_ground_and_stance_foot_does_not_skate(body):
    feet = torch.isin(body.part_labels, torch.tensor([7, 8, 10, 11]))
    for c in sample_clips(4, WALK, _gen(11)):
        v = _posed(body, c).vertices
        lowest = v[..., 1].min(1).values
        assert lowest.abs().max() < 0.005, "every frame has its lowest point on the ground"
        fv = v[:, feet]
        # horizontal speed of the sole points touching the ground in consecutive frames
        touching = (fv[1:, :, 1] < 0.01) & (fv[:-1, :, 1] < 0.01)
        vel = (fv[1:] - fv[:-1])[..., [0, 2]].norm(dim=-1) * c.fps
        skate = torch.stack([vel[t][touching[t]].median() for t in range(c.length - 1) if touching[t].any()])
        assert skate.median() < 0.3 * c.speed.mean(), (float(skate.median()), float(c.speed.mean()))


def test_step_length_consistent_with_speed():
    for c in sample_clips(6, WALK, _gen(12)):
        duration = (c.length - 1) / c.fps
        cycles = float(c.phase[-1] - c.phase[0])
        distance = float((c.transl[1:, [0, 2]] - c.transl[:-1, [0, 2]]).norm(dim=-1).sum())
        stride = distance / cycles
        expected = float(stride_length(c.speed.mean()))
        assert abs(stride - expected) < 0.1 * expected
        assert 0.5 < stride < 2.0 and cycles < 3.0 * duration


def test_running_has_flight_and_longer_strides():
    cfg = MotionConfig(length=30, idle_prob=0.0, run_prob=1.0, start_stop_prob=0.0, run_speed=(3.0, 3.5))
    c = sample_clip(cfg, _gen(13))
    assert c.family == "running"
    assert float(c.speed.mean()) / float(stride_length(c.speed.mean())) < 2.0  # < 4 steps per second
    assert float(c.transl[:, 1].max() - c.transl[:, 1].min()) > 0.04  # vertical bob


def test_ground_clip_and_transform(body):
    c = sample_clip(WALK, _gen(14))
    betas = torch.full((10,), 1.5)
    g = ground_clip(c, body, betas)
    v = _posed(body, g, betas).vertices
    assert abs(float(v[..., 1].min())) < 1e-4
    assert torch.allclose(g.transl[:, [0, 2]], c.transl[:, [0, 2]])
    t = c.transformed(yaw=math.pi / 2, offset=(1.0, 0.0, -2.0))
    assert torch.allclose(t.heading, c.heading + math.pi / 2)
    j0 = _posed(body, c).joints
    j1 = _posed(body, t).joints
    rot = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    assert torch.allclose(j0 @ rot.T + torch.tensor([1.0, 0.0, -2.0]), j1, atol=1e-4)

"""Tests of the procedural pose prior (model/data/poses.py)."""

from __future__ import annotations

import math

import pytest
import torch

from model.body.joint_names import SMPL_FLIP_PERMUTATION, SMPL_JOINT_NAMES
from model.body.model import load_body_model
from model.data.pose_families import TILTED_FAMILIES
from model.data.poses import (
    FAMILIES,
    HELD_OUT_FAMILIES,
    JOINT_LIMITS_DEG,
    PosePrior,
    PosePriorConfig,
    clamp_to_limits,
    euler_to_matrix,
    euler_to_pose,
    gait_pose,
    limit_violation,
    matrix_to_euler,
    mirror_pose,
    pose_to_euler,
    sample_betas,
    stride_frequency,
    stride_length,
)

J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _only(family: str, **kw) -> PosePrior:
    """One family's builder; the head and torso not turned (the tests check the family's shape)."""
    return PosePrior(PosePriorConfig(family_weights={family: 1.0}, **{"turn_prob": 0.0, **kw}))


def _joints(body, pose: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return body(torch.zeros(pose.shape[0], 10), pose).joints


def test_sample_shapes_and_dtypes():
    s = PosePrior().sample(64, _gen(0))
    assert s.pose.shape == (64, 24, 3) and s.pose.dtype == torch.float32
    assert s.family.shape == (64,) and s.family.dtype == torch.long
    assert s.mirrored.shape == (64,) and s.mirrored.dtype == torch.bool
    assert torch.isfinite(s.pose).all()
    assert int(s.family.min()) >= 0 and int(s.family.max()) < len(FAMILIES)
    assert set(s.family_names()) <= set(FAMILIES)
    assert PosePrior().sample(0, _gen(0)).pose.shape == (0, 24, 3)


def test_deterministic_given_seed():
    a = PosePrior().sample(200, _gen(7))
    b = PosePrior().sample(200, _gen(7))
    c = PosePrior().sample(200, _gen(8))
    assert torch.equal(a.pose, b.pose) and torch.equal(a.family, b.family) and torch.equal(a.mirrored, b.mirrored)
    assert not torch.allclose(a.pose, c.pose)


def test_family_frequencies_follow_weights():
    cfg = PosePriorConfig()
    n = 6000
    s = PosePrior(cfg).sample(n, _gen(1))
    freq = torch.bincount(s.family, minlength=len(FAMILIES)).float() / n
    probs = cfg.probabilities()
    assert (freq[probs > 0] > 0).all(), "every training family appears"
    assert (freq[[FAMILIES.index(f) for f in HELD_OUT_FAMILIES]] == 0).all(), "held-out families never appear"
    sigma = torch.sqrt(probs * (1 - probs) / n)
    assert ((freq - probs).abs() <= 5 * sigma + 1e-3).all(), (freq, probs)
    # walking and standing are the most common
    top2 = set(torch.topk(probs, 2).indices.tolist())
    assert top2 == {FAMILIES.index("walking"), FAMILIES.index("standing")}


def test_mirror_probability_and_zero_weight_families():
    s = PosePrior(PosePriorConfig(family_weights={"walking": 1.0, "sitting": 0.0}, mirror_prob=0.25)).sample(4000, _gen(2))
    assert (s.family == FAMILIES.index("walking")).all()
    assert abs(s.mirrored.float().mean().item() - 0.25) < 0.03


@pytest.mark.parametrize(
    "kwargs",
    [
        {"family_weights": {"flying": 1.0}},
        {"family_weights": {"walking": 0.0}},
        {"family_weights": {"walking": -1.0}},
        {"noise_deg": -1.0},
        {"mirror_prob": 1.5},
        {"turn_prob": -0.1},
        {"penetration_overlap": 2.0},
        {"max_redraws": -1},
    ],
)
def test_config_validation(kwargs):
    with pytest.raises(ValueError):
        PosePriorConfig(**kwargs)


def test_sample_betas():
    b = sample_betas(500, _gen(0), clip=2.0)
    assert b.shape == (500, 10) and b.dtype == torch.float32
    assert b.abs().max() <= 2.0 and 0.7 < b.std() < 1.2
    assert torch.equal(b, sample_betas(500, _gen(0), clip=2.0))


def test_euler_roundtrip():
    e = (torch.rand(1000, 3, generator=_gen(0), dtype=torch.float64) * 2 - 1) * torch.tensor([math.pi, math.pi, 1.5])
    r = euler_to_matrix(e)
    assert torch.allclose(r @ r.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(1000, 3, 3), atol=1e-12)
    assert torch.allclose(matrix_to_euler(r), e, atol=1e-9)
    pose = (torch.rand(50, 24, 3, generator=_gen(1), dtype=torch.float64) * 2 - 1) * 1.5
    assert torch.allclose(euler_to_pose(pose_to_euler(pose)), pose, atol=1e-9)


def test_clamp_projects_into_limits_and_is_idempotent():
    pose = (torch.rand(400, 24, 3, generator=_gen(3)) * 2 - 1) * 2.5
    clamped = clamp_to_limits(pose)
    assert clamped.shape == pose.shape and clamped.dtype == pose.dtype
    assert torch.equal(clamped[:, 0], pose[:, 0]), "the root is never limited"
    assert limit_violation(pose).max() > 0.5, "random poses are far outside the limits"
    assert limit_violation(clamped).max() < 1e-3
    again = clamp_to_limits(clamped)
    # rotations of the re-clamped pose equal the clamped ones
    from model.geometry.rotations import axis_angle_to_matrix

    assert torch.allclose(axis_angle_to_matrix(again), axis_angle_to_matrix(clamped), atol=1e-4)


def test_clamp_keeps_valid_joints_and_limits_are_mirror_symmetric():
    s = PosePrior().sample(500, _gen(4))
    assert limit_violation(s.pose).max() < 1e-3, "sampled poses (also mirrored ones) respect the limits"
    assert torch.equal(clamp_to_limits(s.pose), s.pose)
    knee = torch.zeros(1, 24, 3)
    knee[0, J["left_knee"], 0] = -1.0  # hyperextension by 57 deg
    out = pose_to_euler(clamp_to_limits(knee))[0, J["left_knee"]]
    assert math.degrees(out[0]) == pytest.approx(JOINT_LIMITS_DEG["left_knee"][0][0], abs=1e-3)
    assert torch.allclose(limit_violation(mirror_pose(knee)).sum(), limit_violation(knee).sum())


def test_mirror_is_involution_and_mirrors_joints(body):
    pose = PosePrior(PosePriorConfig(mirror_prob=0.0)).sample(16, _gen(5)).pose
    assert torch.equal(mirror_pose(mirror_pose(pose)), pose)
    j = _joints(body, pose)
    jm = _joints(body, mirror_pose(pose))
    flipped = j[:, list(SMPL_FLIP_PERMUTATION)] * torch.tensor([-1.0, 1.0, 1.0])
    assert (jm - flipped).abs().max() < 1e-4


def test_root_is_upright_without_yaw():
    s = PosePrior().sample(1000, _gen(6))
    e = pose_to_euler(s.pose.double())
    upright = ~torch.isin(s.family, torch.tensor([FAMILIES.index(f) for f in TILTED_FAMILIES]))
    assert e[upright, 0, 1].abs().max() < math.radians(8.0), "no yaw beyond the gait's pelvis rotation"
    assert e[upright, 0, 0].abs().max() < math.radians(20.0)
    assert e[upright, 0, 2].abs().max() < math.radians(20.0)


def test_gait_is_periodic_and_smooth():
    phase = torch.linspace(0, 1, 101)[:-1]
    for speed in (0.5, 1.4, 2.5, 3.5):
        a = gait_pose(phase, speed)
        b = gait_pose(phase + 1.0, speed)
        c = gait_pose(phase + 3.0, speed)
        assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-5)
        # consecutive phases (including across the wrap-around) give close poses
        nxt = torch.roll(a, -1, 0)
        assert (nxt - a).abs().max() < math.radians(12.0)
    still = pose_to_euler(gait_pose(torch.rand(8), 0.0).double())
    assert still[:, [J["left_knee"], J["right_knee"]], 0].abs().max() < math.radians(1.0), "speed 0 is standing"


def test_gait_arms_swing_opposite_to_legs_and_knees_bend_forward(body):
    # phase 0: left heel strike -> left foot forward, left arm back
    for speed in (1.3, 3.5):
        j = _joints(body, gait_pose(torch.tensor([0.0, 0.5]), speed))
        assert j[0, J["left_ankle"], 2] > j[0, J["right_ankle"], 2] + 0.2
        assert j[0, J["left_wrist"], 2] < j[0, J["right_wrist"], 2] - 0.05
        assert j[1, J["right_ankle"], 2] > j[1, J["left_ankle"], 2] + 0.2
        assert j[1, J["right_wrist"], 2] < j[1, J["left_wrist"], 2] - 0.05
    # in swing (phase ~0.7 for the left leg) the knee bends with the heel behind the knee
    e = pose_to_euler(gait_pose(torch.tensor([0.7]), 1.3).double())[0]
    assert math.degrees(e[J["left_knee"], 0]) > 40.0
    run = pose_to_euler(gait_pose(torch.linspace(0, 1, 50), 3.5).double())
    assert math.degrees(run[:, J["left_knee"], 0].max()) > 90.0


def test_stride_grows_with_speed():
    v = torch.linspace(0.3, 4.5, 30)
    length = stride_length(v)
    assert (length[1:] >= length[:-1]).all()
    assert 1.0 < float(stride_length(torch.tensor(1.3))) < 1.6
    assert 1.8 < float(stride_length(torch.tensor(3.5))) < 3.0
    f = stride_frequency(v)
    assert torch.allclose(f * length, v, atol=1e-5)
    assert float(stride_frequency(torch.tensor(0.0))) == 0.0


def test_standing_hands_stay_out_of_the_torso(body):
    """Gross self-penetration check: a wrist is not deep inside the torso's cross-section."""
    n = 120
    pose = _only("standing").sample(n, _gen(9)).pose
    with torch.no_grad():
        out = body(torch.zeros(n, 10), pose)
    torso = torch.isin(body.part_labels, torch.tensor([J["pelvis"], J["spine1"], J["spine2"], J["spine3"]]))
    depth = []
    for i in range(n):
        verts = out.vertices[i][torso]
        worst = -1.0
        for w in (J["left_wrist"], J["right_wrist"]):
            p = out.joints[i, w]
            sl = verts[(verts[:, 1] - p[1]).abs() < 0.03]
            if len(sl) < 20:
                continue
            lo, hi = sl.min(0).values, sl.max(0).values
            inside = torch.minimum(torch.minimum(p[0] - lo[0], hi[0] - p[0]), torch.minimum(p[2] - lo[2], hi[2] - p[2]))
            worst = max(worst, float(inside))
        depth.append(worst)
    depth_t = torch.tensor(depth)
    assert (depth_t > 0.03).float().mean() < 0.05
    assert depth_t.max() < 0.08
    # relaxed arms hang beside the body: wrists well away from the spine in x
    e = torch.rad2deg(pose_to_euler(pose.double()))
    relaxed = torch.ones(n, dtype=torch.bool)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder = e[:, J[f"{side}_shoulder"]]
        relaxed &= e[:, J[f"{side}_elbow"], 0] < 35.0  # elbow flexion
        relaxed &= -shoulder[:, 0] < 25.0  # shoulder flexion
        relaxed &= sign * shoulder[:, 1] > -25.0  # not rotated inwards (hands clasped / arms crossed)
    spine_x = out.joints[:, J["spine2"], 0]
    wrist_dx = (out.joints[:, [J["left_wrist"], J["right_wrist"]], 0] - spine_x[:, None]).abs()
    assert relaxed.sum() > 10 and wrist_dx[relaxed].min() > 0.13


def test_sitting_has_hip_flexion_near_90_deg(body):
    s = _only("sitting").sample(300, _gen(10))
    e = pose_to_euler(s.pose.double())
    flex = -torch.rad2deg(e[:, [J["left_hip"], J["right_hip"]], 0])  # x = -flexion (mirroring keeps x)
    assert 80.0 < float(flex.mean()) < 100.0
    assert float(flex.min()) > 45.0 and float(flex.max()) < 135.0
    # thighs roughly horizontal, and the pelvis lower than when standing
    j = _joints(body, s.pose[:20])
    thigh = j[:, J["left_knee"]] - j[:, J["left_hip"]]
    assert (thigh[:, 1].abs() < 0.6 * thigh.norm(dim=-1)).all()


def test_gestures_put_the_hand_where_expected(body):
    # phone: right hand near the head for the phone-at-ear variant (no mirroring, no noise)
    pose = _only("phone", noise_deg=0.0, mirror_prob=0.0).sample(60, _gen(11)).pose
    j = _joints(body, pose)
    near_head = (j[:, J["right_hand"]] - j[:, J["head"]]).norm(dim=-1) < 0.2
    assert 0.4 < near_head.float().mean() < 0.8  # 60% at the ear, the rest texting
    # pointing: the right arm is raised forward, the hand in front of the shoulder
    pose = _only("pointing", noise_deg=0.0, mirror_prob=0.0).sample(40, _gen(12)).pose
    j = _joints(body, pose)
    arm = j[:, J["right_hand"]] - j[:, J["right_shoulder"]]
    assert (arm[:, 2] > 0.25).all() and (arm[:, 1] > -0.3).all()
    # crouching: the pelvis is much closer to the feet than standing
    for fam, lo, hi in (("crouching", 0.2, 0.6), ("standing", 0.85, 1.0)):
        j = _joints(body, _only(fam).sample(30, _gen(13)).pose)
        height = j[:, J["pelvis"], 1] - j[:, [J["left_ankle"], J["right_ankle"]], 1].min(1).values
        assert lo < float(height.mean()) < hi, (fam, float(height.mean()))

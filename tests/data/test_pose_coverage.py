"""The pose prior reaches every joint's range, stays inside the limits and never self-penetrates."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.body import load_body_model
from model.body.joint_names import SMPL_JOINT_NAMES
from model.data.coverage import coverage_table
from model.data.pose_angles import limit_box
from model.data.pose_collision import COLLISION_PAIRS, penetrating, segment_distance
from model.data.poses import (
    DEFAULT_FAMILY_WEIGHTS,
    FAMILIES,
    HELD_OUT_FAMILIES,
    PosePrior,
    PosePriorConfig,
    held_out_pose_config,
    limit_violation,
    pose_to_euler,
)
from model.geometry.rotations import axis_angle_to_matrix

J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _joints(body, pose: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return body.joints_only(torch.zeros(pose.shape[0], 10), axis_angle_to_matrix(pose))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_is_inside_the_limits_and_does_not_penetrate(body, family: str) -> None:
    s = PosePrior(PosePriorConfig(family_weights={family: 1.0})).sample(64, _gen(FAMILIES.index(family)))
    assert s.pose.shape == (64, 24, 3) and torch.isfinite(s.pose).all()
    assert float(limit_violation(s.pose).max()) < 1e-4
    assert not penetrating(_joints(body, s.pose), overlap=PosePriorConfig().penetration_overlap).any()


def test_the_check_rejects_penetrating_draws(body) -> None:
    """Without the check a share of uniform poses passes a hand through the body; with it none."""
    free = PosePrior(PosePriorConfig(family_weights={"random": 1.0}, penetration_check=False)).sample(300, _gen(1))
    checked = PosePrior(PosePriorConfig(family_weights={"random": 1.0})).sample(300, _gen(1))
    overlap = PosePriorConfig().penetration_overlap
    assert penetrating(_joints(body, free.pose), overlap=overlap).float().mean() > 0.05
    assert not penetrating(_joints(body, checked.pose), overlap=overlap).any()


def test_sampling_is_deterministic_with_redraws() -> None:
    a = PosePrior().sample(200, _gen(5))
    b = PosePrior().sample(200, _gen(5))
    assert torch.equal(a.pose, b.pose) and torch.equal(a.family, b.family) and torch.equal(a.mirrored, b.mirrored)


def test_held_out_families_only_in_the_held_out_config() -> None:
    assert all(DEFAULT_FAMILY_WEIGHTS.get(f, 0.0) == 0.0 for f in HELD_OUT_FAMILIES)
    assert set(DEFAULT_FAMILY_WEIGHTS) == set(FAMILIES) - set(HELD_OUT_FAMILIES)
    s = PosePrior(held_out_pose_config()).sample(300, _gen(2))
    assert set(s.family_names()) == set(HELD_OUT_FAMILIES)


def test_random_family_reaches_every_limit() -> None:
    """Joint angles drawn uniformly inside the limits come within 10 degrees of both ends (after rejection)."""
    euler, _, _ = PosePrior(PosePriorConfig(family_weights={"random": 1.0}, noise_deg=0.0)).sample_euler(3000, _gen(3))
    lo, hi = limit_box()
    deg = math.radians(10.0)
    for j in range(1, 24):
        assert (euler[:, j].min(0).values <= lo[j] + deg).all(), SMPL_JOINT_NAMES[j]
        assert (euler[:, j].max(0).values >= hi[j] - deg).all(), SMPL_JOINT_NAMES[j]


def test_head_and_torso_turn_freely() -> None:
    turned = PosePrior(PosePriorConfig(family_weights={"standing": 1.0}, turn_prob=1.0, mirror_prob=0.0)).sample(400, _gen(4))
    still = PosePrior(PosePriorConfig(family_weights={"standing": 1.0}, turn_prob=0.0, mirror_prob=0.0)).sample(400, _gen(4))
    yaw = lambda p: torch.rad2deg(pose_to_euler(p.double())[:, [J["neck"], J["head"]], 1].sum(-1))  # noqa: E731
    assert float(yaw(turned.pose).abs().max()) > 75.0 and float(yaw(still.pose).abs().max()) < 60.0
    twist = lambda p: torch.rad2deg(pose_to_euler(p.double())[:, [J["spine1"], J["spine2"], J["spine3"]], 1].sum(-1))  # noqa: E731
    assert float(twist(turned.pose).abs().max()) > 50.0


def test_lying_and_falling_tilt_the_body(body) -> None:
    for family, lo in (("lying", 60.0), ("falling", 20.0)):
        pose = PosePrior(PosePriorConfig(family_weights={family: 1.0})).sample(100, _gen(6)).pose
        up = axis_angle_to_matrix(pose[:, 0])[:, :, 1]  # the pelvis' up axis in the world
        tilt = torch.rad2deg(torch.acos(up[:, 1].clamp(-1, 1)))
        assert float(tilt.min()) > lo - 15.0, family


def test_arms_raised_put_a_hand_above_the_head(body) -> None:
    pose = PosePrior(PosePriorConfig(family_weights={"arms_raised": 1.0}, mirror_prob=0.0)).sample(200, _gen(7)).pose
    j = _joints(body, pose)
    above = j[:, [J["left_wrist"], J["right_wrist"]], 1].max(1).values > j[:, J["head"], 1]
    assert above.float().mean() > 0.5


def test_segment_distance() -> None:
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    # parallel segments 1 apart, crossing segments, end point to segment
    assert float(segment_distance(t(0, 0, 0), t(1, 0, 0), t(0, 1, 0), t(1, 1, 0))) == pytest.approx(1.0)
    assert float(segment_distance(t(-1, 0, 0), t(1, 0, 0), t(0, -1, 0), t(0, 1, 0))) == pytest.approx(0.0, abs=1e-12)
    assert float(segment_distance(t(0, 0, 0), t(1, 0, 0), t(2, 0, 1), t(2, 0, 3))) == pytest.approx(math.sqrt(2.0))
    assert float(segment_distance(t(0, 0, 0), t(0, 0, 0), t(3, 4, 0), t(3, 4, 0))) == pytest.approx(5.0)
    # random pairs agree with a dense sampling of both segments
    g = _gen(8)
    p0, p1, q0, q1 = (torch.randn(50, 3, generator=g, dtype=torch.float64) for _ in range(4))
    s = torch.linspace(0, 1, 201, dtype=torch.float64)
    a = p0[:, None] + s[None, :, None] * (p1 - p0)[:, None]
    b = q0[:, None] + s[None, :, None] * (q1 - q0)[:, None]
    brute = torch.cdist(a, b).flatten(1).min(1).values
    exact = segment_distance(p0, p1, q0, q1)
    assert (exact <= brute + 1e-9).all() and (brute - exact).max() < 0.02


def test_collision_pairs_are_not_neighbours() -> None:
    for a, b in COLLISION_PAIRS:
        assert a != b
        assert not ({a, b} <= {"left_upper_arm", "left_forearm"} or {a, b} <= {"left_thigh", "left_shin"})


def test_coverage_table_reads_reached_ranges() -> None:
    lo, hi = (t.numpy() * 180.0 / math.pi for t in limit_box())
    lo[:, 2], hi[:, 2] = np.maximum(lo[:, 2], -90.0), np.minimum(hi[:, 2], 90.0)
    rng = np.random.default_rng(0)
    full = lo + (hi - lo) * rng.random((20000, 24, 3))
    assert all(r["reached"] for r in coverage_table(full))
    half = lo + (hi - lo) * 0.5 * rng.random((20000, 24, 3))  # only the lower half of every range
    rows = coverage_table(half)
    assert not any(r["reached"] for r in rows)
    assert all(0.4 < float(r["bins_filled"]) < 0.65 for r in rows if float(r["limit_hi"]) - float(r["limit_lo"]) >= 40.0)


def test_collision_pairs_are_mirror_symmetric() -> None:
    swap = lambda n: n.replace("left", "@").replace("right", "left").replace("@", "right")  # noqa: E731
    pairs = {frozenset(p) for p in COLLISION_PAIRS}
    assert {frozenset(swap(n) for n in p) for p in pairs} == pairs

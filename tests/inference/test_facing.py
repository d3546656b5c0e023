"""model.inference.facing: the two-state Viterbi, the facing decoder on joints, poses and Predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.body import load_body_model
from model.body.joint_names import SMPL_FLIP_PERMUTATION
from model.body.symmetry import depth_mirror_joints, depth_mirror_rotmat
from model.geometry.rotations import axis_angle_to_matrix
from model.inference.facing import consistent_facing, consistent_rotmat, viterbi_two_state

TINY_NET_DICT = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)


def test_viterbi_two_state_finds_the_cheapest_path() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = int(rng.integers(1, 7))
        trans, unary = rng.random((t - 1, 2, 2)), rng.random((t, 2))
        states = viterbi_two_state(trans, unary)
        cost = lambda s: unary[np.arange(t), s].sum() + sum(trans[k, s[k], s[k + 1]] for k in range(t - 1))  # noqa: E731
        best = min(cost(np.array([(m >> k) & 1 for k in range(t)])) for m in range(2**t))
        assert cost(states) == pytest.approx(best)
    with pytest.raises(ValueError):
        viterbi_two_state(np.zeros((3, 2, 2)), np.zeros((3, 2)))


def walking_clip(frames: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """A body turning slowly (3 degrees a frame), facing the camera: poses ``(T, 24, 3, 3)`` and joints."""
    body = load_body_model()
    pose = torch.zeros(frames, 24, 3)
    pose[:, 0, 1] = torch.deg2rad(torch.arange(frames) * 3.0 - 45.0)  # heading
    pose[:, 16, 2] = -1.0  # left arm lowered, so the body is not symmetric
    pose[:, 4, 0] = 0.4  # left knee bent
    rot = axis_angle_to_matrix(pose)
    return rot, body(torch.zeros(frames, 10), rot).joints


def test_a_run_of_turned_frames_is_turned_back_and_the_rest_kept() -> None:
    rot, joints = walking_clip()
    noisy = joints.clone()
    noisy[10:14] = depth_mirror_joints(joints[10:14], SMPL_FLIP_PERMUTATION)  # the network flipped for 4 frames
    noisy[25] = depth_mirror_joints(joints[25:26], SMPL_FLIP_PERMUTATION)[0]
    mask = consistent_facing(noisy, switch_cost_mm=30.0)
    expected = torch.zeros(30, dtype=torch.bool)
    expected[10:14] = True
    expected[25] = True
    assert torch.equal(mask, expected)
    # a clean clip is left alone; so is every frame when the price of a turn is prohibitive
    assert not consistent_facing(joints).any()
    assert not consistent_facing(noisy, switch_cost_mm=1e6).any()


def test_invalid_frames_are_skipped_and_never_turned() -> None:
    rot, joints = walking_clip()
    noisy = joints.clone()
    noisy[5:8] = depth_mirror_joints(joints[5:8], SMPL_FLIP_PERMUTATION)
    noisy[6] = 1e3  # garbage in a frame without a person
    valid = torch.ones(30, dtype=torch.bool)
    valid[6] = False
    batch = torch.stack([noisy, joints])
    mask = consistent_facing(batch, torch.stack([valid, torch.ones(30, dtype=torch.bool)]))
    assert mask.shape == (2, 30)
    assert mask[0, [5, 7]].all() and not mask[0, 6] and mask[0].sum() == 2 and not mask[1].any()


def test_consistent_rotmat_turns_the_parameters() -> None:
    rot, joints = walking_clip()
    flipped = rot.clone()
    flipped[3:6] = depth_mirror_rotmat(rot[3:6])
    body = load_body_model()
    out, mask = consistent_rotmat(flipped[None], body(torch.zeros(30, 10), flipped).joints[None])
    assert mask.shape == (1, 30) and mask[0, 3:6].all() and mask.sum() == 3
    torch.testing.assert_close(out[0], rot, atol=1e-5, rtol=0)

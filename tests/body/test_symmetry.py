"""model.body.symmetry: the sagittal mirror and the depth-mirror twin of a pose."""

from __future__ import annotations

import torch

from model.body import load_body_model
from model.body.joint_names import COCO17_FLIP_PERMUTATION, SMPL_FLIP_PERMUTATION
from model.body.symmetry import depth_mirror_joints, depth_mirror_rotmat, mirror_joints, mirror_pose, mirror_rotmat
from model.geometry.rotations import axis_angle_to_matrix


def random_pose(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.4 * torch.randn(n, 24, 3, generator=g)


def test_mirror_rotmat_is_mirror_pose_on_matrices() -> None:
    pose = random_pose(5)
    torch.testing.assert_close(
        mirror_rotmat(axis_angle_to_matrix(pose)), axis_angle_to_matrix(mirror_pose(pose)), atol=1e-6, rtol=0
    )


def test_depth_mirror_is_a_proper_involution() -> None:
    rot = axis_angle_to_matrix(random_pose(6, seed=1))
    twin = depth_mirror_rotmat(rot)
    torch.testing.assert_close(torch.det(twin), torch.ones(6, 24), atol=1e-5, rtol=0)
    torch.testing.assert_close(depth_mirror_rotmat(twin), rot, atol=1e-6, rtol=0)


def test_posed_twin_is_the_depth_reflection_and_projects_the_same() -> None:
    body = load_body_model()
    g = torch.Generator().manual_seed(2)
    betas = 0.5 * torch.randn(4, 10, generator=g)
    rot = axis_angle_to_matrix(random_pose(4, seed=3))
    a, b = body(betas, rot), body(betas, depth_mirror_rotmat(rot))
    # joint for joint the reflection of the original through the image plane, left/right relabelled
    torch.testing.assert_close(b.joints, depth_mirror_joints(a.joints, SMPL_FLIP_PERMUTATION), atol=2e-4, rtol=0)
    torch.testing.assert_close(
        b.coco17, depth_mirror_joints(a.coco17, COCO17_FLIP_PERMUTATION, a.joints[:, 0]), atol=2e-4, rtol=0
    )
    # hence the same orthographic image (x, y), with left and right swapped, and the depth reversed
    perm = torch.tensor(SMPL_FLIP_PERMUTATION)
    torch.testing.assert_close(b.joints[:, perm, :2], a.joints[..., :2], atol=2e-4, rtol=0)
    assert not torch.allclose(b.joints[..., 2], a.joints[..., 2], atol=1e-2)


def test_twin_of_a_body_facing_the_camera_faces_away() -> None:
    rot = torch.eye(3).expand(1, 24, 3, 3).clone()  # facing +z (away from the camera in the camera frame)
    twin = depth_mirror_rotmat(rot)
    forward = twin[0, 0, :, 2]  # the body's +z axis in the camera frame
    torch.testing.assert_close(forward, torch.tensor([0.0, 0.0, -1.0]))
    side = axis_angle_to_matrix(torch.tensor([[0.0, torch.pi / 2, 0.0]]))  # seen in profile
    rot[0, 0] = side[0]
    torch.testing.assert_close(depth_mirror_rotmat(rot)[0, 0, :, 2], side[0, :, 2], atol=1e-6, rtol=0)  # same facing


def test_mirror_joints_poses_the_mirrored_pose_and_keeps_extra_columns() -> None:
    body = load_body_model()
    pose = random_pose(3, seed=1)
    joints = body(torch.zeros(3, 10), pose).joints
    mirrored = body(torch.zeros(3, 10), mirror_pose(pose)).joints
    torch.testing.assert_close(mirror_joints(joints, SMPL_FLIP_PERMUTATION), mirrored, atol=1e-4, rtol=0)
    torch.testing.assert_close(mirror_joints(mirror_joints(joints, SMPL_FLIP_PERMUTATION), SMPL_FLIP_PERMUTATION), joints)
    with_conf = torch.cat([joints, torch.arange(24.0).expand(3, 24)[..., None]], dim=-1)
    before = with_conf.clone()
    out = mirror_joints(with_conf, SMPL_FLIP_PERMUTATION)
    assert torch.equal(out[..., 3], with_conf[..., 3][:, list(SMPL_FLIP_PERMUTATION)])  # a confidence moves with its joint, unsigned
    assert torch.equal(with_conf, before)  # the input is not modified

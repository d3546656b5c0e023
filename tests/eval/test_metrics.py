"""Tests for model.eval.metrics."""

from __future__ import annotations

import math

import pytest
import torch

from model.eval.metrics import (
    acceleration,
    acceleration_error,
    mirror_twin,
    mpjpe,
    pa_mpjpe,
    pelvis_center,
    procrustes_align,
    pve,
)
from model.geometry.rotations import axis_angle_to_matrix

F64 = torch.float64


def _random_skeleton(batch: int, joints: int, seed: int, dtype: torch.dtype = F64) -> torch.Tensor:
    """Random non-planar point sets of human size, ``(batch, joints, 3)`` metres."""
    g = torch.Generator().manual_seed(seed)
    return (0.4 * torch.randn(batch, joints, 3, generator=g, dtype=F64)).to(dtype)


def test_mpjpe_single_joint_off_by_3mm() -> None:
    gt = _random_skeleton(2, 14, seed=0)
    pred = gt.clone()
    pred[0, 5] += torch.tensor([0.0, 0.003, 0.0], dtype=F64)
    pred[1, :] += torch.tensor([0.0, 0.0, 0.004], dtype=F64)  # every joint off by 4 mm
    torch.testing.assert_close(mpjpe(pred, gt), torch.tensor([3.0 / 14.0, 4.0], dtype=F64))
    # With only that joint in the mask the error is exactly 3 mm.
    mask = torch.zeros(2, 14, dtype=torch.bool)
    mask[:, 5] = True
    torch.testing.assert_close(mpjpe(pred, gt, mask), torch.tensor([3.0, 4.0], dtype=F64))
    # 3-4-5 triangle: a joint off by (3, 4, 0) mm is 5 mm away.
    one = torch.zeros(1, 1, 3, dtype=F64)
    torch.testing.assert_close(mpjpe(one + torch.tensor([0.003, 0.004, 0.0], dtype=F64), one), torch.tensor([5.0], dtype=F64))


def test_mpjpe_empty_mask_is_nan() -> None:
    gt = _random_skeleton(1, 4, seed=1)
    assert torch.isnan(mpjpe(gt + 0.01, gt, torch.zeros(1, 4, dtype=torch.bool))).all()


def test_pelvis_center_uses_mean_of_hips() -> None:
    joints = torch.tensor([[[1.0, 2.0, 3.0], [0.2, 0.0, 1.0], [0.4, 0.2, 3.0], [5.0, 5.0, 5.0]]], dtype=F64)
    centred = pelvis_center(joints, left_hip=1, right_hip=2)
    pelvis = torch.tensor([0.3, 0.1, 2.0], dtype=F64)
    torch.testing.assert_close(centred, joints - pelvis)
    torch.testing.assert_close(centred[0, 1] + centred[0, 2], torch.zeros(3, dtype=F64))
    # A global shift is removed, so pelvis-centred MPJPE ignores it.
    torch.testing.assert_close(
        mpjpe(pelvis_center(joints + 0.5, 1, 2), pelvis_center(joints, 1, 2)), torch.zeros(1, dtype=F64)
    )


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_pa_mpjpe_invariant_to_similarity_transforms(dtype: torch.dtype) -> None:
    gt = _random_skeleton(4, 17, seed=2, dtype=dtype)
    g = torch.Generator().manual_seed(3)
    rotation = axis_angle_to_matrix(torch.randn(4, 3, generator=g, dtype=F64) * 1.5).to(dtype)
    scale = torch.tensor([0.5, 1.0, 1.7, 3.0], dtype=dtype)[:, None, None]
    shift = torch.randn(4, 1, 3, generator=g, dtype=F64).to(dtype)
    pred = scale * gt @ rotation.transpose(-1, -2) + shift
    atol = 1e-9 if dtype == F64 else 1e-3  # mm
    torch.testing.assert_close(pa_mpjpe(pred, gt), torch.zeros(4, dtype=dtype), atol=atol, rtol=0)
    torch.testing.assert_close(procrustes_align(pred, gt), gt, atol=atol * 1e-3, rtol=0)
    assert (mpjpe(pred, gt) > 10.0).all()

    # A noisy prediction keeps its PA error under any similarity transform of the prediction.
    noisy = gt + 0.02 * torch.randn(gt.shape, generator=g, dtype=F64).to(dtype)
    moved = scale * noisy @ rotation.transpose(-1, -2) + shift
    torch.testing.assert_close(pa_mpjpe(moved, gt), pa_mpjpe(noisy, gt), atol=atol * 10, rtol=1e-4)


def test_pa_mpjpe_not_above_mpjpe() -> None:
    gt = _random_skeleton(8, 24, seed=4)
    g = torch.Generator().manual_seed(5)
    pred = gt + 0.05 * torch.randn(gt.shape, generator=g, dtype=F64) + 0.02
    pa = pa_mpjpe(pred, gt)
    plain = mpjpe(pred, gt)
    assert (pa <= plain + 1e-9).all()
    assert (pa > 0).all()


def test_procrustes_matches_closed_form_optimum() -> None:
    # The alignment is optimal: perturbing R, s or t does not reduce the squared error.
    gt = _random_skeleton(1, 12, seed=6)
    g = torch.Generator().manual_seed(7)
    pred = gt + 0.05 * torch.randn(gt.shape, generator=g, dtype=F64)
    aligned = procrustes_align(pred, gt)
    best = ((aligned - gt) ** 2).sum()
    centroid = aligned.mean(-2, keepdim=True)
    for k in range(6):
        tweak = axis_angle_to_matrix(torch.randn(3, generator=g, dtype=F64) * 1e-3)
        s = 1.0 + 1e-3 * (k - 3)
        moved = s * (aligned - centroid) @ tweak.T + centroid + 1e-4 * torch.randn(3, generator=g, dtype=F64)
        assert ((moved - gt) ** 2).sum() >= best


def test_reflected_prediction_is_not_aligned_by_a_reflection() -> None:
    gt = _random_skeleton(3, 17, seed=8)
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=F64))
    pred = gt @ mirror
    assert (pa_mpjpe(pred, gt) > 20.0).all()
    # The fitted transform is a proper rotation: the aligned points keep the mirrored handedness.
    aligned = procrustes_align(pred, gt)
    centred = aligned - aligned.mean(-2, keepdim=True)
    ref = pred - pred.mean(-2, keepdim=True)
    # Signed volume of the first three joints is preserved up to positive scale.
    vol_aligned = torch.linalg.det(centred[:, :3])
    vol_pred = torch.linalg.det(ref[:, :3])
    assert (torch.sign(vol_aligned) == torch.sign(vol_pred)).all()


def test_procrustes_with_mask_ignores_outliers() -> None:
    gt = _random_skeleton(2, 10, seed=9)
    rotation = axis_angle_to_matrix(torch.tensor([0.3, -0.5, 0.9], dtype=F64))
    pred = 1.3 * gt @ rotation.T + 0.2
    pred[:, 0] += 5.0  # a wild joint
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[:, 0] = False
    torch.testing.assert_close(pa_mpjpe(pred, gt, mask), torch.zeros(2, dtype=F64), atol=1e-9, rtol=0)
    assert (pa_mpjpe(pred, gt) > 50.0).all()


def test_pve() -> None:
    gt = _random_skeleton(2, 100, seed=10)
    pred = gt.clone()
    pred[0] += torch.tensor([0.0, 0.0, 0.01], dtype=F64)
    pred[1, :50] += torch.tensor([0.02, 0.0, 0.0], dtype=F64)
    torch.testing.assert_close(pve(pred, gt), torch.tensor([10.0, 10.0], dtype=F64))


def test_acceleration_constant_velocity_is_zero() -> None:
    t = torch.arange(10, dtype=F64)[:, None, None]
    joints = torch.tensor([[0.1, 0.2, 0.3], [-1.0, 0.0, 2.0]], dtype=F64) + t * torch.tensor([0.01, -0.02, 0.005], dtype=F64)
    acc = acceleration(joints)
    assert acc.shape == (8,)
    torch.testing.assert_close(acc, torch.zeros(8, dtype=F64), atol=1e-10, rtol=0)


def test_acceleration_quadratic_trajectory() -> None:
    # x(t) = x0 + v t + a t^2 / 2 has second difference a (per frame^2).
    t = torch.arange(7, dtype=F64)[:, None, None]
    accel = torch.tensor([[0.003, 0.004, 0.0], [0.0, 0.0, -0.002]], dtype=F64)  # |a| = 5 mm, 2 mm
    joints = 0.5 * accel * t**2 + 0.01 * t + 1.0
    torch.testing.assert_close(acceleration(joints), torch.full((5,), 3.5, dtype=F64))
    # Leading batch dims are accepted.
    assert acceleration(joints.expand(3, 7, 2, 3)).shape == (3, 5)


def test_acceleration_error() -> None:
    t = torch.arange(6, dtype=F64)[:, None, None]
    gt = torch.zeros(6, 3, 3, dtype=F64) + 0.02 * t
    pred = gt + 0.5 * torch.tensor([0.0, 0.0, 0.006], dtype=F64) * t**2  # extra accel 6 mm/frame^2
    err = acceleration_error(pred, gt)
    torch.testing.assert_close(err, torch.full((4,), 6.0, dtype=F64))
    # A velocity offset does not change it, identical trajectories give 0.
    torch.testing.assert_close(acceleration_error(gt + 0.1 * t, gt), torch.zeros(4, dtype=F64), atol=1e-10, rtol=0)


def test_acceleration_error_visibility_drops_windows() -> None:
    t = torch.arange(7, dtype=F64)[:, None, None]
    gt = torch.zeros(7, 2, 3, dtype=F64)
    pred = 0.5 * torch.tensor([0.004, 0.0, 0.0], dtype=F64) * t**2 + 0.0 * gt
    pred = pred.expand(7, 2, 3).clone()
    pred[3] += 1.0  # garbage in an invisible frame
    visible = torch.tensor([True, True, True, False, True, True, True])
    err = acceleration_error(pred, gt, visible)
    # Windows (0,1,2) and (4,5,6) survive; (1..3), (2..4), (3..5) are dropped.
    torch.testing.assert_close(err, torch.full((2,), 4.0, dtype=F64))
    assert acceleration_error(pred, gt, torch.ones(7, dtype=torch.bool)).shape == (5,)
    assert acceleration_error(pred, gt, torch.tensor([1, 1, 0, 1, 1, 0, 1])).numel() == 0
    with pytest.raises(ValueError):
        acceleration_error(pred, gt, torch.ones(6, dtype=torch.bool))


def test_units_are_millimetres() -> None:
    gt = torch.zeros(1, 1, 3)
    assert math.isclose(float(mpjpe(gt + torch.tensor([1.0, 0.0, 0.0]), gt)), 1000.0)


def test_mirror_twin_is_a_reflection_that_procrustes_cannot_undo_for_asymmetric_poses() -> None:
    from model.body.joint_names import LSP14_FLIP_PERMUTATION

    torch.manual_seed(0)
    joints = torch.randn(4, 14, 3)
    twin = mirror_twin(joints, LSP14_FLIP_PERMUTATION)
    assert torch.allclose(mirror_twin(twin, LSP14_FLIP_PERMUTATION), joints)  # an involution
    assert (pa_mpjpe(twin, joints) > 1.0).all()  # random skeletons are not their own twins
    # a skeleton symmetric about x = 0 (each left joint the mirror of its right one) is its own twin
    sym = joints.clone()
    mirror_x = torch.tensor([-1.0, 1.0, 1.0])
    for j, k in enumerate(LSP14_FLIP_PERMUTATION):
        if k == j:
            sym[:, j, 0] = 0.0  # a middle joint (head, neck) on the plane
        elif k > j:
            sym[:, j] = joints[:, k] * mirror_x  # each left joint the mirror of its right one
    assert torch.allclose(mirror_twin(sym, LSP14_FLIP_PERMUTATION), sym, atol=1e-6)

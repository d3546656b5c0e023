"""Tests for model.losses.basic."""

from __future__ import annotations

import math

import pytest
import torch

from model.geometry.rotations import axis_angle_to_matrix
from model.losses import BasicLossConfig, BasicPrediction, BasicTarget, basic_loss, normalize_keypoints

F64 = torch.float64
HIPS = (0, 1)


def _batch(batch: int = 3, joints: int = 5, seed: int = 0, requires_grad: bool = True):
    gen = torch.Generator().manual_seed(seed)
    pose = 0.3 * torch.randn(batch, 24, 3, generator=gen, dtype=F64)
    pred = BasicPrediction(
        rotmat=axis_angle_to_matrix(0.3 * torch.randn(batch, 24, 3, generator=gen, dtype=F64)),
        betas=torch.randn(batch, 10, generator=gen, dtype=F64),
        joints3d=torch.randn(batch, joints, 3, generator=gen, dtype=F64),
        keypoints2d=64 * torch.rand(batch, joints, 2, generator=gen, dtype=F64),
    )
    if requires_grad:
        for name in ("rotmat", "betas", "joints3d", "keypoints2d"):
            getattr(pred, name).requires_grad_(True)
    kp_xy = 64 * torch.rand(batch, joints, 2, generator=gen, dtype=F64)
    kp = torch.cat([kp_xy, torch.ones(batch, joints, 1, dtype=F64)], -1)
    target = BasicTarget(
        pose=pose,
        betas=torch.randn(batch, 10, generator=gen, dtype=F64),
        has_smpl=torch.ones(batch),
        joints3d=torch.randn(batch, joints, 3, generator=gen, dtype=F64),
        has_joints3d=torch.ones(batch),
        keypoints2d=kp,
    )
    return pred, target


def test_hand_computed_terms() -> None:
    # One sample, 2 joints; SMPL pose identical except one entry.
    rot = torch.eye(3, dtype=F64).expand(1, 24, 3, 3).clone()
    gt_rot = rot.clone()
    gt_rot[0, 5, 0, 1] = 0.6  # one entry off by 0.6 -> MSE 0.36 / 216
    pred = BasicPrediction(
        rotmat=rot,
        betas=torch.zeros(1, 10, dtype=F64),
        joints3d=torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]], dtype=F64),
        keypoints2d=torch.tensor([[[50.0, 50.0], [150.0, 100.0]]], dtype=F64),
    )
    target = BasicTarget(
        pose=gt_rot,
        betas=torch.full((1, 10), 2.0, dtype=F64),
        has_smpl=torch.tensor([1]),
        # pelvis-centred: pred -> [-.5, 0, 0], [.5, 0, 0]; gt shifted by 10 + one joint moved by 0.2 in y
        joints3d=torch.tensor([[[10.0, 0.0, 0.0], [11.0, 0.2, 0.0]]], dtype=F64),
        has_joints3d=torch.tensor([1]),
        keypoints2d=torch.tensor([[[50.0, 50.0, 1.0], [100.0, 100.0, 0.5]]], dtype=F64),
    )
    cfg = BasicLossConfig()
    total, terms = basic_loss(pred, target, crop_size=200, config=cfg, hips=HIPS)
    pose = 0.36 / 216
    betas = 4.0
    # gt centred: [-.5, -.1, 0], [.5, .1, 0] -> errors .01 and .01 over 6 coords
    joints3d = 0.02 / 6
    # 2D: joint 1 x off by 50 px -> normalised 0.5 -> 0.25, conf 0.5, over 4 coords
    keypoints2d = 0.5 * 0.25 / 4
    assert terms["pose"] == pytest.approx(pose)
    assert terms["betas"] == pytest.approx(betas)
    assert terms["joints3d"] == pytest.approx(joints3d)
    assert terms["keypoints2d"] == pytest.approx(keypoints2d)
    expected = pose + 0.001 * betas + 5 * joints3d + 5 * keypoints2d
    assert float(total) == pytest.approx(expected)
    assert terms["total"] == pytest.approx(expected)


def test_axis_angle_and_rotmat_targets_agree() -> None:
    pred, target = _batch()
    total_aa, _ = basic_loss(pred, target, 64, hips=HIPS)
    target.pose = axis_angle_to_matrix(target.pose)
    total_rm, _ = basic_loss(pred, target, 64, hips=HIPS)
    torch.testing.assert_close(total_aa, total_rm)
    target.pose = target.pose.reshape(3, 24, 9)[..., :0]  # nonsense shape must not silently pass
    with pytest.raises(ValueError):
        basic_loss(pred, target, 64, hips=HIPS)


def test_masks_zero_out_missing_samples() -> None:
    pred, target = _batch()
    target.has_smpl = torch.tensor([1, 0, 1])
    target.has_joints3d = torch.tensor([0, 1, 1])
    # Garbage / NaN ground truth of the missing samples must not matter.
    target.pose[1] = float("nan")
    target.betas[1] = float("nan")
    target.joints3d[0] = float("nan")
    total, terms = basic_loss(pred, target, 64, hips=HIPS)
    assert math.isfinite(float(total.detach()))
    total.backward()
    for name in ("rotmat", "betas", "joints3d", "keypoints2d"):
        grad = getattr(pred, name).grad
        assert torch.isfinite(grad).all()
    assert torch.all(pred.rotmat.grad[1] == 0) and torch.all(pred.betas.grad[1] == 0)
    assert torch.all(pred.joints3d.grad[0] == 0)

    # Equals the loss of the valid samples alone (SPIN: select, then mean).
    sub_pred, sub_target = _batch()
    keep = torch.tensor([0, 2])
    sel = BasicPrediction(sub_pred.rotmat[keep], sub_pred.betas[keep], None, None)
    sel_target = BasicTarget(sub_target.pose[keep], sub_target.betas[keep], torch.ones(2))
    _, sel_terms = basic_loss(sel, sel_target, 64)
    assert terms["pose"] == pytest.approx(sel_terms["pose"])
    assert terms["betas"] == pytest.approx(sel_terms["betas"])


def test_all_missing_gives_exact_zero_without_nan() -> None:
    pred, target = _batch()
    target.has_smpl = torch.zeros(3)
    target.has_joints3d = torch.zeros(3)
    target.pose[:] = float("nan")
    target.joints3d[:] = float("nan")
    target.keypoints2d[..., 2] = 0.0
    target.keypoints2d[..., :2] = float("nan")
    total, terms = basic_loss(pred, target, 64, hips=HIPS)
    assert float(total.detach()) == 0.0
    assert all(v == 0.0 for v in terms.values())
    total.backward()
    for name in ("rotmat", "betas", "joints3d", "keypoints2d"):
        assert torch.all(getattr(pred, name).grad == 0)


def test_has_keypoints2d_mask_and_visibility() -> None:
    pred, target = _batch()
    target.has_keypoints2d = torch.tensor([0, 0, 0])
    _, terms = basic_loss(pred, target, 64, hips=HIPS)
    assert terms["keypoints2d"] == 0.0
    target.has_keypoints2d = None
    target.keypoints2d[1, :, 2] = 0.0
    _, terms_vis = basic_loss(pred, target, 64, hips=HIPS)
    target.keypoints2d[1, :, :2] += 1000.0  # invisible points may be anywhere
    _, terms_moved = basic_loss(pred, target, 64, hips=HIPS)
    assert terms_vis["keypoints2d"] == pytest.approx(terms_moved["keypoints2d"])


def test_keypoints2d_per_visible_gives_a_partial_view_a_whole_persons_weight() -> None:
    from model.losses.basic import keypoints2d_loss

    pred = torch.zeros(2, 4, 2, dtype=F64)
    target = torch.zeros(2, 4, 3, dtype=F64)
    target[..., 0] = 32.0  # every point off by half the crop (normalised error 1 in x)
    target[0, :, 2] = 1.0  # a whole person
    target[1, :1, 2] = 1.0  # a partial view: one keypoint of four in the crop
    per_sample = [float(keypoints2d_loss(pred[i : i + 1], target[i : i + 1], 64)) for i in range(2)]
    assert per_sample[1] == pytest.approx(per_sample[0] / 4)  # SPIN: diluted by the invisible points
    visible = [float(keypoints2d_loss(pred[i : i + 1], target[i : i + 1], 64, per_visible=True)) for i in range(2)]
    assert visible[0] == pytest.approx(per_sample[0]) and visible[1] == pytest.approx(visible[0])
    nobody = target[1:].clone()
    nobody[..., 2] = 0.0
    assert float(keypoints2d_loss(pred[1:], nobody, 64, per_visible=True)) == 0.0  # nothing visible: 0, not NaN
    p, t = _batch()
    on = BasicLossConfig(keypoints2d_per_visible=True)
    assert basic_loss(p, t, 64, on, hips=HIPS)[1]["keypoints2d"] == pytest.approx(basic_loss(p, t, 64, hips=HIPS)[1]["keypoints2d"])


def test_pelvis_centring_makes_joint_loss_translation_invariant() -> None:
    pred, target = _batch()
    _, t1 = basic_loss(pred, target, 64, hips=HIPS)
    target.joints3d = target.joints3d + torch.tensor([1.0, -2.0, 5.0], dtype=F64)
    _, t2 = basic_loss(pred, target, 64, hips=HIPS)
    assert t1["joints3d"] == pytest.approx(t2["joints3d"])


def test_joint_confidence_column_and_hips_required() -> None:
    pred, target = _batch()
    conf = torch.ones(3, 5, 1, dtype=F64)
    conf[:, 3] = 0.0
    target.joints3d = torch.cat([target.joints3d, conf], -1)
    _, t1 = basic_loss(pred, target, 64, hips=HIPS)
    target.joints3d[:, 3, :3] += 7.0
    _, t2 = basic_loss(pred, target, 64, hips=HIPS)
    assert t1["joints3d"] == pytest.approx(t2["joints3d"])
    with pytest.raises(ValueError):
        basic_loss(pred, target, 64)


def test_keypoint_normalisation_and_crop_size_tensor() -> None:
    uv = torch.tensor([[[0.0, 32.0], [64.0, 16.0]]])
    torch.testing.assert_close(normalize_keypoints(uv, 64), torch.tensor([[[-1.0, 0.0], [1.0, -0.5]]]))
    pred, target = _batch()
    _, t_num = basic_loss(pred, target, 64, hips=HIPS)
    _, t_ten = basic_loss(pred, target, torch.full((3,), 64.0), hips=HIPS)
    assert t_num["keypoints2d"] == pytest.approx(t_ten["keypoints2d"])


def test_weights_and_sample_weights_are_plain_multipliers() -> None:
    pred, target = _batch()
    base, terms = basic_loss(pred, target, 64, hips=HIPS)
    doubled, _ = basic_loss(pred, target, 64, hips=HIPS, sample_weights=torch.full((3,), 2.0))
    torch.testing.assert_close(doubled, 2 * base)
    cfg = BasicLossConfig(pose_weight=0.0, betas_weight=0.0, joints3d_weight=0.0, keypoints2d_weight=1.0)
    only_2d, _ = basic_loss(pred, target, 64, config=cfg)
    assert float(only_2d.detach()) == pytest.approx(terms["keypoints2d"])


def test_camera_regulariser() -> None:
    pred, target = _batch()
    pred.cam_scale = torch.tensor([0.0, 0.1, 1.0], dtype=F64)
    cfg = BasicLossConfig(camera_reg_weight=1.0)
    _, terms = basic_loss(pred, target, 64, config=cfg, hips=HIPS)
    expected = (1.0 + math.exp(-2.0) + math.exp(-20.0)) / 3
    assert terms["camera_reg"] == pytest.approx(expected)


def test_body_frame_joint_loss_ignores_each_skeletons_global_orientation() -> None:
    pred, target = _batch(requires_grad=False)
    body_frame = BasicLossConfig(joints3d_frame="body")
    # The same articulated skeleton, seen under two different global orientations.
    skeleton = target.joints3d.clone()
    r_gt = axis_angle_to_matrix(torch.tensor([[0.0, 2.5, 0.3]] * 3, dtype=F64))
    r_pred = axis_angle_to_matrix(torch.tensor([[0.4, -1.0, 0.0]] * 3, dtype=F64))
    target.joints3d = skeleton @ r_gt.transpose(1, 2)
    pose = target.pose.clone()
    from model.geometry.rotations import matrix_to_axis_angle

    pose[:, 0] = matrix_to_axis_angle(r_gt)
    target.pose = pose
    rotmat = pred.rotmat.clone()
    rotmat[:, 0] = r_pred
    pred.rotmat = rotmat
    pred.joints3d = skeleton @ r_pred.transpose(1, 2)
    _, camera_terms = basic_loss(pred, target, 64, hips=HIPS)
    _, body_terms = basic_loss(pred, target, 64, body_frame, hips=HIPS)
    assert camera_terms["joints3d"] > 0.1 and body_terms["joints3d"] == pytest.approx(0.0, abs=1e-12)
    # Without SMPL ground truth the body frame is the predicted one for both: the camera-frame value.
    target.has_smpl = torch.zeros(3)
    _, no_smpl = basic_loss(pred, target, 64, body_frame, hips=HIPS)
    assert no_smpl["joints3d"] == pytest.approx(camera_terms["joints3d"])
    with pytest.raises(ValueError, match="joints3d_frame"):
        BasicLossConfig(joints3d_frame="world")


def test_global_orient_term_is_the_root_rotation_error_alone() -> None:
    pred, target = _batch(requires_grad=False)
    gt_root = axis_angle_to_matrix(target.pose[:, 0])
    expected = (pred.rotmat[:, 0] - gt_root).square().flatten(1).mean(-1).mean()
    off, terms_off = basic_loss(pred, target, 64, BasicLossConfig(), hips=HIPS)
    on, terms = basic_loss(pred, target, 64, BasicLossConfig(global_orient_weight=2.0), hips=HIPS)
    assert terms_off["global_orient"] == 0.0
    assert terms["global_orient"] == pytest.approx(float(expected))
    assert float(on - off) == pytest.approx(2.0 * float(expected))
    # The articulation does not enter it: another body pose, same root, same term.
    rotmat = pred.rotmat.clone()
    rotmat[:, 1:] = torch.eye(3, dtype=F64)
    pred.rotmat = rotmat
    _, same = basic_loss(pred, target, 64, BasicLossConfig(global_orient_weight=2.0), hips=HIPS)
    assert same["global_orient"] == pytest.approx(terms["global_orient"])
    with pytest.raises(ValueError, match=">= 0"):
        BasicLossConfig(global_orient_weight=-1.0)


def test_camera_frame_joint_term_beside_the_body_frame_one() -> None:
    pred, target = _batch(requires_grad=False)
    _, camera = basic_loss(pred, target, 64, BasicLossConfig(), hips=HIPS)
    both_cfg = BasicLossConfig(joints3d_frame="body", joints3d_camera_weight=0.5)
    total, both = basic_loss(pred, target, 64, both_cfg, hips=HIPS)
    body_total, body = basic_loss(pred, target, 64, BasicLossConfig(joints3d_frame="body"), hips=HIPS)
    assert both["joints3d_camera"] == pytest.approx(camera["joints3d"])
    assert both["joints3d"] == pytest.approx(body["joints3d"]) and body["joints3d_camera"] == 0.0
    assert float(total - body_total) == pytest.approx(0.5 * camera["joints3d"])
    with pytest.raises(ValueError, match="joints3d_camera_weight"):
        BasicLossConfig(joints3d_camera_weight=1.0)  # the camera frame already is that term


def _posed_pair(seed: int = 0):
    """Truth and mirror-twin articulations of 4 random bodies with the same root: rotations, joints (LSP-14 + SMPL-24)."""
    from model.body import load_body_model
    from model.body.symmetry import mirror_rotmat

    body = load_body_model()
    g = torch.Generator().manual_seed(seed)
    pose = axis_angle_to_matrix(torch.randn(4, 24, 3, generator=g) * 0.4)
    twin = torch.cat([pose[:, :1], mirror_rotmat(pose)[:, 1:]], dim=1)
    betas = torch.zeros(4, 10)

    def joints(rot: torch.Tensor) -> torch.Tensor:
        posed = body.keypoints_only(betas, rot)
        return torch.cat([posed.keypoints("lsp14"), posed.keypoints("smpl24")], dim=1)

    return pose, twin, joints(pose), joints(twin)


def test_either_twin_scores_the_nearer_of_truth_and_twin() -> None:
    from model.body.joint_names import HIPS
    from model.train.trainer import JOINTS3D_FLIP

    pose, twin, j_true, j_twin = _posed_pair()
    target = BasicTarget(pose=pose, betas=torch.zeros(4, 10), has_smpl=torch.ones(4), joints3d=j_true, has_joints3d=torch.ones(4))
    plain = BasicLossConfig(joints3d_frame="body")
    either = BasicLossConfig(joints3d_frame="body", either_twin=True)
    kwargs = {"hips": HIPS["lsp14"], "flip_permutation": JOINTS3D_FLIP}
    _, t_plain = basic_loss(BasicPrediction(rotmat=twin, betas=torch.zeros(4, 10), joints3d=j_twin), target, 64.0, plain, **kwargs)
    _, t_either = basic_loss(BasicPrediction(rotmat=twin, betas=torch.zeros(4, 10), joints3d=j_twin), target, 64.0, either, **kwargs)
    assert t_plain["pose"] > 1e-3 and t_plain["joints3d"] > 1e-4
    assert t_either["pose"] < 1e-10 and t_either["joints3d"] < 1e-10 and t_either["twin_share"] == 1.0
    _, t_true = basic_loss(BasicPrediction(rotmat=pose, betas=torch.zeros(4, 10), joints3d=j_true), target, 64.0, either, **kwargs)
    assert t_true["pose"] < 1e-10 and t_true["twin_share"] == 0.0
    assert "twin_share" not in t_plain


def test_either_twin_pulls_a_hedge_towards_one_twin_not_the_middle() -> None:
    from model.body.joint_names import HIPS
    from model.train.trainer import JOINTS3D_FLIP

    pose, twin, j_true, j_twin = _posed_pair(1)
    target = BasicTarget(pose=pose, betas=torch.zeros(4, 10), has_smpl=torch.ones(4), joints3d=j_true, has_joints3d=torch.ones(4))
    hedge = (0.45 * j_twin + 0.55 * j_true).requires_grad_(True)  # a little nearer the truth
    cfg = BasicLossConfig(joints3d_frame="body", either_twin=True, pose_weight=0.0)
    loss, terms = basic_loss(BasicPrediction(rotmat=pose, betas=torch.zeros(4, 10), joints3d=hedge), target, 64.0, cfg,
                             hips=HIPS["lsp14"], flip_permutation=JOINTS3D_FLIP)
    loss.backward()
    step = -hedge.grad
    # the gradient points to the truth (the nearer twin), not to the middle of the two
    toward_truth = ((j_true - hedge.detach()) * step).sum()
    toward_twin = ((j_twin - hedge.detach()) * step).sum()
    assert terms["twin_share"] == 0.0 and toward_truth > 0 > toward_twin


def test_either_twin_needs_the_body_frame_and_a_permutation() -> None:
    with pytest.raises(ValueError, match="either_twin"):
        BasicLossConfig(either_twin=True)
    pose, _, j_true, _ = _posed_pair()
    target = BasicTarget(pose=pose, betas=torch.zeros(4, 10), has_smpl=torch.ones(4), joints3d=j_true, has_joints3d=torch.ones(4))
    pred = BasicPrediction(rotmat=pose, betas=torch.zeros(4, 10), joints3d=j_true)
    cfg = BasicLossConfig(joints3d_frame="body", either_twin=True)
    with pytest.raises(ValueError, match="flip_permutation"):
        basic_loss(pred, target, 64.0, cfg, hips=(2, 3))
    with pytest.raises(ValueError, match="flip_permutation has"):
        basic_loss(pred, target, 64.0, cfg, hips=(2, 3), flip_permutation=tuple(range(5)))

"""model.inference.flip_test and the predictor's flip_test option."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.body import load_body_model
from model.body.symmetry import mirror_rotmat
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_rot6d
from model.inference import Predictor
from model.inference.flip_test import flip_images, merge_flipped

TINY = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def random_rotmats(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return axis_angle_to_matrix(0.8 * torch.randn(n, 24, 3, generator=gen))


def test_flip_images_appends_mirrors() -> None:
    x = torch.rand(3, 3, 8, 8)
    both = flip_images(x)
    assert both.shape == (6, 3, 8, 8)
    assert torch.equal(both[:3], x)
    assert torch.equal(both[3:, :, :, 0], x[:, :, :, -1])
    with pytest.raises(ValueError, match="B, 3, S, S"):
        flip_images(x[0])


def test_mirror_consistent_answers_are_kept() -> None:
    """A network whose mirror answer is exactly the mirror of its answer gets that answer back."""
    rot = random_rotmats(4)
    betas = torch.randn(4, 10)
    cam = torch.tensor([[0.9, 0.1, -0.2]]).repeat(4, 1) + 0.05 * torch.randn(4, 3)
    mirrored_cam = cam * torch.tensor([1.0, -1.0, 1.0])
    out = merge_flipped(torch.cat([rot, mirror_rotmat(rot)]), torch.cat([betas, betas]), torch.cat([cam, mirrored_cam]))
    assert out.pose_rotmat.shape == (4, 24, 3, 3) and out.pose_6d.shape == (4, 24, 6)
    assert out.betas.shape == (4, 10) and out.camera.shape == (4, 3)
    torch.testing.assert_close(out.pose_rotmat, rot, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.pose_6d, matrix_to_rot6d(rot), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.betas, betas)
    torch.testing.assert_close(out.camera, cam)


def test_disagreeing_answers_meet_halfway() -> None:
    """Knee bent by 0.2 rad in one answer and 0.6 in the other -> 0.4; betas and camera averaged."""
    aa = torch.zeros(2, 24, 3)
    aa[0, 4, 0], aa[1, 5, 0] = 0.2, 0.6  # the mirror bends the other knee: it maps back to the left (4)
    rot = axis_angle_to_matrix(aa)
    betas = torch.stack([torch.full((10,), 1.0), torch.full((10,), 3.0)])
    cam = torch.tensor([[1.0, 0.2, 0.0], [3.0, 0.4, 0.1]])
    out = merge_flipped(rot, betas, cam)
    expected = axis_angle_to_matrix(torch.tensor([0.4, 0.0, 0.0]))
    torch.testing.assert_close(out.pose_rotmat[0, 4], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.pose_rotmat[0, 5], torch.eye(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.betas[0], torch.full((10,), 2.0))
    torch.testing.assert_close(out.camera[0], torch.tensor([2.0, -0.1, 0.05]))


def test_merge_refuses_odd_or_mismatched_batches() -> None:
    rot = random_rotmats(3)
    with pytest.raises(ValueError, match="even batch"):
        merge_flipped(rot, torch.zeros(3, 10), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="even batch"):
        merge_flipped(random_rotmats(4), torch.zeros(2, 10), torch.zeros(4, 3))


def test_predictor_flip_test_is_mirror_equivariant(body) -> None:
    """With the flip test the answer for a mirrored crop is exactly the mirror of the answer."""
    p = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32", flip_test=True)
    assert p.flip_test and p.describe()["flip_test"] is True
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    a = p.predict_tensor(x, [1, 3])
    b = p.predict_tensor(x.flip(-1), [1, 3])
    torch.testing.assert_close(mirror_rotmat(b.pose_rotmat), a.pose_rotmat, atol=1e-4, rtol=0)
    torch.testing.assert_close(b.camera * torch.tensor([1.0, -1.0, 1.0]), a.camera, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b.betas, a.betas, atol=1e-5, rtol=1e-5)
    assert a.phi.shape[0] == 2


def test_predictor_flip_test_differs_from_single_pass_and_keeps_phi(body) -> None:
    single = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32")
    flip = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32", flip_test=True)
    assert not single.flip_test
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    a, b = single.predict_tensor(x, [0, 2]), flip.predict_tensor(x, [0, 2])
    torch.testing.assert_close(a.phi, b.phi, atol=1e-5, rtol=1e-5)  # the original crop's feature
    assert not torch.allclose(a.pose_rotmat, b.pose_rotmat, atol=1e-6)
    crop = (np.random.default_rng(0).random((50, 30, 3)) * 255).astype(np.uint8)
    [pred] = flip.predict([crop])
    assert pred.keypoints2d_coco17.shape == (17, 2) and np.isfinite(pred.pose).all()


def test_predictor_flip_test_must_be_bool(body) -> None:
    with pytest.raises(TypeError, match="flip_test"):
        Predictor.random_init(TINY, BOUNDS, device="cpu", body=body, precision="fp32", flip_test="yes")  # type: ignore[arg-type]


def test_flip_disagreement_is_the_distance_between_the_two_answers(body) -> None:
    from model.inference.flip_test import flip_disagreement

    rot = random_rotmats(3, seed=4)
    betas = torch.zeros(6, 10)
    same = flip_disagreement(body.keypoints_only, torch.cat([rot, mirror_rotmat(rot)]), betas)
    assert same.shape == (3,) and float(same.abs().max()) < 1e-5  # mirror-consistent answers agree
    other = random_rotmats(3, seed=5)
    d = flip_disagreement(body.keypoints_only, torch.cat([rot, other]), betas)
    ja = body.keypoints_only(betas[:3], rot).joints
    jb = body.keypoints_only(betas[:3], mirror_rotmat(other)).joints
    torch.testing.assert_close(d, (ja - jb).norm(dim=-1).mean(-1))
    with pytest.raises(ValueError, match="even batch"):
        flip_disagreement(body.keypoints_only, rot, betas[:3])


def test_predictions_carry_the_disagreement_only_with_the_flip_test(body) -> None:
    crop = (np.random.default_rng(1).random((48, 40, 3)) * 255).astype(np.uint8)
    single = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32")
    flip = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32", flip_test=True)
    [a] = single.predict([crop])
    [b] = flip.predict([crop])
    assert a.flip_disagreement is None and single.predict_tensor(torch.rand(1, 3, 64, 64), [0]).flip_disagreement is None
    assert isinstance(b.flip_disagreement, float) and b.flip_disagreement >= 0
    assert b.to_dict()["flip_disagreement"] == b.flip_disagreement
    t = flip.predict_tensor(torch.rand(2, 3, 64, 64), [0, 1])
    assert t.flip_disagreement is not None and t.flip_disagreement.shape == (2,)


def test_merge_flipped_keypoints_maps_the_mirror_back() -> None:
    from model.body.joint_names import COCO17_FLIP_PERMUTATION
    from model.inference.flip_test import merge_flipped_keypoints

    kp = torch.rand(3, 17, 2) * 2 - 1
    perm = torch.tensor(COCO17_FLIP_PERMUTATION)
    mirrored = kp[:, perm].clone()
    mirrored[..., 0] = -mirrored[..., 0]
    torch.testing.assert_close(merge_flipped_keypoints(torch.cat([kp, mirrored]), COCO17_FLIP_PERMUTATION), kp)
    shifted = merge_flipped_keypoints(torch.cat([kp, mirrored + 0.2]), COCO17_FLIP_PERMUTATION)
    torch.testing.assert_close(shifted[..., 1], kp[..., 1] + 0.1)
    with pytest.raises(ValueError, match="even batch"):
        merge_flipped_keypoints(kp, COCO17_FLIP_PERMUTATION)


def test_keypoint_head_answers_reach_the_predictions(body) -> None:
    net = {**TINY, "keypoint_head": "aux"}
    crop = (np.random.default_rng(2).random((60, 30, 3)) * 255).astype(np.uint8)
    for flip in (False, True):
        p = Predictor.random_init(net, BOUNDS, device="cpu", seed=3, body=body, precision="fp32", flip_test=flip)
        t = p.predict_tensor(torch.rand(2, 3, 64, 64), [0, 1])
        assert t.head_keypoints2d is not None and t.head_keypoints2d.shape == (2, 17, 2)
        assert float(t.head_keypoints2d.min()) >= 0 and float(t.head_keypoints2d.max()) <= 64  # a soft-argmax inside the input
        [pred] = p.predict([crop])
        kp = pred.keypoints2d_head_coco17
        assert kp is not None and kp.shape == (17, 2)
        assert kp[:, 0].min() >= -15 - 1e-3 and kp[:, 0].max() <= 45 + 1e-3  # the padded 60 x 60 square, in crop pixels
    plain = Predictor.random_init(TINY, BOUNDS, device="cpu", seed=3, body=body, precision="fp32")
    assert plain.predict([crop])[0].keypoints2d_head_coco17 is None

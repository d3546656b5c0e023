"""Iterative regressor: shapes, mean initialisation, 6D/rotmat consistency, precision."""

from __future__ import annotations

import pytest
import torch

from model.body.model import MeanParams
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from model.nets.heads.regressor import IterativeRegressor, mean_state_from_params


def make(feature_dim: int = 64, **kwargs) -> IterativeRegressor:
    torch.manual_seed(0)
    return IterativeRegressor(feature_dim, MeanParams.default(), **kwargs)


def zero_decoders(reg: IterativeRegressor) -> None:
    with torch.no_grad():
        for dec in (reg.decpose, reg.decshape, reg.deccam):
            dec.weight.zero_()
            dec.bias.zero_()


def test_structure_follows_spin() -> None:
    reg = make(2048)
    assert reg.fc1.in_features == 2048 + 24 * 6 + 10 + 3 and reg.fc1.out_features == 1024
    assert reg.fc2.in_features == reg.fc2.out_features == 1024
    assert reg.drop1.p == reg.drop2.p == 0.5
    assert (reg.decpose.out_features, reg.decshape.out_features, reg.deccam.out_features) == (144, 10, 3)
    bound = 0.01 * (6.0 / (1024 + 144)) ** 0.5  # xavier-uniform bound with gain 0.01
    assert reg.decpose.weight.abs().max() <= bound and torch.equal(reg.decpose.bias, torch.zeros(144))


def test_output_shapes_and_iterations() -> None:
    reg = make(num_iterations=3)
    out = reg(torch.randn(5, 64))
    assert out.pose_6d.shape == (5, 24, 6) and out.pose_rotmat.shape == (5, 24, 3, 3)
    assert out.betas.shape == (5, 10) and out.camera.shape == (5, 3)
    assert len(out.iterations) == 3
    for step in out.iterations:
        assert step.pose_rotmat.shape == (5, 24, 3, 3) and step.betas.shape == (5, 10) and step.camera.shape == (5, 3)
    last = out.iterations[-1]
    assert last.pose_rotmat is out.pose_rotmat and torch.equal(last.betas, out.betas)
    assert len(reg(torch.randn(2, 64), num_iterations=1).iterations) == 1


def test_mean_state_buffer() -> None:
    mean = MeanParams.default()
    reg = make()
    assert "mean_state" in reg.state_dict()
    expected_pose = matrix_to_rot6d(axis_angle_to_matrix(mean.pose.double())).float().reshape(-1)
    torch.testing.assert_close(reg.mean_state[:144], expected_pose)
    torch.testing.assert_close(reg.mean_state[144:154], mean.betas)
    torch.testing.assert_close(reg.mean_state[154:], mean.camera)
    torch.testing.assert_close(mean_state_from_params(mean), reg.mean_state)


@pytest.mark.parametrize("train", [False, True])
def test_starts_at_mean_when_decoders_output_zero(train: bool) -> None:
    mean = MeanParams.default()
    reg = make()
    zero_decoders(reg)
    reg.train(train)
    out = reg(torch.randn(3, 64))
    torch.testing.assert_close(out.pose_rotmat, axis_angle_to_matrix(mean.pose).expand(3, 24, 3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(out.betas, mean.betas.expand(3, 10))
    torch.testing.assert_close(out.camera, mean.camera.expand(3, 3))


def test_fresh_regressor_is_near_the_mean() -> None:
    out = make().eval()(torch.randn(3, 64))
    assert (out.camera - MeanParams.default().camera).abs().max() < 0.05


def test_rotmat_is_the_6d_pose_orthonormalised() -> None:
    reg = make().eval()
    with torch.no_grad():
        reg.decpose.weight.normal_(0, 0.3)  # make the pose move away from the mean
    out = reg(torch.randn(4, 64))
    r = out.pose_rotmat
    torch.testing.assert_close(r, rot6d_to_matrix(out.pose_6d))
    eye = torch.eye(3).expand_as(r)
    torch.testing.assert_close(r.transpose(-1, -2) @ r, eye, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(4, 24), atol=1e-5, rtol=0)
    # the first 6D column (before normalisation) is parallel to the first matrix column
    a1 = out.pose_6d.reshape(4, 24, 3, 2)[..., 0]
    torch.testing.assert_close(torch.nn.functional.normalize(a1, dim=-1), r[..., 0])


def test_init_state_is_used() -> None:
    reg = make()
    zero_decoders(reg)
    init = reg.mean_state.expand(2, -1).clone()
    init[:, 154] = 2.0
    assert torch.equal(reg(torch.randn(2, 64), init_state=init).camera[:, 0], torch.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="init_state"):
        reg(torch.randn(2, 64), init_state=init[:, :10])


def test_float32_under_bf16_autocast_and_gradients() -> None:
    reg = make()
    phi = torch.randn(2, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = reg(phi.bfloat16())
    assert out.pose_rotmat.dtype == out.betas.dtype == out.camera.dtype == torch.float32
    (out.pose_rotmat.sum() + out.betas.sum() + out.camera.sum()).backward()
    assert phi.grad is not None and torch.isfinite(phi.grad).all() and phi.grad.abs().sum() > 0
    assert reg.fc1.weight.grad is not None


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        make()(torch.randn(2, 32))
    with pytest.raises(ValueError, match="betas"):
        IterativeRegressor(64, MeanParams(pose=torch.zeros(24, 3), betas=torch.zeros(16), camera=torch.ones(3)))

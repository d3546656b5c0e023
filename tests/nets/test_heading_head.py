"""The heading head: output shape, RSCNet modes (off / aux / decode), initialisation from a network without one."""

from __future__ import annotations

import pytest
import torch

from model.body import load_body_model
from model.geometry.heading import angle_difference, heading_angle, heading_from_logits
from model.geometry.rotations import rot6d_to_matrix
from model.nets import NetConfig, RSCNet
from model.nets.heads.heading import HeadingHead

BASE = {"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64, "regressor_dropout": 0.0}


@pytest.mark.parametrize("side", [2, 7])
def test_shapes(side: int) -> None:
    head = HeadingHead(in_channels=512, bins=8)
    logits = head(torch.randn(3, 512, side, side))
    assert logits.shape == (3, 8) and logits.dtype == torch.float32
    with pytest.raises(ValueError, match="features"):
        head(torch.randn(3, 256, 2, 2))


@pytest.mark.parametrize("mode", ["off", "aux", "decode"])
def test_rscnet_modes(mode: str) -> None:
    torch.manual_seed(0)
    body = load_body_model()
    net = RSCNet(NetConfig.from_dict({**BASE, "heading_head": mode, "heading_bins": 12}), body.mean_params).eval()
    plain = RSCNet(NetConfig.from_dict(BASE), body.mean_params).eval()  # the same network without the head
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("heading_head.")})
    x, ri = torch.rand(2, 3, 64, 64), torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        out, ref = net(x, ri), plain(x, ri)
    if mode == "off":
        assert out.heading_logits is None and net.heading_head is None
        return
    assert out.heading_logits is not None and out.heading_logits.shape == (2, 12)
    # the articulation, shape and camera are the regressor's in every mode
    assert torch.allclose(out.pose_rotmat[:, 1:], ref.pose_rotmat[:, 1:], atol=1e-6)
    assert torch.equal(out.betas, ref.betas) and torch.equal(out.camera, ref.camera)
    gap = angle_difference(heading_angle(out.pose_rotmat[:, 0]), heading_from_logits(out.heading_logits)).abs()
    if mode == "aux":
        assert torch.allclose(out.pose_rotmat[:, 0], ref.pose_rotmat[:, 0], atol=1e-6)
        return
    # decode, eval mode: the root has the head's heading and the same tilt; pose_6d agrees with it
    assert gap.max() < 1e-4
    assert torch.allclose(out.pose_rotmat[:, 0, 1, :], ref.pose_rotmat[:, 0, 1, :], atol=1e-5)
    assert torch.allclose(rot6d_to_matrix(out.pose_6d[:, 0]), out.pose_rotmat[:, 0], atol=1e-5)
    # training mode: the regressor's root, which the losses supervise
    net.train(), plain.train()
    with torch.no_grad():
        assert torch.allclose(net(x, ri).pose_rotmat, plain(x, ri).pose_rotmat, atol=1e-6)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="heading_head"):
        NetConfig.from_dict({"heading_head": "bins"})
    with pytest.raises(ValueError, match="heading_bins"):
        NetConfig.from_dict({"heading_head": "aux", "heading_bins": 1})


def test_a_new_heading_head_initialises_from_a_network_without_one() -> None:
    body = load_body_model()
    source = RSCNet(NetConfig.from_dict(BASE), body.mean_params)
    target = RSCNet(NetConfig.from_dict({**BASE, "heading_head": "decode"}), body.mean_params)
    report = target.initialise_from(source.state_dict())
    assert report.newly_initialised and all(k.startswith("heading_head.") for k in report.newly_initialised)
    assert torch.equal(target.state_dict()["regressor.fc1.weight"], source.state_dict()["regressor.fc1.weight"])
    # a partial head is not a new head: refused
    partial = {k: v for k, v in target.state_dict().items() if k != "heading_head.classify.2.bias"}
    with pytest.raises(Exception, match="missing"):
        RSCNet(NetConfig.from_dict({**BASE, "heading_head": "aux"}), body.mean_params).initialise_from(partial)

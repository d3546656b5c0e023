"""The 2D keypoint head: shapes, the soft-argmax's range and placement, RSCNet modes, initialisation."""

from __future__ import annotations

import pytest
import torch

from model.body import load_body_model
from model.nets import NetConfig, RSCNet
from model.nets.heads.keypoints import KeypointHead


def test_shapes_and_range() -> None:
    head = KeypointHead((128, 256), num_keypoints=17, hidden=32)
    kp = head(torch.randn(3, 128, 8, 8), torch.randn(3, 256, 4, 4))
    assert kp.shape == (3, 17, 2) and kp.dtype == torch.float32
    assert kp.abs().max() < 1.0  # an expectation over cell centres stays inside the crop


def test_soft_argmax_finds_a_peak() -> None:
    head = KeypointHead((4, 4), num_keypoints=1, hidden=4)
    logits = torch.full((1, 1, 8, 8), -50.0)
    logits[0, 0, 2, 5] = 50.0  # row 2, column 5
    head.heatmap_logits = lambda fine, coarse: logits  # type: ignore[method-assign]
    kp = head(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 4, 4))
    # cell centres at (c + 0.5) / 8 * 2 - 1
    assert torch.allclose(kp[0, 0], torch.tensor([(5.5 / 8) * 2 - 1, (2.5 / 8) * 2 - 1]), atol=1e-5)


@pytest.mark.parametrize("mode", ["off", "aux", "feed"])
def test_rscnet_modes(mode: str) -> None:
    body = load_body_model()
    net = RSCNet(NetConfig.from_dict({"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64, "keypoint_head": mode}), body.mean_params)
    out = net(torch.rand(2, 3, 64, 64), torch.zeros(2, dtype=torch.long))
    assert out.pose_rotmat.shape == (2, 24, 3, 3)
    if mode == "off":
        assert out.keypoints2d is None and net.keypoint_head is None
    else:
        assert out.keypoints2d is not None and out.keypoints2d.shape == (2, 17, 2)
    with pytest.raises(ValueError, match="keypoint_head"):
        NetConfig.from_dict({"keypoint_head": "heatmap"})


def test_a_new_aux_head_initialises_from_a_network_without_one() -> None:
    body = load_body_model()
    base = {"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64}
    source = RSCNet(NetConfig.from_dict(base), body.mean_params)
    target = RSCNet(NetConfig.from_dict({**base, "keypoint_head": "aux"}), body.mean_params)
    report = target.initialise_from(source.state_dict())
    assert report.newly_initialised and all(k.startswith("keypoint_head.") for k in report.newly_initialised)
    assert torch.equal(target.state_dict()["regressor.fc1.weight"], source.state_dict()["regressor.fc1.weight"])
    fed = RSCNet(NetConfig.from_dict({**base, "keypoint_head": "feed"}), body.mean_params)
    with pytest.raises(Exception, match="shape"):  # the regressor's input grows: not a drop-in
        fed.initialise_from(source.state_dict())

"""The stride-4 heatmap head: shapes, reading the strongest peak, RSCNet wiring and configuration."""

from __future__ import annotations

import pytest
import torch

from model.body import load_body_model
from model.nets import NetConfig, RSCNet
from model.nets.heads.heatmaps import HeatmapHead, peak_keypoints


def test_logits_on_layer1_grid_and_keypoints_in_range() -> None:
    head = HeatmapHead((64, 128, 256), num_keypoints=17, hidden=16)
    stages = (torch.randn(2, 64, 16, 16), torch.randn(2, 128, 8, 8), torch.randn(2, 256, 4, 4))
    logits = head.heatmap_logits(*stages)
    assert logits.shape == (2, 17, 16, 16)
    kp = head(*stages)
    assert kp.shape == (2, 17, 2) and kp.dtype == torch.float32 and kp.abs().max() < 1.0
    with pytest.raises(ValueError, match="3 stages"):
        head.heatmap_logits(*stages[:2])


def test_peak_is_read_at_the_stronger_of_two_peaks() -> None:
    logits = torch.full((1, 2, 16, 16), -30.0)
    logits[0, 0, 3, 12] = 10.0  # the stronger peak: row 3, column 12
    logits[0, 0, 10, 2] = 9.0  # a rival on the other side of the crop
    logits[0, 1, 5, 5] = 10.0
    logits[0, 1, 5, 6] = 10.0  # two equal neighbours: answered between them
    kp = peak_keypoints(logits)
    cell = 2.0 / 16
    torch.testing.assert_close(kp[0, 0], torch.tensor([(12.5) * cell - 1, (3.5) * cell - 1]), atol=1e-4, rtol=0)
    torch.testing.assert_close(kp[0, 1], torch.tensor([6.0 * cell - 1, 5.5 * cell - 1]), atol=1e-4, rtol=0)
    # the expectation over the whole map (the stride-8 head's answer) would land between the rivals
    whole = torch.softmax(logits[0, 0].flatten(), 0).reshape(16, 16)
    assert abs(float((whole.sum(0) * torch.arange(16)).sum()) - 12) > 1.0
    with pytest.raises(ValueError, match="odd"):
        peak_keypoints(logits, window=2)


def test_peak_at_the_border_stays_in_the_crop() -> None:
    logits = torch.full((1, 1, 8, 8), -30.0)
    logits[0, 0, 0, 7] = 10.0
    kp = peak_keypoints(logits)
    torch.testing.assert_close(kp[0, 0], torch.tensor([7.5 / 4 - 1, 0.5 / 4 - 1]), atol=1e-4, rtol=0)


@pytest.mark.parametrize("mode", ["aux", "feed"])
def test_rscnet_with_the_stride_4_head(mode: str) -> None:
    body = load_body_model()
    cfg = NetConfig.from_dict({"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64, "keypoint_head": mode, "keypoint_head_stride": 4})
    net = RSCNet(cfg, body.mean_params)
    assert isinstance(net.keypoint_head, HeatmapHead)
    out = net(torch.rand(2, 3, 64, 64), torch.zeros(2, dtype=torch.long))
    assert out.keypoint_logits is not None and out.keypoint_logits.shape == (2, 17, 16, 16)
    assert out.keypoints2d is not None and out.keypoints2d.shape == (2, 17, 2)
    torch.testing.assert_close(out.keypoints2d, peak_keypoints(out.keypoint_logits))
    out.keypoint_logits.sum().backward()
    assert net.backbone.conv1.weight.grad is not None and net.keypoint_head.lateral[0][0].weight.grad is not None


def test_stride_8_head_exposes_its_logits_and_stride_is_validated() -> None:
    body = load_body_model()
    net = RSCNet(NetConfig.from_dict({"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64, "keypoint_head": "aux"}), body.mean_params)
    out = net(torch.rand(1, 3, 64, 64), torch.zeros(1, dtype=torch.long))
    assert out.keypoint_logits is not None and out.keypoint_logits.shape == (1, 17, 8, 8)
    plain = RSCNet(NetConfig.from_dict({"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 64}), body.mean_params)
    assert plain(torch.rand(1, 3, 64, 64), torch.zeros(1, dtype=torch.long)).keypoint_logits is None
    for bad in (2, 16, True):
        with pytest.raises(ValueError, match="keypoint_head_stride"):
            NetConfig.from_dict({"keypoint_head_stride": bad})

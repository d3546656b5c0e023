"""The part head: logits on layer1's grid, RSCNet wiring, a start from a network without it."""

from __future__ import annotations

import torch

from model.body.model import MeanParams
from model.body.parts import NUM_PART_CLASSES
from model.nets import NetConfig, RSCNet
from model.nets.heads.parts import PartHead


def test_logits_on_layer1_grid() -> None:
    head = PartHead((64, 128, 256), hidden=16)
    stages = (torch.randn(2, 64, 16, 16), torch.randn(2, 128, 8, 8), torch.randn(2, 256, 4, 4))
    logits = head(*stages)
    assert logits.shape == (2, NUM_PART_CLASSES, 16, 16) and logits.dtype == torch.float32


def test_rscnet_answers_part_logits_and_starts_from_a_network_without_the_head() -> None:
    torch.manual_seed(0)
    plain = RSCNet(NetConfig(input_size=64), MeanParams.default())
    net = RSCNet(NetConfig(input_size=64, part_head=True), MeanParams.default())
    assert plain(torch.rand(1, 3, 64, 64), torch.zeros(1, dtype=torch.long)).part_logits is None
    report = net.initialise_from(plain.state_dict())
    assert report.newly_initialised and all(k.startswith("part_head.") for k in report.newly_initialised)
    net.eval()
    plain.eval()
    images, ranges = torch.rand(2, 3, 64, 64), torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        out, ref = net(images, ranges), plain(images, ranges)
    assert out.part_logits is not None and out.part_logits.shape == (2, NUM_PART_CLASSES, 16, 16)
    torch.testing.assert_close(out.pose_rotmat, ref.pose_rotmat)  # the head changes no answer
    net.train()
    out = net(images, ranges)
    out.part_logits.sum().backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in net.backbone.parameters())

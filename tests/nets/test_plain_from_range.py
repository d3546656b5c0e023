"""Folding one resolution range's ``alpha`` into the blocks: a plain ResNet with that range's answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.body.model import MeanParams
from model.nets import BackboneConfig, NetConfig, RSCNet
from model.nets.backbones.resnet import ResolutionAwareResNet
from model.nets.checkpoint import load_network_file, plain_from_range, save_checkpoint
from model.train.export import main as export_main


def _trained_alpha(backbone: ResolutionAwareResNet) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        backbone.alpha.copy_(0.5 + torch.rand_like(backbone.alpha))
        for m in backbone.modules():  # running statistics unlike a fresh network's
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)


@pytest.mark.parametrize("depth", [18, 50])
@pytest.mark.parametrize("train_mode", [False, True])
def test_folded_backbone_answers_as_its_range(depth: int, train_mode: bool) -> None:
    torch.manual_seed(0)
    ra = ResolutionAwareResNet(BackboneConfig(depth=depth, num_ranges=3))
    _trained_alpha(ra)
    x = torch.rand(2, 3, 64, 64)
    for row in range(3):
        plain = ResolutionAwareResNet(BackboneConfig(depth=depth, resolution_aware=False))
        plain.load_state_dict(ra.folded_state_dict(row), strict=True)
        ra.train(train_mode)
        plain.train(train_mode)
        with torch.no_grad():
            want = ra(x, torch.full((2,), row, dtype=torch.long))
            got = plain(x)
        assert got.shape == want.shape == (2, 512 if depth == 18 else 2048)
        tol = 1e-3 if train_mode else 1e-4  # float32 rounding through 16 blocks (batch statistics of 2 in training)
        assert torch.allclose(got, want, atol=tol, rtol=tol)
    # rows really differ, so the test could fail
    with torch.no_grad():
        ra.eval()
        assert not torch.allclose(ra(x, torch.zeros(2, dtype=torch.long)), ra(x, torch.full((2,), 2, dtype=torch.long)), atol=1e-3)


def test_fold_refuses_a_plain_backbone_and_a_row_outside_the_table() -> None:
    ra = ResolutionAwareResNet(BackboneConfig(depth=18, num_ranges=2))
    with pytest.raises(IndexError, match="row 2"):
        ra.folded_state_dict(2)
    plain = ResolutionAwareResNet(BackboneConfig(depth=18, resolution_aware=False))
    with pytest.raises(RuntimeError, match="no alpha"):
        plain.folded_state_dict(0)


def test_export_writes_a_plain_checkpoint_with_the_ranges_answers(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = NetConfig(backbone=BackboneConfig(depth=18, num_ranges=3), input_size=64, cut_input=True)
    net = RSCNet(cfg, MeanParams.default())
    _trained_alpha(net.backbone)
    net.eval()
    src = tmp_path / "ra.pt"
    save_checkpoint({"model": net.state_dict(), "net_config": cfg.to_dict(), "input_size": 64, "step": 7,
                     "resolution_bounds": [128, 64, 32], "body_model": {"name": "b", "sha256": "0", "model_id": "b:0"},
                     "optimizer": {"state": {}}}, src)
    out = tmp_path / "plain.pt"
    export_main(["--checkpoint", str(src), "--out", str(out), "--fp32", "--plain-from-range", "1"])
    ckpt = load_network_file(out)
    assert ckpt["net_config"]["backbone"]["resolution_aware"] is False and "backbone.alpha" not in ckpt["model"]
    assert ckpt["plain_from"] == {"step": 7, "row": 1} and "optimizer" not in ckpt
    plain = RSCNet(NetConfig.from_dict(ckpt["net_config"]), MeanParams.default()).eval()
    plain.load_state_dict(ckpt["model"], strict=True)
    x, cut = torch.rand(2, 3, 64, 64), torch.tensor([0.0, 1.0])
    with torch.no_grad():
        want = net(x, torch.ones(2, dtype=torch.long), cut)
        got = plain(x, None, cut)
    assert torch.allclose(got.pose_rotmat, want.pose_rotmat, atol=1e-5) and torch.allclose(got.camera, want.camera, atol=1e-5)
    # a plain start feeds a resolution-aware run again (alpha restarts at 1, every range = the folded row)
    ra = RSCNet(cfg, MeanParams.default()).eval()
    assert ra.initialise_from(ckpt["model"]).newly_initialised == ["backbone.alpha"]
    with pytest.raises(RuntimeError, match="no alpha"):
        plain_from_range(ckpt, 0)

"""RSCNet: end-to-end shapes, input normalisation, bf16 + channels_last, checkpoints, gradients."""

from __future__ import annotations

import pytest
import torch

from model.body.model import MeanParams
from model.nets import BackboneConfig, NetConfig, RSCNet
from model.nets.rscnet import IMAGENET_MEAN, IMAGENET_STD


def make(depth: int = 18, size: int = 64, **backbone) -> RSCNet:
    torch.manual_seed(0)
    cfg = NetConfig(backbone=BackboneConfig(depth=depth, **backbone), input_size=size)
    return RSCNet(cfg, MeanParams.default())


@pytest.mark.parametrize("depth,dim", [(18, 512), (50, 2048)])
def test_output_shapes(depth: int, dim: int) -> None:
    net = make(depth)
    out = net(torch.rand(2, 3, 64, 64), torch.tensor([0, 4]))
    assert out.phi.shape == (2, dim) and out.pose_rotmat.shape == (2, 24, 3, 3)
    assert out.pose_6d.shape == (2, 24, 6) and out.betas.shape == (2, 10) and out.camera.shape == (2, 3)
    assert len(out.iterations) == 3
    assert net.project(out.phi).shape == (2, 128)


def test_imagenet_normalisation_is_inside() -> None:
    net = make().eval()
    x = torch.rand(2, 3, 64, 64)
    r = torch.tensor([1, 2])
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(net(x, r).phi, net.backbone((x - mean) / std, r))


def test_bf16_autocast_channels_last_gives_finite_float32() -> None:
    net = make(50).eval()
    x = torch.rand(2, 3, 64, 64)
    r = torch.tensor([0, 3])
    with torch.no_grad():
        ref = net(x, r)
        net = net.to(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(x, r)
            z = net.project(out.phi)
    for t in (out.phi, out.pose_rotmat, out.pose_6d, out.betas, out.camera, z):
        assert t.dtype == torch.float32 and torch.isfinite(t).all()
    assert (out.camera - ref.camera).abs().max() < 0.05
    assert (out.pose_rotmat - ref.pose_rotmat).abs().max() < 0.1


def test_training_step_reaches_alpha_and_all_heads() -> None:
    net = make().train().to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 1, 3]))
        loss = out.pose_rotmat.square().sum() + out.betas.square().sum() + out.camera.square().sum()
        loss = loss + net.project(out.phi).square().sum()
    loss.backward()
    g = net.backbone.alpha.grad
    assert g is not None and g.dtype == torch.float32 and torch.isfinite(g).all()
    assert (g[[0, 1, 3]].abs().sum(1) > 0).all() and torch.equal(g[[2, 4]], torch.zeros(2, 8))
    for name in ("backbone.conv1.weight", "regressor.decpose.weight", "projection.fc1.weight"):
        grad = dict(net.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_checkpoint_round_trip() -> None:
    net = make().eval()
    sd = net.state_dict()
    assert "regressor.mean_state" in sd and "backbone.alpha" in sd
    assert "pixel_mean" not in sd and "pixel_std" not in sd
    with torch.no_grad():
        net.backbone.alpha[2].fill_(0.5)
    other = RSCNet(NetConfig.from_dict(net.config.to_dict()), MeanParams.default()).eval()
    other.load_state_dict(net.state_dict())
    x, r = torch.rand(1, 3, 64, 64), torch.tensor([2])
    with torch.no_grad():
        torch.testing.assert_close(other(x, r).camera, net(x, r).camera)


def test_copy_alpha_row_and_baseline() -> None:
    net = make()
    with torch.no_grad():
        net.backbone.alpha[1].fill_(0.7)
    net.copy_alpha_row(1, 2)
    assert torch.allclose(net.backbone.alpha[2], torch.full((8,), 0.7))
    baseline = make(resolution_aware=False)
    assert baseline(torch.rand(1, 3, 64, 64), None).camera.shape == (1, 3)


def test_bad_images_raise() -> None:
    net = make()
    r = torch.tensor([0])
    with pytest.raises(ValueError, match="input_size=64"):
        net(torch.rand(1, 3, 96, 96), r)
    with pytest.raises(TypeError, match="float"):
        net(torch.zeros(1, 3, 64, 64, dtype=torch.uint8), r)


def test_initialise_from_a_plain_network_keeps_its_outputs() -> None:
    """HR-only (plain) -> resolution-aware: alpha starts at 1, so every range reproduces the source."""
    from model.nets.backbones.resnet import IncompatibleStateDictError

    plain = make(resolution_aware=False).eval()
    with torch.no_grad():  # make the source differ from any fresh initialisation
        for p in plain.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ra = make(num_ranges=3).eval()
    report = ra.initialise_from(plain.state_dict())
    assert report.newly_initialised == ["backbone.alpha"]
    assert torch.equal(ra.backbone.alpha, torch.ones(3, ra.backbone.num_blocks))
    assert sorted(report.loaded) == sorted(k for k in ra.state_dict() if k != "backbone.alpha")
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        ref = plain(x, None)
        out = ra(x, torch.tensor([0, 1, 2]))
    assert torch.allclose(out.pose_rotmat, ref.pose_rotmat, atol=1e-5) and torch.allclose(out.betas, ref.betas, atol=1e-5)

    # The other way would drop the trained resolution table: refused, and the target is unchanged.
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    with pytest.raises(IncompatibleStateDictError, match="alpha"):
        plain.initialise_from(ra.state_dict())
    with pytest.raises(IncompatibleStateDictError, match="regressor|shape"):
        make(depth=34).initialise_from(make(depth=50, resolution_aware=False).state_dict())
    assert all(torch.equal(before[k], v) for k, v in plain.state_dict().items())


def test_flatten_pooling_keeps_every_cell_of_the_last_map() -> None:
    torch.manual_seed(0)
    cfg = NetConfig(backbone=BackboneConfig(depth=18, num_ranges=2), input_size=64, pooling="flatten")
    net = RSCNet(cfg, MeanParams.default()).eval()
    assert cfg.feature_cells == 4 and net.feature_dim == cfg.feature_dim == 4 * 512
    x, r = torch.rand(2, 3, 64, 64), torch.tensor([0, 1])
    with torch.no_grad():
        out = net(x, r)
        last = net.backbone.forward_features(net.normalize(x), r)
    assert last.shape == (2, 512, 2, 2) and out.phi.shape == (2, 2048)
    # cell by cell: the first 512 values are the top-left cell's channels, the last 512 the bottom-right's
    torch.testing.assert_close(out.phi[:, :512], last[:, :, 0, 0].float())
    torch.testing.assert_close(out.phi[:, -512:], last[:, :, 1, 1].float())
    torch.testing.assert_close(net.extract(x, r), out.phi)
    assert net.project(out.phi).shape == (2, 128) and out.pose_rotmat.shape == (2, 24, 3, 3)
    # the mean (HMR / SPIN) pooling is the default and keeps C values
    assert NetConfig().pooling == "mean" and NetConfig(input_size=64).feature_cells == 1
    stride16 = NetConfig(backbone=BackboneConfig(depth=18, output_stride=16), input_size=64, pooling="flatten")
    assert stride16.feature_cells == 16
    with pytest.raises(ValueError, match="pooling"):
        NetConfig(pooling="max")

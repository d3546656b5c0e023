"""Resolution-aware ResNet: shapes, torchvision compatibility, per-sample alpha, alpha utilities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from model.nets.backbones.resnet import (
    IncompatibleStateDictError,
    ResolutionAwareResNet,
    load_torchvision_state_dict,
)
from model.nets.config import BackboneConfig

STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}
BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def torchvision_shapes(depth: int) -> dict[str, tuple[int, ...]]:
    """Key -> shape of torchvision's ``resnet{depth}().state_dict()``, written out by construction
    (torchvision's architecture: 7x7 stem, BasicBlock for 18/34, Bottleneck (x4) for 50,
    ``downsample.0`` 1x1 conv / ``downsample.1`` BN on the first block of a stage when the shape
    changes, ``fc`` 1000-way classifier)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name: str, cout: int, cin: int, k: int) -> None:
        shapes[f"{name}.weight"] = (cout, cin, k, k)

    def bn(name: str, c: int) -> None:
        for s in BN_SUFFIXES:
            shapes[f"{name}.{s}"] = () if s == "num_batches_tracked" else (c,)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    expansion = 4 if depth == 50 else 1
    cin = 64
    for s, (width, count) in enumerate(zip((64, 128, 256, 512), STAGES[depth])):
        for b in range(count):
            p = f"layer{s + 1}.{b}"
            cout = width * expansion
            if expansion == 1:
                conv(f"{p}.conv1", width, cin, 3)
                bn(f"{p}.bn1", width)
                conv(f"{p}.conv2", width, width, 3)
                bn(f"{p}.bn2", width)
            else:
                conv(f"{p}.conv1", width, cin, 1)
                bn(f"{p}.bn1", width)
                conv(f"{p}.conv2", width, width, 3)
                bn(f"{p}.bn2", width)
                conv(f"{p}.conv3", cout, width, 1)
                bn(f"{p}.bn3", cout)
            if b == 0 and (s > 0 or cin != cout):
                conv(f"{p}.downsample.0", cout, cin, 1)
                bn(f"{p}.downsample.1", cout)
            cin = cout
    shapes["fc.weight"] = (1000, cin)
    shapes["fc.bias"] = (1000,)
    return shapes


def random_state_dict(depth: int, seed: int = 0) -> dict[str, Tensor]:
    """A torchvision-keyed state dict with random (but sane) values."""
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, Tensor] = {}
    for k, shape in torchvision_shapes(depth).items():
        if k.endswith("num_batches_tracked"):
            sd[k] = torch.tensor(7)
        elif k.endswith("running_var"):
            sd[k] = torch.rand(shape, generator=g) + 0.5
        elif k.endswith("running_mean") or k.endswith("bias"):
            sd[k] = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # BN weight
            sd[k] = torch.rand(shape, generator=g) + 0.5
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            sd[k] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
    return sd


def reference_forward(sd: dict[str, Tensor], x: Tensor, depth: int, output_stride: int = 32) -> Tensor:
    """Plain ResNet (eval-mode BN) written functionally from a torchvision state dict: pooled (B, C).

    ``output_stride`` 16: layer4 without its stride, every 3x3 convolution of it dilated by 2 except
    the one at the first block's strided position (DeepLab's recipe, torchvision's convention).
    """

    def bn(t: Tensor, name: str) -> Tensor:
        return F.batch_norm(
            t, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"], sd[f"{name}.bias"]
        )

    x = F.relu(bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for s, count in enumerate(STAGES[depth]):
        for b in range(count):
            p = f"layer{s + 1}.{b}"
            dilated = s == 3 and output_stride == 16
            stride = 2 if (s > 0 and b == 0 and not dilated) else 1
            first = 2 if (dilated and b > 0) else 1  # dilation at the strided position
            later = 2 if dilated else 1
            if depth == 50:
                h = F.relu(bn(F.conv2d(x, sd[f"{p}.conv1.weight"]), f"{p}.bn1"))
                h = F.relu(
                    bn(F.conv2d(h, sd[f"{p}.conv2.weight"], stride=stride, padding=first, dilation=first), f"{p}.bn2")
                )
                h = bn(F.conv2d(h, sd[f"{p}.conv3.weight"]), f"{p}.bn3")
            else:
                h = F.relu(
                    bn(F.conv2d(x, sd[f"{p}.conv1.weight"], stride=stride, padding=first, dilation=first), f"{p}.bn1")
                )
                h = bn(F.conv2d(h, sd[f"{p}.conv2.weight"], padding=later, dilation=later), f"{p}.bn2")
            if f"{p}.downsample.0.weight" in sd:
                x = bn(F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride), f"{p}.downsample.1")
            x = F.relu(x + h)
    return x.mean(dim=(2, 3))


def make(depth: int = 18, **kwargs) -> ResolutionAwareResNet:
    torch.manual_seed(0)
    return ResolutionAwareResNet(BackboneConfig(depth=depth, **kwargs))


@pytest.mark.parametrize("depth,dim,blocks", [(18, 512, 8), (34, 512, 16), (50, 2048, 16)])
def test_shapes(depth: int, dim: int, blocks: int) -> None:
    net = make(depth)
    x = torch.randn(2, 3, 64, 64)
    r = torch.tensor([0, 4])
    assert net.alpha.shape == (5, blocks) and torch.equal(net.alpha, torch.ones(5, blocks))
    assert net.feature_dim == dim
    assert net(x, r).shape == (2, dim)
    assert net.forward_features(x, r).shape == (2, dim, 2, 2)


@pytest.mark.parametrize("size", [(32, 32), (40, 72)])
def test_small_and_non_square_inputs(size: tuple[int, int]) -> None:
    net = make(18).eval()
    out = net(torch.randn(1, 3, *size), torch.tensor([2]))
    assert out.shape == (1, 512) and torch.isfinite(out).all()


@pytest.mark.parametrize("depth", [18, 50])
def test_state_dict_keys_match_torchvision(depth: int) -> None:
    expected = {k: s for k, s in torchvision_shapes(depth).items() if not k.startswith("fc.")}
    own = {k: tuple(v.shape) for k, v in make(depth).state_dict().items()}
    assert own.pop("alpha") == (5, 16 if depth == 50 else 8)
    assert own == expected
    baseline = {k: tuple(v.shape) for k, v in make(depth, resolution_aware=False).state_dict().items()}
    assert baseline == expected


@pytest.mark.parametrize("depth", [18, 50])
def test_loaded_weights_reproduce_a_plain_resnet(depth: int) -> None:
    sd = random_state_dict(depth)
    net = make(depth).eval()
    report = load_torchvision_state_dict(net, sd)
    assert report.newly_initialised == ["alpha"] and report.dropped == ["fc.bias", "fc.weight"]
    assert report.defaulted == [] and len(report.loaded) == len(sd) - 2
    assert torch.equal(net.layer4[1].bn2.running_var, sd["layer4.1.bn2.running_var"])
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = reference_forward(sd, x, depth)
        torch.testing.assert_close(net(x, torch.tensor([1, 3])), ref, rtol=1e-4, atol=1e-4)
        baseline = make(depth, resolution_aware=False).eval()
        load_torchvision_state_dict(baseline, sd)
        torch.testing.assert_close(baseline(x), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("depth", [18, 50])
def test_output_stride_16_dilates_layer4_with_the_same_weights(depth: int) -> None:
    sd = random_state_dict(depth, seed=3)
    net = make(depth, output_stride=16).eval()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == {
        k: tuple(v.shape) for k, v in make(depth).state_dict().items()
    }
    load_torchvision_state_dict(net, sd)
    x = torch.randn(2, 3, 64, 64)
    r = torch.tensor([0, 2])
    with torch.no_grad():
        assert net.forward_features(x, r).shape == (2, net.feature_dim, 4, 4)
        assert [m.shape[-1] for m in net.forward_stages(x, r)] == [16, 8, 4, 4]
        torch.testing.assert_close(net(x, r), reference_forward(sd, x, depth, 16), rtol=1e-4, atol=1e-4)
        strided = make(depth).eval()
        load_torchvision_state_dict(strided, sd)
        assert not torch.allclose(strided(x, r), net(x, r), atol=1e-3)
    assert "output_stride=16" in repr(net)


def test_missing_key_is_named_and_model_untouched() -> None:
    sd = random_state_dict(18)
    del sd["layer3.1.conv2.weight"]
    net = make(18)
    before = net.conv1.weight.clone()
    with pytest.raises(IncompatibleStateDictError, match=r"missing keys \(1\): layer3\.1\.conv2\.weight"):
        load_torchvision_state_dict(net, sd)
    assert torch.equal(net.conv1.weight, before)


def test_unexpected_key_is_named() -> None:
    sd = random_state_dict(18)
    sd["layer5.0.conv1.weight"] = torch.zeros(1)
    with pytest.raises(IncompatibleStateDictError, match=r"unexpected keys \(1\): layer5\.0\.conv1\.weight"):
        load_torchvision_state_dict(make(18), sd)


def test_wrong_depth_and_shape_mismatch_are_refused() -> None:
    with pytest.raises(IncompatibleStateDictError, match="missing keys"):
        load_torchvision_state_dict(make(34), random_state_dict(18))
    sd = random_state_dict(18)
    sd["bn1.weight"] = torch.ones(32)
    with pytest.raises(IncompatibleStateDictError, match=r"bn1\.weight: checkpoint \(32,\) vs model \(64,\)"):
        load_torchvision_state_dict(make(18), sd)


def test_fc_is_refused_without_ignore_fc() -> None:
    with pytest.raises(IncompatibleStateDictError, match=r"fc\.bias, fc\.weight"):
        load_torchvision_state_dict(make(18), random_state_dict(18), ignore_fc=False)
    sd = {k: v for k, v in random_state_dict(18).items() if not k.startswith("fc.")}
    assert load_torchvision_state_dict(make(18), sd, ignore_fc=False).dropped == []


def test_old_checkpoints_without_num_batches_tracked_load() -> None:
    sd = {k: v for k, v in random_state_dict(18).items() if not k.endswith("num_batches_tracked")}
    net = make(18)
    report = load_torchvision_state_dict(net, sd)
    assert len(report.defaulted) == 20 and "bn1.num_batches_tracked" in report.defaulted
    assert int(net.bn1.num_batches_tracked) == 0


def test_alpha_is_selected_per_sample() -> None:
    net = make(18).eval()
    x = torch.randn(4, 3, 48, 48)
    r = torch.tensor([0, 1, 2, 1])
    with torch.no_grad():
        ref = net(x, r)
        net.alpha[1, 3] = 0.0  # kill the residual branch of block 3 (layer2.1) for range 1 only
        out = net(x, r)
        alone = net(x[1:2], torch.tensor([1]))
    for i in (0, 2):
        assert torch.equal(out[i], ref[i])
    for i in (1, 3):
        assert (out[i] - ref[i]).abs().max() > 1e-3
    torch.testing.assert_close(alone[0], out[1], rtol=1e-5, atol=1e-5)


def test_zero_alpha_reduces_block_to_shortcut() -> None:
    net = make(18).eval()
    blk = net.layer1[0]
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        out = blk(x, torch.tensor([0.0, 1.0]))
        torch.testing.assert_close(out[0], torch.relu(x[0]))
        torch.testing.assert_close(out[1], blk(x[1:2])[0])


def test_copy_alpha_row() -> None:
    net = make(18, num_ranges=3)
    with torch.no_grad():
        net.alpha[0] = torch.arange(8.0)
    net.copy_alpha_row(0, 2)
    assert torch.equal(net.alpha[2], torch.arange(8.0)) and torch.equal(net.alpha[1], torch.ones(8))
    assert net.alpha.requires_grad and net.alpha.grad is None
    with pytest.raises(IndexError):
        net.copy_alpha_row(0, 3)
    with pytest.raises(RuntimeError, match="not resolution-aware"):
        make(18, resolution_aware=False).copy_alpha_row(0, 1)


def test_gradient_reaches_only_used_alpha_rows() -> None:
    net = make(18)
    net(torch.randn(3, 3, 32, 32), torch.tensor([0, 2, 2])).square().sum().backward()
    grad = net.alpha.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert (grad[[0, 2]].abs().sum(1) > 0).all()
    assert torch.equal(grad[[1, 3, 4]], torch.zeros(3, 8))


def test_range_index_validation() -> None:
    net = make(18)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match="needs range_index"):
        net(x, None)
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        net(x, torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="int64"):
        net(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        net(x, torch.tensor([0]))
    baseline = make(18, resolution_aware=False)
    assert baseline.alpha is None and "alpha" not in dict(baseline.named_parameters())
    assert baseline(x, None).shape == (2, 512)
    assert baseline(x, torch.tensor([9, 9])).shape == (2, 512)  # ignored by the baseline


def test_bf16_autocast_channels_last() -> None:
    net = make(50).eval().to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 64)
    r = torch.tensor([0, 3])
    with torch.no_grad():
        ref = net(x, r)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fmap = net.forward_features(x, r)
            out = net(x, r)
    assert fmap.dtype == torch.bfloat16 and fmap.is_contiguous(memory_format=torch.channels_last)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    rel = (out - ref).norm() / ref.norm()
    assert rel < 0.05

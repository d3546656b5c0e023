"""Shapes and behaviour of the texture networks: TexGlo (every Table 8 ablation), its global
context module (both fusions) and the ReID network."""

from __future__ import annotations

import pytest
import torch

from model.nets.reid import ReIDConfig, ReIDNet
from model.nets.texture import GlobalContext, TexGlo, TexGloConfig

ABLATIONS = {
    "w/o Up & Glo": {"upsample": False, "glo": "none"},
    "w/o Glo": {"upsample": True, "glo": "none"},
    "Glo-C": {"upsample": True, "glo": "concat"},
    "Glo-S": {"upsample": True, "glo": "sum"},
}


@pytest.mark.parametrize("name", list(ABLATIONS))
@pytest.mark.parametrize("uv_size", [128, 256])
def test_texglo_output_shape_per_ablation(name: str, uv_size: int) -> None:
    cfg = TexGloConfig(uv_size=uv_size, widths=(8, 16, 32, 64), **ABLATIONS[name])
    net = TexGlo(cfg).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 128, 64))
    assert out.shape == (2, 3, uv_size, uv_size)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (net.glo is None) == (cfg.glo == "none")
    assert (net.up_block is None) == (not cfg.upsample)


def test_texglo_resizes_any_input_to_its_input_size() -> None:
    net = TexGlo(TexGloConfig(widths=(8, 16, 32, 64))).eval()
    with torch.no_grad():
        a = net(torch.rand(1, 3, 40, 40))
        b = net(torch.rand(1, 3, 200, 90))
    assert a.shape == b.shape == (1, 3, 128, 128)


def test_texglo_gradients_reach_every_parameter() -> None:
    net = TexGlo(TexGloConfig(input_size=(32, 16), uv_size=32, widths=(8, 16), glo="sum"))
    net(torch.rand(2, 3, 32, 16)).mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_texglo_config_validation_and_round_trip() -> None:
    with pytest.raises(ValueError, match="glo"):
        TexGloConfig(glo="mul")
    with pytest.raises(ValueError, match="uv_size"):
        TexGloConfig(uv_size=120)
    with pytest.raises(ValueError, match="input_size"):
        TexGloConfig(input_size=(100, 50))
    cfg = TexGloConfig(uv_size=256, glo="concat", widths=(8, 16, 32, 64))
    assert TexGloConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.bottleneck_grid == 16 and TexGloConfig(upsample=False, glo="none").bottleneck_grid == 16


@pytest.mark.parametrize("fusion", ["sum", "concat"])
def test_global_context_shapes(fusion: str) -> None:
    g = GlobalContext(channels=24, grid=4, reduce_channels=6, fc_dim=20, fusion=fusion).eval()
    x = torch.rand(3, 24, 4, 4)
    assert g(x).shape == x.shape
    with pytest.raises(ValueError, match="4x4"):
        g(torch.rand(1, 24, 5, 5))


def test_global_context_sum_fusion_adds_the_global_branch() -> None:
    g = GlobalContext(channels=8, grid=2, reduce_channels=4, fc_dim=8, fusion="sum").eval()
    x = torch.randn(2, 8, 2, 2)
    with torch.no_grad():
        branch = g.restore(g.fc(torch.cat([g.reduce(x).mean(dim=(2, 3)), g.reduce(x).flatten(1)], 1)).view(2, 4, 2, 2))
        assert torch.allclose(g(x), x + branch, atol=1e-6)
        torch.nn.init.zeros_(g.restore[0].weight)
        g.restore[1].reset_parameters()
        g.restore[1].reset_running_stats()
        torch.nn.init.zeros_(g.restore[1].bias)
        assert torch.allclose(g(x), x)  # zero global branch: point-wise sum leaves the input unchanged


def test_global_context_mixes_spatial_locations() -> None:
    """The FC layers make every output location depend on every input location (unlike a conv)."""
    torch.manual_seed(0)
    g = GlobalContext(channels=8, grid=4, reduce_channels=8, fc_dim=32, fusion="sum").eval()
    x = torch.randn(1, 8, 4, 4, requires_grad=True)
    g(x)[0, :, 0, 0].sum().backward()
    assert x.grad is not None
    far = x.grad[0, :, 2:, 2:].abs().sum(0)  # the quadrant opposite the output location
    assert (far > 0).all()


def test_global_context_concat_uses_both_inputs() -> None:
    g = GlobalContext(channels=4, grid=2, reduce_channels=2, fc_dim=4, fusion="concat")
    assert g.fuse is not None and g.fuse.in_channels == 8 and g.fuse.out_channels == 4
    with pytest.raises(ValueError, match="fusion"):
        GlobalContext(4, 2, fusion="max")


def test_reid_output_shapes() -> None:
    cfg = ReIDConfig(widths=(8, 16, 32, 64), embed_dim=32, num_classes=5)
    net = ReIDNet(cfg).eval()
    out = net(torch.rand(3, 3, 128, 128))  # resized to 128 x 64
    assert [f.shape for f in out.features] == [(3, 8, 64, 32), (3, 16, 32, 16), (3, 32, 16, 8), (3, 64, 8, 4)]
    assert out.embedding.shape == (3, 32) and out.logits is not None and out.logits.shape == (3, 5)
    assert ReIDNet(ReIDConfig(widths=(8, 16), num_classes=0)).eval()(torch.rand(1, 3, 64, 32)).logits is None
    assert ReIDConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        net(torch.rand(3, 64, 32))

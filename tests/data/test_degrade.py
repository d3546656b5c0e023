"""Resolution degradation: shapes, determinism, fidelity of the bicubic mode, realistic mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.data.degrade import (
    DegradeConfig,
    MultiResolution,
    bicubic_down_up,
    degrade,
    degrade_to_ranges,
    psf_kernel,
)
from model.geometry.resolution import ResolutionRanges

REALISTIC = DegradeConfig(mode="realistic")
ALWAYS = DegradeConfig(
    mode="realistic", blur_prob=1.0, defocus_prob=1.0, motion_blur_prob=1.0, noise_prob=1.0, jpeg_prob=1.0
)


def _images(b: int = 4, size: int = 96, seed: int = 0) -> torch.Tensor:
    """Smooth random images (low-frequency content survives the degradation)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand((b, 3, 6, 6), generator=g)
    return F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


def test_bicubic_shapes_and_range() -> None:
    x = _images()
    y = bicubic_down_up(x, 24, 64)
    assert y.shape == (4, 3, 64, 64) and y.dtype == torch.float32
    assert y.min() >= 0 and y.max() <= 1
    single = bicubic_down_up(x[0], 24, 64)
    assert single.shape == (3, 64, 64)
    assert torch.equal(single, y[0])
    assert bicubic_down_up(x[:, :, :, :48], 24, 64).shape == (4, 3, 64, 32)  # aspect kept


def test_bicubic_per_sample_sizes_match_individual_calls() -> None:
    x = _images(5)
    sizes = torch.tensor([24, 40, 24, 96, 200])
    y = bicubic_down_up(x, sizes, 96)
    for i, s in enumerate(sizes.tolist()):
        assert torch.allclose(y[i], bicubic_down_up(x[i : i + 1], s, 96)[0], atol=1e-6)
    # No downsampling (size >= H) and out_size == H: the image itself.
    assert torch.allclose(y[3], x[3]) and torch.allclose(y[4], x[4])


def test_bicubic_loses_detail_monotonically() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand((2, 3, 96, 96), generator=g)  # white noise: all detail is high frequency
    errors = [(bicubic_down_up(x, s, 96) - x).abs().mean().item() for s in (96, 64, 40, 24)]
    assert errors[0] < 1e-6
    assert errors == sorted(errors)
    smooth = _images(2)
    assert (bicubic_down_up(smooth, 24, 96) - smooth).abs().mean() < 0.01


def test_uint8_input_is_scaled() -> None:
    x = _images(1)
    y8 = bicubic_down_up((x * 255).round().to(torch.uint8), 40, 96)
    assert (y8 - bicubic_down_up(x, 40, 96)).abs().max() < 0.01


@pytest.mark.parametrize("config", [REALISTIC, ALWAYS])
def test_realistic_is_deterministic_and_bounded(config: DegradeConfig) -> None:
    x = _images(6)
    sizes = torch.tensor([24, 30, 40, 64, 100, 96])
    a = degrade(x, sizes, 64, config, torch.Generator().manual_seed(7))
    b = degrade(x, sizes, 64, config, torch.Generator().manual_seed(7))
    c = degrade(x, sizes, 64, config, torch.Generator().manual_seed(8))
    assert a.shape == (6, 3, 64, 64)
    assert torch.equal(a, b)
    assert not torch.equal(a[:5], c[:5])
    assert a.min() >= 0 and a.max() <= 1
    # Still the same picture, roughly.
    ref = bicubic_down_up(x, sizes, 64)
    assert (a - ref).abs().mean() < 0.08
    # Not downsampled (96 = H) and not degrade_full_resolution: clean resize only.
    assert torch.equal(a[5], ref[5])


def test_realistic_differs_from_bicubic() -> None:
    x = _images(3)
    a = degrade(x, 32, 96, ALWAYS, torch.Generator().manual_seed(0))
    ref = bicubic_down_up(x, 32, 96)
    assert (a - ref).abs().mean() > 1e-3
    full = degrade(
        x, 96, 96, DegradeConfig(mode="realistic", degrade_full_resolution=True, noise_prob=1.0),
        torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert not torch.equal(full, x)


def test_psf_kernel() -> None:
    assert psf_kernel() is None
    assert np.array_equal(psf_kernel(radius=0.3), np.ones((1, 1), np.float32))
    for args in [(0.8, 0, 0, 0), (0, 1.3, 0, 0), (0, 0, 2.5, 0.7), (0.5, 1.0, 2.0, 2.0)]:
        k = psf_kernel(*args)
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert abs(k.sum() - 1) < 1e-5 and (k >= 0).all()
        assert np.allclose(k, k[::-1, ::-1], atol=1e-6)  # point-symmetric
    horizontal = psf_kernel(length=3.0, angle=0.0)
    c = horizontal.shape[0] // 2
    assert horizontal[c].sum() > 0.99  # a horizontal motion stays in the middle row


def test_degrade_to_ranges() -> None:
    ranges = ResolutionRanges()
    x = _images(1, size=224)[0]
    g = torch.Generator().manual_seed(0)
    imgs, sizes = degrade_to_ranges(x, ranges, [0, 1, 2, 3, 4, 4], 224, DegradeConfig(), g)
    assert imgs.shape == (6, 3, 224, 224) and sizes.shape == (6,)
    assert torch.equal(ranges.index_tensor(sizes), torch.tensor([0, 1, 2, 3, 4, 4]))
    assert torch.allclose(imgs[0], x)
    mr = MultiResolution(ranges, 112, REALISTIC)
    a, sa = mr(x, None, torch.Generator().manual_seed(5))
    b, sb = mr(x, None, torch.Generator().manual_seed(5))
    assert a.shape == (5, 3, 112, 112) and torch.equal(a, b) and torch.equal(sa, sb)


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        DegradeConfig(mode="nearest")
    with pytest.raises(ValueError):
        DegradeConfig(blur_prob=1.5)
    with pytest.raises(ValueError):
        DegradeConfig(jpeg_quality_range=(50, 120))
    with pytest.raises(ValueError):
        DegradeConfig(noise_std_range=(0.1, 0.0))
    with pytest.raises(ValueError):
        bicubic_down_up(_images(2), [24, 40, 64], 64)

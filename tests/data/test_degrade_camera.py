"""Camera effects of the realistic degradation: each changes the image the way a camera does,
inside its configured range, deterministically per generator and independently of the batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.data.camera_effects import (
    BPP_QUALITY_TABLE,
    bits_per_pixel,
    compress,
    interlace,
    near_infrared,
    quality_for_bits_per_pixel,
    sharpen,
    vignette,
    white_balance,
)
from model.data.degrade import DegradeConfig, degrade

#: Every effect off: what is left is the bicubic down/up and 8-bit quantisation.
NONE = {
    "clean_prob": 0.0,
    "blur_prob": 0.0, "defocus_prob": 0.0, "motion_blur_prob": 0.0, "noise_prob": 0.0, "jpeg_prob": 0.0,
    "white_balance_prob": 0.0, "vignette_prob": 0.0, "low_light_prob": 0.0, "night_prob": 0.0, "interlace_prob": 0.0,
    "exposure_error_prob": 0.0, "sharpen_prob": 0.0,
}  # fmt: skip


def _only(**kwargs: float) -> DegradeConfig:
    return DegradeConfig(mode="realistic", **{**NONE, **kwargs})


def _images(b: int = 4, size: int = 128, seed: int = 0) -> torch.Tensor:
    """Smooth colourful random images."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand((b, 3, 6, 6), generator=g)
    return F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)


def _edges(b: int = 2, size: int = 128) -> torch.Tensor:
    """Vertical stripes 8 px wide: sharp moving edges at any resolution down to 32."""
    x = torch.zeros(b, 3, size, size)
    cols = (torch.arange(size) // (size // 8)) % 2 == 0
    x[..., cols] = 0.9
    x[..., ~cols] = 0.1
    return x


def test_night_frames_are_grey_dark_noisy_and_lifted() -> None:
    x = _images(4)
    y = degrade(x, 32, 32, _only(night_prob=1.0), torch.Generator().manual_seed(0))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])  # grey, even through JPEG
    y = degrade(x, 32, 32, _only(night_prob=1.0, jpeg_prob=1.0), torch.Generator().manual_seed(0))
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 1], y[:, 2])
    # The near-infrared response lifts dark cloth: a dark red patch comes out brighter than its luminance.
    patch = np.full((4, 4, 3), [0.3, 0.05, 0.05], np.float32)
    grey = near_infrared(patch, 0.6)
    assert grey.shape == (4, 4, 1) and float(grey.min()) > 0.3 > float((patch @ np.array([0.2126, 0.7152, 0.0722])).max())


def test_low_light_is_darker_and_noisier() -> None:
    x = torch.full((8, 3, 128, 128), 0.6)
    clean = degrade(x, 32, 32, _only(), torch.Generator().manual_seed(0))
    dark = degrade(x, 32, 32, _only(low_light_prob=1.0), torch.Generator().manual_seed(0))
    assert torch.equal(clean, torch.full_like(clean, round(0.6 * 255) / 255))
    assert float(dark.mean()) < 0.9 * float(clean.mean())
    # Gain noise: a flat grey wall comes out grainy, and noisier than the same noise without the dark gain.
    lit = degrade(x, 32, 32, _only(noise_prob=1.0, noise_std_range=(0.01, 0.01), shot_noise_range=(0.0, 0.0)), torch.Generator().manual_seed(0))
    dim = degrade(x, 32, 32, _only(low_light_prob=1.0, low_light_noise_range=(0.01, 0.01), shot_noise_range=(0.0, 0.0)), torch.Generator().manual_seed(0))
    assert float(dim.std(dim=(1, 2, 3)).min()) > 1.2 * float(lit.std(dim=(1, 2, 3)).max())


def test_interlacing_combs_moving_edges_and_line_doubling_repeats_rows() -> None:
    x = _edges()
    combed = degrade(x, 64, 64, _only(interlace_prob=1.0, line_double_prob=0.0, interlace_shift_range=(0.05, 0.05)), torch.Generator().manual_seed(0))
    even, odd = combed[:, :, 0::2], combed[:, :, 1::2]
    # Static content would give equal neighbouring rows; the odd field is shifted by 3.2 px.
    assert float((even - odd).abs().amax()) > 0.5
    assert float((even[:, :, 1:] - even[:, :, :-1]).abs().max()) < 1e-6  # each field alone is consistent
    doubled = degrade(x, 64, 64, _only(interlace_prob=1.0, line_double_prob=1.0), torch.Generator().manual_seed(0))
    assert torch.equal(doubled[:, :, 0::2], doubled[:, :, 1::2])
    img = np.random.default_rng(0).random((7, 5, 3), dtype=np.float32)
    assert np.array_equal(interlace(img, (0.0, 0.0), False), img)
    out = interlace(img, (1.0, 0.0), False)  # odd rows: the image moved one pixel to the right
    assert np.allclose(out[1::2, 1:], img[1::2, :-1]) and np.array_equal(out[0::2], img[0::2])
    assert np.array_equal(interlace(img, (0.0, 0.0), True)[6], img[6])  # last (even) row kept


def _block_edge_ratio(img: np.ndarray, phase: int, block: int = 8) -> float:
    """Mean jump across columns ``block * k - phase`` over the mean jump elsewhere."""
    jumps = np.abs(np.diff(img.astype(np.float32), axis=1)).mean(axis=(0, 2))  # jump between col j and j+1
    edge = np.zeros_like(jumps, dtype=bool)
    for j in range(len(jumps)):
        edge[j] = (j + 1 + phase) % block == 0
    return float(jumps[edge].mean() / jumps[~edge].mean())


@pytest.mark.parametrize("phase", [0, 3])
def test_compression_makes_8x8_blocks_on_the_frame_grid(phase: int) -> None:
    rng = np.random.default_rng(1)
    smooth = F.interpolate(torch.from_numpy(rng.random((1, 3, 8, 8), dtype=np.float32)), size=(64, 64), mode="bicubic", align_corners=False)
    img = (smooth[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    img = np.clip(img.astype(np.int16) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
    low = compress(img, 10, (phase, phase))
    assert low.shape == img.shape and low.dtype == np.uint8
    assert _block_edge_ratio(low, phase) > 1.5  # blocking artefacts on the (shifted) block grid
    assert _block_edge_ratio(img, phase) < 1.2  # not in the source
    # Chroma is subsampled 4:2:0: colour detail at 1 px is lost much more than luminance detail.
    checker = np.zeros((32, 32, 3), np.uint8)
    checker[::2, ::2] = checker[1::2, 1::2] = (200, 40, 40)
    checker[1::2, ::2] = checker[::2, 1::2] = (40, 40, 200)
    out = compress(checker, 100).astype(np.float32)
    assert float(np.abs(out[..., 0] - out[..., 2]).mean()) < 0.5 * 160
    grey = compress(img[:, :, :1], 50)
    assert grey.shape == (64, 64, 1)
    # 16 x 16 macroblocks: jumps on the 16-pixel grid, not on the 8-pixel one in between.
    mb = compress(img, 10, (phase, phase), block=16)
    assert mb.shape == img.shape
    assert _block_edge_ratio(mb, phase, 16) > 1.3  # softer than 8 x 8: the enlargement is bilinear
    assert _block_edge_ratio(mb, phase + 8, 16) < _block_edge_ratio(mb, phase, 16) / 1.3
    odd = compress(img[:37, :29], 30, (5, 11), block=16)
    assert odd.shape == (37, 29, 3)
    with pytest.raises(ValueError):
        compress(img, 50, block=4)


def test_bit_rate_sets_the_quality() -> None:
    for bpp, q in BPP_QUALITY_TABLE:
        assert quality_for_bits_per_pixel(bpp) == q
    img = (_images(1, size=48)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    sizes = [bits_per_pixel(img, q) for q in (5, 30, 90)]
    assert sizes == sorted(sizes) and sizes[0] >= 0
    qs = [quality_for_bits_per_pixel(b) for b in (0.1, 0.3, 0.6, 1.0, 2.0, 4.0, 20.0)]
    assert qs == sorted(qs) and qs[0] >= 1 and qs[-1] == 100
    x = _images(6, size=128)
    lo = degrade(x, 64, 64, _only(jpeg_prob=1.0, jpeg_bpp_range=(0.3, 0.3), jpeg_quality_range=(1, 100)), torch.Generator().manual_seed(0))
    hi = degrade(x, 64, 64, _only(jpeg_prob=1.0, jpeg_bpp_range=(3.0, 3.0), jpeg_quality_range=(1, 100)), torch.Generator().manual_seed(0))
    ref = degrade(x, 64, 64, _only(), torch.Generator().manual_seed(0))
    assert float((lo - ref).abs().mean()) > 2 * float((hi - ref).abs().mean())


def test_white_balance_and_vignetting() -> None:
    grey = np.full((16, 16, 3), 0.5, np.float32)
    cast = white_balance(grey, 0.25, -0.25)
    r, g, b = cast[0, 0]
    assert r > g > b and r / b == pytest.approx(math.exp(0.5), rel=1e-5)
    assert float(cast[0, 0] @ np.array([0.2126, 0.7152, 0.0722], np.float32)) == pytest.approx(0.5, rel=1e-5)
    v = vignette(grey, 0.4, (0.0, 0.0))
    assert v[8, 8, 0] > v[0, 0, 0] and float(v.min()) == pytest.approx(0.5 * 0.6, rel=1e-5)
    corner = vignette(grey, 0.4, (0.5, 0.5))  # fall-off centred on the bottom-right corner
    assert corner[15, 15, 0] > corner[8, 8, 0] > corner[0, 0, 0]
    x = _images(4)
    y = degrade(x, 32, 32, _only(white_balance_prob=1.0, white_balance_range=(0.3, 0.3)), torch.Generator().manual_seed(0))
    ref = degrade(x, 32, 32, _only(), torch.Generator().manual_seed(0))
    assert float(y[:, 0].mean()) > float(ref[:, 0].mean()) and float(y[:, 2].mean()) > float(ref[:, 2].mean())
    assert float(y[:, 1].mean()) < float(ref[:, 1].mean())


def test_exposure_error_clips_highlights_and_sharpening_overshoots_edges() -> None:
    x = _images(4)
    ref = degrade(x, 32, 32, _only(), torch.Generator().manual_seed(0))
    bright = degrade(x, 32, 32, _only(exposure_error_prob=1.0, exposure_error_ev=(1.0, 1.0)), torch.Generator().manual_seed(0))
    assert float(bright.mean()) > float(ref.mean()) and float((bright == 1.0).float().mean()) > float((ref == 1.0).float().mean()) + 0.05
    dark = degrade(x, 32, 32, _only(exposure_error_prob=1.0, exposure_error_ev=(-0.7, -0.7)), torch.Generator().manual_seed(0))
    torch.testing.assert_close(dark, ref * 2**-0.7, atol=1.5 / 255 + 0.01, rtol=0)
    # A step edge gets a dark undershoot and a bright overshoot next to it; flat areas stay flat.
    step = np.full((8, 16, 1), 0.3, np.float32)
    step[:, 8:] = 0.6
    sharp = sharpen(step, 1.0)
    assert float(sharp[4, 7, 0]) < 0.3 - 0.02 and float(sharp[4, 8, 0]) > 0.6 + 0.02
    assert sharp[4, 0, 0] == pytest.approx(0.3, abs=1e-6) and sharp[4, 15, 0] == pytest.approx(0.6, abs=1e-6)
    edges = _edges(1)
    plain = degrade(edges, 32, 32, _only(), torch.Generator().manual_seed(0))
    halo = degrade(edges, 32, 32, _only(sharpen_prob=1.0, sharpen_amount_range=(1.5, 1.5)), torch.Generator().manual_seed(0))
    assert float(halo.max()) > float(plain.max()) and float(halo.min()) < float(plain.min())


def test_motion_blur_length_is_capped_by_the_size() -> None:
    x = _edges(1)
    cfg = _only(motion_blur_prob=1.0, motion_blur_len_range=(5.0, 5.0), motion_blur_max_frac=0.05)
    # At 32 px the 5 px motion is cut to 1.6 px: closer to the clean image than an uncapped blur.
    capped = degrade(x, 32, 32, cfg, torch.Generator().manual_seed(0))
    uncapped = degrade(x, 32, 32, _only(motion_blur_prob=1.0, motion_blur_len_range=(5.0, 5.0)), torch.Generator().manual_seed(0))
    ref = degrade(x, 32, 32, _only(), torch.Generator().manual_seed(0))
    assert 0 < float((capped - ref).abs().mean()) < float((uncapped - ref).abs().mean())


def test_default_realistic_is_deterministic_and_batch_independent() -> None:
    x = _images(6)
    cfg = DegradeConfig(mode="realistic")
    a = degrade(x, 32, 64, cfg, torch.Generator().manual_seed(3))
    b = degrade(x, 32, 64, cfg, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    # Draws depend on the generator and the batch's shape only, never on the pixels of other images
    # (the datasets pass one generator per sample, so a sample does not depend on its batch).
    one = degrade(torch.stack([x[2], x[0], x[4]]), 32, 64, cfg, torch.Generator().manual_seed(9))
    two = degrade(torch.stack([x[2], x[5], x[1]]), 32, 64, cfg, torch.Generator().manual_seed(9))
    assert torch.equal(one[0], two[0])
    # Every effect at once still gives a valid image.
    every = DegradeConfig(
        mode="realistic", clean_prob=0.0, blur_prob=1.0, defocus_prob=1.0, motion_blur_prob=1.0, noise_prob=1.0, jpeg_prob=1.0,
        white_balance_prob=1.0, vignette_prob=1.0, low_light_prob=0.5, night_prob=0.5, interlace_prob=1.0,
        exposure_error_prob=1.0, sharpen_prob=1.0,
    )  # fmt: skip
    e = degrade(x, 24, 64, every, torch.Generator().manual_seed(0))
    assert e.shape == (6, 3, 64, 64) and torch.isfinite(e).all() and e.min() >= 0 and e.max() <= 1


def test_clean_share_is_the_bicubic_mode() -> None:
    x = _images(6)
    clean = degrade(x, 32, 64, DegradeConfig(mode="realistic", clean_prob=1.0), torch.Generator().manual_seed(0))
    torch.testing.assert_close(clean, degrade(x, 32, 64, DegradeConfig(), None), atol=1e-6, rtol=0)
    some = degrade(_images(200, size=64), 16, 16, DegradeConfig(mode="realistic"), torch.Generator().manual_seed(1))
    plain = degrade(_images(200, size=64), 16, 16, DegradeConfig(), None)
    same = (some - plain).abs().amax(dim=(1, 2, 3)) < 1e-6
    assert float(same.float().mean()) == pytest.approx(DegradeConfig().clean_prob, abs=0.06)


def test_shared_draws_keep_one_camera_over_a_clip() -> None:
    clip = _images(1).expand(40, 3, 128, 128)
    cfg = DegradeConfig(mode="realistic", night_prob=0.5, low_light_prob=0.0, noise_prob=1.0, clean_prob=0.0)
    frames = degrade(clip, 32, 32, cfg, torch.Generator().manual_seed(0), share_draws=True)
    grey = [bool(torch.equal(f[0], f[1]) and torch.equal(f[1], f[2])) for f in frames]
    assert len(set(grey)) == 1  # all night frames or none
    assert not torch.equal(frames[0], frames[1])  # fresh noise in every frame
    mixed = degrade(clip, 32, 32, cfg, torch.Generator().manual_seed(0))
    assert len({bool(torch.equal(f[0], f[1]) and torch.equal(f[1], f[2])) for f in mixed}) == 2


def test_default_shares_of_each_effect() -> None:
    """Over many images the draws follow the configured probabilities (night frames: grey)."""
    cfg = DegradeConfig(mode="realistic", jpeg_prob=0.0, clean_prob=0.0)
    x = _images(300, size=32)
    y = degrade(x, 16, 16, cfg, torch.Generator().manual_seed(0))
    grey = (y[:, 0] == y[:, 1]).all(-1).all(-1) & (y[:, 1] == y[:, 2]).all(-1).all(-1)
    assert float(grey.float().mean()) == pytest.approx(cfg.night_prob, abs=0.05)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"night_prob": 1.5},
        {"low_light_prob": 0.6, "night_prob": 0.6},
        {"interlace_prob": -0.1},
        {"white_balance_range": (-2.0, 0.2)},
        {"white_balance_range": (0.2, -0.2)},
        {"vignette_strength_range": (0.1, 1.5)},
        {"exposure_range": (0.0, 0.5)},
        {"agc_range": (0.5, 1.5)},
        {"jpeg_bpp_range": (2.0, 1.0)},
        {"jpeg_bpp_range": (0.0, 1.0)},
        {"night_gamma_range": (0.05, 0.5)},
        {"interlace_shift_range": (0.0, 0.5)},
        {"motion_blur_max_frac": 0.0},
        {"line_double_prob": 2.0},
        {"clean_prob": 1.1},
        {"macroblock_prob": -0.5},
        {"exposure_error_ev": (-4.0, 1.0)},
        {"sharpen_amount_range": (0.5, 5.0)},
        {"sharpen_prob": 1.2},
        {"dark_motion_blur_scale": 0.5},
    ],
)
def test_camera_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        DegradeConfig(mode="realistic", **kwargs)


def test_timing_cli_help_and_run(capsys: pytest.CaptureFixture[str]) -> None:
    from model.data import camera_effects
    from model.data import degrade as degrade_module

    for main in (degrade_module.main, camera_effects.main):
        with pytest.raises(SystemExit) as exc:
            main(["--help"])
        assert exc.value.code == 0
    assert "usage" in capsys.readouterr().out
    threads = torch.get_num_threads()
    degrade_module.main(["-n", "3", "--size-in", "32", "--low", "16", "--out", "32", "--every-effect"])
    out = capsys.readouterr().out
    assert "realistic_ms_per_image" in out and "bicubic_ms_per_image" in out
    assert torch.get_num_threads() == threads

"""Resolution degradation of person crops: the paper's bicubic down/up, and a realistic variant.

RSC-Net trains on crops brought down to a random low resolution and back up to
the network input size. Two modes:

``"bicubic"`` (the paper)
    Bicubic downsampling of the crop to ``size`` pixels (its longer side), then
    bicubic upsampling to ``out_size``. Both steps use PyTorch's antialiased
    bicubic (``F.interpolate(..., mode="bicubic", antialias=True)``), which is
    PIL's/MATLAB's bicubic (``a = -0.5``) with a kernel widened by the scale
    factor when downsampling, so small sizes are not aliased.

``"realistic"``
    What a video camera makes of a person who fills ``size`` of its pixels: downsample as
    above, then, at the *low* resolution (the camera's own pixels; sizes in low-resolution
    pixels, intensities in ``[0, 1]``), the effects of :mod:`model.data.camera_effects` in the
    order light meets them, each with a probability and a range in :class:`DegradeConfig`
    (except for ``clean_prob`` = 15 % of the images, left as in the bicubic mode):

    ========================  ======  ==================================================
    effect (in order)         share   range and why
    ========================  ======  ==================================================
    colour cast               40 %    red/blue log gains +-0.25: auto white balance under
                                      sodium, LED and mixed light is often wrong
    night (IR) frame          10 %    grey, ``(0.5 R + 0.35 G + 0.15 B) ** 0.45-0.8``:
                                      850 nm light, cloth and skin bright; always dark,
                                      noisy and with the illuminator's fall-off
    vignetting                25 %    10-50 % darker towards a frame corner
    optical blur              50 %    Gaussian sigma 0.3-1 px; defocus 10 %, radius
                                      0.5-1.5 px (one point-spread function)
    motion blur               30 %    1-5 px (x1.5 in dark frames), at most 15 % of the
                                      size: limbs of a walker at 1/25-1/12 s shutters
    exposure error            25 %    -0.7..+1 stops in lit scenes: auto exposure fooled
                                      by sky or shade, highlights clipped
    low light                 15 %    exposure 0.15-0.5, automatic gain
                                      ``exposure ** -(0.3-0.9)``: darker *and* noisier
    sensor noise              70 %    read std 0-0.03, shot gain 0-0.004 (always on in
                                      dark frames: read 0.002-0.01 before the gain)
    sharpening                30 %    unsharp mask, amount 0.3-1.5, sigma 1 px: the
                                      halos of cameras' built-in sharpening
    interlacing               10 %    odd field moved 0.5-3 % of the size (a walker's
                                      limbs in 1/50 s): combing; 40 % of them
                                      line-doubled instead
    compression               80 %    JPEG, chroma 4:2:0, 8 x 8 blocks (15 %: 16 x 16
                                      macroblocks) on a grid shifted by the crop's
                                      place in the frame, at 0.6-3 bits per pixel
                                      (log-uniform; 8 x 8 quality 18-88)
    ========================  ======  ==================================================

    then 8-bit quantisation (always) and bicubic upsampling. The blur physically happens before
    sampling and, being linear, is applied right after the antialiased downsampling, which is
    the same up to aliasing. What is approximated: the whole crop moves for interlacing and
    motion blur (a static camera would leave the background sharp; :func:`degrade` sees no
    person mask), and H.264's inter-frame coding is stood in for by its intra blocks (JPEG).

Every random quantity comes from the ``torch.Generator`` passed in, so a seed
gives bit-identical outputs (on the same device and library versions). Images
are ``float`` tensors in ``[0, 1]`` on any device; outputs are clamped to
``[0, 1]`` and keep the input's device (the realistic mode's low-resolution
stage runs on the CPU: it is small, and JPEG needs the CPU anyway).

The *size* of an image is ``max(H, W)`` (see :mod:`model.geometry.resolution`).
Non-square images keep their aspect ratio: they become
``round(H * size / M) x round(W * size / M)`` then
``round(H * out / M) x round(W * out / M)`` with ``M = max(H, W)``; the crops of
this project are square, giving ``out_size x out_size``. A ``size >= M`` means
no downsampling: the image is only resized to the output size (and, in the
realistic mode, degraded at that resolution only if
``DegradeConfig.degrade_full_resolution``).

Timings (one thread, one image per call, 128 -> 32 -> 128 px; 2-core VM shared with other
jobs, load average 4, so only an interleaved comparison is fair):
``python benchmarks/data/degrade_cost.py`` (best of 5 x 300 images, old and new alternating)
gives 0.95 ms per image for the realistic mode with the camera effects of this module
against 0.80 ms for the previous realistic mode (blur, noise, JPEG only, commit 7e49558);
every effect on (worst case) 1.85 against 1.55 ms; bicubic 0.40 ms. The medians of the same
runs, inflated by the load, are 1.93 / 1.47 ms. ``python -m model.data.degrade --size-in 128
--low 32 --out 128 [--every-effect]`` times the current module alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from model.data.camera_effects import (
    compress,
    interlace,
    near_infrared,
    quality_for_bits_per_pixel,
    sharpen,
    vignette,
    white_balance,
)
from model.geometry.resolution import ResolutionRanges

__all__ = [
    "DegradeConfig",
    "MultiResolution",
    "benchmark",
    "bicubic_down_up",
    "bicubic_resize",
    "degrade",
    "degrade_to_ranges",
    "psf_kernel",
]

_MODES = ("bicubic", "realistic")

#: Columns of the per-image parameter draws (one ``torch.rand`` row per image), by name.
_PARAMS = (
    "blur", "blur_sigma", "defocus", "defocus_radius", "motion", "motion_len", "motion_angle",
    "noise", "noise_std", "shot", "gray_noise", "jpeg", "jpeg_bpp", "jpeg_dy", "jpeg_dx",
    "wb", "wb_red", "wb_blue", "vignette", "vignette_strength", "vignette_x", "vignette_y",
    "light", "exposure", "agc", "night_gamma", "interlace", "interlace_shift", "interlace_sign", "line_double",
    "macroblock", "ev", "ev_value", "sharpen", "sharpen_amount", "clean",
)  # fmt: skip
_N_PARAMS = len(_PARAMS)
_CLEAN = _PARAMS.index("clean")


def _as_float_images(images: Tensor) -> tuple[Tensor, bool]:
    """``(B, C, H, W)`` float view of ``images`` (``(C, H, W)`` gets a batch dim; uint8 is /255)."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    single = images.dim() == 3
    if single:
        images = images[None]
    if images.dim() != 4:
        raise ValueError(f"images must be (B, C, H, W) or (C, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    elif not images.is_floating_point():
        raise TypeError(f"images must be float in [0, 1] or uint8, got {images.dtype}")
    elif images.dtype in (torch.float16, torch.bfloat16):
        images = images.float()
    return images, single


def _as_sizes(sizes: int | Tensor | list[int], batch: int) -> list[int]:
    """Per-sample integer sizes as a Python list of length ``batch``."""
    if isinstance(sizes, (int, np.integer)):
        out = [int(sizes)] * batch
    else:
        t = torch.as_tensor(sizes).reshape(-1)
        if t.numel() == 1:
            out = [int(round(float(t.item())))] * batch
        elif t.numel() == batch:
            out = [int(round(float(v))) for v in t.cpu().tolist()]
        else:
            raise ValueError(f"sizes: expected an int or {batch} values, got {t.numel()}")
    if any(s < 1 for s in out):
        raise ValueError(f"sizes must be >= 1, got {out}")
    return out


def _scaled_hw(h: int, w: int, size: int) -> tuple[int, int]:
    """``(h, w)`` scaled so that the longer side becomes ``size`` (each side at least 1)."""
    m = max(h, w)
    return max(1, round(h * size / m)), max(1, round(w * size / m))


def bicubic_resize(images: Tensor, hw: tuple[int, int]) -> Tensor:
    """Antialiased bicubic resize of ``(B, C, H, W)`` images to ``hw``, clamped to ``[0, 1]``.

    An input that already has size ``hw`` is only clamped (into a new tensor).
    """
    if tuple(images.shape[-2:]) == tuple(hw):
        return images.clamp(0.0, 1.0)
    out = F.interpolate(images, size=tuple(hw), mode="bicubic", align_corners=False, antialias=True)
    return out.clamp_(0.0, 1.0)


def bicubic_down_up(images: Tensor, size: int | Tensor | list[int], out_size: int) -> Tensor:
    """The paper's degradation: bicubic down to ``size`` pixels, bicubic up to ``out_size``.

    Args:
        images: ``(B, 3, H, W)`` (or ``(3, H, W)``) float images in ``[0, 1]``
            (uint8 is accepted and divided by 255).
        size: target low resolution (longer side, pixels): an int for the whole
            batch or ``(B,)`` per-sample sizes (samples with equal sizes are
            processed together). ``size >= max(H, W)`` means no downsampling.
        out_size: network input size (longer side of the output).

    Returns:
        ``(B, 3, out_size, out_size)`` float images in ``[0, 1]`` for square
        inputs (``(3, out, out)`` for a single image), on the input's device.
    """
    x, single = _as_float_images(images)
    b, c, h, w = x.shape
    sizes = _as_sizes(size, b)
    out_hw = _scaled_hw(h, w, out_size)
    out = x.new_empty((b, c) + out_hw)
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(sizes):
        groups.setdefault(min(s, max(h, w)), []).append(i)
    for s, idx in groups.items():
        if len(idx) == b:
            sel = x
        elif len(idx) == 1:
            sel = x[idx[0] : idx[0] + 1]
        else:
            sel = x[idx]
        up = bicubic_resize(bicubic_resize(sel, _scaled_hw(h, w, s)), out_hw)
        if len(idx) == b:
            out.copy_(up)
        elif len(idx) == 1:
            out[idx[0]] = up[0]
        else:
            out[idx] = up
    return out[0] if single else out


@dataclass(frozen=True)
class DegradeConfig:
    """Parameters of :func:`degrade`. Ranges are ``(low, high)``, drawn uniformly.

    Each effect of the realistic mode happens with its probability and draws its strength from
    its range (see the module docstring for the order and the reasons).

    Attributes:
        mode: ``"bicubic"`` (the paper; the other fields are ignored) or ``"realistic"``.
        clean_prob: share of realistic-mode images degraded as in the bicubic mode only (a good
            camera, or a photo), so that clean low-resolution crops stay familiar.
        blur_prob: probability of a Gaussian optical blur.
        blur_sigma_range: its standard deviation, low-resolution pixels.
        defocus_prob: probability of a defocus (uniform disk) blur.
        defocus_radius_range: disk radius, low-resolution pixels.
        motion_blur_prob: probability of a linear motion blur (random direction).
        motion_blur_len_range: motion length, low-resolution pixels.
        motion_blur_max_frac: the motion length is at most this fraction of the low-resolution size.
        noise_prob: probability of sensor noise (always on in low-light and night frames).
        noise_std_range: standard deviation of the Gaussian (read) noise, in ``[0, 1]`` units.
        shot_noise_range: gain ``k`` of the signal-dependent noise, variance ``k * x``
            (Poisson-like: ``x`` photons scaled by ``k``).
        gray_noise_prob: probability that the noise is the same in all channels (luminance only).
        jpeg_prob: probability of JPEG compression (otherwise only 8-bit quantisation).
        jpeg_quality_range: JPEG quality limits, integers in ``[1, 100]``; the quality follows
            from the bit rate and is clipped to them.
        jpeg_bpp_range: compressed bits per pixel, drawn log-uniformly (the camera's bit rate
            spread over the crop), mapped to a quality by
            :func:`~model.data.camera_effects.quality_for_bits_per_pixel`.
        macroblock_prob: share of compressed frames coded in 16 x 16 macroblocks (H.264 at low
            bit rates) instead of 8 x 8 blocks; the same bits go to a quarter of the blocks.
        white_balance_prob: probability of a colour cast.
        white_balance_range: log gain of red and of blue (each drawn), ``0.25`` = 28 % more.
        vignette_prob: probability of a lens fall-off across the crop.
        vignette_strength_range: darkening of the farthest crop corner.
        low_light_prob: probability of a dark exposure with gain noise.
        night_prob: probability of a grey near-infrared night frame (also dark and noisy).
        exposure_range: light reaching the sensor, relative to a good exposure (dark and night frames).
        agc_range: exponent ``a`` of the camera's automatic gain ``exposure ** -a`` (1 = back
            to full brightness, noise amplified as much).
        low_light_noise_range: read noise std at the sensor (before the gain).
        night_gamma_range: exponent of the near-infrared response (< 1: lifted dark cloth).
        interlace_prob: probability of an interlaced frame.
        interlace_shift_range: horizontal motion between the two fields, as a fraction of the
            low-resolution size (random sign; a walker's limbs move 1-3 % of the body height in 1/50 s).
        line_double_prob: share of interlaced frames shown line-doubled instead of combed.
        exposure_error_prob: probability of a wrong exposure in a lit scene (clipped highlights).
        exposure_error_ev: its range in stops (``x * 2 ** ev``, clipped at white later).
        sharpen_prob: probability of the camera's unsharp mask (halos, sharper noise).
        sharpen_amount_range: its strength (1 = edges overshoot by their own contrast).
        dark_motion_blur_scale: motion blur in dark and night frames is this much longer (slow shutter).
        degrade_full_resolution: also degrade images that are not downsampled
            (``size >= max(H, W)``); by default they are only resized, i.e. kept clean.
    """

    mode: str = "bicubic"
    clean_prob: float = 0.15
    blur_prob: float = 0.5
    blur_sigma_range: tuple[float, float] = (0.3, 1.0)
    defocus_prob: float = 0.1
    defocus_radius_range: tuple[float, float] = (0.5, 1.5)
    motion_blur_prob: float = 0.3
    motion_blur_len_range: tuple[float, float] = (1.0, 5.0)
    motion_blur_max_frac: float = 0.15
    noise_prob: float = 0.7
    noise_std_range: tuple[float, float] = (0.0, 0.03)
    shot_noise_range: tuple[float, float] = (0.0, 0.004)
    gray_noise_prob: float = 0.3
    jpeg_prob: float = 0.8
    jpeg_quality_range: tuple[int, int] = (5, 95)
    jpeg_bpp_range: tuple[float, float] = (0.6, 3.0)
    macroblock_prob: float = 0.15
    white_balance_prob: float = 0.4
    white_balance_range: tuple[float, float] = (-0.25, 0.25)
    vignette_prob: float = 0.25
    vignette_strength_range: tuple[float, float] = (0.1, 0.5)
    low_light_prob: float = 0.15
    night_prob: float = 0.1
    exposure_range: tuple[float, float] = (0.15, 0.5)
    agc_range: tuple[float, float] = (0.3, 0.9)
    low_light_noise_range: tuple[float, float] = (0.002, 0.01)
    night_gamma_range: tuple[float, float] = (0.45, 0.8)
    interlace_prob: float = 0.1
    exposure_error_prob: float = 0.25
    exposure_error_ev: tuple[float, float] = (-0.7, 1.0)
    sharpen_prob: float = 0.3
    sharpen_amount_range: tuple[float, float] = (0.3, 1.5)
    dark_motion_blur_scale: float = 1.5
    interlace_shift_range: tuple[float, float] = (0.005, 0.03)
    line_double_prob: float = 0.4
    degrade_full_resolution: bool = False

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {self.mode!r}")
        for name in (
            "clean_prob",
            "blur_prob",
            "defocus_prob",
            "motion_blur_prob",
            "noise_prob",
            "gray_noise_prob",
            "jpeg_prob",
            "white_balance_prob",
            "vignette_prob",
            "low_light_prob",
            "night_prob",
            "interlace_prob",
            "line_double_prob",
            "macroblock_prob",
            "exposure_error_prob",
            "sharpen_prob",
        ):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        if self.low_light_prob + self.night_prob > 1.0:
            raise ValueError(f"low_light_prob + night_prob must be <= 1, got {self.low_light_prob + self.night_prob}")
        for name in (
            "blur_sigma_range",
            "defocus_radius_range",
            "motion_blur_len_range",
            "noise_std_range",
            "shot_noise_range",
            "jpeg_quality_range",
            "jpeg_bpp_range",
            "vignette_strength_range",
            "exposure_range",
            "agc_range",
            "low_light_noise_range",
            "night_gamma_range",
            "interlace_shift_range",
            "sharpen_amount_range",
        ):
            r = tuple(getattr(self, name))
            if len(r) != 2 or not 0 <= r[0] <= r[1]:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, got {r}")
            object.__setattr__(self, name, r)
        r = tuple(self.white_balance_range)
        if len(r) != 2 or not -1.0 <= r[0] <= r[1] <= 1.0:
            raise ValueError(f"white_balance_range must be (low, high) within [-1, 1], got {r}")
        object.__setattr__(self, "white_balance_range", r)
        q = self.jpeg_quality_range
        if not (1 <= q[0] and q[1] <= 100) or int(q[0]) != q[0] or int(q[1]) != q[1]:
            raise ValueError(f"jpeg_quality_range must be integers in [1, 100], got {q}")
        limits = {
            "jpeg_bpp_range": (1e-3, 24.0),
            "vignette_strength_range": (0.0, 1.0),
            "exposure_range": (1e-3, 1.0),
            "agc_range": (0.0, 1.0),
            "low_light_noise_range": (0.0, 0.2),
            "night_gamma_range": (0.1, 1.5),
            "interlace_shift_range": (0.0, 0.2),
        }
        for name, (lo, hi) in limits.items():
            a, b = getattr(self, name)
            if not lo <= a <= b <= hi:
                raise ValueError(f"{name} must lie within [{lo}, {hi}], got {(a, b)}")
        r = tuple(self.exposure_error_ev)
        if len(r) != 2 or not -3.0 <= r[0] <= r[1] <= 3.0:
            raise ValueError(f"exposure_error_ev must be (low, high) within [-3, 3] stops, got {r}")
        object.__setattr__(self, "exposure_error_ev", r)
        if self.sharpen_amount_range[1] > 4.0:
            raise ValueError(f"sharpen_amount_range must lie within [0, 4], got {self.sharpen_amount_range}")
        if not 1.0 <= self.dark_motion_blur_scale <= 4.0:
            raise ValueError(f"dark_motion_blur_scale must be in [1, 4], got {self.dark_motion_blur_scale}")
        if not 0.0 < self.motion_blur_max_frac <= 1.0:
            raise ValueError(f"motion_blur_max_frac must be in (0, 1], got {self.motion_blur_max_frac}")


def _uniform(u: float, r: tuple[float, float]) -> float:
    return r[0] + (r[1] - r[0]) * u


def psf_kernel(
    sigma: float = 0.0,
    radius: float = 0.0,
    length: float = 0.0,
    angle: float = 0.0,
    supersample: int = 5,
) -> np.ndarray | None:
    """Pixel kernel of a Gaussian ⊛ disk ⊛ line point-spread function.

    The continuous PSF (Gaussian of std ``sigma``, uniform disk of ``radius``,
    segment of ``length`` centred on the origin at ``angle`` radians from the
    x axis, each skipped when 0) is built on a grid ``supersample`` times finer
    than the pixels, the three are convolved (FFT) and the result integrated
    over each pixel's area, so the kernel varies smoothly with the parameters.
    The kernel is point-symmetric, so correlation (OpenCV's ``filter2D``) and
    convolution agree.

    Returns:
        ``(2R+1, 2R+1)`` float32 kernel summing to 1, or ``None`` when all three
        components are (near) zero.
    """
    ss = int(supersample)
    if ss < 1 or ss % 2 == 0:
        raise ValueError("supersample must be a positive odd integer")
    tiny = 0.5 / ss
    use_g, use_d, use_l = sigma > tiny / 2, radius > tiny, length > 2 * tiny
    if not (use_g or use_d or use_l):
        return None
    extent = (3.0 * sigma if use_g else 0.0) + (radius if use_d else 0.0) + (0.5 * length if use_l else 0.0)
    r_pix = int(math.ceil(extent + 0.5))
    n = (2 * r_pix + 1) * ss
    coords = (np.arange(n, dtype=np.float64) - (n - 1) / 2) / ss
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    parts = []
    if use_g:
        parts.append(np.exp(-(xx**2 + yy**2) / (2.0 * sigma**2)))
    if use_d:
        parts.append(np.clip((radius - np.hypot(xx, yy)) * ss + 0.5, 0.0, 1.0))
    if use_l:
        dx, dy = math.cos(angle), math.sin(angle)
        t = np.clip(xx * dx + yy * dy, -0.5 * length, 0.5 * length)
        dist = np.hypot(xx - t * dx, yy - t * dy)
        parts.append(np.clip(1.0 - dist * ss, 0.0, 1.0))
    parts = [p / p.sum() for p in parts if p.sum() > 0]
    if len(parts) == 1:
        psf = parts[0]
    else:
        spec = np.ones((n, n), dtype=np.complex128)
        for p in parts:
            spec *= np.fft.fft2(np.fft.ifftshift(p))
        psf = np.fft.fftshift(np.real(np.fft.ifft2(spec)))
        psf = np.maximum(psf, 0.0)
    k = psf.reshape(2 * r_pix + 1, ss, 2 * r_pix + 1, ss).sum(axis=(1, 3))
    k = np.where(k > 1e-6 * k.sum(), k, 0.0)  # drop Gaussian tails and FFT round-off
    # Trim all-zero borders (a kernel smaller than the bound).
    while k.shape[0] > 1 and not k[0].any() and not k[-1].any() and not k[:, 0].any() and not k[:, -1].any():
        k = k[1:-1, 1:-1]
    return (k / k.sum()).astype(np.float32)


def _randn_cpu(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.randn(shape, generator=generator, device=device, dtype=torch.float32).cpu()


def _realistic_low(low: Tensor, p: list[float], cfg: DegradeConfig, generator: torch.Generator | None) -> Tensor:
    """The camera effects on one ``(C, h, w)`` low-resolution CPU image (order: module docstring).

    ``p`` is the image's row of uniform draws, read by column name (:data:`_PARAMS`).
    """
    u = dict(zip(_PARAMS, p))
    c, h, w = low.shape
    colour = c == 3
    night = colour and u["light"] < cfg.night_prob
    dark = night or u["light"] < cfg.night_prob + cfg.low_light_prob
    img = low.permute(1, 2, 0).contiguous().numpy()  # (h, w, C) float32
    # Scene and lens: colour cast, near-infrared night, fall-off.
    if colour and not night and u["wb"] < cfg.white_balance_prob:
        img = white_balance(img, _uniform(u["wb_red"], cfg.white_balance_range), _uniform(u["wb_blue"], cfg.white_balance_range))
    if night:
        img = near_infrared(img, _uniform(u["night_gamma"], cfg.night_gamma_range))
    if night or u["vignette"] < cfg.vignette_prob:  # night: the IR illuminator's hot spot
        strength = _uniform(u["vignette_strength"], cfg.vignette_strength_range)
        img = vignette(img, strength, (u["vignette_x"] * 2.0 - 1.0, u["vignette_y"] * 2.0 - 1.0))
    # Optics: one point-spread function.
    sigma = _uniform(u["blur_sigma"], cfg.blur_sigma_range) if u["blur"] < cfg.blur_prob else 0.0
    radius = _uniform(u["defocus_radius"], cfg.defocus_radius_range) if u["defocus"] < cfg.defocus_prob else 0.0
    length = 0.0
    if u["motion"] < cfg.motion_blur_prob:
        length = _uniform(u["motion_len"], cfg.motion_blur_len_range) * (cfg.dark_motion_blur_scale if dark else 1.0)
        length = min(length, cfg.motion_blur_max_frac * max(h, w))
    kernel = psf_kernel(sigma, radius, length, math.pi * u["motion_angle"])
    if kernel is not None and kernel.size > 1:
        img = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        if img.ndim == 2:
            img = img[:, :, None]
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
    # Sensor: exposure, noise, automatic gain, the camera's sharpening.
    if not dark and u["ev"] < cfg.exposure_error_prob:
        x = x * 2.0 ** _uniform(u["ev_value"], cfg.exposure_error_ev)
    exposure = _uniform(u["exposure"], cfg.exposure_range) if dark else 1.0
    if dark or u["noise"] < cfg.noise_prob:
        x = x * exposure
        read = _uniform(u["noise_std"], cfg.low_light_noise_range if dark else cfg.noise_std_range)
        gain = _uniform(u["shot"], cfg.shot_noise_range)
        channels = 1 if (x.shape[0] == 1 or u["gray_noise"] < cfg.gray_noise_prob) else x.shape[0]
        noise = _randn_cpu((channels, h, w), generator)
        x = x + torch.sqrt(read**2 + gain * x.clamp(min=0.0)) * noise
        x = x * exposure ** -_uniform(u["agc"], cfg.agc_range) if dark else x
    if u["sharpen"] < cfg.sharpen_prob:
        amount = _uniform(u["sharpen_amount"], cfg.sharpen_amount_range)
        x = torch.from_numpy(sharpen(np.ascontiguousarray(x.permute(1, 2, 0).numpy()), amount)).permute(2, 0, 1)
    # Read-out: interlaced fields.
    if u["interlace"] < cfg.interlace_prob:
        shift = _uniform(u["interlace_shift"], cfg.interlace_shift_range) * max(h, w) * (1.0 if u["interlace_sign"] < 0.5 else -1.0)
        frame = interlace(x.permute(1, 2, 0).numpy(), (shift, 0.0), u["line_double"] < cfg.line_double_prob)
        x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)
    # Encoder: 8 bits, JPEG at the camera's bit rate.
    q = (x.clamp(0.0, 1.0) * 255.0).round_().to(torch.uint8)  # 8-bit sensor output
    if u["jpeg"] < cfg.jpeg_prob and q.shape[0] in (1, 3):
        lo, hi = (math.log(b) for b in cfg.jpeg_bpp_range)
        block = 16 if u["macroblock"] < cfg.macroblock_prob else 8
        bpp = math.exp(_uniform(u["jpeg_bpp"], (lo, hi))) * (4.0 if block == 16 else 1.0)  # per coded pixel
        quality = quality_for_bits_per_pixel(bpp)
        quality = min(max(quality, int(cfg.jpeg_quality_range[0])), int(cfg.jpeg_quality_range[1]))
        phase = (min(int(u["jpeg_dy"] * 16), 15), min(int(u["jpeg_dx"] * 16), 15))
        dec = compress(np.ascontiguousarray(q.permute(1, 2, 0).numpy()), quality, phase, block)
        q = torch.from_numpy(dec).permute(2, 0, 1)
    if q.shape[0] != c:  # a night frame: grey in all three channels
        q = q.expand(c, h, w)
    return q.float() / 255.0


def degrade(
    images: Tensor,
    sizes: int | Tensor | list[int],
    out_size: int,
    config: DegradeConfig = DegradeConfig(),
    generator: torch.Generator | None = None,
    share_draws: bool = False,
) -> Tensor:
    """Bring images down to ``sizes`` and back up to ``out_size`` (mode given by ``config``).

    Args:
        images: ``(B, 3, H, W)`` (or ``(3, H, W)``) float images in ``[0, 1]`` (uint8 accepted).
        sizes: low resolution (longer side, pixels): an int or ``(B,)`` per-sample sizes.
        out_size: output size (longer side), normally the network input size.
        config: degradation parameters; ``DegradeConfig()`` is the paper's bicubic mode.
        generator: source of every random draw (realistic mode). The draws are a
            ``torch.rand((B, 36))`` of per-image parameters followed, in batch
            order, by each noisy image's ``torch.randn`` noise.
        share_draws: the images are frames of one clip from one camera: one parameter row
            (``torch.rand((1, 36))``) for all, so a clip is not colour in one frame and a grey
            night frame in the next; the noise is still fresh in every frame.

    Returns:
        ``(B, 3, out_size, out_size)`` float images in ``[0, 1]`` on the input's
        device (``(3, out, out)`` for a single image).
    """
    if config.mode == "bicubic":
        return bicubic_down_up(images, sizes, out_size)
    x, single = _as_float_images(images)
    b, c, h, w = x.shape
    size_list = _as_sizes(sizes, b)
    out_hw = _scaled_hw(h, w, out_size)
    gen_device = generator.device if generator is not None else torch.device("cpu")
    rows = 1 if share_draws else b
    params = torch.rand((rows, _N_PARAMS), generator=generator, device=gen_device, dtype=torch.float64).cpu().tolist()
    out = x.new_empty((b, c) + out_hw)
    for i in range(b):
        s = min(size_list[i], max(h, w))
        low = bicubic_resize(x[i : i + 1], _scaled_hw(h, w, s))
        row = params[0 if share_draws else i]
        if (s < max(h, w) or config.degrade_full_resolution) and row[_CLEAN] >= config.clean_prob:
            low_cpu = low[0].detach().to("cpu", torch.float32)
            low = _realistic_low(low_cpu, row, config, generator)[None].to(x.device, x.dtype)
        out[i] = bicubic_resize(low, out_hw)[0].clamp(0.0, 1.0)
    return out[0] if single else out


def degrade_to_ranges(
    image: Tensor,
    ranges: ResolutionRanges,
    indices: list[int] | Tensor,
    out_size: int,
    config: DegradeConfig = DegradeConfig(),
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """The same crop at several resolutions (for the self-supervision loss).

    For each row index ``k`` a size is drawn uniformly in that range
    (:meth:`ResolutionRanges.sample_sizes`; row 0 gives ``ranges.full_size``)
    and the crop is degraded to it with :func:`degrade`.

    Args:
        image: ``(3, H, W)`` clean high-resolution crop, float in ``[0, 1]``.
        ranges: the resolution ranges.
        indices: ``K`` row indices (repeats allowed).
        out_size: output size.
        config: degradation mode and parameters.
        generator: source of randomness (sizes first, then :func:`degrade`'s draws).

    Returns:
        ``(images (K, 3, out, out), sizes (K,) int64 on the CPU)``.
    """
    if image.dim() != 3:
        raise ValueError(f"image must be (3, H, W), got {tuple(image.shape)}")
    sizes = ranges.sample_sizes(indices, generator)
    k = sizes.numel()
    batch = image[None].expand(k, *image.shape)
    return degrade(batch, sizes, out_size, config, generator), sizes


class MultiResolution:
    """Callable wrapper of :func:`degrade_to_ranges` with fixed ranges, output size and config.

    ``MultiResolution(ranges, 224)(image, [0, 1, 3], generator)`` returns
    ``(images (3, 3, 224, 224), sizes (3,))``; ``indices=None`` means every range once.
    """

    def __init__(
        self,
        ranges: ResolutionRanges = ResolutionRanges(),
        out_size: int = 224,
        config: DegradeConfig = DegradeConfig(),
    ) -> None:
        self.ranges = ranges
        self.out_size = int(out_size)
        self.config = config

    def __call__(
        self,
        image: Tensor,
        indices: list[int] | Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        if indices is None:
            indices = list(range(self.ranges.num_ranges))
        return degrade_to_ranges(image, self.ranges, indices, self.out_size, self.config, generator)


def benchmark(
    n: int = 200,
    size_in: int = 224,
    out_size: int = 224,
    ranges: ResolutionRanges = ResolutionRanges(),
    seed: int = 0,
    low_size: int | None = None,
    every_effect: bool = False,
    progress: bool = False,
) -> dict[str, float]:
    """Milliseconds per image of both modes on one thread.

    Sizes are drawn over the non-full ``ranges``, or fixed at ``low_size``. ``every_effect``
    switches every realistic effect on (half of the frames night, half low light): the worst case.
    Sets ``torch.set_num_threads(1)`` and ``cv2.setNumThreads(1)`` for the
    measurement and restores them afterwards.
    """
    import time

    from tqdm import tqdm

    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        g = torch.Generator().manual_seed(seed)
        # Smooth random images (white noise would compress unlike any photo).
        images = F.interpolate(torch.rand((n, 3, 16, 16), generator=g), size=(size_in, size_in), mode="bilinear").clamp(0, 1)
        if low_size is None:
            idx = torch.randint(1, ranges.num_ranges, (n,), generator=g)
            sizes = ranges.sample_sizes(idx, g)
        else:
            sizes = torch.full((n,), int(low_size))
        every = {
            "blur_prob": 1.0, "defocus_prob": 1.0, "motion_blur_prob": 1.0, "noise_prob": 1.0, "jpeg_prob": 1.0,
            "white_balance_prob": 1.0, "vignette_prob": 1.0, "low_light_prob": 0.5, "night_prob": 0.5, "interlace_prob": 1.0,
            "exposure_error_prob": 1.0, "sharpen_prob": 1.0, "clean_prob": 0.0,
        }  # fmt: skip
        result = {}
        for mode in tqdm(_MODES, desc="degrade benchmark", unit="mode", disable=not progress):
            cfg = DegradeConfig(mode=mode, **(every if every_effect and mode == "realistic" else {}))
            degrade(images[:4], sizes[:4], out_size, cfg, g)  # warm-up
            t0 = time.perf_counter()
            for i in range(n):
                degrade(images[i], sizes[i : i + 1], out_size, cfg, g)
            result[f"{mode}_ms_per_image"] = (time.perf_counter() - t0) / n * 1e3
            t0 = time.perf_counter()
            degrade(images, sizes, out_size, cfg, g)
            result[f"{mode}_batched_ms_per_image"] = (time.perf_counter() - t0) / n * 1e3
        return result
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)


def main(argv: list[str] | None = None) -> None:
    """``python -m model.data.degrade``: time both modes (see :func:`benchmark`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m model.data.degrade", description="Milliseconds per image of the degradation modes, one thread.")
    parser.add_argument("-n", type=int, default=200, help="images per mode")
    parser.add_argument("--size-in", type=int, default=224, help="side of the clean input crops")
    parser.add_argument("--out", type=int, default=224, help="output side")
    parser.add_argument("--low", type=int, default=None, help="fixed low resolution (default: drawn over the paper's ranges)")
    parser.add_argument("--every-effect", action="store_true", help="every realistic effect on (worst case)")
    args = parser.parse_args(argv)
    result = benchmark(args.n, args.size_in, args.out, low_size=args.low, every_effect=args.every_effect, progress=True)
    for key, value in result.items():
        print(f"{key}: {value:.3f}")


if __name__ == "__main__":  # pragma: no cover
    main()

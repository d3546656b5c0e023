"""What a video camera does to a low-resolution person crop, one deterministic function per effect.

:func:`model.data.degrade.degrade` (realistic mode) draws the parameters and calls these in the
order light takes through a camera: scene colour and exposure, lens, sensor, read-out, encoder.
Every function is pure (no randomness; noise is drawn by the caller), works on float32 images
``(h, w, C)`` in ``[0, 1]`` (``C`` = 3 RGB or 1 grey) at the *low* resolution, and returns a new
array.

* :func:`white_balance` -- a colour cast: red and blue gains of a wrong white balance or a
  coloured light (sodium lamps, LEDs), luminance kept.
* :func:`near_infrared` -- a night frame: the IR-cut filter is out and the scene is lit by the
  camera's 850 nm LEDs. The sensor sees one band, mostly through its red pixels, and skin and
  most dyed cloth reflect near-infrared strongly, so dark clothes come out light and contrast
  is low: ``y = (0.5 R + 0.35 G + 0.15 B) ** gamma`` with ``gamma < 1``.
* :func:`vignette` -- lens fall-off (or an IR illuminator's hot spot): a crop is a small piece of
  the frame, so the fall-off is a gradient towards the frame's corner, centred anywhere.
* :func:`sharpen` -- the unsharp mask most surveillance cameras apply: bright and dark halos
  along edges, and sharper noise.
* :func:`interlace` -- the two fields of an interlaced frame are exposed 1/50 s apart: the odd
  rows come from the scene shifted by the motion in between (combing on moving edges); a
  ``bob`` deinterlacer instead repeats each even row (line doubling, half vertical resolution).
* :func:`compress` -- JPEG with 4:2:0 chroma subsampling (MJPEG cameras; the intra blocks of
  H.264) in 8 x 8 blocks, or 16 x 16 macroblocks (H.264 at low bit rates), on a block grid
  shifted by the crop's position in the frame, quality from a bit rate
  (:func:`quality_for_bits_per_pixel`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = [
    "BPP_QUALITY_TABLE",
    "NIR_WEIGHTS",
    "compress",
    "interlace",
    "near_infrared",
    "quality_for_bits_per_pixel",
    "sharpen",
    "vignette",
    "white_balance",
]

#: Rec. 709 luminance weights.
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

#: Share of each RGB channel in the near-infrared grey value (silicon behind the red filters sees most of it).
NIR_WEIGHTS = np.array([0.5, 0.35, 0.15], dtype=np.float32)

#: JPEG quality against bits per pixel of the entropy-coded data (headers excluded, 4:2:0), the mean
#: over 48 x 48 crops of 29 bundled background photos, measured by ``python -m model.data.camera_effects``
#: (OpenCV 5.1): quality 5 -> 0.21 bpp, 30 -> 0.89, 75 -> 1.89, 90 -> 3.17.
BPP_QUALITY_TABLE: tuple[tuple[float, int], ...] = (
    (0.206, 5),
    (0.389, 10),
    (0.535, 15),
    (0.663, 20),
    (0.885, 30),
    (1.07, 40),
    (1.248, 50),
    (1.432, 60),
    (1.893, 75),
    (3.165, 90),
)


def white_balance(img: np.ndarray, log_gain_red: float, log_gain_blue: float) -> np.ndarray:
    """Colour cast of ``(h, w, 3)`` ``img``: red and blue scaled by ``exp(log_gain)``, grey luminance kept."""
    gains = np.array([math.exp(log_gain_red), 1.0, math.exp(log_gain_blue)], dtype=np.float32)
    gains /= float((gains * _LUMA).sum())
    return img * gains


def near_infrared(img: np.ndarray, gamma: float) -> np.ndarray:
    """Night (IR) grey ``(h, w, 1)`` of an ``(h, w, 3)`` image: ``(NIR_WEIGHTS . rgb) ** gamma``."""
    grey = np.clip(img @ NIR_WEIGHTS, 0.0, 1.0)
    return (grey ** np.float32(gamma))[:, :, None].astype(np.float32)


def vignette(img: np.ndarray, strength: float, centre: tuple[float, float]) -> np.ndarray:
    """Radial fall-off ``1 - strength * (r / r_max) ** 2`` about ``centre``.

    Args:
        img: ``(h, w, C)``.
        strength: darkening of the crop corner farthest from ``centre`` (0 = none, 1 = black).
        centre: ``(x, y)`` of the fall-off's centre relative to the crop centre, in crop sides
            (``(0, 0)`` = crop centre; ``(1, 1)`` = beyond the bottom-right corner).
    """
    h, w = img.shape[:2]
    side = max(h, w)
    cx, cy = (w - 1) / 2 + centre[0] * side, (h - 1) / 2 + centre[1] * side
    ys = np.arange(h, dtype=np.float32)[:, None] - np.float32(cy)
    xs = np.arange(w, dtype=np.float32)[None, :] - np.float32(cx)
    r2 = xs * xs + ys * ys
    gain = 1.0 - np.float32(strength) * r2 / max(float(r2.max()), 1e-6)
    return img * gain[:, :, None]


def sharpen(img: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp mask of ``(h, w, C)`` ``img``: ``img + amount * (img - gaussian(img, sigma))`` (not clipped)."""
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REPLICATE)
    if blurred.ndim == 2:
        blurred = blurred[:, :, None]
    return img + np.float32(amount) * (img - blurred)


def interlace(img: np.ndarray, shift: tuple[float, float], line_double: bool) -> np.ndarray:
    """An interlaced frame from ``(h, w, C)`` ``img`` (the even field).

    Args:
        shift: ``(dx, dy)`` motion in pixels between the even and the odd field; the odd rows are
            the image moved by it (``dx > 0``: to the right; bilinear, edges replicated).
        line_double: instead, repeat each even row over the next odd row.
    """
    out = img.copy()
    if line_double:
        out[1::2] = img[0::2][: out[1::2].shape[0]]
        return out
    m = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]], dtype=np.float32)
    moved = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if moved.ndim == 2:
        moved = moved[:, :, None]
    out[1::2] = moved[1::2]
    return out


def quality_for_bits_per_pixel(bpp: float) -> int:
    """JPEG quality that spends about ``bpp`` bits per pixel (log-linear in :data:`BPP_QUALITY_TABLE`)."""
    logs = np.log([b for b, _ in BPP_QUALITY_TABLE])
    qualities = [q for _, q in BPP_QUALITY_TABLE]
    q = float(np.interp(math.log(max(bpp, 1e-6)), logs, qualities, left=np.nan, right=np.nan))
    if math.isnan(q):  # extrapolate along the end segments
        i = 0 if bpp < BPP_QUALITY_TABLE[0][0] else -2
        slope = (qualities[i + 1] - qualities[i]) / (logs[i + 1] - logs[i])
        q = qualities[i] + slope * (math.log(max(bpp, 1e-6)) - logs[i])
    return int(min(100, max(1, round(q))))


def compress(img: np.ndarray, quality: int, phase: tuple[int, int] = (0, 0), block: int = 8) -> np.ndarray:
    """JPEG round trip of a uint8 ``(h, w, C)`` RGB (or grey, ``C`` = 1) image, chroma 4:2:0.

    Args:
        quality: JPEG quality in ``[1, 100]``.
        phase: ``(dy, dx)`` in ``[0, 16)``: the crop starts this far into a 16 x 16 macroblock of
            the frame, i.e. block edges fall at rows ``block * k - dy`` and columns ``block * k - dx``.
        block: 8 (MJPEG, H.264's 8 x 8 transform) or 16 (H.264 at low bit rates, which codes
            flat areas as whole 16 x 16 macroblocks: emulated by coding the image at half
            resolution and bilinearly enlarging it, which also stands in for the deblocking filter).
    Returns:
        uint8 ``(h, w, C)``.
    """
    if block not in (8, 16):
        raise ValueError(f"block must be 8 or 16, got {block}")
    h, w = img.shape[:2]
    dy, dx = int(phase[0]) % 16, int(phase[1]) % 16
    grey = img.shape[2] == 1
    src = img[:, :, 0] if grey else np.ascontiguousarray(img[:, :, ::-1])
    pad_y, pad_x = ((h + dy) % 2, (w + dx) % 2) if block == 16 else (0, 0)
    if dy or dx or pad_y or pad_x:
        src = cv2.copyMakeBorder(src, dy, pad_y, dx, pad_x, cv2.BORDER_REPLICATE)
    full_hw = src.shape[:2]
    if block == 16:
        src = cv2.resize(src, (full_hw[1] // 2, full_hw[0] // 2), interpolation=cv2.INTER_AREA)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, buf = cv2.imencode(".jpg", src, params)
    if not ok:
        raise RuntimeError("cv2.imencode failed to write a JPEG")
    dec = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    if block == 16:
        dec = cv2.resize(dec, (full_hw[1], full_hw[0]), interpolation=cv2.INTER_LINEAR)
    dec = dec[dy : dy + h, dx : dx + w]
    return np.ascontiguousarray(dec[:, :, None] if grey else dec[:, :, ::-1])


def bits_per_pixel(img: np.ndarray, quality: int) -> float:
    """Entropy-coded bits per pixel of uint8 RGB ``(h, w, 3)`` ``img`` as a 4:2:0 JPEG (the size of a
    flat image of the same shape, i.e. the headers, subtracted)."""
    h, w = img.shape[:2]
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    head = len(cv2.imencode(".jpg", np.full_like(img, 128), params)[1])
    return (len(cv2.imencode(".jpg", np.ascontiguousarray(img[:, :, ::-1]), params)[1]) - head) * 8.0 / (h * w)


def main(argv: list[str] | None = None) -> None:
    """``python -m model.data.camera_effects``: measure :data:`BPP_QUALITY_TABLE` on the bundled photos."""
    import argparse

    from tqdm import tqdm

    from model.data.backgrounds import default_photo_dirs, list_photos

    parser = argparse.ArgumentParser(
        prog="python -m model.data.camera_effects",
        description="JPEG bits per pixel against quality on centre-ish crops of the bundled background photos.",
    )
    parser.add_argument("--photos", type=int, default=30, help="photos to crop (one crop each)")
    parser.add_argument("--size", type=int, default=48, help="side of the crops in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    rng = np.random.default_rng(args.seed)
    crops = []
    for path in tqdm(list_photos(default_photo_dirs())[: args.photos], desc="photos", unit="photo"):
        bgr = cv2.imread(str(path))
        if bgr is None or min(bgr.shape[:2]) < 200:
            continue
        side = int(min(bgr.shape[:2]) * 0.5)
        y, x = rng.integers(0, bgr.shape[0] - side), rng.integers(0, bgr.shape[1] - side)
        crop = cv2.resize(bgr[y : y + side, x : x + side], (args.size, args.size), interpolation=cv2.INTER_AREA)
        crops.append(np.ascontiguousarray(crop[:, :, ::-1]))
    print(f"{len(crops)} crops of {args.size} x {args.size}")
    print("| quality | bits/pixel | table |\n|---|---|---|")
    table = {q: b for b, q in BPP_QUALITY_TABLE}
    for q in (5, 10, 15, 20, 30, 40, 50, 60, 75, 90):
        bpp = float(np.mean([bits_per_pixel(c, q) for c in crops]))
        print(f"| {q} | {bpp:.3f} | {table.get(q, float('nan')):.3f} |")


if __name__ == "__main__":  # pragma: no cover
    main()

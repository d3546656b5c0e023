"""Things that stand between a surveillance camera and a person: cars, poles, railings and fences,
bins, benches and street clutter, drawn over a rendered crop.

Each occluder is a 2D layer (colour ``(3, S, S)`` and coverage ``(S, S)``) built from a few
vectorised comparisons on the pixel grid, shaded (vertical light gradient, cylindrical shading of
round posts) and, with :attr:`OccluderConfig.photo_prob`, given surface detail from a real photo
patch (:class:`~model.data.photo_textures.PhotoPatchSampler`). Cars sit low in the frame (their
roof at 35-85 % of the crop height) and extend past the crop's sides; poles are full-height
vertical bars; railings are horizontal rails with balusters, or a chain-link mesh that hides only
the pixels under its wires.

Other people in the way are not drawn here: :class:`~model.data.synthetic.SyntheticPeople`
renders a second body and composites it by depth.

Every draw comes from the ``torch.Generator`` passed to :func:`draw_occluder`, so an occluder is a
deterministic function of its seed.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from model.data.draws import BlockDraws
from model.data.photo_textures import PhotoPatchSampler

#: Occluder kinds, in the order of :attr:`OccluderConfig.weights`.
OCCLUDER_KINDS: tuple[str, ...] = ("car", "pole", "railing", "fence", "bin", "bench", "clutter")

#: Car paint (sRGB) and how often: white, silver and black dominate real car parks.
_CAR_PAINT: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.88, 0.88, 0.87), 0.24),
    ((0.62, 0.63, 0.65), 0.18),
    ((0.05, 0.05, 0.06), 0.20),
    ((0.30, 0.31, 0.33), 0.14),
    ((0.12, 0.18, 0.40), 0.08),
    ((0.55, 0.07, 0.07), 0.07),
    ((0.72, 0.66, 0.52), 0.04),
    ((0.15, 0.30, 0.18), 0.03),
    ((0.85, 0.75, 0.12), 0.02),
)


@dataclass(frozen=True)
class OccluderConfig:
    """Which occluders appear (given that one does: ``SyntheticConfig.occluder_prob``).

    Attributes:
        weights: relative frequency of each of :data:`OCCLUDER_KINDS` (car, pole, railing,
            fence, bin, bench, clutter); non-negative, not all zero.
        photo_prob: probability that an occluder's surface gets detail from a photo patch
            (only when photos are available).
    """

    weights: tuple[float, ...] = (0.3, 0.2, 0.15, 0.08, 0.1, 0.07, 0.1)
    photo_prob: float = 0.35

    def __post_init__(self) -> None:
        if len(self.weights) != len(OCCLUDER_KINDS):
            raise ValueError(f"weights needs {len(OCCLUDER_KINDS)} entries {OCCLUDER_KINDS}, got {len(self.weights)}")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError(f"weights must be >= 0 and not all zero, got {self.weights}")
        if not 0.0 <= self.photo_prob <= 1.0:
            raise ValueError(f"photo_prob must be in [0, 1], got {self.photo_prob}")

    def pick(self, u: float) -> str:
        """The kind whose cumulative weight interval contains ``u`` in ``[0, 1)``."""
        total = sum(self.weights)
        acc = 0.0
        for kind, w in zip(OCCLUDER_KINDS, self.weights):
            acc += w / total
            if u < acc and w > 0:
                return kind
        return [k for k, w in zip(OCCLUDER_KINDS, self.weights) if w > 0][-1]


def _rgb(c: tuple[float, float, float] | list[float]) -> Tensor:
    return torch.tensor(c, dtype=torch.float32).view(3, 1, 1)


def _muted(r: BlockDraws, sat: float = 0.35, lo: float = 0.15, hi: float = 0.8) -> Tensor:
    return _rgb(colorsys.hsv_to_rgb(r.u(), r.u() ** 2 * sat, r.u(lo, hi)))


def _car_paint(r: BlockDraws) -> Tensor:
    u, acc = r.u(), 0.0
    total = sum(w for _, w in _CAR_PAINT)
    for colour, w in _CAR_PAINT:
        acc += w / total
        if u < acc:
            return _rgb(colour) * r.u(0.85, 1.1)
    return _rgb(_CAR_PAINT[-1][0])


def _box(xs: Tensor, ys: Tensor, x0: float, x1: float, y0: float, y1: float) -> Tensor:
    return (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)


def _car(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A parked or passing car: seen from the side (60 %) or from the front / back."""
    if r.chance(0.4):
        return _car_end(r, xs, ys)
    return _car_side(r, xs, ys)


def _car_end(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A car seen from the front or the back: a wide body, a sloped screen, lamps, a plate and
    the bottoms of the tyres."""
    width = r.u(0.6, 1.3)
    cx = r.u(0.0, 1.0)
    roof = r.u(0.4, 0.85)
    height = width * r.u(0.6, 0.8)
    belt = roof + height * r.u(0.38, 0.48)
    bottom = roof + height
    t = ((ys - roof) / max(belt - roof, 1e-3)).clamp(0, 1)
    half_top = width * 0.5 * r.u(0.6, 0.8)
    cabin = (ys >= roof) & (ys < belt) & ((xs - cx).abs() < half_top + (width * 0.5 - half_top) * t)
    body = (ys >= belt) & (ys < bottom - height * 0.08) & ((xs - cx).abs() < width * 0.5)
    tyres = (ys >= bottom - height * 0.12) & (ys < bottom) & ((xs - cx).abs() > width * 0.3) & ((xs - cx).abs() < width * 0.46)
    paint = _car_paint(r)
    colour = paint * (1.05 - 0.3 * ((ys - belt) / max(bottom - belt, 1e-3)).clamp(0, 1))  # darker low
    screen = cabin & (ys >= roof + 0.015) & ((xs - cx).abs() < half_top + (width * 0.5 - half_top) * t - 0.02)
    glass = _rgb((0.1, 0.12, 0.15)) + 0.3 * (1 - t) * _rgb((0.55, 0.6, 0.7)) * r.u(0.2, 1.0)
    colour = torch.where(screen, glass, colour)
    lamp_y = belt + height * r.u(0.05, 0.15)
    lamp = ((ys - lamp_y).abs() < height * 0.05) & (((xs - cx).abs() - width * 0.38).abs() < width * 0.07)
    lamp_rgb = _rgb((0.75, 0.08, 0.06)) if r.chance(0.5) else _rgb((0.9, 0.9, 0.85))
    colour = torch.where(lamp, lamp_rgb, colour)
    plate = ((ys - (belt + height * 0.3)).abs() < height * 0.045) & ((xs - cx).abs() < width * 0.12)
    colour = torch.where(plate, _rgb((0.9, 0.88, 0.8)), colour)
    colour = torch.where(tyres, _rgb((0.04, 0.04, 0.04)), colour)
    mask = cabin | body | tyres
    return colour.expand(3, *mask.shape), mask


def _car_side(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A car seen from the side: body, cabin with windows, wheels."""
    length = r.u(0.9, 2.2)  # in crop widths
    x0 = r.u(-length + 0.25, 0.75)
    x1 = x0 + length
    roof = r.u(0.35, 0.85)
    height = r.u(0.35, 0.6) * length * 0.55  # cars are ~2.6x longer than tall
    bottom = roof + height
    belt = roof + height * r.u(0.38, 0.5)
    sill = bottom - height * 0.18
    # cabin: a trapezoid between the pillars, over the middle part of the body
    c0 = x0 + length * r.u(0.15, 0.3)
    c1 = x1 - length * r.u(0.15, 0.3)
    slope = (belt - roof) * r.u(0.4, 1.2)
    t = ((ys - roof) / max(belt - roof, 1e-3)).clamp(0, 1)
    cabin = (ys >= roof) & (ys < belt) & (xs >= c0 + slope * (1 - t)) & (xs < c1 - slope * (1 - t) * 0.6)
    body = _box(xs, ys, x0, x1, belt, sill)
    # rounded nose and tail
    nose = 0.12 * length
    corner = ((xs - x0 - nose).clamp(max=0) / nose) ** 2 + ((ys - belt - nose * 0.5).clamp(max=0) / (nose * 0.5)) ** 2
    corner = corner + ((xs - x1 + nose).clamp(min=0) / nose) ** 2
    body = body & (corner < 1.0)
    paint = _car_paint(r)
    colour = paint * (1.05 - 0.35 * ((ys - belt) / max(sill - belt, 1e-3)).clamp(0, 1))  # darker low
    colour = torch.where(((ys - belt).abs() < 0.012), paint * 1.25 + 0.05, colour)  # belt-line highlight
    # windows: dark glass with a sky reflection gradient, split by a pillar
    inset = 0.015
    win = (ys >= roof + inset) & (ys < belt - inset) & (xs >= c0 + slope * (1 - t) + inset) & (xs < c1 - slope * (1 - t) * 0.6 - inset)
    pillar = (xs - (c0 + c1) / 2).abs() < 0.012
    glass = _rgb((0.1, 0.12, 0.15)) + 0.35 * (1 - t) * _rgb((0.55, 0.6, 0.7)) * r.u(0.2, 1.0)
    colour = torch.where(win & ~pillar, glass, colour)
    # wheels: dark tyres with light hubs, at the bottom of the body
    wheel_r = height * r.u(0.2, 0.26)
    mask = cabin | body
    for wx in (x0 + length * 0.2, x1 - length * 0.2):
        d = ((xs - wx) ** 2 + (ys - sill) ** 2).sqrt()
        tyre = d < wheel_r
        colour = torch.where(tyre, _rgb((0.04, 0.04, 0.04)), colour)
        colour = torch.where(d < wheel_r * 0.55, _rgb((0.55, 0.56, 0.58)) * r.u(0.6, 1.1), colour)
        mask = mask | tyre
    return colour.expand(3, *mask.shape), mask


def _pole(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A vertical post (street light, sign post, bollard) with cylindrical shading."""
    cx, half = r.u(0.05, 0.95), r.u(0.012, 0.07)
    top = -0.1 if r.chance(0.7) else r.u(0.3, 0.75)  # full height, or a bollard / short post
    mask = ((xs - cx).abs() < half) & (ys >= top)
    base = _rgb((0.45, 0.46, 0.48)) * r.u(0.5, 1.4) if r.chance(0.6) else _muted(r, 0.6, 0.1, 0.6)
    shade = 0.55 + 0.6 * torch.cos(((xs - cx) / half).clamp(-1, 1) * (math.pi / 2) - r.u(-0.6, 0.6)).clamp(min=0)
    colour = base * shade
    if top < 0 and r.chance(0.3):  # a sign plate
        sy = r.u(0.05, 0.4)
        plate = _box(xs, ys, cx - 3 * half, cx + 3 * half, sy, sy + r.u(0.06, 0.15))
        colour = torch.where(plate, _muted(r, 0.9, 0.3, 0.9), colour)
        mask = mask | plate
    return colour.expand(3, *mask.shape), mask


def _railing(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """Horizontal rails with vertical balusters down to the ground."""
    top = r.u(0.45, 0.8)
    thick = r.u(0.012, 0.035)
    mask = (ys - top).abs() < thick
    if r.chance(0.6):
        mid = top + r.u(0.12, 0.25)
        mask = mask | ((ys - mid).abs() < thick * 0.7)
    period = r.u(0.05, 0.22)
    width = period * r.u(0.1, 0.3)
    bars = (torch.remainder(xs - r.u(0, 1), period) < width) & (ys >= top)
    mask = mask | bars
    base = _rgb((0.35, 0.36, 0.38)) * r.u(0.3, 1.6) if r.chance(0.6) else _muted(r, 0.7, 0.1, 0.6)
    colour = base * (1.1 - 0.3 * ys)
    return colour.expand(3, *mask.shape), mask


def _fence(r: BlockDraws, xs: Tensor, ys: Tensor, s: int) -> tuple[Tensor, Tensor]:
    """A chain-link (diamond mesh) or welded-grid fence: only the wires hide the person."""
    top = r.u(-0.1, 0.5)
    period = max(r.u(0.03, 0.09), 3.0 / s)  # at least 3 px between wires
    wire = max(r.u(0.08, 0.2) * period, 0.6 / s)
    if r.chance(0.6):
        a, b = xs + ys, xs - ys
    else:
        a, b = xs, ys
    grid = (torch.remainder(a, period) < wire) | (torch.remainder(b, period) < wire)
    posts = torch.remainder(xs - r.u(0, 1), r.u(0.4, 1.2)) < r.u(0.015, 0.04)
    mask = (grid | posts) & (ys >= top)
    base = _rgb((0.5, 0.52, 0.52)) * r.u(0.5, 1.4) if r.chance(0.7) else _rgb((0.12, 0.3, 0.15)) * r.u(0.6, 1.3)
    return base.expand(3, *mask.shape), mask


def _bin(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A litter bin or wheelie bin: a rounded body at the bottom of the frame with a lid."""
    cx, half = r.u(0.1, 0.9), r.u(0.08, 0.2)
    top = r.u(0.55, 0.85)
    taper = r.u(0.0, 0.25)
    w = half * (1 - taper * ((ys - top) / max(1.0 - top, 1e-3)).clamp(0, 1))
    mask = ((xs - cx).abs() < w) & (ys >= top)
    base = _muted(r, 0.8, 0.12, 0.6)
    shade = 0.55 + 0.5 * torch.cos(((xs - cx) / half).clamp(-1, 1) * (math.pi / 2))
    colour = base * shade
    lid = mask & (ys < top + r.u(0.02, 0.05))
    colour = torch.where(lid, base * 0.6, colour)
    return colour.expand(3, *mask.shape), mask


def _bench(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A park bench: back slats, seat and legs, low in the frame."""
    x0 = r.u(-0.5, 0.5)
    x1 = x0 + r.u(0.5, 1.5)
    seat = r.u(0.7, 0.88)
    back_top = seat - r.u(0.12, 0.25)
    slat = r.u(0.015, 0.03)
    inside = (xs >= x0) & (xs < x1)
    slats = inside & (ys >= back_top) & (ys < seat) & (torch.remainder(ys - back_top, slat * 2.2) < slat)
    seat_m = inside & ((ys - seat).abs() < slat * 1.2)
    legs = (ys > seat) & (((xs - x0 - 0.05).abs() < 0.015) | ((xs - x1 + 0.05).abs() < 0.015))
    mask = slats | seat_m | legs
    wood = _rgb((0.42, 0.28, 0.15)) * r.u(0.5, 1.3) if r.chance(0.6) else _muted(r, 0.6, 0.15, 0.6)
    colour = torch.where(legs, _rgb((0.15, 0.15, 0.16)), wood)
    return colour.expand(3, *mask.shape), mask


def _clutter(r: BlockDraws, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """A box, sign board or round shrub coming from below or the side."""
    cx, cy = r.u(0, 1), r.u(0.35, 1.0)
    hw, hh = r.u(0.08, 0.23), r.u(0.08, 0.23)
    if r.chance(0.5):
        mask = ((xs - cx).abs() < hw) & ((ys - cy).abs() < hh)
    else:
        mask = ((xs - cx) / hw) ** 2 + ((ys - cy) / hh) ** 2 < 1.0
    colour = _muted(r, 0.6, 0.1, 0.9) * (0.85 + 0.15 * ys)
    return colour.expand(3, *mask.shape), mask


def draw_occluder(
    kind: str,
    generator: torch.Generator,
    size: int,
    config: OccluderConfig = OccluderConfig(),
    photos: PhotoPatchSampler | None = None,
) -> tuple[Tensor, Tensor]:
    """One occluder layer for an ``S x S`` crop.

    Args:
        kind: one of :data:`OCCLUDER_KINDS`.
        generator: the source of every random draw.
        size: crop side S.
        config: photo-texture probability.
        photos: photo patches for surface detail (``None`` or empty: plain shading only).
    Returns:
        colour ``(3, S, S)`` float in ``[0, 1]`` and coverage ``(S, S)`` bool.
    """
    r = BlockDraws(generator, block=64)
    ys = (torch.arange(size, dtype=torch.float32)[:, None] + 0.5) / size
    xs = (torch.arange(size, dtype=torch.float32)[None, :] + 0.5) / size
    if kind == "car":
        colour, mask = _car(r, xs, ys)
    elif kind == "pole":
        colour, mask = _pole(r, xs, ys)
    elif kind == "railing":
        colour, mask = _railing(r, xs, ys)
    elif kind == "fence":
        colour, mask = _fence(r, xs, ys, size)
    elif kind == "bin":
        colour, mask = _bin(r, xs, ys)
    elif kind == "bench":
        colour, mask = _bench(r, xs, ys)
    elif kind == "clutter":
        colour, mask = _clutter(r, xs, ys)
    else:
        raise ValueError(f"unknown occluder kind {kind!r}; expected one of {OCCLUDER_KINDS}")
    use_photo = r.chance(config.photo_prob)
    seed = int(r.u() * 2**62)
    if use_photo and photos is not None and photos.available:
        detail = photos.detail(torch.Generator().manual_seed(seed), size, size)  # (1, S, S) around 1
        colour = colour * detail
    return colour.clamp(0.0, 1.0), mask

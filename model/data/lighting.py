"""Random lights for synthetic renders: ambient plus one directional light, mostly from above.

Two samplers:

* :func:`sample_lights` -- daylight and even indoor light (the original distribution, unchanged:
  the texture network's fixed mean light is computed from it);
* :func:`sample_scene_lights` -- the scenes cameras see (:class:`LightingConfig`), a mix of

  ===========  =====  ==========================================================================
  kind         share  what and why
  ===========  =====  ==========================================================================
  day          55 %   :func:`sample_lights`
  overhead     20 %   corridors, shops, stations: ceiling lights 70-90 degrees up, much ambient
                      (0.5-0.8 of 0.75-1.1), neutral to cool-white
  backlit      15 %   doors, windows, low sun behind the person: the light comes from behind
                      (azimuth 180 +- 50 degrees, 10-50 degrees up), a dim front (ambient 0.2-0.4)
  street       10 %   a lamp at night: 45-85 degrees up, any azimuth, little ambient (0.08-0.2),
                      sodium orange or LED cool-white; the camera makes it darker and noisier
                      still (:mod:`model.data.degrade`)
  ===========  =====  ==========================================================================

Camera frame (OpenCV): x right, y down, z forward; :class:`~model.render.shading.Lights` stores
the direction from the surface *towards* the light, so "from above" means ``y < 0`` and "from the
camera side" means ``z < 0``.  The renderer shades ``albedo * (ambient + diffuse * max(0, n.l))``
without clamping, so the intensities are drawn with ``ambient + diffuse <= max_total`` (default
1.15, a slight over-exposure at most) and ``ambient >= 0.25`` (shadowed sides stay visible).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from model.render.shading import Lights

#: The kinds of :class:`LightingConfig`, in the order of its shares.
LIGHT_KINDS = ("day", "overhead", "backlit", "street")

#: RGB gains of a low-pressure sodium street lamp (as its light looks on a camera) and of a cool LED.
SODIUM = (1.0, 0.72, 0.38)
COOL_LED = (0.9, 0.97, 1.08)


@dataclass(frozen=True)
class LightingConfig:
    """Shares of the light kinds of :func:`sample_scene_lights` (they must sum to 1).

    Attributes:
        day: daylight and even indoor light (:func:`sample_lights`).
        overhead: ceiling lights from almost straight above.
        backlit: light from behind the person.
        street: a street lamp at night.
        sodium_prob: share of sodium (orange) lamps among street lamps; the rest are cool LEDs.
    """

    day: float = 0.55
    overhead: float = 0.2
    backlit: float = 0.15
    street: float = 0.1
    sodium_prob: float = 0.5

    def __post_init__(self) -> None:
        shares = [getattr(self, k) for k in LIGHT_KINDS]
        if any(not 0.0 <= p <= 1.0 for p in shares + [self.sodium_prob]):
            raise ValueError(f"light shares and sodium_prob must be in [0, 1], got {shares + [self.sodium_prob]}")
        if abs(sum(shares) - 1.0) > 1e-6:
            raise ValueError(f"light shares must sum to 1, got {sum(shares)}")

    @property
    def shares(self) -> tuple[float, ...]:
        return tuple(getattr(self, k) for k in LIGHT_KINDS)


def _tint(temperature: torch.Tensor) -> torch.Tensor:
    """RGB gains ``(n, 3)`` for a colour temperature offset in ``[-1, 1]`` (-1 warm, +1 cool),
    scaled to keep luminance ~1."""
    t = temperature[:, None]
    warm = torch.tensor([1.0, 0.93, 0.80])
    cool = torch.tensor([0.88, 0.95, 1.06])
    neutral = torch.ones(3)
    rgb = torch.where(t < 0, neutral + (warm - neutral) * (-t), neutral + (cool - neutral) * t)
    lum = (rgb * torch.tensor([0.2126, 0.7152, 0.0722])).sum(-1, keepdim=True)
    return rgb / lum


def sample_lights(
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    min_elevation_deg: float = 10.0,
    max_elevation_deg: float = 75.0,
    max_total: float = 1.15,
) -> Lights:
    """``n`` random lights (the renderer's :class:`Lights`, camera frame).

    * direction: elevation above the horizon in ``[min_elevation_deg, max_elevation_deg]`` degrees, biased
      high (ceiling lights, sun, surveillance views); azimuth around the vertical axis mostly on
      the camera side (normal with sd 70 degrees around the camera direction), sometimes
      behind the person;
    * intensity: total ``ambient + diffuse`` uniform in ``[0.7, max_total]``, of which the
      ambient share is in ``[0.3, 0.75]`` (ambient at least 0.25);
    * colour: a shared slight colour temperature (warm to cool), the ambient a little cooler
      than the direct light (sky vs. sun) on average.
    """
    g = generator
    u = torch.rand(n, 8, generator=g, dtype=torch.float64)
    lo = math.radians(min_elevation_deg)
    hi = math.radians(max_elevation_deg)
    elevation = lo + (hi - lo) * u[:, 0] ** 0.7  # biased towards high lights
    azimuth = torch.randn(n, generator=g, dtype=torch.float64) * math.radians(70.0)
    direction = torch.stack(
        [
            torch.cos(elevation) * torch.sin(azimuth),
            -torch.sin(elevation),
            -torch.cos(elevation) * torch.cos(azimuth),
        ],
        dim=-1,
    )
    total = 0.7 + (max_total - 0.7) * u[:, 1]
    share = 0.3 + 0.45 * u[:, 2]
    ambient = (total * share).clamp(min=0.25)
    diffuse = total - ambient
    temperature = (u[:, 3] * 2.0 - 1.0) * 0.8
    sky = (u[:, 4] * 0.5).clamp(max=1.0)  # extra cool shift of the ambient light
    tint_direct = _tint(temperature.float())
    tint_ambient = _tint((temperature * (1 - sky) + sky).float().clamp(-1, 1))
    amb = ambient.float()[:, None] * tint_ambient
    dif = diffuse.float()[:, None] * tint_direct
    # keep every channel of ambient + diffuse within max_total
    scale = (max_total / (amb + dif).amax(-1, keepdim=True)).clamp(max=1.0)
    return Lights(
        ambient=(amb * scale).to(device=device, dtype=dtype),
        diffuse=(dif * scale).to(device=device, dtype=dtype),
        direction=direction.to(device=device, dtype=dtype),
    )


def _direction(elevation: torch.Tensor, azimuth: torch.Tensor) -> torch.Tensor:
    """Unit direction towards the light ``(n, 3)``, camera frame; azimuth 0 = the camera's side."""
    return torch.stack(
        [torch.cos(elevation) * torch.sin(azimuth), -torch.sin(elevation), -torch.cos(elevation) * torch.cos(azimuth)], dim=-1
    )


def sample_scene_lights(
    n: int,
    generator: torch.Generator | None = None,
    config: LightingConfig = LightingConfig(),
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[Lights, torch.Tensor]:
    """``n`` lights of the kinds in ``config`` (see the module docstring).

    Draws ``torch.rand(n, 8)`` then :func:`sample_lights`'s draws, whatever the kinds, so a
    generator gives the same lights for the same ``n``.

    Returns:
        ``(lights, kind)``: the renderer's :class:`Lights` (camera frame) and ``kind (n,)`` int64,
        indices into :data:`LIGHT_KINDS`.
    """
    u = torch.rand(n, 8, generator=generator, dtype=torch.float64)
    day = sample_lights(n, generator, dtype=torch.float64)
    edges = torch.tensor(config.shares, dtype=torch.float64).cumsum(0)
    kind = torch.searchsorted(edges[:-1].contiguous(), u[:, 0].contiguous(), right=True)
    ambient, diffuse, direction = day.ambient.clone(), day.diffuse.clone(), day.direction.clone()

    def set_kind(k: int, amb: torch.Tensor, dif: torch.Tensor, dirs: torch.Tensor) -> None:
        sel = kind == k
        ambient[sel], diffuse[sel], direction[sel] = amb[sel], dif[sel], dirs[sel]

    # overhead: ceiling lights
    total = 0.75 + 0.35 * u[:, 1]
    amb = total * (0.5 + 0.3 * u[:, 2])
    tint = _tint((u[:, 3] * 0.6).float()).double()
    set_kind(1, amb[:, None] * tint, (total - amb)[:, None] * tint, _direction(math.radians(70) + math.radians(20) * u[:, 4], u[:, 5] * 2 * math.pi))
    # backlit: the light is behind the person
    total = 0.6 + 0.3 * u[:, 1]
    amb = 0.2 + 0.2 * u[:, 2]
    tint = _tint(((u[:, 3] * 2 - 1) * 0.5).float()).double()
    azimuth = math.pi + (u[:, 5] * 2 - 1) * math.radians(50)
    set_kind(2, amb[:, None] * tint, (total - amb).clamp(min=0.1)[:, None] * tint, _direction(math.radians(10) + math.radians(40) * u[:, 4], azimuth))
    # street: a lamp at night
    amb = 0.08 + 0.12 * u[:, 2]
    dif = 0.5 + 0.4 * u[:, 1]
    lamp = torch.where(u[:, 6:7] < config.sodium_prob, torch.tensor(SODIUM, dtype=torch.float64), torch.tensor(COOL_LED, dtype=torch.float64))
    set_kind(3, amb[:, None] * lamp, dif[:, None] * lamp, _direction(math.radians(45) + math.radians(40) * u[:, 4], u[:, 5] * 2 * math.pi))
    lights = Lights(
        ambient=ambient.to(device=device, dtype=dtype),
        diffuse=diffuse.to(device=device, dtype=dtype),
        direction=direction.to(device=device, dtype=dtype),
    )
    return lights, kind

"""Random lights for synthetic renders: ambient plus one directional light, mostly from above.

Camera frame (OpenCV): x right, y down, z forward; :class:`~model.render.shading.Lights` stores
the direction from the surface *towards* the light, so "from above" means ``y < 0`` and "from the
camera side" means ``z < 0``.  The renderer shades ``albedo * (ambient + diffuse * max(0, n.l))``
without clamping, so the intensities are drawn with ``ambient + diffuse <= max_total`` (default
1.15, a slight over-exposure at most) and ``ambient >= 0.25`` (shadowed sides stay visible).
"""

from __future__ import annotations

import math

import torch

from model.render.shading import Lights


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

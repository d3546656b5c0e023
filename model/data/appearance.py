"""Appearance of synthetic people: one import for textures, backgrounds and lights.

* :mod:`model.data.textures` -- :class:`TextureSampler`: procedural clothed-person UV textures
  (skin, hair, garments with patterns, shoes) with a per-texel region map;
* :mod:`model.data.backgrounds` -- :class:`BackgroundSampler`: crops of bundled still photos and
  procedural scenes (never video files);
* :mod:`model.data.lighting` -- :func:`sample_lights`: ambient plus directional lights, mostly
  from above.
"""

from __future__ import annotations

from model.data.backgrounds import (
    EXCLUDED_PHOTOS,
    VIDEO_EXTENSIONS,
    BackgroundSampler,
    default_photo_dirs,
    list_photos,
    photo_excluded,
)
from model.data.lighting import sample_lights
from model.data.textures import REGION, REGIONS, TextureSampler, UVAtlas, get_atlas

__all__ = [
    "EXCLUDED_PHOTOS",
    "REGION",
    "REGIONS",
    "VIDEO_EXTENSIONS",
    "BackgroundSampler",
    "TextureSampler",
    "UVAtlas",
    "default_photo_dirs",
    "get_atlas",
    "list_photos",
    "photo_excluded",
    "sample_lights",
]

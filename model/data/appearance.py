"""Appearance of synthetic people and their scenes: one import for textures, clothing, photos,
backgrounds, occluders, lights and the appearance pools.

* :mod:`model.data.textures` -- :class:`TextureSampler`: procedural (and photo-patch) clothed-person
  UV textures with a per-texel region map, and the :class:`Outfit` drawn with each texture;
* :mod:`model.data.clothing` -- :class:`ClothingRig`: garment geometry (skirt / coat cones, padded
  tops) and backpack / bag meshes that change the silhouette;
* :mod:`model.data.photo_textures` -- :class:`PhotoPatchSampler`: real-photo patches for garments
  and occluders;
* :mod:`model.data.backgrounds` -- :class:`BackgroundSampler`: crops of bundled still photos and
  procedural scenes (never video files);
* :mod:`model.data.occluders` -- :func:`draw_occluder`: cars, poles, railings, fences, bins,
  benches, clutter;
* :mod:`model.data.lighting` -- :func:`sample_lights`: ambient plus directional lights, mostly
  from above;
* :mod:`model.data.pools` -- the disjoint ``"train"`` / ``"heldout"`` appearance pools.
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
from model.data.clothing import ClothingConfig, ClothingRig, Outfit
from model.data.lighting import sample_lights
from model.data.occluders import OCCLUDER_KINDS, OccluderConfig, draw_occluder
from model.data.photo_textures import PhotoPatchSampler
from model.data.pools import APPEARANCE_POOLS, photo_pool, sample_pool_betas, split_photos
from model.data.textures import REGION, REGIONS, TextureSampler, UVAtlas, get_atlas

__all__ = [
    "APPEARANCE_POOLS",
    "EXCLUDED_PHOTOS",
    "OCCLUDER_KINDS",
    "REGION",
    "REGIONS",
    "VIDEO_EXTENSIONS",
    "BackgroundSampler",
    "ClothingConfig",
    "ClothingRig",
    "OccluderConfig",
    "Outfit",
    "PhotoPatchSampler",
    "TextureSampler",
    "UVAtlas",
    "default_photo_dirs",
    "draw_occluder",
    "get_atlas",
    "list_photos",
    "photo_excluded",
    "photo_pool",
    "sample_lights",
    "sample_pool_betas",
    "split_photos",
]

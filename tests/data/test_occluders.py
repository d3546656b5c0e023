"""Occluders: every kind draws a deterministic, bounded layer; cars sit low, fences hide only
their wires; photo detail is optional."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest
import torch

from model.data.occluders import OCCLUDER_KINDS, OccluderConfig, draw_occluder
from model.data.photo_textures import PhotoPatchSampler
from model.data.pools import photo_pool

S = 96


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("kind", OCCLUDER_KINDS)
def test_layer_shape_range_determinism(kind: str) -> None:
    covers = []
    for seed in range(12):
        colour, mask = draw_occluder(kind, _gen(seed), S)
        assert colour.shape == (3, S, S) and colour.dtype == torch.float32
        assert mask.shape == (S, S) and mask.dtype == torch.bool
        assert colour.min() >= 0.0 and colour.max() <= 1.0
        again_colour, again_mask = draw_occluder(kind, _gen(seed), S)
        assert torch.equal(colour, again_colour) and torch.equal(mask, again_mask)
        covers.append(float(mask.float().mean()))
    # something is drawn, and the person is never hidden completely
    assert max(covers) > 0.01
    assert max(covers) < 0.95
    assert len({round(c, 4) for c in covers}) > 6  # seeds give different layers


def test_cars_are_low_in_the_frame() -> None:
    for seed in range(20):
        _, mask = draw_occluder("car", _gen(seed), S)
        rows = mask.any(1).nonzero().flatten()
        if rows.numel():
            assert rows[0] >= 0.3 * S  # the roof is below the top third


def test_fence_hides_only_its_wires() -> None:
    for seed in range(10):
        _, mask = draw_occluder("fence", _gen(seed), S)
        lower = mask[S // 2 :]
        assert 0.05 < float(lower.float().mean()) < 0.8  # a mesh, not a wall


def test_config_validation_and_pick() -> None:
    with pytest.raises(ValueError):
        OccluderConfig(weights=(1.0,))
    with pytest.raises(ValueError):
        OccluderConfig(weights=(0.0,) * len(OCCLUDER_KINDS))
    with pytest.raises(ValueError):
        OccluderConfig(photo_prob=1.5)
    with pytest.raises(ValueError):
        draw_occluder("boat", _gen(0), S)
    only_pole = OccluderConfig(weights=tuple(1.0 if k == "pole" else 0.0 for k in OCCLUDER_KINDS))
    assert {only_pole.pick(u / 100) for u in range(100)} == {"pole"}
    default = OccluderConfig()
    assert {default.pick(u / 1000) for u in range(1000)} == set(OCCLUDER_KINDS)


def test_photo_detail_is_optional(tmp_path: pathlib.Path) -> None:
    # a photo directory with one file of the training pool
    rng = np.random.default_rng(0)
    name = next(f"wall{k}x.png" for k in range(100) if photo_pool(f"wall{k}x.png") == "train")
    cv2.imwrite(str(tmp_path / name), rng.integers(0, 255, (200, 300, 3), dtype=np.uint8))
    with_photos = PhotoPatchSampler("train", photo_dirs=[tmp_path])
    without = PhotoPatchSampler("train", photo_dirs=[])
    assert with_photos.available and not without.available
    always = OccluderConfig(photo_prob=1.0)
    c1, m1 = draw_occluder("bin", _gen(3), S, always, with_photos)
    c0, m0 = draw_occluder("bin", _gen(3), S, always, without)
    assert torch.equal(m1, m0)  # the shape does not depend on the photos
    assert not torch.equal(c1, c0)  # the surface does
    assert c1.min() >= 0 and c1.max() <= 1

"""Photo patches for garments and occluders: shapes, ranges, determinism, pool and fabric filters."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest
import torch

from model.data.photo_textures import NOT_FABRIC, PhotoPatchSampler
from model.data.pools import photo_family, photo_pool


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _train_name(stem: str) -> str:
    return next(f"{stem}{k}x.png" for k in range(200) if photo_pool(f"{stem}{k}x.png") == "train")


@pytest.fixture
def photo_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / _train_name("tweed")), rng.integers(0, 255, (200, 300, 3), dtype=np.uint8))
    page = np.full((200, 300, 3), 250, np.uint8)
    page[::7] = 10  # lines of "text"
    cv2.imwrite(str(tmp_path / "page.png"), page)  # family "page": never cloth
    return tmp_path


def test_fabric_skips_pages_and_charts(photo_dir: pathlib.Path) -> None:
    pool = photo_pool("page.png")
    sampler = PhotoPatchSampler(pool, photo_dirs=[photo_dir])
    assert any(photo_family(p) == "page" for p in sampler.paths)
    assert not any(photo_family(p) in NOT_FABRIC for p in sampler.fabric_paths)


def test_patch_fabric_detail(photo_dir: pathlib.Path) -> None:
    sampler = PhotoPatchSampler("train", photo_dirs=[photo_dir])
    assert sampler.available
    p = sampler.patch(_gen(1), 20, 30)
    assert p.shape == (3, 20, 30) and 0 <= p.min() and p.max() <= 1
    assert torch.equal(p, sampler.patch(_gen(1), 20, 30))
    d = sampler.detail(_gen(2), 16, 16)
    assert d.shape == (1, 16, 16) and d.min() >= 0.1 - 1e-6
    u = torch.linspace(-0.5, 0.5, 32)[None].expand(32, 32)
    v = torch.linspace(-1.0, 1.0, 32)[:, None].expand(32, 32)
    base = torch.tensor([0.2, 0.4, 0.6]).view(3, 1, 1)
    cloth = sampler.fabric(_gen(3), u, v, base)
    assert cloth.shape == (3, 32, 32) and cloth.min() >= 0 and cloth.max() <= 1
    assert torch.equal(cloth, sampler.fabric(_gen(3), u, v, base))
    assert cloth.std() > 0.005  # the photo shows through
    # recoloured: the garment keeps roughly its colour
    assert (cloth.mean((1, 2)) - base.view(3)).abs().max() < 0.25


def test_no_photos(tmp_path: pathlib.Path) -> None:
    sampler = PhotoPatchSampler("heldout", photo_dirs=[tmp_path])
    assert not sampler.available
    with pytest.raises(RuntimeError):
        sampler.patch(_gen(0), 8, 8)

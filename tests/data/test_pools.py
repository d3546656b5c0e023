"""Appearance pools (issue 14 item 4b): the held-out pool shares no photo file, texture recipe or
body-shape region with the training pool; both are deterministic."""

from __future__ import annotations

import pathlib

import pytest
import torch

from model.body import load_body_model
from model.data.backgrounds import BackgroundSampler, default_photo_dirs, list_photos
from model.data.photo_textures import PhotoPatchSampler
from model.data.pools import check_pool, photo_family, photo_pool, sample_pool_betas, split_photos
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.data.textures import CLOTHING_COLOURS, HELDOUT_CLOTHING_COLOURS, PATTERN_KINDS, TextureSampler

CLIP = 2.5


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_photo_pools_are_disjoint_and_cover_every_photo() -> None:
    photos = list_photos(default_photo_dirs())
    train, heldout = split_photos(photos, "train"), split_photos(photos, "heldout")
    assert not set(train) & set(heldout)
    assert sorted(train + heldout) == sorted(photos)
    assert not {photo_family(p) for p in train} & {photo_family(p) for p in heldout}
    if len(photos) > 20:  # both pools get photos when the packages are installed
        assert train and heldout


def test_variants_of_a_picture_share_a_pool() -> None:
    for a, b in (("aloeL.jpg", "aloeR.jpg"), ("rubberwhale1.png", "rubberwhale2.png"), ("box.png", "box_in_scene.png"),
                 ("text.png", "text_motion.jpg"), ("leuvenA.jpg", "leuvenB.jpg")):  # fmt: skip
        assert photo_family(a) == photo_family(b)
        assert photo_pool(a) == photo_pool(b)


def test_samplers_of_the_two_pools_read_disjoint_files() -> None:
    bg = {p: BackgroundSampler(pool=p).photo_paths for p in ("train", "heldout")}
    patches = {p: PhotoPatchSampler(p).paths for p in ("train", "heldout")}
    assert not set(bg["train"]) & set(bg["heldout"])
    assert not set(patches["train"]) & set(patches["heldout"])
    assert not set(bg["train"]) & set(patches["heldout"])
    assert not set(patches["train"]) & set(bg["heldout"])


def test_texture_recipes_are_disjoint() -> None:
    train_colours = {c for c, _ in CLOTHING_COLOURS}
    heldout_colours = {c for c, _ in HELDOUT_CLOTHING_COLOURS}
    assert not train_colours & heldout_colours
    assert not set(PATTERN_KINDS["train"]) & set(PATTERN_KINDS["heldout"])
    body = load_body_model()
    for pool in ("train", "heldout"):
        sampler = TextureSampler(body, size=64, pool=pool, photos=PhotoPatchSampler(pool, photo_dirs=[]))
        kinds = set()
        for seed in range(40):
            _, outfit = sampler.sample_with_outfit(_gen(seed))
            kinds |= set(outfit.recipe)
        allowed = set(PATTERN_KINDS[pool]) | {"plain", "photo"}
        assert kinds <= allowed, (pool, kinds - allowed)
        assert kinds & set(PATTERN_KINDS[pool])  # the pool's own patterns do appear
    with pytest.raises(ValueError):
        TextureSampler(body, size=64, pool="train", photos=PhotoPatchSampler("heldout", photo_dirs=[]))


def test_beta_regions_are_disjoint() -> None:
    train = torch.stack([sample_pool_betas(_gen(i), CLIP, "train") for i in range(300)])
    heldout = torch.stack([sample_pool_betas(_gen(i), CLIP, "heldout") for i in range(300)])
    assert train.abs().max() <= CLIP
    outside = (heldout[:, :3].abs() > CLIP).any(1)
    assert outside.all()  # every held-out shape is outside the training region
    assert heldout.abs().max() <= CLIP + 1.5 + 1e-6
    short = heldout[:, 0] < -CLIP
    assert 0.35 < float(short.float().mean()) < 0.65  # about half are short people
    assert heldout[:, 0].max() <= CLIP  # and no giants
    assert torch.equal(sample_pool_betas(_gen(5), CLIP, "heldout"), sample_pool_betas(_gen(5), CLIP, "heldout"))


def test_heldout_people_are_deterministic_and_differ_from_training() -> None:
    cfg = {"crop_size": 48, "backgrounds": ("procedural",), "photo_dirs": ()}
    held = SyntheticPeople(SyntheticConfig(appearance_pool="heldout", **cfg))
    held2 = SyntheticPeople(SyntheticConfig(appearance_pool="heldout", **cfg))
    train = SyntheticPeople(SyntheticConfig(**cfg))
    a, b = held.generate([3, 4]), held2.generate([4])
    for key in a:
        assert torch.equal(a[key][1], b[key][0]), key
    t = train.generate([3, 4])
    assert not torch.equal(a["betas"], t["betas"])
    assert ((a["betas"][:, :3].abs() > CLIP).any(1)).all()
    assert (t["betas"].abs() <= CLIP).all()
    assert torch.equal(a["pose"], t["pose"])  # same scene draws: only the appearance differs
    assert (a["image"] - t["image"]).abs().mean() > 0.01


def test_heldout_procedural_backgrounds_differ() -> None:
    held = BackgroundSampler(sources=("procedural",), pool="heldout")
    train = BackgroundSampler(sources=("procedural",), pool="train")
    for seed in range(4):
        h = held.sample(_gen(seed), 64, 64)
        assert torch.equal(h, held.sample(_gen(seed), 64, 64))
        assert h.min() >= 0 and h.max() <= 1
        assert not torch.equal(h, train.sample(_gen(seed), 64, 64))


def test_pool_names_are_checked(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError):
        check_pool("test")
    with pytest.raises(ValueError):
        SyntheticConfig(appearance_pool="validation")
    with pytest.raises(ValueError):
        BackgroundSampler(pool="all")
    with pytest.raises(ValueError):
        PhotoPatchSampler("both", photo_dirs=[tmp_path])

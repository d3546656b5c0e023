"""Background sampler: shapes, determinism, photo discovery and exclusions (never videos)."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest
import torch

from model.data import backgrounds as bgmod
from model.data.backgrounds import (
    OPENCV_DOC_DATA,
    VIDEO_EXTENSIONS,
    BackgroundSampler,
    default_photo_dirs,
    list_photos,
    photo_excluded,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _write_image(path: pathlib.Path, h: int = 200, w: int = 300, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


@pytest.fixture
def photo_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    _write_image(tmp_path / "street.png", seed=1)
    _write_image(tmp_path / "wall.jpg", seed=2)
    _write_image(tmp_path / "tiny.png", h=40, w=60)  # too small: dropped
    _write_image(tmp_path / "messi5.jpg", seed=3)  # a person: excluded by name
    _write_image(tmp_path / "left01.jpg", seed=4)  # calibration shot with a person
    _write_image(tmp_path / "crowd_scene.png", seed=5)  # people by file name
    for name in ("vtest.avi", "clip.mp4", "tree.avi", "anim.gif", "movie.MOV"):
        (tmp_path / name).write_bytes(b"\x00" * 64)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_procedural_only_without_photos(tmp_path):
    sampler = BackgroundSampler(photo_dirs=[tmp_path / "missing"])
    assert sampler.photo_paths == []
    img = sampler.sample(_gen(0), 224, 160)
    assert img.shape == (3, 224, 160) and img.dtype == torch.float32
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    imgs = sampler.sample_batch(24, _gen(1), 64, 64)
    assert imgs.shape == (24, 3, 64, 64)
    assert float(imgs.std()) > 0.05  # not all flat
    with pytest.raises(ValueError, match="no background photos"):
        BackgroundSampler(sources=("photos",), photo_dirs=[tmp_path / "missing"])
    with pytest.raises(ValueError):
        BackgroundSampler(sources=("video",))


def test_deterministic_per_seed(photo_dir):
    sampler = BackgroundSampler(photo_dirs=[photo_dir])
    a = sampler.sample_batch(8, _gen(3), 96, 96)
    b = sampler.sample_batch(8, _gen(3), 96, 96)
    assert torch.equal(a, b)
    assert not torch.equal(a, sampler.sample_batch(8, _gen(4), 96, 96))


def test_videos_and_people_are_excluded(photo_dir):
    names = [p.name for p in list_photos([photo_dir])]
    assert names == ["street.png", "tiny.png", "wall.jpg"]  # tiny.png is dropped when decoded
    for ext in (".avi", ".mp4", ".mov", ".mkv", ".webm", ".gif"):
        assert ext in VIDEO_EXTENSIONS
        assert photo_excluded(f"x{ext}") == "video or animated file"
        assert photo_excluded(f"X{ext.upper()}") == "video or animated file"
    assert photo_excluded("basketball1.png")
    assert photo_excluded("/usr/share/doc/opencv-doc/examples/data/right07.jpg")
    assert photo_excluded("astronaut.png") and photo_excluded("camera.png")
    assert photo_excluded("building.jpg") is None


def test_photos_never_decode_videos(photo_dir, monkeypatch):
    opened: list[str] = []
    real_imread = cv2.imread

    def spy(path, *args):
        opened.append(path)
        return real_imread(path, *args)

    monkeypatch.setattr(cv2, "imread", spy)
    monkeypatch.setattr(bgmod, "_PHOTO_CACHE", {})
    sampler = BackgroundSampler(sources=("photos",), photo_dirs=[photo_dir])
    assert len(sampler.photos) == 2  # street.png, wall.jpg
    img = sampler.sample(_gen(0), 128, 128)
    assert img.shape == (3, 128, 128) and float(img.min()) >= 0 and float(img.max()) <= 1
    assert opened and not any(pathlib.Path(p).suffix.lower() in VIDEO_EXTENSIONS for p in opened)
    assert {pathlib.Path(p).name for p in opened} == {"street.png", "tiny.png", "wall.jpg"}


def test_photo_crops_come_from_the_photo(tmp_path):
    """A flat-coloured photo gives (up to the photometric jitter) a flat background."""
    img = np.zeros((300, 400, 3), np.uint8)
    img[:] = (30, 160, 200)  # BGR
    cv2.imwrite(str(tmp_path / "flat.png"), img)
    sampler = BackgroundSampler(sources=("photos",), photo_dirs=[tmp_path])
    out = sampler.sample(_gen(0), 64, 48)
    assert out.shape == (3, 64, 48)
    assert float(out.std(dim=(1, 2)).max()) < 1e-4
    assert float(out[0].mean()) > float(out[2].mean())  # RGB order: red channel was 200


def test_installed_photo_sources_exclude_videos():
    """Whatever photo sources this machine has (opencv-doc, scikit-image), no video is listed."""
    dirs = default_photo_dirs()
    paths = list_photos(dirs)
    assert not any(p.suffix.lower() in VIDEO_EXTENSIONS for p in paths)
    assert not any(photo_excluded(p) for p in paths)
    if OPENCV_DOC_DATA.is_dir():
        assert OPENCV_DOC_DATA in dirs
        assert not any(p.name in {"vtest.avi", "Megamind.avi", "tree.avi"} for p in paths)
        assert not any(p.name.startswith(("messi", "basketball")) for p in paths)


def test_mixed_sources_range():
    sampler = BackgroundSampler()
    imgs = sampler.sample_batch(16, _gen(9), 112, 112)
    assert imgs.shape == (16, 3, 112, 112)
    assert float(imgs.min()) >= 0.0 and float(imgs.max()) <= 1.0

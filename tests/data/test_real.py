"""SPIN .npz loader: crops and keypoints agree, keys/shapes, 3D joints, errors; dataset mixing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from model.body.joint_names import COCO17_NAMES, LSP14_NAMES
from model.data.real import (
    COCO17_FROM_SPIN24,
    REAL_DATASETS,
    SAMPLE_KEYS,
    SPIN24_NAMES,
    MixedDataset,
    SpinNpzDataset,
    crop_image,
    default_npz_path,
    normalise_dataset_name,
)


def _write_image(path: Path, h: int, w: int, dots: list[tuple[int, int, int]]) -> None:
    """Black RGB image with white squares of half-width ``r`` centred on pixel ``(row, col)``."""
    img = np.zeros((h, w, 3), np.uint8)
    for row, col, r in dots:
        img[row - r : row + r + 1, col - r : col + r + 1] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _make_dataset(tmp_path: Path, **npz_extra: np.ndarray) -> tuple[Path, Path, np.ndarray]:
    """Two images; entry 0 upsampled (box 60 px -> 64), entry 1 downsampled (box 240 px -> 32 / 64)."""
    root = tmp_path / "images"
    # Entry 0: 100x80 image, keypoints at the centres of 3x3 dots (row, col).
    dots0 = [(40, 30), (20, 50), (55, 45)]
    _write_image(root / "a" / "img0.png", 80, 100, [(r, c, 1) for r, c in dots0])
    # Entry 1: 300x300 image, bigger blobs (survive strong downscaling).
    dots1 = [(150, 150), (100, 200), (210, 90)]
    _write_image(root / "b" / "img1.png", 300, 300, [(r, c, 6) for r, c in dots1])
    part = np.zeros((2, 24, 3), np.float32)
    for n, dots in enumerate((dots0, dots1)):
        for j, (row, col) in zip((0, 9, 19), dots):  # right ankle, left shoulder, nose
            part[n, j] = (col, row, 1.0)  # SPIN: x = column index, y = row index
    data = {
        "imgname": np.array(["a/img0.png", "b/img1.png"]),
        "center": np.array([[48.0, 38.0], [149.0, 152.0]], np.float32),
        "scale": np.array([60.0 / 200.0, 240.0 / 200.0], np.float32),
        "part": part,
    }
    data.update(npz_extra)
    npz = tmp_path / "ann.npz"
    np.savez(npz, **data)
    return npz, root, part


def _blob_centroid(image: torch.Tensor) -> np.ndarray:
    """Intensity centroid ``(x, y)`` of a (3, S, S) crop in project pixels (centre of pixel j = j + 0.5)."""
    w = image.mean(0).numpy().astype(np.float64)
    ys, xs = np.mgrid[0 : w.shape[0], 0 : w.shape[1]] + 0.5
    return np.array([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])


def test_joint_tables() -> None:
    assert len(SPIN24_NAMES) == 24 and SPIN24_NAMES[:14] == LSP14_NAMES
    assert SPIN24_NAMES[14:] == (
        "pelvis", "thorax", "spine", "h36m_jaw", "h36m_head", "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    )  # fmt: skip
    assert [SPIN24_NAMES[i] for i in COCO17_FROM_SPIN24] == list(COCO17_NAMES)
    assert COCO17_FROM_SPIN24[:5] == (19, 20, 21, 22, 23)


@pytest.mark.parametrize("size", [64, 32])
def test_keypoints_land_on_their_dots(tmp_path: Path, size: int) -> None:
    npz, root, part = _make_dataset(tmp_path)
    ds = SpinNpzDataset(npz, root, input_size=size, dataset_name="lsp")
    assert len(ds) == 2
    for i in range(2):
        s = ds[i]
        assert s["image"].shape == (3, size, size) and s["image"].dtype == torch.float32
        kp = s["keypoints2d_lsp14"]
        coco = s["keypoints2d_coco17"]
        assert torch.equal(kp[0], coco[COCO17_NAMES.index("right_ankle")])
        assert torch.equal(kp[9], coco[COCO17_NAMES.index("left_shoulder")])
        for j in (0, 9):
            x, y, vis = kp[j].tolist()
            assert vis == 1.0
            assert 0 <= x < size and 0 <= y < size
            assert s["image"][:, int(y), int(x)].mean() > 0.2  # the dot is under the keypoint
        nose = coco[COCO17_NAMES.index("nose")]
        assert nose[2] == 1.0 and s["image"][:, int(nose[1]), int(nose[0])].mean() > 0.2
        # Unannotated joints: zero.
        assert torch.equal(kp[5], torch.zeros(3))
        assert torch.equal(coco[COCO17_NAMES.index("left_eye")], torch.zeros(3))


def test_single_dot_centroid_is_subpixel_exact(tmp_path: Path) -> None:
    """One dot in the crop: its intensity centroid equals the mapped keypoint (pixel conventions agree)."""
    root = tmp_path / "im"
    _write_image(root / "x.png", 120, 140, [(61, 47, 4)])
    part = np.zeros((1, 24, 3), np.float32)
    part[0, 13] = (47, 61, 1)
    for side, size in [(50.0, 64), (110.0, 32), (90.0, 90)]:
        npz = tmp_path / f"one_{size}.npz"
        centre = np.array([[52.3, 66.8]])
        np.savez(npz, imgname=np.array(["x.png"]), center=centre, scale=np.array([side / 200]), part=part)
        s = SpinNpzDataset(npz, root, input_size=size)[0]
        head_top = s["keypoints2d_lsp14"][13, :2].numpy()
        assert np.allclose(_blob_centroid(s["image"]), head_top, atol=0.05 * size / 32)


def test_visible_inside_only(tmp_path: Path) -> None:
    npz, root, part = _make_dataset(tmp_path)
    part[0, 1] = (95, 5, 1)  # right knee: in the image, outside the crop
    data = dict(np.load(npz))
    data["part"] = part
    np.savez(npz, **data)
    assert SpinNpzDataset(npz, root, input_size=32)[0]["keypoints2d_lsp14"][1, 2] == 1.0
    kp = SpinNpzDataset(npz, root, input_size=32, visible_inside_only=True)[0]["keypoints2d_lsp14"]
    assert torch.equal(kp[1], torch.zeros(3)) and kp[0, 2] == 1.0


def test_expected_crop_coordinates(tmp_path: Path) -> None:
    npz, root, part = _make_dataset(tmp_path)
    s = SpinNpzDataset(npz, root, input_size=64)[0]
    # Box centre (48.5, 38.5) in project pixels, side 60 -> 64 px: x_crop = (x + 0.5 - 48.5) * 64/60 + 32.
    x, y = part[0, 0, :2]
    expected = np.array([(x + 0.5 - 48.5) * 64 / 60 + 32, (y + 0.5 - 38.5) * 64 / 60 + 32])
    assert np.allclose(s["keypoints2d_lsp14"][0, :2].numpy(), expected, atol=1e-4)
    assert s["dataset"] == "ann" and s["index"] == 0


def test_sample_keys_3d_and_smpl(tmp_path: Path) -> None:
    g = np.random.default_rng(0)
    S = g.normal(size=(2, 24, 4)).astype(np.float32)
    S[:, :, 3] = 1.0
    S[1, 7, 3] = 0.0  # entry 1 misses a joint -> no 3D supervision
    pose = g.normal(size=(2, 72)).astype(np.float32)
    shape = g.normal(size=(2, 10)).astype(np.float32)
    npz, root, _ = _make_dataset(tmp_path, S=S, pose=pose, shape=shape, has_smpl=np.array([1.0, 0.0]))
    h36m = SpinNpzDataset(npz, root, input_size=32, dataset_name="h36m")
    s0, s1 = h36m[0], h36m[1]
    assert tuple(s0) == SAMPLE_KEYS
    shapes = {k: tuple(v.shape) for k, v in s0.items() if isinstance(v, torch.Tensor)}
    assert shapes == {
        "image": (3, 32, 32), "keypoints2d_coco17": (17, 3), "keypoints2d_lsp14": (14, 3),
        "joints3d_lsp14": (14, 3), "has_joints3d": (), "betas": (10,), "pose": (24, 3), "has_smpl": (),
    }  # fmt: skip
    assert s0["dataset"] == "h36m"
    assert s0["has_joints3d"] == 1.0 and s1["has_joints3d"] == 0.0
    hips = S[0, [2, 3], :3].mean(0)
    assert np.allclose(s0["joints3d_lsp14"].numpy(), S[0, :14, :3] - hips, atol=1e-6)
    assert np.allclose(s0["joints3d_lsp14"][[2, 3]].mean(0).numpy(), 0, atol=1e-6)
    assert torch.equal(s1["joints3d_lsp14"], torch.zeros(14, 3))
    assert np.allclose(s0["pose"].numpy(), pose[0].reshape(24, 3)) and np.allclose(s0["betas"].numpy(), shape[0])
    assert s0["has_smpl"] == 0.0  # SMPL parameters are off unless use_smpl
    ds = SpinNpzDataset(npz, root, input_size=32, use_smpl=True)
    assert ds[0]["has_smpl"] == 1.0 and ds[1]["has_smpl"] == 0.0
    batch = torch.utils.data.default_collate([s0, s1])
    assert batch["image"].shape == (2, 3, 32, 32) and batch["dataset"] == ["h36m", "h36m"]


def test_errors_name_the_file(tmp_path: Path) -> None:
    npz, root, _ = _make_dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        SpinNpzDataset(tmp_path / "missing.npz", root)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        SpinNpzDataset(npz, tmp_path / "nowhere")
    (root / "b" / "img1.png").unlink()
    ds = SpinNpzDataset(npz, root, input_size=16)
    ds[0]
    with pytest.raises(FileNotFoundError, match="img1.png"):
        ds[1]
    (root / "a" / "img0.png").write_bytes(b"not an image")
    with pytest.raises(OSError, match="img0.png"):
        ds[0]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.npz"):
        SpinNpzDataset(bad, root)
    np.savez(bad, imgname=np.array(["a.png"]), center=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="bad.npz.*scale"):
        SpinNpzDataset(bad, root)
    np.savez(bad, imgname=np.array(["a.png"]), center=np.zeros((1, 2)), scale=np.ones(1), part=np.zeros((1, 14, 3)))
    with pytest.raises(ValueError, match="part"):
        SpinNpzDataset(bad, root)


def test_crop_padding_outside_image() -> None:
    img = np.full((20, 20, 3), 200, np.uint8)
    crop = crop_image(img, np.array([10.0, 10.0, 20.0, 20.0]), 20)
    assert crop.shape == (20, 20, 3)
    assert crop[:10, :10].max() == 200 and crop[12:, 12:].max() == 0


def test_dataset_table() -> None:
    assert set(REAL_DATASETS) >= {"h36m", "mpi_inf_3dhp", "3dpw", "lsp", "mpii", "coco"}
    assert normalise_dataset_name("MPI-INF-3DHP") == "mpi_inf_3dhp"
    assert default_npz_path("3dpw", "/data", "test") == Path("/data/3dpw_test.npz")
    assert default_npz_path("h36m", "/data").name == "h36m_train.npz"
    with pytest.raises(ValueError):
        default_npz_path("mpii", "/data", "test")
    with pytest.raises(KeyError):
        normalise_dataset_name("imagenet")


class _Range(torch.utils.data.Dataset):
    def __init__(self, name: str, n: int) -> None:
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[str, int]:
        assert 0 <= i < self.n
        return self.name, i


def test_mixed_dataset_ratios_and_determinism() -> None:
    dsets = [_Range("a", 7), _Range("b", 1000), _Range("c", 50)]
    mix = MixedDataset(dsets, [0.3, 0.6, 0.1], length=1000, seed=3)
    items = [mix[i] for i in range(len(mix))]
    counts = {k: sum(1 for n, _ in items if n == k) for k in "abc"}
    assert counts == {"a": 300, "b": 600, "c": 100}
    assert items == [MixedDataset(dsets, [3, 6, 1], length=1000, seed=3)[i] for i in range(1000)]
    assert items != [MixedDataset(dsets, [3, 6, 1], length=1000, seed=4)[i] for i in range(1000)]
    # A small source cycles through all its items evenly; a big one does not repeat.
    a_items = [i for n, i in items if n == "a"]
    assert sorted(set(a_items)) == list(range(7)) and max(np.bincount(a_items)) - min(np.bincount(a_items)) <= 1
    b_items = [i for n, i in items if n == "b"]
    assert len(set(b_items)) == len(b_items)
    mix.set_epoch(1)
    assert [mix[i] for i in range(1000)] != items
    mix.set_epoch(0)
    assert [mix[i] for i in range(1000)] == items
    # Largest-remainder rounding, zero ratios.
    odd = MixedDataset(dsets, [1, 1, 1], length=10)
    assert sorted(odd.counts.tolist()) == [3, 3, 4]
    assert all(mix_name != "c" for mix_name, _ in (MixedDataset(dsets, [1, 1, 0], 20)[i] for i in range(20)))
    with pytest.raises(ValueError):
        MixedDataset(dsets, [1, 1], 10)
    with pytest.raises(ValueError):
        MixedDataset([_Range("e", 0)], [1.0], 10)
    with pytest.raises(IndexError):
        mix[1000]


def test_mixed_real_datasets(tmp_path: Path) -> None:
    npz, root, _ = _make_dataset(tmp_path)
    a = SpinNpzDataset(npz, root, input_size=16, dataset_name="lsp")
    b = SpinNpzDataset(npz, root, input_size=16, dataset_name="coco")
    mix = MixedDataset([a, b], [0.5, 0.5], length=6, seed=0)
    names = sorted(mix[i]["dataset"] for i in range(6))
    assert names == ["coco"] * 3 + ["lsp"] * 3

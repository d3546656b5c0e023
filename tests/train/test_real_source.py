"""``data.source: real``: the RSC-Net trainer trains on a SPIN ``.npz`` file and its images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from model.train.config import ConfigError, load_config
from model.train.trainer import Trainer


def _spin_files(root: Path, n: int = 4) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    images = root / "images"
    images.mkdir(parents=True)
    names, parts, joints = [], [], []
    for i in range(n):
        img = rng.integers(0, 255, (90, 70, 3), dtype=np.uint8)
        assert cv2.imwrite(str(images / f"p{i}.png"), img)
        names.append(f"p{i}.png")
        part = np.concatenate([rng.uniform(10, 60, (24, 2)), np.ones((24, 1))], axis=1)
        parts.append(part.astype(np.float32))
        s = np.concatenate([rng.normal(0, 0.3, (24, 3)), np.ones((24, 1))], axis=1)
        joints.append(s.astype(np.float32))
    data = {
        "imgname": np.array(names),
        "center": np.tile(np.array([[35.0, 45.0]], np.float32), (n, 1)),
        "scale": np.full(n, 80.0 / 200.0, np.float32),
        "part": np.stack(parts),
        "S": np.stack(joints),
    }
    npz = root / "tiny_train.npz"
    np.savez(npz, **data)
    return npz, images


def _config(tmp_path: Path, tiny_config_file: Path, data: dict) -> Path:
    tiny = yaml.safe_load(tiny_config_file.read_text())
    cfg = {**tiny, "data": data, "stages": [{"ranges": [0, 1], "steps": 2}],
           "runtime": {**tiny["runtime"], "precision": "fp32", "out_dir": str(tmp_path / "run")}}  # fmt: skip
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_trainer_trains_on_a_real_npz_file(tmp_path: Path, tiny_config_file: Path) -> None:
    npz, images = _spin_files(tmp_path)
    cfg = load_config(_config(tmp_path, tiny_config_file, {"source": "real", "real_npz": str(npz), "real_images": str(images), "crop_size": 32}))
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    batch = next(trainer._batches())
    assert batch["images"].shape == (2, 2, 3, 32, 32)
    assert batch["joints3d_conf"].shape == (2, 38) and batch["joints3d_conf"][:, :14].eq(1).all() and batch["joints3d_conf"][:, 14:].eq(0).all()
    assert batch["keypoints2d_lsp14"].shape == (2, 14, 3)
    last = trainer.train()
    assert trainer.step == 2 and np.isfinite(last["total"])
    assert last["basic/joints3d"] > 0  # the annotated 3D joints are supervised
    assert (tmp_path / "run" / "last.pt").is_file()
    torch.testing.assert_close(trainer.dataset[1]["images"], trainer.dataset[1]["images"])  # seeded per entry


def test_real_source_needs_its_files(tmp_path: Path, tiny_config_file: Path) -> None:
    with pytest.raises((ConfigError, ValueError), match="real_npz"):
        load_config(_config(tmp_path, tiny_config_file, {"source": "real", "crop_size": 32}))

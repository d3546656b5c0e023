"""A tiny training config shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TINY = {
    "name": "tiny",
    "net": {"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 32, "regressor_hidden_dim": 64, "projection_dim": 16},
    "resolution": {"bounds": [32, 24], "per_sample": 2},
    "loss": {"queue_size": 64, "projection_dim": 16},
    "data": {"source": "synthetic", "synthetic_length": 8, "crop_size": 32},
    "optim": {"lr": 1.0e-3, "batch_size": 2},
    "stages": [{"ranges": [0], "steps": 2}, {"ranges": [0, 1], "steps": 2}],
    "runtime": {"precision": "bf16", "workers": 0, "threads": 1, "log_every": 1, "checkpoint_every": 1},
}


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    data = {**TINY, "runtime": {**TINY["runtime"], "out_dir": str(tmp_path / "run")}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path

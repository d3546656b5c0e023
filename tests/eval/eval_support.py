"""Shared pieces of the evaluation tests: tiny untrained checkpoints, small copies of the real sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from model.body import load_body_model
from model.data.real_people import DEFAULT_ROOT
from model.nets import RSCNet
from model.nets.checkpoint import body_model_entry, save_checkpoint
from model.nets.config import NetConfig


def write_tiny_checkpoint(path: Path, seed: int) -> Path:
    """A randomly initialised 32-px ResNet-18 RSC-Net checkpoint (two ranges) at ``path``."""
    torch.manual_seed(seed)
    body = load_body_model()
    cfg = NetConfig.from_dict({"backbone": {"depth": 18, "num_ranges": 2}, "input_size": 32, "regressor_hidden_dim": 32})
    net = RSCNet(cfg, body.mean_params)
    return save_checkpoint(
        {"model": net.state_dict(), "net_config": cfg.to_dict(), "body_model": body_model_entry(body.info),
         "resolution_bounds": [32, 24], "input_size": 32},
        path,
    )  # fmt: skip



def small_real_set(dest: Path, ids: list[str], source: Path = DEFAULT_ROOT) -> Path:
    """A copy of some people of a real set (entries, crops, BlazePose results) under ``dest``."""
    people = json.loads((source / "people.json").read_text())
    blaze = json.loads((source / "blazepose_degraded.json").read_text())
    (dest / "crops").mkdir(parents=True)
    entries = [e for e in people["people"] if e["id"] in ids]
    for e in entries:
        shutil.copy(source / "crops" / f"{e['id']}.png", dest / "crops")
    (dest / "people.json").write_text(json.dumps({"people": entries}))
    blaze["keypoints"] = {k: v for k, v in blaze["keypoints"].items() if k in ids}
    (dest / "blazepose_degraded.json").write_text(json.dumps(blaze))
    return dest

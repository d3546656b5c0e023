"""Shared pieces of the evaluation tests: tiny untrained checkpoints."""

from __future__ import annotations

from pathlib import Path

import torch

from model.body import load_body_model
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


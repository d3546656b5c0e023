"""Checkpoints: what they hold, how they are written atomically and loaded safely.

A checkpoint is a plain dict that ``torch.load(path, weights_only=True)`` reads (tensors, dicts,
lists, strings and numbers only):

===================  ==========================================================================
key                  meaning
===================  ==========================================================================
format               ``"rscnet-checkpoint/1"``
model                network ``state_dict`` (fp16 in served checkpoints, see :func:`export_served`)
net_config           :class:`~model.nets.config.NetConfig` as a dict
train_config         the whole training config as a dict
body_model           ``{"name", "sha256", "model_id"}`` of the body model trained with
resolution_bounds    resolution range bounds (rows of ``alpha``)
input_size           network input size S
step, stage          optimiser steps done and the current stage
alpha_initialised    rows of ``alpha`` already copied from their predecessor (not re-copied on resume)
optimizer, queue     optimiser and contrastive-queue state (resumable checkpoints only)
wall_seconds         training wall time so far
===================  ==========================================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from model.body import BodyModelInfo

FORMAT = "rscnet-checkpoint/1"
REQUIRED = ("format", "model", "net_config", "body_model", "resolution_bounds", "input_size")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or lacks required entries."""


def body_model_entry(info: BodyModelInfo) -> dict[str, str]:
    return {"name": info.name, "sha256": info.sha256, "model_id": info.model_id}


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` atomically (temporary file then rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with ``weights_only=True`` and check the required entries."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is reported with the path
        raise CheckpointError(f"checkpoint {p} cannot be loaded safely: {exc}") from exc
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint {p} lacks {missing}")
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"checkpoint {p} has format {ckpt['format']!r}, expected {FORMAT!r}")
    return ckpt


def export_served(ckpt: dict[str, Any], path: str | os.PathLike[str], half: bool = True) -> Path:
    """Strip optimiser/queue state and store floating weights as fp16 (alpha stays fp32)."""
    model = {
        k: (v.half() if half and v.is_floating_point() and not k.endswith("alpha") else v)
        for k, v in ckpt["model"].items()
    }
    keep = {k: v for k, v in ckpt.items() if k not in ("optimizer", "queue", "model", "format")}
    return save_checkpoint({**keep, "model": model, "weights_dtype": "float16" if half else "float32"}, path)

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
int8_scales          served checkpoints only: per-output-channel scales of the weights stored
                     as int8 (see :func:`export_served`); :func:`load_checkpoint` dequantizes them
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
    torch.save({"format": FORMAT, **state}, tmp)  # a state with its own "format" keeps it
    os.replace(tmp, p)
    return p


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    *,
    expected_format: str = FORMAT,
    required: tuple[str, ...] = REQUIRED,
) -> dict[str, Any]:
    """Load with ``weights_only=True``, check the format and required entries, dequantize int8 weights.

    ``expected_format`` / ``required`` default to RSC-Net checkpoints; other trainers (the video
    model, ...) pass their own.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is reported with the path
        raise CheckpointError(f"checkpoint {p} cannot be loaded safely: {exc}") from exc
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"checkpoint {p} holds a {type(ckpt).__name__}, not a checkpoint dict")
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint {p} lacks {missing}")
    if ckpt["format"] != expected_format:
        raise CheckpointError(f"checkpoint {p} has format {ckpt['format']!r}, expected {expected_format!r}")
    return _dequantize(ckpt)


def quantize_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel int8: ``weight ~= q * scale`` with ``scale (C_out, 1, ...)``."""
    dims = tuple(range(1, weight.ndim))
    scale = weight.float().abs().amax(dim=dims, keepdim=True).clamp_min(1e-12) / 127.0
    q = torch.round(weight.float() / scale).clamp(-127, 127).to(torch.int8)
    return q, scale


def _dequantize(ckpt: dict[str, Any]) -> dict[str, Any]:
    scales = ckpt.pop("int8_scales", None)
    if not scales:
        return ckpt
    model = dict(ckpt["model"])
    for key, scale in scales.items():
        if key not in model or model[key].dtype != torch.int8:
            raise CheckpointError(f"int8 scale given for {key!r}, which is not an int8 tensor of the checkpoint")
        model[key] = model[key].float() * scale.float()
    return {**ckpt, "model": model}


def export_served(
    ckpt: dict[str, Any],
    path: str | os.PathLike[str],
    half: bool = True,
    int8_min_numel: int | None = None,
    drop: tuple[str, ...] = ("optimizer", "queue"),
) -> Path:
    """Write the checkpoint the service loads: no optimiser/queue state, fp16 floating weights.

    Args:
        ckpt: a training checkpoint (from :func:`load_checkpoint`).
        path: output file.
        half: store floating weights as fp16 (``alpha`` stays fp32).
        int8_min_numel: additionally store convolution weights with at least this many elements
            as int8 with per-output-channel fp32 scales (weight-only quantization, to keep the file
            under the 25 MB limit); ``None`` = off. :func:`load_checkpoint` dequantizes them.
        drop: training-only entries left out (optimiser state, queues, ...). The checkpoint's
            ``format`` is kept.
    """
    model: dict[str, torch.Tensor] = {}
    scales: dict[str, torch.Tensor] = {}
    for k, v in ckpt["model"].items():
        if int8_min_numel is not None and v.is_floating_point() and v.ndim == 4 and v.numel() >= int8_min_numel:
            model[k], scales[k] = quantize_int8(v)
        elif half and v.is_floating_point() and not k.endswith("alpha"):
            model[k] = v.half()
        else:
            model[k] = v
    keep = {k: v for k, v in ckpt.items() if k not in (*drop, "model")}
    extra: dict[str, Any] = {"weights_dtype": "float16" if half else "float32"}
    if scales:
        extra["int8_scales"] = scales
        extra["weights_dtype"] += "+int8"
    return save_checkpoint({**keep, "model": model, **extra}, path)

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
model_packed         instead of ``model``: the weights as lossless fp16 byte planes (see
                     :func:`pack_weights`), ~14 % smaller than plain fp16; unpacked on load
===================  ==========================================================================

**Resume files** (:func:`save_resume_file`) are what a long run commits so that a fresh machine
can continue it: ``format`` ``"rscnet-resume/1"``, the network's weights packed as above (fp16
loses nothing that matters to training: its rounding, 2^-11 relative, is far below one Adam step),
the run's position (``step``, ``epoch``, ``alpha_initialised``), its configs and body model, and
``stretches`` (what each stretch of the run added). No optimiser, queue or discriminator state: they
restart, with a learning-rate warm-up (``runtime.resume_warmup_steps``), which keeps the file under
the repository's 25 MB limit (a ResNet-18 RSC-Net: ~23 MB).
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Any

import torch

from model.body import BodyModelInfo

FORMAT = "rscnet-checkpoint/1"
REQUIRED = ("format", "model", "net_config", "body_model", "resolution_bounds", "input_size")
#: Format of the committed resume file of a long run.
RESUME_FORMAT = "rscnet-resume/1"
RESUME_REQUIRED = (*REQUIRED, "step", "epoch", "alpha_initialised", "train_config", "stretches")
#: Codec of :func:`pack_weights`.
PACK_CODEC = "fp16-byteplanes-zlib/1"


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
    if "model_packed" in ckpt:
        try:
            ckpt = {**{k: v for k, v in ckpt.items() if k != "model_packed"}, "model": unpack_weights(ckpt["model_packed"])}
        except (KeyError, ValueError, zlib.error) as exc:
            raise CheckpointError(f"checkpoint {p} has unreadable packed weights: {exc}") from exc
    missing = [k for k in required if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint {p} lacks {missing}")
    if ckpt["format"] != expected_format:
        raise CheckpointError(f"checkpoint {p} has format {ckpt['format']!r}, expected {expected_format!r}")
    return _dequantize(ckpt)


def pack_weights(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """A ``state_dict`` as lossless-for-fp16 compressed byte planes (``weights_only``-loadable).

    Floating tensors (except ``alpha``, kept as it is) are rounded to fp16 and concatenated; the
    high bytes (sign, exponent, top mantissa bits: highly repetitive) and the low bytes are
    zlib-compressed separately, which saves ~14 % over plain fp16 where compressing the interleaved
    bytes saves ~2 %. :func:`unpack_weights` returns the fp16 tensors exactly.
    """
    names, shapes, chunks, raw = [], [], [], {}
    for k, v in state.items():
        if v.is_floating_point() and not k.endswith("alpha"):
            names.append(k)
            shapes.append(list(v.shape))
            chunks.append(v.detach().to("cpu", torch.float16).reshape(-1))
        else:
            raw[k] = v.detach().cpu()
    flat = torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.float16)
    planes = flat.view(torch.int16).numpy().astype("<i2").view("u1").reshape(-1, 2)  # little-endian: low, high

    def compressed(b: Any) -> torch.Tensor:
        return torch.frombuffer(bytearray(zlib.compress(b.tobytes(), 6)), dtype=torch.uint8)

    return {
        "codec": PACK_CODEC, "names": names, "shapes": shapes, "order": list(state),
        "low": compressed(planes[:, 0].copy()), "high": compressed(planes[:, 1].copy()), "raw": raw,
    }


def unpack_weights(packed: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`pack_weights`: the ``state_dict`` (packed tensors as fp16), in its order."""
    import numpy as np

    if packed.get("codec") != PACK_CODEC:
        raise ValueError(f"unknown weight codec {packed.get('codec')!r}, expected {PACK_CODEC!r}")
    low = np.frombuffer(zlib.decompress(packed["low"].numpy().tobytes()), dtype=np.uint8)
    high = np.frombuffer(zlib.decompress(packed["high"].numpy().tobytes()), dtype=np.uint8)
    if low.size != high.size:
        raise ValueError("packed weight planes differ in length")
    flat = torch.from_numpy(np.stack([low, high], axis=1).reshape(-1).view("<i2").astype(np.int16)).view(torch.float16)
    sizes = [int(np.prod(s)) if s else 1 for s in packed["shapes"]]
    if sum(sizes) != flat.numel():
        raise ValueError(f"packed weights hold {flat.numel()} values, the manifest {sum(sizes)}")
    out: dict[str, torch.Tensor] = dict(packed["raw"])
    for name, shape, chunk in zip(packed["names"], packed["shapes"], torch.split(flat, sizes)):
        out[name] = chunk.reshape(shape).clone()
    return {k: out[k] for k in packed["order"]}


def save_resume_file(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write a run's committed resume file from its full training ``state`` (see the module docstring)."""
    keep = ("net_config", "train_config", "body_model", "resolution_bounds", "input_size", "step", "stage", "epoch",
            "alpha_initialised", "wall_seconds", "initialised_from", "stretches")
    out = {k: state[k] for k in keep if k in state}
    return save_checkpoint({**out, "format": RESUME_FORMAT, "model_packed": pack_weights(state["model"])}, path)


def load_resume_file(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a resume file written by :func:`save_resume_file` (weights unpacked into ``model``)."""
    return load_checkpoint(path, map_location, expected_format=RESUME_FORMAT, required=RESUME_REQUIRED)


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
    packed: bool = False,
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
        packed: store the weights as lossless fp16 byte planes (:func:`pack_weights`, ~14 %
            smaller than fp16) instead of int8; excludes ``int8_min_numel``.
    """
    if packed:
        if int8_min_numel is not None:
            raise ValueError("packed weights are fp16: int8_min_numel does not apply")
        keep = {k: v for k, v in ckpt.items() if k not in (*drop, "model")}
        return save_checkpoint({**keep, "model_packed": pack_weights(ckpt["model"]), "weights_dtype": "float16+packed"}, path)
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

"""Checkpoints of every network: formats, atomic writing, safe loading, packing, served copies.

The one module that knows what a checkpoint file holds. Training (:mod:`model.train`), serving
(:mod:`model.inference`), evaluation and the exporter read and write checkpoints only through it,
so loading a network for serving never imports the training package.

Every checkpoint is a plain dict that ``torch.load(path, weights_only=True)`` reads (tensors, dicts,
lists, strings and numbers only) with a ``format`` entry; :data:`REQUIRED_BY_FORMAT` lists the
entries each format must have:

======================  =====================================================  ==========================
format                  written by                                             network
======================  =====================================================  ==========================
``rscnet-checkpoint/1``  the RSC-Net trainer (``last.pt``), exporter (served)   :class:`~model.nets.RSCNet`
``rscnet-resume/1``      :func:`save_resume_file` (committed resume files)      RSC-Net, packed fp16
``rscnet-video/1``       the video trainer                                      :class:`~model.nets.temporal.TemporalRegressor`
``rscnet-reid/1``        the ReID trainer                                       :class:`~model.nets.reid.ReIDNet`
``rscnet-texglo/1``      the texture trainer                                    :class:`~model.nets.texture.TexGlo`
======================  =====================================================  ==========================

Entries of an RSC-Net checkpoint:

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

Network loaders (:func:`load_rscnet`, :func:`load_temporal`, :func:`load_reid`, :func:`load_texglo`)
build the network from a checkpoint's config and load its weights strictly (as float32).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.body import BodyModel, BodyModelInfo
from model.body.model import MeanParams
from model.geometry.resolution import ResolutionRanges
from model.nets.backbones.resnet import ResolutionAwareResNet
from model.nets.config import BackboneConfig, NetConfig
from model.nets.reid import ReIDConfig, ReIDNet
from model.nets.rscnet import RSCNet
from model.nets.temporal import TemporalConfig, TemporalRegressor
from model.nets.texture import TexGlo, TexGloConfig
from model.runtime import atomic_save

__all__ = [
    "FORMAT",
    "PACK_CODEC",
    "REID_FORMAT",
    "REQUIRED",
    "REQUIRED_BY_FORMAT",
    "RESUME_FORMAT",
    "RESUME_REQUIRED",
    "TEXTURE_FORMAT",
    "VIDEO_FORMAT",
    "VIDEO_REQUIRED",
    "CheckpointError",
    "LoadedRSCNet",
    "body_model_entry",
    "export_served",
    "file_id",
    "load_checkpoint",
    "load_reid",
    "load_network_file",
    "load_resume_file",
    "load_rscnet",
    "load_temporal",
    "load_texglo",
    "pack_weights",
    "quantize_int8",
    "save_checkpoint",
    "save_resume_file",
    "unpack_weights",
]

#: RSC-Net checkpoints (training ``last.pt`` and served files).
FORMAT = "rscnet-checkpoint/1"
REQUIRED = ("format", "model", "net_config", "body_model", "resolution_bounds", "input_size")
#: The committed resume file of a long RSC-Net run.
RESUME_FORMAT = "rscnet-resume/1"
RESUME_REQUIRED = (*REQUIRED, "step", "epoch", "alpha_initialised", "train_config", "stretches")
#: Video model (temporal GRU regressor on frozen RSC-Net features).
VIDEO_FORMAT = "rscnet-video/1"
VIDEO_REQUIRED = ("format", "model", "temporal_config", "body_model", "backbone")
#: Re-identification network (the texture loss's judge).
REID_FORMAT = "rscnet-reid/1"
REID_REQUIRED = ("format", "model", "net_config")
#: TexGlo texture network.
TEXTURE_FORMAT = "rscnet-texglo/1"
TEXTURE_REQUIRED = ("format", "model", "net_config", "body_model", "data")
#: Entries each format must hold.
REQUIRED_BY_FORMAT: dict[str, tuple[str, ...]] = {
    FORMAT: REQUIRED,
    RESUME_FORMAT: RESUME_REQUIRED,
    VIDEO_FORMAT: VIDEO_REQUIRED,
    REID_FORMAT: REID_REQUIRED,
    TEXTURE_FORMAT: TEXTURE_REQUIRED,
}
#: Codec of :func:`pack_weights`.
PACK_CODEC = "fp16-byteplanes-zlib/1"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or lacks required entries."""


def body_model_entry(info: BodyModelInfo) -> dict[str, str]:
    """The ``body_model`` entry of a checkpoint."""
    return {"name": info.name, "sha256": info.sha256, "model_id": info.model_id}


def file_id(path: str | os.PathLike[str]) -> str:
    """``sha256[:16]`` of a file's bytes (the id a loaded checkpoint is known by)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` atomically; ``format`` defaults to :data:`FORMAT` (a state's own is kept)."""
    return atomic_save({"format": FORMAT, **state}, path)


def load_checkpoint(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    *,
    expected_format: str | None = FORMAT,
    required: tuple[str, ...] | None = None,
    what: str = "checkpoint",
) -> dict[str, Any]:
    """Load with ``weights_only=True``, check the format and required entries, unpack and dequantize weights.

    Args:
        path: the file.
        map_location: where tensors go.
        expected_format: the format the file must have; ``None`` accepts any format of
            :data:`REQUIRED_BY_FORMAT`.
        required: entries that must be present; ``None``: those of the format.
        what: how errors name the file (``"texture checkpoint"``, ...).

    Raises:
        CheckpointError: missing or unreadable file, another format, missing entries.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{what} {p} does not exist")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{what} {p} cannot be loaded safely: {exc}") from exc
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{what} {p} holds a {type(ckpt).__name__}, not a checkpoint dict")
    if "model_packed" in ckpt:
        try:
            ckpt = {**{k: v for k, v in ckpt.items() if k != "model_packed"}, "model": unpack_weights(ckpt["model_packed"])}
        except (KeyError, ValueError, zlib.error) as exc:
            raise CheckpointError(f"{what} {p} has unreadable packed weights: {exc}") from exc
    fmt = ckpt.get("format")
    if expected_format is None and fmt not in REQUIRED_BY_FORMAT:
        raise CheckpointError(f"{what} {p} has format {fmt!r}, expected one of {sorted(REQUIRED_BY_FORMAT)}")
    need = required if required is not None else REQUIRED_BY_FORMAT.get(expected_format or fmt, ("format",))
    missing = [k for k in need if k not in ckpt]
    if missing:
        raise CheckpointError(f"{what} {p} lacks {missing}")
    if expected_format is not None and fmt != expected_format:
        raise CheckpointError(f"{what} {p} has format {fmt!r}, expected {expected_format!r}")
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
    }  # fmt: skip


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
            "alpha_initialised", "wall_seconds", "initialised_from", "stretches", "soup")  # fmt: skip
    out = {k: state[k] for k in keep if k in state}
    return save_checkpoint({**out, "format": RESUME_FORMAT, "model_packed": pack_weights(state["model"])}, path)


def load_resume_file(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a resume file written by :func:`save_resume_file` (weights unpacked into ``model``)."""
    return load_checkpoint(path, map_location, expected_format=RESUME_FORMAT)


def load_network_file(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """An RSC-Net's weights and metadata from either file that carries them: a training or served
    checkpoint (:data:`FORMAT`) or a long run's committed resume file (:data:`RESUME_FORMAT`)."""
    ckpt = load_checkpoint(path, map_location, expected_format=None)
    if ckpt["format"] not in (FORMAT, RESUME_FORMAT):
        raise CheckpointError(f"checkpoint {path} has format {ckpt['format']!r}, expected {FORMAT!r} or {RESUME_FORMAT!r}")
    return ckpt


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


def plain_from_range(ckpt: dict[str, Any], row: int) -> dict[str, Any]:
    """An RSC-Net checkpoint made plain (no resolution table) by folding range ``row``'s ``alpha``
    into the blocks (:meth:`~model.nets.backbones.resnet.ResolutionAwareResNet.folded_state_dict`): the same answers as the
    source gives a crop of that range, for every crop. Its ``net_config`` says
    ``resolution_aware: false``; ``plain_from`` records the source's step and row. Optimiser and
    other training-only state are dropped (their parameters changed)."""
    if "net_config" not in ckpt or "model" not in ckpt:
        raise ValueError("plain_from_range: not an RSC-Net checkpoint (no net_config / model)")
    prefix = "backbone."
    backbone = {k[len(prefix):]: v for k, v in ckpt["model"].items() if k.startswith(prefix)}
    resnet = ResolutionAwareResNet(BackboneConfig.from_dict(ckpt["net_config"]["backbone"]))
    resnet.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in backbone.items()}, strict=True)
    # each folded tensor in its source dtype (a served file's fp16 stays fp16)
    plain = {prefix + k: v.to(backbone[k].dtype) for k, v in resnet.folded_state_dict(row).items()}
    model = {**{k: v for k, v in ckpt["model"].items() if not k.startswith(prefix)}, **plain}
    net_config = {**ckpt["net_config"], "backbone": {**ckpt["net_config"]["backbone"], "resolution_aware": False}}
    NetConfig.from_dict(net_config)  # still a valid configuration
    keep = {k: v for k, v in ckpt.items() if k in ("train_config", "body_model", "resolution_bounds", "input_size", "step", "stretches")}
    return {**keep, "model": model, "net_config": net_config, "alpha_initialised": [0],
            "plain_from": {"step": int(ckpt.get("step", 0)), "row": int(row)}}


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


# ---------------------------------------------------------------------------------- networks
def _float_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating tensors as float32 (served files hold fp16), others as they are."""
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def _check_body(path: Path, entry: Any, body_info: BodyModelInfo, what: str = "checkpoint") -> None:
    if not isinstance(entry, Mapping) or "sha256" not in entry:
        raise CheckpointError(f"{what} {path}: body_model entry {entry!r} lacks sha256")
    if entry["sha256"] != body_info.sha256:
        ckpt_id = entry.get("model_id") or f"{entry.get('name', '?')}:{str(entry['sha256'])[:16]}"
        raise ValueError(
            f"{what} {path} was trained with body model {ckpt_id}, but the loaded body model is "
            f"{body_info.model_id} ({body_info.source}); load the matching model "
            f"(set $SMPL_MODEL_DIR or pass body=...)"
        )


@dataclass(frozen=True)
class LoadedRSCNet:
    """An RSC-Net loaded from a checkpoint.

    Attributes:
        net: the network (float32, train mode as built; callers pick eval mode and device).
        ranges: its resolution ranges (one per row of ``alpha``).
        path: the file.
        checkpoint_id: :func:`file_id` of the file.
        checkpoint: the checkpoint dict (weights included).
    """

    net: RSCNet
    ranges: ResolutionRanges
    path: Path
    checkpoint_id: str
    checkpoint: dict[str, Any]

    @property
    def input_size(self) -> int:
        """S, side of the square network input."""
        return self.net.config.input_size


def load_rscnet(path: str | os.PathLike[str], body: BodyModel) -> LoadedRSCNet:
    """An RSC-Net from a training or served checkpoint (:data:`FORMAT`) or a long run's committed
    resume file (:data:`RESUME_FORMAT`: it carries everything a served file does); strict loading.

    Raises:
        CheckpointError: (a ``ValueError``) unreadable checkpoint, inconsistent entries, or weights
            that do not match the network exactly.
        ValueError: the checkpoint was trained with another body model (both ids are named).
    """
    p = Path(path)
    ckpt = load_network_file(p, map_location="cpu")
    _check_body(p, ckpt["body_model"], body.info)
    try:
        config = NetConfig.from_dict(ckpt["net_config"])
        ranges = ResolutionRanges(tuple(int(b) for b in ckpt["resolution_bounds"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {p}: invalid net_config or resolution_bounds: {exc}") from exc
    if int(ckpt["input_size"]) != config.input_size:
        raise CheckpointError(
            f"checkpoint {p}: input_size {ckpt['input_size']} differs from net_config.input_size {config.input_size}"
        )
    net = RSCNet(config, body.mean_params)
    try:
        net.load_state_dict(_float_state(ckpt["model"]), strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {p}: weights do not match the network: {exc}") from exc
    return LoadedRSCNet(net=net, ranges=ranges, path=p, checkpoint_id=file_id(p), checkpoint=ckpt)


def load_temporal(ckpt: dict[str, Any], path: str | os.PathLike[str], mean_params: MeanParams) -> TemporalRegressor:
    """The temporal module of a video checkpoint (from :func:`load_checkpoint` with :data:`VIDEO_FORMAT`)."""
    try:
        config = TemporalConfig.from_dict(ckpt["temporal_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: invalid temporal_config: {exc}") from exc
    temporal = TemporalRegressor(config, mean_params)
    try:
        temporal.load_state_dict(_float_state(ckpt["model"]), strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path}: weights do not match the temporal module: {exc}") from exc
    return temporal


def load_reid(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[ReIDNet, dict[str, Any]]:
    """A trained ReID network (eval mode, frozen) and its checkpoint dict; strict loading."""
    ckpt = load_checkpoint(path, expected_format=REID_FORMAT, what="ReID checkpoint")
    net = ReIDNet(ReIDConfig.from_dict(ckpt["net_config"]))
    net.load_state_dict(_float_state(ckpt["model"]), strict=True)
    net.eval().to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net, ckpt


def load_texglo(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> tuple[TexGlo, dict[str, Any]]:
    """A TexGlo network (eval mode, float32) and its checkpoint dict; ``weights_only`` and strict loading.

    Raises:
        CheckpointError: (a ``ValueError``) missing file, not a TexGlo checkpoint, or weights that
            do not match exactly.
    """
    ckpt = load_checkpoint(path, expected_format=TEXTURE_FORMAT, what="texture checkpoint")
    try:
        net = TexGlo(TexGloConfig.from_dict(ckpt["net_config"]))
        net.load_state_dict(_float_state(ckpt["model"]), strict=True)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"texture checkpoint {path}: weights do not match the network: {exc}") from exc
    return net.eval().to(device), dict(ckpt)

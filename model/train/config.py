"""Training configuration: YAML files validated into frozen dataclasses.

``load_config("configs/train/cpu.yaml")`` reads a YAML file whose top-level keys are the fields
of :class:`TrainConfig`. Every nested mapping is checked against its dataclass: unknown keys raise
:class:`ConfigError` naming the key and the file, so a typo never silently falls back to a default.
A config may name a ``base`` file (relative to itself) whose values it overrides.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from model.data.augment import AugmentConfig
from model.data.degrade import DegradeConfig
from model.data.framing import FramingConfig
from model.data.partial_view import PartialViewConfig
from model.data.pose_families import FAMILIES
from model.data.poses import PosePriorConfig
from model.data.synthetic import SyntheticConfig
from model.geometry.resolution import ResolutionRanges
from model.losses.config import TotalLossConfig
from model.nets.config import NetConfig
from model.nets.pose_discriminator import PoseDiscriminatorConfig
from model.train.schedule import lr_factor


class ConfigError(ValueError):
    """A configuration file or mapping is invalid; the message says where and why."""


@dataclass(frozen=True)
class StageConfig:
    """One stage of progressive training.

    Attributes:
        ranges: resolution rows active in this stage (row 0 = full resolution).
        steps: optimiser steps of the stage.
    """

    ranges: tuple[int, ...]
    steps: int

    def __post_init__(self) -> None:
        if not self.ranges or min(self.ranges) < 0:
            raise ValueError(f"stage ranges must be non-empty row indices, got {self.ranges}")
        if self.steps < 1:
            raise ValueError(f"stage steps must be >= 1, got {self.steps}")


#: Values of ``data.source``.
DATA_SOURCES = ("synthetic", "shards", "real")


@dataclass(frozen=True)
class DataConfig:
    """Where training samples come from.

    Attributes:
        source: ``"shards"`` (pre-rendered, fast), ``"synthetic"`` (rendered on the fly) or
            ``"real"`` (a SPIN ``.npz`` annotation file and its images, :mod:`model.data.real`).
        shards: shard folder for ``source: shards``.
        real_npz, real_images: the annotation file and the image folder for ``source: real``
            (crops are ``crop_size`` pixels, then degraded like the synthetic ones).
        synthetic_length: samples per epoch for ``source: synthetic``.
        seed: synthetic base seed (the evaluation set uses a different one).
        crop_size: rendered crop side (>= the network input size; crops are resized to it).
        occluder_prob: see :class:`model.data.synthetic.SyntheticConfig`.
        framing: viewpoint/framing of synthetic crops.
        poses: pose prior of synthetic people.
        partial_view: partial views cut from the clean crops of any source (the upper part of
            the person, as a detector box around a half-visible person gives;
            :mod:`model.data.partial_view`). Off by default.
        family_weights: ``source: shards`` only: sampling weight per pose family
            (:data:`model.data.pose_families.FAMILIES`; families not named weigh 1). ``None`` (the
            default) reads every scene once per epoch in a shuffled order; with weights, an epoch
            is as many scenes drawn with replacement, each with its family's weight (the training
            mix then follows the people a deployment sees rather than the generator's mix).
        twin_pair_share: with twin-pair shards (``model.data.shards --twin-pairs``), the share of
            each batch's samples drawn as whole pairs (scene and twin side by side); the rest are single
            members of other pairs (:class:`model.data.twins.TwinPairSampler`). 1 (the default): whole
            batches of pairs. Refused below 1 with shards that hold no pairs.
    """

    source: str = "synthetic"
    shards: str | None = None
    real_npz: str | None = None
    real_images: str | None = None
    synthetic_length: int = 100_000
    seed: int = 0
    crop_size: int = 224
    occluder_prob: float = SyntheticConfig.occluder_prob
    framing: FramingConfig = field(default_factory=FramingConfig)
    poses: PosePriorConfig = field(default_factory=PosePriorConfig)
    partial_view: PartialViewConfig = field(default_factory=PartialViewConfig)
    family_weights: dict[str, float] | None = None
    twin_pair_share: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.twin_pair_share, bool) or not isinstance(self.twin_pair_share, (int, float)) or not 0.0 <= self.twin_pair_share <= 1.0:
            raise ValueError(f"data.twin_pair_share must be a number in [0, 1], got {self.twin_pair_share!r}")
        object.__setattr__(self, "twin_pair_share", float(self.twin_pair_share))
        if self.family_weights is not None:
            if self.source != "shards":
                raise ValueError(f"data.family_weights needs data.source 'shards' (the shards carry each scene's family), got {self.source!r}")
            unknown = sorted(set(self.family_weights) - set(FAMILIES))
            if unknown:
                raise ValueError(f"data.family_weights: unknown famil(ies) {unknown}; known: {list(FAMILIES)}")
            if any(not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0 for w in self.family_weights.values()):
                raise ValueError(f"data.family_weights must be numbers >= 0, got {self.family_weights}")
            object.__setattr__(self, "family_weights", {str(k): float(v) for k, v in self.family_weights.items()})
        if self.source not in DATA_SOURCES:
            raise ValueError(f"data.source must be one of {DATA_SOURCES}, got {self.source!r}")
        if self.source == "real" and not (self.real_npz and self.real_images):
            raise ValueError("data.source 'real' needs data.real_npz (a SPIN .npz file) and data.real_images (its image folder)")
        if self.source == "shards" and not self.shards:
            raise ValueError("data.source 'shards' needs data.shards (a folder written by python -m model.data.shards)")


@dataclass(frozen=True)
class ResolutionTrainConfig:
    """Resolution ranges and degradation used in training.

    Attributes:
        bounds: range bounds (:class:`~model.geometry.resolution.ResolutionRanges`).
        per_sample: K, resolutions of each training image (>= 2 for the SS and contrastive losses).
        degrade: degradation mode and parameters.
    """

    bounds: tuple[int, ...] = (224, 128, 64, 40, 24)
    per_sample: int = 2
    degrade: DegradeConfig = field(default_factory=DegradeConfig)

    @property
    def ranges(self) -> ResolutionRanges:
        return ResolutionRanges(self.bounds)


@dataclass(frozen=True)
class OptimConfig:
    """Adam settings. ``lr`` 5e-5 is the paper's.

    Attributes:
        schedule: ``"constant"`` (the paper's) or ``"cosine"``: after the linear warm-up the rate
            follows a half cosine from ``lr`` down to ``lr * final_lr_ratio`` at the last step of
            the whole schedule (all stages).
        final_lr_ratio: the cosine schedule's end point, as a fraction of ``lr``.
        anneal_from: with ``"cosine"``, the step the cosine starts at (the rate holds at ``lr``
            until then; 0 = right after the warm-up). A run trained in stretches at a constant rate
            anneals its last stretch this way, without knowing its length in advance.
        part_head_lr_scale: the part head's rate (``net.part_head``) as a multiple of the schedule's:
            a head started fresh on a trained backbone learns, at the backbone's 1e-4, only the class
            prior in 2500 steps (model card, "A part head"). 1 = one rate for everything.
    """

    lr: float = 5e-5
    weight_decay: float = 0.0
    batch_size: int = 32
    grad_clip: float | None = None
    warmup_steps: int = 0
    schedule: str = "constant"
    final_lr_ratio: float = 0.05
    anneal_from: int = 0
    part_head_lr_scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.part_head_lr_scale > 0:
            raise ValueError(f"optim.part_head_lr_scale must be > 0, got {self.part_head_lr_scale}")
        if self.anneal_from < 0:
            raise ValueError(f"optim.anneal_from must be >= 0, got {self.anneal_from}")
        if self.lr <= 0 or self.batch_size < 1:
            raise ValueError("optim.lr must be > 0 and optim.batch_size >= 1")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"optim.schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if not 0.0 <= self.final_lr_ratio <= 1.0:
            raise ValueError(f"optim.final_lr_ratio must be in [0, 1], got {self.final_lr_ratio}")

    def lr_at(self, step: int, total_steps: int) -> float:
        """The learning rate of optimiser step ``step`` (0-based) in a run of ``total_steps``."""
        last = max(total_steps - 1, 0)  # the floor is reached at the last step
        return self.lr * lr_factor(step, last, self.warmup_steps, self.final_lr_ratio, self.schedule == "cosine", self.anneal_from)


@dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes.

    Attributes:
        precision: ``"auto"`` (bf16 autocast on CUDA and on CPUs with native bf16, else fp32; see
            :func:`model.runtime.resolve_precision`), ``"bf16"`` or ``"fp32"``. On a CPU without
            AVX-512 BF16/AMX, bf16 is emulated and ~10x slower than fp32.
        channels_last: NHWC memory format for the convolutions.
        workers: DataLoader worker processes (each uses one torch thread).
        threads: torch threads of the training process.
        log_every: steps between scalar log lines.
        checkpoint_every: steps between resumable checkpoints.
        seed: seed of initialisation, shuffling and augmentation.
        out_dir: run folder (checkpoints, ``log.jsonl``).
        resume_file: the run's small committed resume file (fp16 weights, no optimiser state; see
            :func:`model.nets.checkpoint.save_resume_file`), written beside ``last.pt`` at every
            checkpoint; ``--resume`` continues from it when ``<out_dir>/last.pt`` is absent (a fresh
            machine). ``None``: not written.
        resume_warmup_steps: linear learning-rate warm-up after resuming from ``resume_file``
            (the optimiser restarts there).
    """

    precision: str = "auto"
    channels_last: bool = True
    workers: int = 1
    threads: int = 1
    log_every: int = 20
    checkpoint_every: int = 250
    seed: int = 0
    out_dir: str = "runs/default"
    resume_file: str | None = None
    resume_warmup_steps: int = 100

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"runtime.precision must be 'auto', 'bf16' or 'fp32', got {self.precision!r}")
        if self.workers < 0 or self.threads < 1 or self.resume_warmup_steps < 0:
            raise ValueError("runtime.workers must be >= 0, runtime.threads >= 1, runtime.resume_warmup_steps >= 0")


@dataclass(frozen=True)
class AdversarialPriorConfig:
    """The adversarial pose prior's discriminator (its generator term's weight is
    ``loss.pose_prior_weight``; the prior is on when that weight is > 0).

    Attributes:
        discriminator: architecture (:class:`~model.nets.pose_discriminator.PoseDiscriminatorConfig`).
        lr: Adam learning rate of the discriminator (HMR: 1e-4).
        weight_decay: Adam weight decay of the discriminator (HMR: 1e-4).
    """

    discriminator: PoseDiscriminatorConfig = field(default_factory=PoseDiscriminatorConfig)
    lr: float = 1e-4
    weight_decay: float = 1e-4

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("adversarial_prior.lr must be > 0 and weight_decay >= 0")


@dataclass(frozen=True)
class InitConfig:
    """Where the network's weights start.

    Attributes:
        checkpoint: a training or served RSC-Net checkpoint to start from (the paper starts every
            model, baselines included, from a network trained on full-resolution images). Loading
            is strict (:meth:`model.nets.RSCNet.initialise_from`): only a resolution table the
            source lacks starts at 1. ``None``: random initialisation. Ignored when resuming.
        new_input_size: ``True`` lets the source have another ``net.input_size`` than this run (no
            parameter depends on it: the same weights then see the person at another scale, as in an
            input-size ablation); ``False`` (default) refuses such a source.
    """

    checkpoint: str | None = None
    new_input_size: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.new_input_size, bool):
            raise ValueError(f"init.new_input_size must be a bool, got {self.new_input_size!r}")


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run (see ``configs/train/*.yaml``).

    Attributes:
        name: run name (recorded in checkpoints).
        description: what the run is for (e.g. the paper's table row).
        net: network architecture.
        loss: loss weights; ``self_supervision_weight: 0`` / ``contrastive_weight: 0`` switch the
            SS and contrastive losses off.
        data, resolution, optim, augment, runtime: see their classes.
        stages: progressive schedule; one stage with all rows = no progressive training.
        init: the weights to start from (default: random).
        adversarial_prior: the pose discriminator (used when ``loss.pose_prior_weight > 0``).
    """

    name: str
    net: NetConfig
    stages: tuple[StageConfig, ...]
    description: str = ""
    loss: TotalLossConfig = field(default_factory=TotalLossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    resolution: ResolutionTrainConfig = field(default_factory=ResolutionTrainConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    init: InitConfig = field(default_factory=InitConfig)
    adversarial_prior: AdversarialPriorConfig = field(default_factory=AdversarialPriorConfig)

    def __post_init__(self) -> None:
        p = len(self.resolution.bounds)
        if self.net.backbone.num_ranges != p:
            raise ValueError(f"net.backbone.num_ranges ({self.net.backbone.num_ranges}) must equal the number of resolution bounds ({p})")
        for i, stage in enumerate(self.stages):
            if max(stage.ranges) >= p:
                raise ValueError(f"stage {i} uses row {max(stage.ranges)} but there are only {p} ranges")
        if not self.stages:
            raise ValueError("at least one stage is needed")
        if self.data.crop_size < self.net.input_size:
            raise ValueError(f"data.crop_size ({self.data.crop_size}) must be >= net.input_size ({self.net.input_size})")
        uses_pairs = self.loss.self_supervision_weight > 0 or self.loss.contrastive_weight > 0
        if uses_pairs and self.resolution.per_sample < 2:
            raise ValueError("self-supervision/contrastive losses need resolution.per_sample >= 2")
        if self.loss.heading_head_weight > 0 and self.net.heading_head == "off":
            raise ValueError("loss.heading_head_weight > 0 needs a heading head (net.heading_head: aux or decode)")
        if self.loss.part_head_weight > 0 and not self.net.part_head:
            raise ValueError("loss.part_head_weight > 0 needs the part head (net.part_head: true)")
        if self.net.cut_input and self.data.partial_view.prob <= 0:
            raise ValueError("net.cut_input learns from cut people: it needs data.partial_view.prob > 0")
        if self.loss.keypoint_head_weight > 0 and self.net.keypoint_head == "off":
            raise ValueError("loss.keypoint_head_weight > 0 needs a keypoint head (net.keypoint_head: aux or feed)")

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def stage_at(self, step: int) -> int:
        """Index of the stage that contains optimiser step ``step`` (0-based)."""
        end = 0
        for i, s in enumerate(self.stages):
            end += s.steps
            if step < end:
                return i
        return len(self.stages) - 1

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


# --------------------------------------------------------------------------- generic conversion
def to_plain(obj: Any) -> Any:
    """Dataclasses/tuples -> plain dicts/lists (YAML/JSON/weights_only-safe)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    return obj


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return from_mapping(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, where) if len(args) == 1 else value
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        return tuple(_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_mapping(cls: type, data: Mapping[str, Any], where: str = "config") -> Any:
    """Build dataclass ``cls`` from a nested mapping, rejecting unknown keys (named in the error)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys: {sorted(fields)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def merge_overrides(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on it, mapping by mapping (a new dict; the inputs are not changed)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge_overrides(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file, resolving ``base:`` inheritance (paths relative to the file)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: top level must be a mapping")
    data = dict(data)
    base = data.pop("base", None)
    if base is not None:
        data = merge_overrides(read_yaml(p.parent / base), data)
    return data


#: Trainers ``python -m model.train`` dispatches to, by a config's top-level ``kind:`` key.
TRAINER_KINDS = ("rscnet", "video", "reid", "texture")


def config_kind(path: str | Path) -> str:
    """The ``kind:`` of a config file (``base:`` chains included); ``"rscnet"`` when absent."""
    kind = read_yaml(path).get("kind", "rscnet")
    if kind not in TRAINER_KINDS:
        raise ConfigError(f"{path}: unknown kind {kind!r}; known kinds: {list(TRAINER_KINDS)}")
    return kind


def load_kind_config(cls: type, path: str | Path, kind: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """Read a ``kind: <kind>`` config file into dataclass ``cls`` (unknown keys are errors).

    ``overrides`` are nested mappings merged over the file (e.g. ``{"runtime": {"threads": 2}}``).
    """
    data = read_yaml(path)
    found = data.pop("kind", None)
    if found != kind:
        raise ConfigError(f"{path}: expected kind {kind!r}, got {found!r}")
    if overrides:
        data = merge_overrides(data, overrides)
    return from_mapping(cls, data, where=str(path))


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> TrainConfig:
    """Load and validate an RSC-Net training config (optionally with nested overrides)."""
    data = read_yaml(path)
    kind = data.pop("kind", "rscnet")
    if kind != "rscnet":
        raise ConfigError(f"{path}: kind {kind!r} is not an RSC-Net config (python -m model.train dispatches it)")
    if overrides:
        data = merge_overrides(data, overrides)
    return from_mapping(TrainConfig, data, where=str(path))

"""Train the re-identification network ``f_Re`` (``python -m model.train --config configs/texture/reid.yaml``).

Data: the pre-rendered identity sets of :mod:`model.data.identity` (``<data.dir>/train.pt``,
``test.pt``). Every step draws ``identities_per_batch`` training identities and
``views_per_identity`` looks at each (P x K batches for the batch-hard triplet loss); a look is
degraded to a random low resolution with probability ``low_res_prob`` (bicubic down to a size in
``low_res_range`` and back up) and mirrored with probability 0.5, so the embedding is trained to
ignore pose, viewpoint, background, lighting *and* resolution. Loss: label-smoothed identity
cross-entropy + batch-hard triplet (:mod:`model.losses.reid`).

Evaluation on the held-out identities: rank-1 / mAP (:func:`model.losses.reid.evaluate_reid`) on the clean looks
and with every look degraded to ``eval_low_res`` pixels.

Writes ``<out_dir>/last.pt`` (resumable; also what the texture trainer loads, frozen),
``log.jsonl`` and ``eval.json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from model.data.degrade import bicubic_down_up
from model.data.identity import load_identity_set
from model.losses.reid import ReIDLossConfig, evaluate_reid, reid_loss
from model.nets.checkpoint import REID_FORMAT, export_served, load_checkpoint
from model.nets.reid import ReIDConfig, ReIDNet
from model.runtime import autocast, precision_from_bf16_flag, resolve_device
from model.train.config import load_kind_config, to_plain
from model.train.loop import LoopConfig, StepOutcome, TrainLoop

__all__ = ["ReIDTrainConfig", "ReIDTrainer", "export_reid_checkpoint", "train_from_args", "train_reid"]



@dataclass(frozen=True)
class IdentityDataConfig:
    """Attributes: dir: folder with ``train.pt`` / ``test.pt`` of :mod:`model.data.identity`."""

    dir: str = "data/texture"


@dataclass(frozen=True)
class ReIDNetConfig:
    """:class:`~model.nets.reid.ReIDConfig` without ``num_classes`` (taken from the data)."""

    input_size: tuple[int, int] = (128, 64)
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: int = 1
    embed_dim: int = 128


@dataclass(frozen=True)
class ReIDOptimConfig:
    """Adam with linear warm-up then cosine decay to 1 % over ``steps``."""

    steps: int = 1500
    lr: float = 1e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 100
    identities_per_batch: int = 16
    views_per_identity: int = 4
    low_res_prob: float = 0.5
    low_res_range: tuple[int, int] = (16, 96)
    eval_low_res: int = 32

    def __post_init__(self) -> None:
        if self.steps < 1 or self.lr <= 0 or self.identities_per_batch < 2 or self.views_per_identity < 2:
            raise ValueError("steps >= 1, lr > 0, identities_per_batch >= 2 and views_per_identity >= 2 are needed")
        if not 0 <= self.low_res_prob <= 1 or not 4 <= self.low_res_range[0] <= self.low_res_range[1]:
            raise ValueError("low_res_prob must be in [0, 1] and low_res_range (lo, hi) with 4 <= lo <= hi")


@dataclass(frozen=True)
class TexRuntimeConfig:
    """Runtime of the ReID / texture trainers.

    Attributes:
        out_dir: where ``last.pt``, ``log.jsonl`` and ``eval.json`` go.
        threads: torch intra-op threads.
        workers: unused (the pre-rendered data is in memory); kept for the shared CLI.
        seed: sampling and initialisation seed.
        log_every, checkpoint_every: steps between log lines / checkpoints.
        bf16: bf16 autocast for the convolutions (CPU with native bf16 or CUDA).
    """

    out_dir: str = "runs/reid"
    threads: int = 1
    workers: int = 0
    seed: int = 0
    log_every: int = 25
    checkpoint_every: int = 250
    bf16: bool = True


@dataclass(frozen=True)
class ReIDTrainConfig:
    """A ``kind: reid`` YAML (see ``configs/texture/reid.yaml``)."""

    data: IdentityDataConfig = field(default_factory=IdentityDataConfig)
    net: ReIDNetConfig = field(default_factory=ReIDNetConfig)
    loss: ReIDLossConfig = field(default_factory=ReIDLossConfig)
    optim: ReIDOptimConfig = field(default_factory=ReIDOptimConfig)
    runtime: TexRuntimeConfig = field(default_factory=TexRuntimeConfig)


def load_reid_config(path: str | Path, runtime: dict[str, Any] | None = None) -> ReIDTrainConfig:
    """Read and validate a ``kind: reid`` config (``runtime`` overrides its ``runtime`` section)."""
    return load_kind_config(ReIDTrainConfig, path, "reid", {"runtime": runtime} if runtime else None)


def random_low_res(images: Tensor, prob: float, size_range: tuple[int, int], generator: torch.Generator) -> Tensor:
    """Degrade each of ``(B, 3, S, S)`` with probability ``prob`` to a size in ``size_range`` and back to ``S``."""
    b, s = images.shape[0], images.shape[-1]
    pick = torch.rand(b, generator=generator) < prob
    sizes = torch.randint(size_range[0], size_range[1] + 1, (b,), generator=generator)
    sizes = torch.where(pick, sizes, torch.full_like(sizes, s))
    return bicubic_down_up(images, sizes, s)


def _pk_batch(labels: Tensor, p: int, k: int, generator: torch.Generator) -> Tensor:
    """Indices of a P x K batch: ``p`` random identities, ``k`` random looks each."""
    classes = int(labels.max()) + 1
    chosen = torch.randperm(classes, generator=generator)[:p]
    out = []
    for c in chosen.tolist():
        idx = torch.nonzero(labels == c).squeeze(1)
        out.append(idx[torch.randperm(len(idx), generator=generator)[:k]])
    return torch.cat(out)


class ReIDTrainer(TrainLoop):
    """The ReID network on the identity sets (see the module docstring), run by :class:`TrainLoop`."""

    def __init__(self, config: ReIDTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True, max_minutes: float | None = None) -> None:
        rt, o = config.runtime, config.optim
        super().__init__(LoopConfig(
            name="reid", out_dir=Path(rt.out_dir), total_steps=o.steps, log_every=rt.log_every,
            checkpoint_every=rt.checkpoint_every, seed=rt.seed, threads=rt.threads, max_steps=max_steps,
            max_minutes=max_minutes, show_progress=show_progress, save_when_idle=True,
        ))  # fmt: skip
        self.config = config
        self.device = resolve_device(device)
        self.precision = precision_from_bf16_flag(rt.bf16, self.device)
        data_dir = Path(config.data.dir)
        self.data = load_identity_set(data_dir / "train.pt")
        self.labels = self.data.labels()
        self.net_config = ReIDConfig(
            num_classes=int(self.labels.max()) + 1, **{k: getattr(config.net, k) for k in ("input_size", "widths", "blocks", "embed_dim")}
        )
        self.net = ReIDNet(self.net_config).to(self.device).to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=o.lr, weight_decay=o.weight_decay)
        self.gen = self.seeded_generator_or_resume(resume, rt.seed, REID_FORMAT, "ReID checkpoint", self.net, self.optimizer)

    def lr(self) -> float:
        return self.warmup_cosine_lr(self.config.optim)

    def train_step(self) -> StepOutcome:
        o, dev = self.config.optim, self.device
        self.net.train()
        idx = _pk_batch(self.labels, o.identities_per_batch, o.views_per_identity, self.gen)
        x = self.data.images[idx].float().div(255.0)
        x = random_low_res(x, o.low_res_prob, o.low_res_range, self.gen)
        flip = torch.rand(len(idx), generator=self.gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        with autocast(self.precision, dev):
            out = self.net(x.to(dev).contiguous(memory_format=torch.channels_last))
        losses = reid_loss(out.embedding.float(), out.logits.float(), self.labels[idx].to(dev), self.config.loss)
        self.optimizer.zero_grad(set_to_none=True)
        losses.total.backward()
        self.optimizer.step()
        terms = {"ce": losses.ce.item(), "triplet": losses.triplet.item(), "accuracy": losses.accuracy.item()}
        return StepOutcome(loss=losses.total.item(), terms=terms)

    def log_entry(self, outcome: StepOutcome, now: float) -> dict[str, Any]:
        lr = self.optimizer.param_groups[0]["lr"]  # the step's own
        return {"step": self.step, "loss": outcome.loss, **outcome.terms, "lr": lr, "train_seconds": round(self.wall_seconds, 1)}

    def postfix(self, outcome: StepOutcome) -> dict[str, Any]:
        return {"loss": f"{outcome.loss:.3f}", "acc": f"{outcome.terms['accuracy']:.2f}"}

    def state(self) -> dict[str, Any]:
        return {
            "format": REID_FORMAT, "kind": "reid", "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "generator": self.gen.get_state(), "step": self.step, "train_seconds": self.wall_seconds,
            "net_config": self.net_config.to_dict(), "train_config": to_plain(self.config), "data": self.data.config,
            "body_model": self.data.config.get("body_model"),
        }  # fmt: skip


def train_reid(config: ReIDTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True, max_minutes: float | None = None) -> dict[str, Any]:
    """Train (or resume), then evaluate on the held-out identities (``eval.json``); returns the last log entry plus the evaluation."""
    trainer = ReIDTrainer(config, device, resume, max_steps, show_progress, max_minutes)
    entry = trainer.train()
    test = load_identity_set(Path(config.data.dir) / "test.pt")
    metrics = evaluate_reid(trainer.net, test, trainer.device, trainer.precision, config.optim.eval_low_res)
    metrics.update({"step": trainer.step, "train_seconds": round(trainer.wall_seconds, 1)})
    (trainer.out_dir / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return {**entry, "eval": metrics}


def export_reid_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """A frozen-use copy of a ReID ``last.pt``: no optimiser / generator state, fp16 weights."""
    ckpt = load_checkpoint(src, expected_format=REID_FORMAT, what="ReID checkpoint")
    return export_served(ckpt, dst, drop=("optimizer", "generator"))


def train_from_args(args: argparse.Namespace) -> None:
    """Entry point of ``python -m model.train`` for ``kind: reid``."""
    from model.train.__main__ import runtime_overrides

    over = runtime_overrides(args)
    config = load_reid_config(args.config, over["runtime"] if over else None)
    result = train_reid(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress, max_minutes=getattr(args, "max_minutes", None))
    print(json.dumps(result))
    print(f"checkpoint: {Path(config.runtime.out_dir) / 'last.pt'}")

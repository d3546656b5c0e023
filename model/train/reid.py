"""Train the re-identification network ``f_Re`` (``python -m model.train --config configs/texture/reid.yaml``).

Data: the pre-rendered identity sets of :mod:`model.train.identity_data` (``<data.dir>/train.pt``,
``test.pt``). Every step draws ``identities_per_batch`` training identities and
``views_per_identity`` looks at each (P x K batches for the batch-hard triplet loss); a look is
degraded to a random low resolution with probability ``low_res_prob`` (bicubic down to a size in
``low_res_range`` and back up) and mirrored with probability 0.5, so the embedding is trained to
ignore pose, viewpoint, background, lighting *and* resolution. Loss: label-smoothed identity
cross-entropy + batch-hard triplet (:mod:`model.losses.reid`).

Evaluation on the held-out identities: rank-1 / mAP (:mod:`model.eval.reid`) on the clean looks
and with every look degraded to ``eval_low_res`` pixels.

Writes ``<out_dir>/last.pt`` (resumable; also what the texture trainer loads, frozen),
``log.jsonl`` and ``eval.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from model.data.degrade import bicubic_down_up
from model.eval.reid import retrieval_metrics
from model.losses.reid import ReIDLossConfig, reid_loss
from model.nets.reid import ReIDConfig, ReIDNet
from model.train.checkpoint import export_served
from model.train.config import load_kind_config, to_plain
from model.train.identity_data import IdentitySet, load_identity_set
from model.train.schedule import lr_factor

__all__ = ["REID_FORMAT", "ReIDTrainConfig", "evaluate_reid", "export_reid_checkpoint", "load_reid", "train_from_args", "train_reid"]

#: ``format`` entry of ReID checkpoints.
REID_FORMAT = "rscnet-reid/1"


@dataclass(frozen=True)
class IdentityDataConfig:
    """Attributes: dir: folder with ``train.pt`` / ``test.pt`` of :mod:`model.train.identity_data`."""

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


def resolve_device(device: str | None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def bf16_enabled(device: torch.device, wanted: bool) -> bool:
    """bf16 autocast when wanted and the device computes bf16 natively (CUDA, AVX-512 BF16 / AMX CPUs)."""
    if not wanted:
        return False
    if device.type == "cuda":
        return True
    # lazy: avoids importing the service-side API eagerly
    from model.runtime import cpu_supports_bf16

    return cpu_supports_bf16()


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """bf16 autocast on ``device`` (a no-op context when disabled)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


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


@torch.no_grad()
def embed(net: ReIDNet, images_u8: Tensor, device: torch.device, bf16: bool, low_res: int | None = None, batch_size: int = 64) -> Tensor:
    """Embeddings ``(N, D)`` of uint8 images ``(N, 3, S, S)`` (optionally degraded to ``low_res`` first)."""
    net.eval()
    out = []
    for start in range(0, images_u8.shape[0], batch_size):
        x = images_u8[start : start + batch_size].float().div(255.0)
        if low_res is not None:
            x = bicubic_down_up(x, low_res, x.shape[-1])
        with autocast(device, bf16):
            out.append(net(x.to(device)).embedding.float().cpu())
    return torch.cat(out)


def evaluate_reid(net: ReIDNet, test: IdentitySet, device: torch.device, bf16: bool, low_res: int) -> dict[str, Any]:
    """Rank-1 / mAP on the held-out identities, clean and degraded to ``low_res`` pixels."""
    clean = retrieval_metrics(embed(net, test.images, device, bf16), test.identity)
    low = retrieval_metrics(embed(net, test.images, device, bf16, low_res=low_res), test.identity)
    return {"clean": clean.to_dict(), f"low_res_{low_res}px": low.to_dict(), "identities": int(test.texture_ids.numel()), "images": len(test)}


def load_reid(path: str | Path, device: str | torch.device = "cpu") -> tuple[ReIDNet, dict[str, Any]]:
    """A trained ReID network (eval mode, frozen) and its checkpoint dict; strict loading."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != REID_FORMAT:
        raise ValueError(f"{path} is not a ReID checkpoint (format {REID_FORMAT!r})")
    net = ReIDNet(ReIDConfig.from_dict(ckpt["net_config"]))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}, strict=True)
    net.eval().to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net, ckpt


def train_reid(config: ReIDTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Train (or resume) and evaluate; returns the last log entry plus the evaluation."""
    rt = config.runtime
    torch.set_num_threads(rt.threads)
    dev = resolve_device(device)
    out_dir = Path(rt.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(config.data.dir)
    train = load_identity_set(data_dir / "train.pt")
    test = load_identity_set(data_dir / "test.pt")
    labels = train.labels()
    net_cfg = ReIDConfig(num_classes=int(labels.max()) + 1, **{k: getattr(config.net, k) for k in ("input_size", "widths", "blocks", "embed_dim")})
    torch.manual_seed(rt.seed)
    net = ReIDNet(net_cfg).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    gen = torch.Generator().manual_seed(rt.seed)
    step, elapsed = 0, 0.0
    last_path = out_dir / "last.pt"
    if resume and last_path.is_file():
        ckpt = torch.load(last_path, map_location="cpu", weights_only=True)
        net.load_state_dict(ckpt["model"], strict=True)
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        step, elapsed = int(ckpt["step"]), float(ckpt.get("train_seconds", 0.0))
    o = config.optim
    target = o.steps if max_steps is None else min(o.steps, step + max_steps)
    bf16 = bf16_enabled(dev, rt.bf16)

    def save() -> None:
        state = {
            "format": REID_FORMAT, "kind": "reid", "model": net.state_dict(), "optimizer": opt.state_dict(),
            "generator": gen.get_state(), "step": step, "train_seconds": elapsed, "net_config": net_cfg.to_dict(),
            "train_config": to_plain(config), "data": train.config, "body_model": train.config.get("body_model"),
        }  # fmt: skip
        tmp = last_path.with_name("last.pt.tmp")
        torch.save(state, tmp)
        tmp.replace(last_path)

    log = open(out_dir / "log.jsonl", "a")
    entry: dict[str, Any] = {}
    bar = tqdm(total=target, initial=step, desc="reid", disable=not show_progress)
    net.train()
    while step < target:
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = o.lr * lr_factor(step, o.steps, o.warmup_steps)
        idx = _pk_batch(labels, o.identities_per_batch, o.views_per_identity, gen)
        x = train.images[idx].float().div(255.0)
        x = random_low_res(x, o.low_res_prob, o.low_res_range, gen)
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        with autocast(dev, bf16):
            out = net(x.to(dev).contiguous(memory_format=torch.channels_last))
        losses = reid_loss(out.embedding.float(), out.logits.float(), labels[idx].to(dev), config.loss)
        opt.zero_grad(set_to_none=True)
        losses.total.backward()
        opt.step()
        step += 1
        elapsed += time.time() - t0
        bar.update(1)
        if step % rt.log_every == 0 or step == target:
            entry = {"step": step, "loss": losses.total.item(), "ce": losses.ce.item(), "triplet": losses.triplet.item(), "accuracy": losses.accuracy.item(), "lr": opt.param_groups[0]["lr"], "train_seconds": round(elapsed, 1)}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['accuracy']:.2f}")
        if step % rt.checkpoint_every == 0:
            save()
    bar.close()
    save()
    log.close()
    metrics = evaluate_reid(net, test, dev, bf16, o.eval_low_res)
    metrics.update({"step": step, "train_seconds": round(elapsed, 1)})
    (out_dir / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return {**entry, "eval": metrics}


def export_reid_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """A frozen-use copy of a ReID ``last.pt``: no optimiser / generator state, fp16 weights."""
    ckpt = torch.load(Path(src), map_location="cpu", weights_only=True)
    if ckpt.get("format") != REID_FORMAT:
        raise ValueError(f"{src} is not a ReID checkpoint")
    return export_served(ckpt, dst, drop=("optimizer", "generator"))


def train_from_args(args: argparse.Namespace) -> None:
    """Entry point of ``python -m model.train`` for ``kind: reid``."""
    from model.train.__main__ import runtime_overrides

    over = runtime_overrides(args)
    config = load_reid_config(args.config, over["runtime"] if over else None)
    result = train_reid(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress)
    print(json.dumps(result))
    print(f"checkpoint: {Path(config.runtime.out_dir) / 'last.pt'}")

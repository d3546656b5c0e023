"""Train TexGlo (``python -m model.train --config configs/texture/glo_s.yaml``), RSC-Net Section 3.6.

For a high-resolution training image ``x_H`` (pre-rendered identity set,
:mod:`model.data.identity`) and its low-resolution version ``x_L`` (bicubic down to a random
size in ``optim.low_res_range`` and back up, as the paper), the mesh ``M(x_H)`` and camera
``delta(x_H)`` come from the geometry cache (``geometry: predictor``: the RSC-Net Predictor run on
``x_H``; ``ground_truth``: the rendering parameters). The predicted UV map ``T(x_L)`` is rendered on
that mesh with our differentiable :class:`~model.render.MeshRenderer`, composited over ``x_H`` (its
background shows outside the mesh), and the network minimises the multi-layer ReID feature
distance between the render and ``x_H`` (:func:`model.losses.texture.reid_feature_distance`) under the
frozen ReID network ``f_Re`` (:mod:`model.train.reid`). The render is lit by a fixed light, the mean
of the synthetic data's light distribution, so the UV map is an albedo rather than a shaded image.

Writes ``<out_dir>/last.pt`` (resumable), ``log.jsonl``; ``export_texture_checkpoint`` writes the
served (fp16) file read by :mod:`model.inference.texture`.
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

from model.body import BodyModel, load_body_model
from model.data.degrade import bicubic_down_up
from model.data.identity import (
    GEOMETRY_SOURCES,
    GeometryBatch,
    IdentitySet,
    load_geometry,
    load_identity_set,
    mean_lights,
    render_texture,
)
from model.losses.texture import TextureLossConfig, reid_feature_distance
from model.nets.checkpoint import (
    TEXTURE_FORMAT,
    body_model_entry,
    export_served,
    load_checkpoint,
    load_reid,
)
from model.nets.reid import ReIDNet
from model.nets.texture import TexGlo, TexGloConfig
from model.render import Lights, MeshRenderer, PerspectiveCameras
from model.runtime import autocast, resolve_device
from model.train.config import load_kind_config, to_plain
from model.train.reid import IdentityDataConfig, TexRuntimeConfig, precision_of
from model.train.schedule import lr_factor

__all__ = [
    "TextureTrainConfig",
    "export_texture_checkpoint",
    "train_from_args",
    "train_texture",
]



@dataclass(frozen=True)
class TextureOptimConfig:
    """Adam with warm-up and cosine decay; batches of ``batch_size`` ``(x_H, x_L)`` pairs."""

    steps: int = 1000
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 50
    batch_size: int = 16
    low_res_range: tuple[int, int] = (16, 48)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.lr <= 0 or self.batch_size < 1:
            raise ValueError("steps, batch_size >= 1 and lr > 0 are needed")
        if not 4 <= self.low_res_range[0] <= self.low_res_range[1]:
            raise ValueError(f"low_res_range must be (lo, hi) with 4 <= lo <= hi, got {self.low_res_range}")


@dataclass(frozen=True)
class TextureTrainConfig:
    """A ``kind: texture`` YAML (see ``configs/texture/glo_s.yaml``).

    Attributes:
        name: the ablation's name (``"w/o Up & Glo"``, ...), reported by the evaluation.
        data: the identity sets.
        geometry: where ``M(x_H)`` and ``delta(x_H)`` come from: ``predictor`` or ``ground_truth``.
        reid_checkpoint: the frozen ReID network.
        net: TexGlo architecture.
        loss: ReID feature-distance weights.
        optim: optimiser and batches.
        runtime: output folder, threads, seed.
    """

    name: str = "Glo-S"
    data: IdentityDataConfig = field(default_factory=IdentityDataConfig)
    geometry: str = "predictor"
    reid_checkpoint: str = "runs/texture/reid/last.pt"
    net: TexGloConfig = field(default_factory=TexGloConfig)
    loss: TextureLossConfig = field(default_factory=TextureLossConfig)
    optim: TextureOptimConfig = field(default_factory=TextureOptimConfig)
    runtime: TexRuntimeConfig = field(default_factory=lambda: TexRuntimeConfig(out_dir="runs/texture/glo_s"))

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRY_SOURCES:
            raise ValueError(f"geometry must be one of {GEOMETRY_SOURCES}, got {self.geometry!r}")


def load_texture_config(path: str | Path, runtime: dict[str, Any] | None = None) -> TextureTrainConfig:
    """Read and validate a ``kind: texture`` config (``runtime`` overrides its ``runtime`` section)."""
    return load_kind_config(TextureTrainConfig, path, "texture", {"runtime": runtime} if runtime else None)


def make_low_res(x_h: Tensor, size_range: tuple[int, int], generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``x_L``: each ``(B, 3, S, S)`` image bicubic down to a random size in ``size_range`` and back up; and the sizes."""
    sizes = torch.randint(size_range[0], size_range[1] + 1, (x_h.shape[0],), generator=generator)
    return bicubic_down_up(x_h, sizes, x_h.shape[-1]), sizes


def texture_step_loss(
    net: TexGlo, reid: ReIDNet, renderer: MeshRenderer, body: BodyModel, x_h: Tensor, x_l: Tensor,
    verts: Tensor, cams: PerspectiveCameras, lights: Lights, loss_cfg: TextureLossConfig, dev: torch.device, precision: str,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """``(loss (B,), predicted UV (B, 3, U, U), render (B, 3, S, S))`` for one batch."""
    with autocast(precision, dev):
        tex = net(x_l.contiguous(memory_format=torch.channels_last))
    render = render_texture(renderer, body, verts, cams, tex.float(), lights.to(dev).expand(x_h.shape[0]), x_h)
    with autocast(precision, dev):
        with torch.no_grad():
            target = reid(x_h)
        pred = reid(render)
    loss = reid_feature_distance(pred.features, pred.embedding, target.features, target.embedding, loss_cfg)
    return loss, tex, render


def train_texture(config: TextureTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Train (or resume) TexGlo; returns the last log entry."""
    rt, o = config.runtime, config.optim
    torch.set_num_threads(rt.threads)
    dev = resolve_device(device)
    out_dir = Path(rt.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train: IdentitySet = load_identity_set(Path(config.data.dir) / "train.pt")
    geometry = load_geometry(config.data.dir, config.geometry, "train")
    body = load_body_model().to(dev)
    if body.face_uvs is None:
        raise ValueError(f"body model {body.name!r} has no UV map; TexGlo needs the free-smpl-layout model")
    if train.config.get("body_model") not in (None, body.info.model_id):
        raise ValueError(f"identity data rendered with {train.config.get('body_model')}, loaded body model is {body.info.model_id}")
    reid, reid_ckpt = load_reid(config.reid_checkpoint, dev)
    reid = reid.to(memory_format=torch.channels_last)
    geo = GeometryBatch(geometry, body, train.crop_size)
    renderer = MeshRenderer()
    lights = mean_lights(1)
    torch.manual_seed(rt.seed)
    net = TexGlo(config.net).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    gen = torch.Generator().manual_seed(rt.seed)
    step, elapsed = 0, 0.0
    last_path = out_dir / "last.pt"
    if resume and last_path.is_file():
        ckpt = torch.load(last_path, map_location="cpu", weights_only=True)
        net.load_state_dict(ckpt["model"], strict=True)
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        step, elapsed = int(ckpt["step"]), float(ckpt.get("train_seconds", 0.0))
    target = o.steps if max_steps is None else min(o.steps, step + max_steps)
    precision = precision_of(dev, rt.bf16)

    def save() -> None:
        state = {
            "format": TEXTURE_FORMAT, "kind": "texture", "name": config.name, "model": net.state_dict(),
            "optimizer": opt.state_dict(), "generator": gen.get_state(), "step": step, "train_seconds": elapsed,
            "net_config": config.net.to_dict(), "train_config": to_plain(config),
            "body_model": body_model_entry(body.info), "low_res_range": list(o.low_res_range),
            "geometry": {"source": config.geometry, "checkpoint": geometry.get("checkpoint")},
            "reid": {"path": config.reid_checkpoint, "step": int(reid_ckpt["step"])},
            "lights": {k: getattr(lights, k)[0].tolist() for k in ("ambient", "diffuse", "direction")},
            "data": train.config,
        }  # fmt: skip
        tmp = last_path.with_name("last.pt.tmp")
        torch.save(state, tmp)
        tmp.replace(last_path)

    log = open(out_dir / "log.jsonl", "a")
    entry: dict[str, Any] = {}
    bar = tqdm(total=target, initial=step, desc=f"texture {config.name}", disable=not show_progress)
    net.train()
    n = len(train)
    while step < target:
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = o.lr * lr_factor(step, o.steps, o.warmup_steps)
        idx = torch.randint(n, (o.batch_size,), generator=gen)
        x_h = train.images[idx].float().div(255.0).to(dev)
        x_l, _ = make_low_res(x_h, o.low_res_range, gen)
        verts, cams = geo(idx, dev)
        loss, _, _ = texture_step_loss(net, reid, renderer, body, x_h, x_l, verts, cams, lights, config.loss, dev, precision)
        loss = loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        elapsed += time.time() - t0
        bar.update(1)
        if step % rt.log_every == 0 or step == target:
            entry = {"step": step, "loss": loss.item(), "lr": opt.param_groups[0]["lr"], "train_seconds": round(elapsed, 1)}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{entry['loss']:.4f}")
        if step % rt.checkpoint_every == 0:
            save()
    bar.close()
    save()
    log.close()
    return entry


def export_texture_checkpoint(src: str | Path, dst: str | Path, fp16: bool = True) -> Path:
    """Write the served checkpoint: ``src`` (a ``last.pt``) without optimiser/generator state, weights in fp16."""
    ckpt = load_checkpoint(src, expected_format=TEXTURE_FORMAT, what="texture checkpoint")
    return export_served(ckpt, dst, half=fp16, drop=("optimizer", "generator"))


def train_from_args(args: argparse.Namespace) -> None:
    """Entry point of ``python -m model.train`` for ``kind: texture``."""
    from model.train.__main__ import runtime_overrides

    over = runtime_overrides(args)
    config = load_texture_config(args.config, over["runtime"] if over else None)
    result = train_texture(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress)
    print(json.dumps(result))
    print(f"checkpoint: {Path(config.runtime.out_dir) / 'last.pt'}")

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

With ``net.input_mask`` (``configs/texture/*_masked.yaml``) TexGlo sees only what the body covers:
the silhouette of the same mesh ``M(x_H)`` under ``delta(x_H)`` (the geometry cache's: the
Predictor's or the ground truth's, as ``geometry`` says) is rasterised at the crop size by
:func:`~model.data.identity.render_silhouette` (binary, no gradient) and masks ``x_L``, the same
crop degraded, so it lines up pixel for pixel. It is exactly the set of pixels where the render
replaces ``x_H``, i.e. where the loss judges the texture. The served
:class:`~model.inference.TexturePredictor` masks with its Predictor's mesh the same way.

Writes ``<out_dir>/last.pt`` (resumable), ``log.jsonl``; ``export_texture_checkpoint`` writes the
served (fp16) file read by :mod:`model.inference.texture`.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from model.body import BodyModel, load_body_model
from model.data.degrade import bicubic_down_up
from model.data.identity import (
    GEOMETRY_SOURCES,
    GeometryBatch,
    IdentitySet,
    load_geometry,
    load_identity_set,
    mean_lights,
    render_silhouette,
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
from model.runtime import autocast, precision_from_bf16_flag, resolve_device
from model.train.config import load_kind_config, to_plain
from model.train.loop import LoopConfig, StepOutcome, TrainLoop
from model.train.reid import IdentityDataConfig, TexRuntimeConfig

__all__ = [
    "TextureTrainConfig",
    "TextureTrainer",
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
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """``(loss (B,), predicted UV (B, 3, U, U), render (B, 3, S, S))`` for one batch.

    ``mask``: TexGlo's ``(B, 1, S, S)`` input mask for ``input_mask`` networks (the silhouette of
    ``verts`` under ``cams``, :func:`~model.data.identity.render_silhouette`), else ``None``.
    """
    with autocast(precision, dev):
        tex = net(x_l.contiguous(memory_format=torch.channels_last), mask)
    render = render_texture(renderer, body, verts, cams, tex.float(), lights.to(dev).expand(x_h.shape[0]), x_h)
    with autocast(precision, dev):
        with torch.no_grad():
            target = reid(x_h)
        pred = reid(render)
    loss = reid_feature_distance(pred.features, pred.embedding, target.features, target.embedding, loss_cfg)
    return loss, tex, render


class TextureTrainer(TrainLoop):
    """TexGlo against the frozen ReID network (see the module docstring), run by :class:`TrainLoop`."""

    def __init__(self, config: TextureTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True, max_minutes: float | None = None) -> None:
        rt, o = config.runtime, config.optim
        super().__init__(LoopConfig(
            name=f"texture {config.name}", out_dir=Path(rt.out_dir), total_steps=o.steps, log_every=rt.log_every,
            checkpoint_every=rt.checkpoint_every, seed=rt.seed, threads=rt.threads, max_steps=max_steps,
            max_minutes=max_minutes, show_progress=show_progress, save_when_idle=True,
        ))  # fmt: skip
        self.config = config
        self.device = dev = resolve_device(device)
        self.precision = precision_from_bf16_flag(rt.bf16, dev)
        self.data: IdentitySet = load_identity_set(Path(config.data.dir) / "train.pt")
        self.geometry = load_geometry(config.data.dir, config.geometry, "train")
        self.body = load_body_model().to(dev)
        if self.body.face_uvs is None:
            raise ValueError(f"body model {self.body.name!r} has no UV map; TexGlo needs the free-smpl-layout model")
        if self.data.config.get("body_model") not in (None, self.body.info.model_id):
            raise ValueError(f"identity data rendered with {self.data.config.get('body_model')}, loaded body model is {self.body.info.model_id}")
        reid, self.reid_checkpoint = load_reid(config.reid_checkpoint, dev)
        self.reid = reid.to(memory_format=torch.channels_last)
        self.geo = GeometryBatch(self.geometry, self.body, self.data.crop_size)
        self.renderer = MeshRenderer()
        self.lights = mean_lights(1)
        self.seed()  # the ReID network's construction drew from the generator: TexGlo starts from the seed
        self.net = TexGlo(config.net).to(dev).to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=o.lr, weight_decay=o.weight_decay)
        self.gen = self.seeded_generator_or_resume(resume, rt.seed, TEXTURE_FORMAT, "texture checkpoint", self.net, self.optimizer)

    def lr(self) -> float:
        return self.warmup_cosine_lr(self.config.optim)

    def train_step(self) -> StepOutcome:
        o, dev = self.config.optim, self.device
        self.net.train()
        idx = torch.randint(len(self.data), (o.batch_size,), generator=self.gen)
        x_h = self.data.images[idx].float().div(255.0).to(dev)
        x_l, _ = make_low_res(x_h, o.low_res_range, self.gen)
        verts, cams = self.geo(idx, dev)
        mask = render_silhouette(self.renderer, self.body, verts, cams) if self.config.net.input_mask else None
        loss, _, _ = texture_step_loss(
            self.net, self.reid, self.renderer, self.body, x_h, x_l, verts, cams, self.lights, self.config.loss, dev, self.precision, mask
        )
        loss = loss.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return StepOutcome(loss=loss.item())

    def log_entry(self, outcome: StepOutcome, now: float) -> dict[str, Any]:
        lr = self.optimizer.param_groups[0]["lr"]  # the step's own
        return {"step": self.step, "loss": outcome.loss, "lr": lr, "train_seconds": round(self.wall_seconds, 1)}

    def postfix(self, outcome: StepOutcome) -> dict[str, Any]:
        return {"loss": f"{outcome.loss:.4f}"}

    def state(self) -> dict[str, Any]:
        config, lights = self.config, self.lights
        return {
            "format": TEXTURE_FORMAT, "kind": "texture", "name": config.name, "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(), "generator": self.gen.get_state(), "step": self.step,
            "train_seconds": self.wall_seconds, "net_config": config.net.to_dict(), "train_config": to_plain(config),
            "body_model": body_model_entry(self.body.info), "low_res_range": list(config.optim.low_res_range),
            "geometry": {"source": config.geometry, "checkpoint": self.geometry.get("checkpoint")},
            "reid": {"path": config.reid_checkpoint, "step": int(self.reid_checkpoint["step"])},
            "lights": {k: getattr(lights, k)[0].tolist() for k in ("ambient", "diffuse", "direction")},
            "data": self.data.config,
        }  # fmt: skip


def train_texture(config: TextureTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True, max_minutes: float | None = None) -> dict[str, Any]:
    """Train (or resume) TexGlo; returns the last log entry."""
    return TextureTrainer(config, device, resume, max_steps, show_progress, max_minutes).train()


def export_texture_checkpoint(src: str | Path, dst: str | Path, fp16: bool = True) -> Path:
    """Write the served checkpoint: ``src`` (a ``last.pt``) without optimiser/generator state, weights in fp16."""
    ckpt = load_checkpoint(src, expected_format=TEXTURE_FORMAT, what="texture checkpoint")
    return export_served(ckpt, dst, half=fp16, drop=("optimizer", "generator"))


def train_from_args(args: argparse.Namespace) -> None:
    """Entry point of ``python -m model.train`` for ``kind: texture``."""
    from model.train.__main__ import runtime_overrides

    over = runtime_overrides(args)
    config = load_texture_config(args.config, over["runtime"] if over else None)
    result = train_texture(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress, max_minutes=getattr(args, "max_minutes", None))
    print(json.dumps(result))
    print(f"checkpoint: {Path(config.runtime.out_dir) / 'last.pt'}")

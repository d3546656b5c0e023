"""The RSC-Net trainer: progressive stages, the three losses, resumable checkpoints, DDP.

It configures the shared loop (:class:`model.train.loop.TrainLoop`: budget, learning rate, progress
bar, ``log.jsonl``, periodic and final checkpoints); what is its own is below. One optimiser step
(:meth:`Trainer.train_step`):

1. a batch of ``B`` samples, each at ``K`` resolutions (``images (B, K, 3, S, S)``), augmented
   identically across its resolutions;
2. the network on all ``B*K`` crops (``runtime.precision`` autocast, channels_last), each with its own range row;
3. ``L_b`` (Eq. 8) on every crop against the sample's ground truth; ``L_s`` (Eq. 10, or the SS-o /
   SS-h variants) between the outputs of the K resolutions; ``L_f`` (Eqs. 11-12) between the
   projected features with a queue of negatives; ``L = L_b + w_s L_s + w_f L_f``;
4. Adam step, then the projected features enter the queue.

Progressive training: stage ``s`` activates the rows listed in its config; a row that becomes
active for the first time gets a copy of the row above it (``alpha[r] <- alpha[r-1]``) at the
stage's start. Which rows were initialised is stored in the checkpoint, so resuming never copies a
row twice.

Data: ``data.source`` ``synthetic`` (rendered on the fly), ``shards`` (pre-rendered) or ``real`` (a
SPIN ``.npz`` file, :class:`model.data.real.RealTrainingSet`), batched by
:func:`model.data.dataset.make_loader`.

Checkpoints (``last.pt``, the committed resume file) are written and read by
:mod:`model.nets.checkpoint`; every stretch of a run (one :meth:`Trainer.train` call) is recorded
in ``stretches``.

Distributed: under ``torchrun`` (``WORLD_SIZE > 1``) the network is wrapped in
``DistributedDataParallel`` (gloo on CPU, nccl on CUDA); each rank renders different samples and
keeps its own contrastive queue.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DistributedSampler, WeightedRandomSampler

from model.body import BodyModel, load_body_model
from model.body.joint_names import HIPS, LSP14_FLIP_PERMUTATION, SMPL_FLIP_PERMUTATION
from model.data.augment import augment_batch
from model.data.dataset import ResolutionConfig, SyntheticDataset, make_loader
from model.data.real import RealTrainingSet, SpinNpzDataset
from model.data.shards import ShardDataset
from model.data.synthetic import SyntheticConfig
from model.data.twins import TwinPairSampler, shared_draws
from model.geometry.camera import crop_camera
from model.geometry.rotations import axis_angle_to_matrix
from model.losses import (
    BasicPrediction,
    BasicTarget,
    FeatureQueue,
    basic_loss,
    combine_losses,
    multi_resolution_contrastive_loss,
    output_self_supervision_loss,
)
from model.losses.adversarial import lsgan_discriminator_loss, lsgan_generator_loss
from model.losses.basic import keypoints2d_loss
from model.losses.heading import heading_loss
from model.losses.heatmap import heatmap_loss
from model.losses.parts import part_accuracy, part_loss
from model.losses.twin_pairs import twin_pair_loss
from model.nets import RSCNet
from model.nets.checkpoint import (
    body_model_entry,
    load_checkpoint,
    load_network_file,
    load_resume_file,
    save_checkpoint,
    save_resume_file,
)
from model.nets.pose_discriminator import PoseDiscriminator
from model.runtime import autocast, cpu_name, resolve_device, resolve_precision
from model.train.config import TrainConfig
from model.train.loop import LoopConfig, StepOutcome, TrainLoop

#: 3D joints supervised: LSP-14 (the evaluation layout) then the 24 SMPL joints.
JOINTS3D_LAYOUTS = ("lsp14", "smpl24")
#: Left/right swap of the concatenated 3D joint layouts (for ``loss.basic.either_twin``).
JOINTS3D_FLIP = LSP14_FLIP_PERMUTATION + tuple(len(LSP14_FLIP_PERMUTATION) + i for i in SMPL_FLIP_PERMUTATION)
#: 2D keypoints supervised: COCO-17 then LSP-14.
KEYPOINTS2D_LAYOUTS = ("coco17", "lsp14")


class TrainModule(nn.Module):
    """The network plus its projection head in one ``forward`` (what DDP wraps)."""

    def __init__(self, net: RSCNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, images: Tensor, range_index: Tensor, with_projection: bool, cut: Tensor | None = None
    ) -> tuple[Any, Tensor | None]:
        """``cut``: ``(B,)`` the batch's partial-view flags, read by a network with
        ``NetConfig.cut_input`` (zeros when ``None``) and not given to one without it."""
        out = self.net(images, range_index, cut if self.net.config.cut_input else None)
        proj = self.net.project(out.phi) if with_projection else None
        return out, proj


def predicted_keypoints(body: BodyModel, out: Any, crop_size: int) -> tuple[Tensor, Tensor]:
    """Predicted 3D joints ``(N, 38, 3)`` (LSP-14 + SMPL-24) and 2D keypoints ``(N, 31, 2)`` (COCO + LSP).

    The weak-perspective camera becomes a translation with SPIN's focal length for the crop size.
    """
    posed = body.keypoints_only(out.betas, out.pose_rotmat)
    j3d = torch.cat([posed.keypoints(k) for k in JOINTS3D_LAYOUTS], dim=1)
    kp = torch.cat([posed.keypoints(k) for k in KEYPOINTS2D_LAYOUTS], dim=1)
    _, kp2d = crop_camera(out.camera, crop_size, kp)
    return j3d, kp2d


def compute_losses(
    model: nn.Module,
    body: BodyModel,
    batch: dict[str, Tensor],
    config: TrainConfig,
    queue: FeatureQueue | None,
    discriminator: PoseDiscriminator | None = None,
    precision: str | None = None,
) -> tuple[Tensor, dict[str, float], Tensor | None, Any]:
    """Forward and loss of one batch.

    Args:
        discriminator: the adversarial pose prior; with ``loss.pose_prior_weight > 0`` its
            generator term (least-squares GAN) on the predicted body poses and betas joins the loss.
        precision: a resolved precision (``"bf16"``/``"fp32"``); default: the config's, with
            ``"auto"`` resolved for the batch's device.

    Returns:
        ``(loss, terms, projected features (K, B, D) or None, network output)``.
    """
    images, ranges = batch["images"], batch["range_index"]
    b, k, _, s, _ = images.shape
    flat = images.reshape(b * k, *images.shape[2:])
    if config.runtime.channels_last:
        flat = flat.contiguous(memory_format=torch.channels_last)
    lw = config.loss
    use_cl = lw.contrastive_weight > 0 and k > 1
    if precision is None:
        precision = resolve_precision(config.runtime.precision, flat.device)

    def rep(x: Tensor) -> Tensor:
        return x.repeat_interleave(k, dim=0)

    cut = rep(batch["partial_view"]) if "partial_view" in batch else None  # every resolution of a sample shares its cut
    with autocast(precision, flat.device):
        out, proj = model(flat, ranges.reshape(-1), use_cl, cut)
    j3d, kp2d = predicted_keypoints(body, out, s)

    target = BasicTarget(
        pose=rep(batch["pose"]),
        betas=rep(batch["betas"]),
        has_smpl=rep(batch["has_smpl"]),
        joints3d=rep(torch.cat([batch[f"joints3d_{n}"] for n in JOINTS3D_LAYOUTS], dim=1)),
        has_joints3d=rep(batch["has_joints3d"]),
        keypoints2d=rep(torch.cat([batch[f"keypoints2d_{n}"] for n in KEYPOINTS2D_LAYOUTS], dim=1)),
        joints3d_conf=rep(batch["joints3d_conf"]) if "joints3d_conf" in batch else None,  # real data: annotated joints only
    )
    pred = BasicPrediction(rotmat=out.pose_rotmat, betas=out.betas, joints3d=j3d, keypoints2d=kp2d)
    l_basic, terms = basic_loss(pred, target, float(s), lw.basic, hips=HIPS["lsp14"], flip_permutation=JOINTS3D_FLIP)
    l_ss = None
    if lw.self_supervision_weight > 0 and k > 1:
        per_res = [
            {"rotmat": out.pose_rotmat.view(b, k, 24, 3, 3)[:, i], "betas": out.betas.view(b, k, -1)[:, i], "cam": out.camera.view(b, k, 3)[:, i]}
            for i in range(k)
        ]
        l_ss, _ = output_self_supervision_loss(
            per_res, lw.self_supervision_output_weights, lw.self_supervision_mode, normalize_by_resolutions=lw.normalize_by_resolutions
        )
    l_cl, feats = None, None
    if use_cl and proj is not None:
        feats = proj.float().view(b, k, -1).transpose(0, 1)  # (K, B, D)
        l_cl = multi_resolution_contrastive_loss(
            feats, queue, batch["index"], tau=lw.tau, kind=lw.contrastive_kind, mode=lw.contrastive_mode,
            normalize_by_resolutions=lw.normalize_by_resolutions,
        )
    l_prior = None
    if discriminator is not None and lw.pose_prior_weight > 0:
        l_prior = lsgan_generator_loss(discriminator(out.pose_rotmat, out.betas))
    l_kp = None
    if out.keypoints2d is not None and lw.keypoint_head_weight > 0:
        if lw.keypoint_head_loss == "heatmap":
            assert out.keypoint_logits is not None  # set whenever keypoints2d is
            l_kp = heatmap_loss(out.keypoint_logits, rep(batch["keypoints2d_coco17"]), float(s), lw.keypoint_heatmap_sigma)
        else:
            head_uv = (out.keypoints2d + 1.0) * (s / 2.0)  # normalised -> crop pixels
            l_kp = keypoints2d_loss(head_uv, rep(batch["keypoints2d_coco17"]), float(s))
    l_head = None
    if out.heading_logits is not None and lw.heading_head_weight > 0:
        true_root = axis_angle_to_matrix(rep(batch["pose"])[:, 0].float())
        l_head = heading_loss(out.heading_logits, true_root, rep(batch["has_smpl"]))
    l_twin = None
    if lw.twin_pair_weight > 0:
        l_twin = twin_pair_loss(j3d.view(b, k, *j3d.shape[1:]), target.joints3d[::k], batch["index"], HIPS["lsp14"])
    l_parts = None
    if out.part_logits is not None and lw.part_head_weight > 0:
        if "parts" not in batch:
            raise ValueError("loss.part_head_weight > 0 needs part maps in the batch: shards rendered with --part-maps")
        l_parts = part_loss(out.part_logits, batch["parts"])
    total, combined = combine_losses(
        l_basic, l_ss, l_cl, lw, pose_prior=l_prior, keypoint_head=l_kp, heading_head=l_head, twin_pair=l_twin, part_head=l_parts
    )
    terms = {**{f"basic/{n}": v for n, v in terms.items()}, **combined}
    if l_parts is not None:
        terms["part_head/accuracy"] = float(part_accuracy(out.part_logits.detach(), batch["parts"]))
    return total, terms, None if feats is None else feats.detach(), out


def _dist_info() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


class Trainer(TrainLoop):
    """Runs a :class:`TrainConfig` with :class:`~model.train.loop.TrainLoop`; see the module docstring.

    Args:
        config: the run.
        device: ``"cpu"``/``"cuda"``; default CUDA when available.
        resume: continue from ``<out_dir>/last.pt`` when it exists, else from the config's
            committed ``runtime.resume_file`` when that exists (fresh optimiser with a warm-up).
        max_steps: stop after this many optimiser steps in this call (tests, time boxes).
        show_progress: draw a progress bar (rank 0).
        max_minutes: stop (and checkpoint) after this many minutes of wall time in this call.
    """

    def __init__(
        self,
        config: TrainConfig,
        device: str | None = None,
        resume: bool = False,
        max_steps: int | None = None,
        show_progress: bool = True,
        max_minutes: float | None = None,
    ) -> None:
        self.config = config
        self.rank, self.world = _dist_info()
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and device != "cpu" else "gloo"
            dist.init_process_group(backend)
        if device is None and self.world > 1 and torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        rt = config.runtime
        super().__init__(LoopConfig(
            name=config.name, out_dir=Path(rt.out_dir), total_steps=config.total_steps, log_every=rt.log_every,
            checkpoint_every=rt.checkpoint_every, seed=rt.seed, threads=rt.threads, max_steps=max_steps,
            max_minutes=max_minutes, show_progress=show_progress, is_main=self.rank == 0,
        ))  # fmt: skip
        self.device = resolve_device(device)
        #: The precision the run computes in (``runtime.precision`` resolved for this machine).
        self.precision = resolve_precision(config.runtime.precision, self.device)
        self.body = load_body_model().to(self.device)
        self.net = RSCNet(config.net, self.body.mean_params).to(self.device)
        if config.runtime.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.module: nn.Module = TrainModule(self.net)
        if self.world > 1:
            # The projection head is idle whenever a batch has a single resolution (K = 1).
            self.module = nn.parallel.DistributedDataParallel(self.module, find_unused_parameters=True)
        self.optimizer = torch.optim.Adam(self._param_groups(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
        #: The adversarial pose prior (``None`` when ``loss.pose_prior_weight`` is 0).
        self.discriminator: PoseDiscriminator | None = None
        self.disc_optimizer: torch.optim.Optimizer | None = None
        if config.loss.pose_prior_weight > 0:
            prior = config.adversarial_prior
            self.discriminator = PoseDiscriminator(prior.discriminator).to(self.device)
            self.disc_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=prior.lr, weight_decay=prior.weight_decay)
        self.queue = FeatureQueue(config.loss.queue_size, config.net.projection_dim).to(self.device)
        self.epoch = 0
        self.alpha_initialised: list[int] = [0]
        self.aug_gen = torch.Generator().manual_seed(config.runtime.seed * 1000 + self.rank)
        #: What the weights started from (``None``: random initialisation).
        self.initialised_from: dict[str, Any] | None = None
        #: One entry per stretch of the run (a call of :meth:`train`): steps, crops and time it added.
        self.stretches: list[dict[str, Any]] = []
        #: How this call started: ``"new"``, ``"init"``, ``"last.pt"`` or ``"resume_file"``.
        self.started_from = "new"
        #: Optimiser step at which the optimiser last restarted (a warm-up follows a resume file).
        self.optimizer_restart_step: int | None = None
        resume_file = Path(config.runtime.resume_file) if config.runtime.resume_file else None
        last = self.resume_path(resume)
        if last is not None:
            self._restore(last)
            self.started_from = "last.pt"
        elif resume and resume_file is not None and resume_file.is_file():
            self._restore_resume_file(resume_file)
            self.started_from = "resume_file"
        elif config.init.checkpoint is not None:
            self._initialise_from(Path(config.init.checkpoint))
            self.started_from = "init"
        self.sample_weights: Tensor | None = None  # per-scene sampling weights (data.family_weights)
        self.dataset = self._build_dataset()
        #: Whether batches hold twin pairs (twin-pair shards): drawn and augmented pair by pair.
        self._twin_pairs = isinstance(self.dataset, ShardDataset) and self.dataset.twin_pairs
        if config.data.twin_pair_share < 1.0 and not self._twin_pairs:
            raise ValueError(f"data.twin_pair_share {config.data.twin_pair_share} needs twin-pair shards (model.data.shards --twin-pairs); {config.data.shards} holds none")

    def _param_groups(self) -> list[dict[str, Any]]:
        """The network's parameters; the part head in a group of its own at ``optim.part_head_lr_scale``."""
        head = self.net.part_head
        if head is None or self.config.optim.part_head_lr_scale == 1.0:
            return [{"params": list(self.net.parameters())}]
        own = {id(p) for p in head.parameters()}
        rest = [p for p in self.net.parameters() if id(p) not in own]
        return [{"params": rest}, {"params": list(head.parameters()), "lr_scale": self.config.optim.part_head_lr_scale}]

    # ------------------------------------------------------------------ data
    def _build_dataset(self) -> torch.utils.data.Dataset:
        cfg = self.config
        res = ResolutionConfig(
            ranges=cfg.resolution.ranges,
            out_size=cfg.net.input_size,
            per_sample=cfg.resolution.per_sample,
            active=cfg.stages[cfg.stage_at(self.step)].ranges,
            degrade=cfg.resolution.degrade,
            partial_view=cfg.data.partial_view,
        )
        if cfg.data.source == "shards":
            shards = ShardDataset(cfg.data.shards, res)
            if cfg.data.family_weights is not None:
                if self.world > 1:
                    raise ValueError("data.family_weights is for one process (a weighted sampler); distributed runs read every scene")
                self.sample_weights = shards.family_sampling_weights(cfg.data.family_weights)
            return shards
        if cfg.data.source == "real":
            real = SpinNpzDataset(cfg.data.real_npz, cfg.data.real_images, input_size=cfg.data.crop_size)
            return RealTrainingSet(real, res, seed=cfg.data.seed)
        syn = SyntheticConfig(
            crop_size=cfg.data.crop_size, seed=cfg.data.seed, occluder_prob=cfg.data.occluder_prob,
            framing=cfg.data.framing, poses=cfg.data.poses,
        )
        return SyntheticDataset(cfg.data.synthetic_length, syn, res)

    def _batches(self) -> Iterator[dict[str, Tensor]]:
        cfg = self.config
        while True:
            self.dataset.set_epoch(self.epoch)
            sampler: torch.utils.data.Sampler | None = None
            if self.world > 1:
                sampler = DistributedSampler(self.dataset, self.world, self.rank, shuffle=True, seed=cfg.runtime.seed, drop_last=True)
                sampler.set_epoch(self.epoch)
            elif self._twin_pairs:  # whole pairs, side by side
                draws = torch.Generator().manual_seed(cfg.runtime.seed * 7919 + self.epoch)
                sampler = TwinPairSampler(
                    len(self.dataset), draws, self.sample_weights, pair_share=cfg.data.twin_pair_share, batch_size=cfg.optim.batch_size,
                )
            elif self.sample_weights is not None:  # data.family_weights: an epoch of draws with replacement
                draws = torch.Generator().manual_seed(cfg.runtime.seed * 7919 + self.epoch)
                sampler = WeightedRandomSampler(self.sample_weights, len(self.sample_weights), replacement=True, generator=draws)
            workers = cfg.runtime.workers
            loader = make_loader(
                self.dataset, cfg.optim.batch_size, workers, shuffle=sampler is None, seed=cfg.runtime.seed * 7919 + self.epoch,
                sampler=sampler, drop_last=True, prefetch_factor=4 if workers > 0 else None,
            )
            stage = cfg.stage_at(self.step)
            for batch in loader:
                yield batch
                if cfg.stage_at(self.step) != stage:  # a new stage: new active ranges, new loader
                    break
            else:
                self.epoch += 1

    # ------------------------------------------------------------------ stages
    def _enter_stage(self, stage: int) -> None:
        active = self.config.stages[stage].ranges
        for r in sorted(active):
            if r not in self.alpha_initialised:
                if self.net.backbone.resolution_aware and r > 0:
                    self.net.copy_alpha_row(r - 1, r)
                self.alpha_initialised.append(r)
        self.dataset.set_active_ranges(active)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        cfg = self.config
        state = {
            "model": self.net.state_dict(),
            "net_config": cfg.net.to_dict(),
            "train_config": cfg.to_dict(),
            "body_model": body_model_entry(self.body.info),
            "resolution_bounds": list(cfg.resolution.bounds),
            "input_size": cfg.net.input_size,
            "step": self.step,
            "stage": cfg.stage_at(max(self.step - 1, 0)),
            "epoch": self.epoch,
            "alpha_initialised": list(self.alpha_initialised),
            "optimizer": self.optimizer.state_dict(),
            "queue": self.queue.state_dict(),
            "wall_seconds": self.wall_seconds,
            "initialised_from": self.initialised_from,
            "stretches": [dict(s) for s in self.stretches],
            "optimizer_restart_step": self.optimizer_restart_step,
        }
        if self.discriminator is not None and self.disc_optimizer is not None:
            state["discriminator"] = self.discriminator.state_dict()
            state["disc_optimizer"] = self.disc_optimizer.state_dict()
        return state

    def save(self, name: str = "last.pt") -> Path:  # type: ignore[override]
        """Write ``<out_dir>/<name>`` (full state) and, when configured, the committed resume file."""
        state = self.state()
        path = save_checkpoint(state, self.out_dir / name)
        if self.config.runtime.resume_file:
            save_resume_file(state, self.config.runtime.resume_file)
        return path

    def _load_same_body(self, path: Path, resume_file: bool = False, weights_only_source: bool = False) -> dict[str, Any]:
        """A checkpoint of a run with this run's body model (else ``ValueError``).

        ``weights_only_source``: the file only gives weights (``init.checkpoint``), so a training
        checkpoint and a long run's committed resume file are both accepted.
        """
        if resume_file:
            ckpt = load_resume_file(path, self.device)
        elif weights_only_source:
            ckpt = load_network_file(path, map_location=self.device)
        else:
            ckpt = load_checkpoint(path, map_location=self.device)
        if ckpt["body_model"]["sha256"] != self.body.info.sha256:
            raise ValueError(f"{path} was trained with body model {ckpt['body_model']['model_id']}, not {self.body.info.model_id}")
        return ckpt

    def _initialise_from(self, path: Path) -> None:
        """Start from another run's network weights (config ``init.checkpoint``: a training
        checkpoint or a committed resume file); strict."""
        ckpt = self._load_same_body(path, weights_only_source=True)
        if int(ckpt["input_size"]) != self.config.net.input_size and not self.config.init.new_input_size:
            raise ValueError(
                f"{path} has input size {ckpt['input_size']}, this run {self.config.net.input_size} "
                "(set init.new_input_size: true to start from it anyway)"
            )
        report = self.net.initialise_from(ckpt["model"])
        if "backbone.alpha" not in report.newly_initialised and self.net.backbone.resolution_aware:
            # The source's resolution table was trained: its rows are not copied again on entering a stage.
            n = self.net.backbone.num_ranges
            self.alpha_initialised = sorted({0, *(int(r) for r in ckpt.get("alpha_initialised", [0]) if int(r) < n)})
        self.initialised_from = {
            "checkpoint": str(path),
            "step": int(ckpt.get("step", 0)),
            "name": str(ckpt.get("train_config", {}).get("name", "")),
            "newly_initialised": list(report.newly_initialised),
        }
        if self.rank == 0:
            print(f"initialised from {path} (step {self.initialised_from['step']}): {report}")

    def _restore_position(self, ckpt: dict[str, Any]) -> None:
        self.net.load_state_dict(ckpt["model"], strict=True)
        self.step = int(ckpt["step"])
        self.epoch = int(ckpt.get("epoch", 0)) + 1
        self.alpha_initialised = [int(r) for r in ckpt["alpha_initialised"]]
        self.wall_seconds = float(ckpt.get("wall_seconds", 0.0))
        self.initialised_from = ckpt.get("initialised_from")
        self.stretches = [dict(s) for s in ckpt.get("stretches", [])]

    def _restore(self, path: Path) -> None:
        ckpt = self._load_same_body(path)
        self._restore_position(ckpt)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.queue.load_state_dict(ckpt["queue"])
        self.optimizer_restart_step = ckpt.get("optimizer_restart_step")
        if self.discriminator is not None and self.disc_optimizer is not None and "discriminator" in ckpt:
            self.discriminator.load_state_dict(ckpt["discriminator"], strict=True)
            self.disc_optimizer.load_state_dict(ckpt["disc_optimizer"])

    def _restore_resume_file(self, path: Path) -> None:
        """Continue from the committed resume file: weights and position; optimiser, queue and
        discriminator restart, the learning rate warms up again (see :meth:`_lr`)."""
        ckpt = self._load_same_body(path, resume_file=True)
        if int(ckpt["input_size"]) != self.config.net.input_size:
            raise ValueError(f"{path} has input size {ckpt['input_size']}, this run {self.config.net.input_size}")
        ckpt["model"], added = self.net.with_new_inputs(ckpt["model"])  # e.g. a stretch that adds the cut input
        self._restore_position(ckpt)
        self.optimizer_restart_step = self.step
        if self.rank == 0:
            print(
                f"resumed from the committed file {path} at step {self.step}: weights restored (fp16); the optimiser, "
                f"contrastive queue and discriminator restart, learning-rate warm-up over "
                f"{self.config.runtime.resume_warmup_steps} steps"
                + (f"; new input(s) {added} start at zero (same answers)" if added else "")
            )

    # ------------------------------------------------------------------ loop
    def lr(self) -> float:
        lr = self.config.optim.lr_at(self.step, self.config.total_steps)
        warm = self.config.runtime.resume_warmup_steps
        if self.optimizer_restart_step is not None and warm > 0:
            lr *= min(1.0, (self.step - self.optimizer_restart_step + 1) / warm)
        return lr

    def _discriminator_step(self, batch: dict[str, Tensor], out: Any) -> float:
        """One least-squares GAN step of the pose discriminator: the batch's ground-truth poses and
        betas (drawn from the synthetic pose prior) are real, the network's outputs generated."""
        assert self.discriminator is not None and self.disc_optimizer is not None
        real_pose = axis_angle_to_matrix(batch["pose"].reshape(-1, 24, 3).float())
        real = self.discriminator(real_pose, batch["betas"].float())
        fake = self.discriminator(out.pose_rotmat.detach().float(), out.betas.detach().float())
        loss = lsgan_discriminator_loss(real, fake)
        self.disc_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.disc_optimizer.step()
        return float(loss.detach())

    def _stretch_record(self, start_step: int, crops: int, seconds: float) -> dict[str, Any]:
        cfg = self.config
        return {
            "start_step": start_step,
            "end_step": self.step,
            "crops": crops,
            "wall_seconds": round(seconds, 1),
            "started_from": self.started_from,
            "device": str(self.device) if self.device.type != "cpu" else cpu_name(),
            "threads": cfg.runtime.threads,
            "workers": cfg.runtime.workers,
            "precision": self.precision,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }

    def on_start(self, end: int) -> None:
        cfg = self.config
        if self.rank == 0 and self.started_from == "resume_file":
            self.write_log({"event": "resumed_from_file", "file": cfg.runtime.resume_file, "step": self.step,
                            "optimizer": "restarted", "warmup_steps": cfg.runtime.resume_warmup_steps})  # fmt: skip
        self.stage = cfg.stage_at(self.step)
        self._enter_stage(self.stage)
        self.module.train()
        self._t_last, self._samples = time.perf_counter(), 0
        self._start_step, self._crops, self._t_start = self.step, 0, time.perf_counter()
        self.stretches.append(self._stretch_record(self._start_step, 0, 0.0))
        self._batch_iter = self._batches()

    def train_step(self) -> StepOutcome:
        cfg = self.config
        new_stage = cfg.stage_at(self.step)
        if new_stage != self.stage:
            self.stage = new_stage
            self._enter_stage(self.stage)
            self._batch_iter = self._batches()
        batch = next(self._batch_iter)
        batch = augment_batch(batch, cfg.augment, self.aug_gen, shared_draws(batch["index"]) if self._twin_pairs else None)
        batch = {k: v.to(self.device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}
        loss, terms, feats, out = compute_losses(self.module, self.body, batch, cfg, self.queue, self.discriminator, self.precision)
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"loss is {float(loss)} at step {self.step}: {terms}")
        self.optimizer.zero_grad(set_to_none=True)
        if self.disc_optimizer is not None:
            self.disc_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), cfg.optim.grad_clip)
        self.optimizer.step()
        if self.discriminator is not None:
            terms["discriminator"] = self._discriminator_step(batch, out)
        if feats is not None:
            self.queue.enqueue_resolutions(feats, batch["index"])
        b, k = batch["images"].shape[:2]
        self._samples += b
        self._crops += b * k
        return StepOutcome(loss=float(loss.detach()), terms=terms)

    def on_step_end(self, outcome: StepOutcome, step_seconds: float, now: float) -> None:
        self.stretches[-1] = self._stretch_record(self._start_step, self._crops, now - self._t_start)

    def postfix(self, outcome: StepOutcome) -> dict[str, Any]:
        return {"loss": f"{outcome.loss:.3f}", "stage": self.stage}

    def log_entry(self, outcome: StepOutcome, now: float) -> dict[str, Any]:
        entry = {"step": self.step, "stage": self.stage, "epoch": self.epoch, "lr": self.lr(),
                 "samples_per_s": self._samples / max(now - self._t_last, 1e-9), "wall_seconds": self.wall_seconds,
                 **outcome.terms}  # fmt: skip
        self._t_last, self._samples = now, 0
        return entry

    def train(self) -> dict[str, Any]:
        """Train until the schedule ends (or ``max_steps`` more steps, or ``max_minutes``); returns
        the last log line. The stretch this call added is recorded in the checkpoint."""
        last = super().train()
        if self.world > 1:  # each rank records its weights' checksum: DDP keeps them identical
            checksum = float(sum(p.detach().double().sum() for p in self.net.parameters()))
            record = {"rank": self.rank, "world": self.world, "step": self.step, "param_checksum": checksum}
            (self.out_dir / f"rank{self.rank}.json").write_text(json.dumps(record))
        return last

"""Training of the video model: temporal GRU regressor + motion discriminator on frozen RSC-Net features.

``python -m model.train --config configs/train/video-cpu.yaml [--resume]`` (``kind: video``).

1. **Feature cache** (:func:`build_feature_cache`, once, with a progress bar): synthetic CCTV clips
   of :mod:`model.data.sequences` are rendered at the backbone's input size, each degraded
   ``degradations_per_clip`` times to a resolution drawn in ``resolution_range`` (the same for a
   whole clip, per-frame random noise/blur/JPEG in ``realistic`` mode) and back up, and the frozen
   single-frame network gives every frame's pooled feature ``phi``. The cache holds ``phi`` and the
   clips' ground truth; it is rebuilt when the backbone or the data settings change.
2. **Real motion** for the discriminator: clips of the procedural motion prior
   (:func:`model.data.motion.sample_clip`) drawn from ``real_motion_seed``, never the seeds the
   training clips use.
3. **Steps**: random windows of ``seq_len`` frames, frames dropped with ``frame_drop_prob`` (the
   model sees the gap-filled features and must still predict those frames); a fraction
   ``static_prob`` of the windows repeats one frame (a person who does not move, a paused
   stream), ``L = L_b + w_adv * L_adv (+ w_acc * L_acc) (+ w_static * L_static)``, where ``L_b``
   is the basic loss (Eq. 8) on every
   frame, ``L_adv`` the LSGAN generator loss of the motion discriminator and ``L_acc`` an optional
   acceleration loss on pelvis-centred 3D joints and ``L_static`` the mean squared distance of the
   pelvis-centred SMPL-24 joints of a repeated-frame window to the frozen single-frame answer for
   that frame (when nothing moves, time adds nothing: the video answer should be the single-frame
   one, with no drift), and optionally ``+ w_rv * L_rv``, the root angular-velocity loss
   (:mod:`model.losses.root_velocity`, against facing flips); then one discriminator step on real vs generated
   (detached) body-pose sequences. Unlike the single-frame trainer, ``L_b``'s joint terms use the
   24 SMPL-layout joints only (3D, and 2D projected), which :meth:`BodyModel.joints_only` gives
   without skinning the mesh: a batch holds ``B x T`` = 512 frames, and skinning 13718 vertices
   for each made a CPU step ~10x slower. Pose and betas are supervised as in Eq. 8.

The temporal module's regressor starts as a copy of the single-frame regressor and its residual
projection at zero, so step 0 is exactly the single-frame model. With ``optim.train_regressor:
false`` the regressor stays that copy and only the temporal encoder learns.

The frozen single-frame network is loaded through :mod:`model.nets.checkpoint` and run by
:class:`model.nets.frozen.FrozenBackbone` (the predictor's precision and memory layout), so the
features seen in training are those seen when serving; :mod:`model.data.video_features` builds the
feature cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from model.body import BodyModel, load_body_model
from model.body.joint_names import HIPS
from model.data.degrade import DegradeConfig
from model.data.motion import MotionConfig, sample_clip
from model.data.synthetic import generator_for
from model.data.video_features import GT_KEYS, build_feature_cache
from model.geometry.camera import crop_camera
from model.geometry.rotations import axis_angle_to_matrix
from model.losses import BasicLossConfig, BasicPrediction, BasicTarget, basic_loss, root_velocity_loss
from model.losses.adversarial import lsgan_discriminator_loss, lsgan_generator_loss
from model.losses.basic import pelvis_centre
from model.nets.checkpoint import (
    VIDEO_FORMAT,
    body_model_entry,
    load_checkpoint,
    load_rscnet,
)
from model.nets.frozen import FrozenBackbone
from model.nets.motion_discriminator import (
    MotionDiscriminator,
    MotionDiscriminatorConfig,
)
from model.nets.temporal import TemporalConfig, TemporalRegressor
from model.runtime import atomic_save, resolve_device
from model.train.config import load_kind_config, to_plain
from model.train.loop import LoopConfig, StepOutcome, TrainLoop
from model.train.schedule import lr_factor

__all__ = [
    "VideoTrainConfig",
    "VideoTrainer",
    "load_video_config",
    "real_motion_bank",
    "train_from_args",
]

#: Floor of the weak-perspective scale in the 2D loss (people filling the crop have s ~ 0.8-1).
MIN_CAMERA_SCALE = 0.05


@dataclass(frozen=True)
class VideoDataConfig:
    """Training clips and their degradation.

    Attributes:
        clips: number of rendered clips.
        clip_length: frames per clip (training windows are cut from them).
        seed: seed of the synthetic people (identities, textures, backgrounds).
        offset: index of the first clip (evaluation uses another seed, see :mod:`model.eval.video`).
        resolution_range: ``(low, high)`` person-crop sizes in pixels, drawn per clip and degradation.
        degradations_per_clip: independent degradations of each rendered clip.
        degrade: degradation settings (``realistic`` by default).
        box_jitter: per-frame tracker noise of the crop boxes (see :class:`model.data.sequences.SequenceConfig`).
        orbit_fraction: fraction of the clips seen by a moving camera that turns around the
            person (:attr:`model.data.sequences.SequenceConfig.orbit_deg_range`), so that the
            side of the body in view changes within a clip; the others keep a static camera.
        orbit_deg_range: ``(lo, hi)`` degrees the moving camera's azimuth sweeps over a clip.
        cache: feature cache file.
        real_motion_clips: clips of "real" motion for the discriminator.
        real_motion_seed: their seed.
    """

    clips: int = 600
    clip_length: int = 32
    seed: int = 0
    offset: int = 0
    resolution_range: tuple[int, int] = (24, 64)
    degradations_per_clip: int = 2
    degrade: DegradeConfig = field(default_factory=lambda: DegradeConfig(mode="realistic"))
    box_jitter: float = 0.02
    orbit_fraction: float = 0.0
    orbit_deg_range: tuple[float, float] = (60.0, 180.0)
    cache: str = "data/video/train-features.pt"
    real_motion_clips: int = 2000
    real_motion_seed: int = 4242

    def __post_init__(self) -> None:
        lo, hi = self.resolution_range
        if not 8 <= lo <= hi:
            raise ValueError(f"resolution_range must be (low, high) with 8 <= low <= high, got {self.resolution_range}")
        if not 0.0 <= self.orbit_fraction <= 1.0:
            raise ValueError(f"orbit_fraction must be in [0, 1], got {self.orbit_fraction}")
        olo, ohi = self.orbit_deg_range
        if not 0.0 <= olo <= ohi <= 360.0:
            raise ValueError(f"orbit_deg_range must be (lo, hi) with 0 <= lo <= hi <= 360, got {self.orbit_deg_range}")
        if self.clips < 1 or self.clip_length < 2 or self.degradations_per_clip < 1 or self.real_motion_clips < 1:
            raise ValueError("clips, degradations_per_clip and real_motion_clips must be >= 1 and clip_length >= 2")


@dataclass(frozen=True)
class VideoLossConfig:
    """``L = L_b + adversarial_weight * L_adv + accel_weight * L_acc + static_weight * L_static
    + root_velocity_weight * L_rv`` (see the module docstring; ``L_static`` only on the
    repeated-frame windows of :attr:`VideoOptimConfig.static_prob`; ``L_rv``:
    :func:`model.losses.root_velocity_loss`, the squared angle between the predicted and the true
    frame-to-frame change of the root rotation, against facing flips; a change within
    ``root_velocity_margin_deg`` of the true one is free).

    ``static_ground_truth``: whether the repeated-frame windows also get ``L_b`` against the ground
    truth. With it the GRU may answer a still frame better than the single-frame network (it is an
    extra layer over ``phi``) and so settle away from that answer; without it, those windows only
    ask for the single-frame answer.
    """

    basic: BasicLossConfig = field(default_factory=lambda: BasicLossConfig(betas_weight=0.1))
    adversarial_weight: float = 0.05
    accel_weight: float = 0.0
    static_weight: float = 0.0
    static_ground_truth: bool = True
    root_velocity_weight: float = 0.0
    root_velocity_margin_deg: float = 0.0

    def __post_init__(self) -> None:
        if min(self.adversarial_weight, self.accel_weight, self.static_weight, self.root_velocity_weight, self.root_velocity_margin_deg) < 0:
            raise ValueError("loss weights must be >= 0")


@dataclass(frozen=True)
class VideoOptimConfig:
    """Adam for the temporal model (``lr``) and the discriminator (``disc_lr``); ``static_prob`` is
    the fraction of training windows that repeat a single frame; ``train_regressor: false`` keeps
    the regressor the single-frame one (only the temporal encoder learns), so that with
    ``temporal.gru_input: motion`` a still input gets exactly the single-frame answer."""

    lr: float = 3e-4
    disc_lr: float = 1e-4
    batch_size: int = 32
    seq_len: int = 16
    steps: int = 3000
    warmup_steps: int = 100
    grad_clip: float | None = 5.0
    frame_drop_prob: float = 0.1
    static_prob: float = 0.0
    train_regressor: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.train_regressor, bool):
            raise ValueError(f"train_regressor must be a bool, got {self.train_regressor!r}")
        if self.lr <= 0 or self.disc_lr <= 0 or self.batch_size < 1 or self.seq_len < 1 or self.steps < 1:
            raise ValueError("lr, disc_lr must be > 0; batch_size, seq_len, steps >= 1")
        if not 0.0 <= self.frame_drop_prob < 1.0:
            raise ValueError(f"frame_drop_prob must be in [0, 1), got {self.frame_drop_prob}")
        if not 0.0 <= self.static_prob <= 1.0:
            raise ValueError(f"static_prob must be in [0, 1], got {self.static_prob}")


@dataclass(frozen=True)
class VideoRuntimeConfig:
    threads: int = 1
    log_every: int = 50
    checkpoint_every: int = 500
    seed: int = 0
    out_dir: str = "runs/video-cpu"


@dataclass(frozen=True)
class VideoTrainConfig:
    """A video-model run (``configs/train/video-*.yaml``, ``kind: video``).

    Attributes:
        name, description: recorded in checkpoints.
        backbone_checkpoint: the frozen single-frame RSC-Net checkpoint giving the features.
        temporal: the temporal module (``feature_dim`` and the regressor sizes are taken from the
            backbone, whose regressor it starts from).
        discriminator: the motion discriminator.
        data, loss, optim, runtime: see their classes.
    """

    name: str
    backbone_checkpoint: str
    description: str = ""
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    discriminator: MotionDiscriminatorConfig = field(default_factory=MotionDiscriminatorConfig)
    data: VideoDataConfig = field(default_factory=VideoDataConfig)
    loss: VideoLossConfig = field(default_factory=VideoLossConfig)
    optim: VideoOptimConfig = field(default_factory=VideoOptimConfig)
    runtime: VideoRuntimeConfig = field(default_factory=VideoRuntimeConfig)

    def __post_init__(self) -> None:
        if self.optim.seq_len > self.data.clip_length:
            raise ValueError(f"optim.seq_len ({self.optim.seq_len}) must be <= data.clip_length ({self.data.clip_length})")
        if self.loss.static_weight > 0 and self.optim.static_prob == 0:
            raise ValueError("loss.static_weight needs optim.static_prob > 0 (it acts on the repeated-frame windows only)")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "video", **to_plain(self)}


def load_video_config(path: str | Path, overrides: dict[str, Any] | None = None) -> VideoTrainConfig:
    """Read and validate a ``kind: video`` config (unknown keys are errors)."""
    return load_kind_config(VideoTrainConfig, path, "video", overrides)


# --------------------------------------------------------------------------- data
def cache_key(backbone: FrozenBackbone, config: VideoDataConfig) -> str:
    """Identifies what a feature cache was built from (backbone weights + data settings)."""
    text = json.dumps({"backbone": backbone.checkpoint_id, "data": to_plain(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def training_sizes(config: VideoDataConfig) -> Tensor:
    """``(clips, K)`` crop sizes drawn uniformly in ``resolution_range`` (seeded)."""
    lo, hi = config.resolution_range
    g = generator_for(config.seed, "video-sizes", config.offset)
    return torch.randint(lo, hi + 1, (config.clips, config.degradations_per_clip), generator=g)


def orbit_clips(config: VideoDataConfig) -> Tensor:
    """``(clips,)`` bool: which training clips a moving camera sees (seeded, ``orbit_fraction`` of them)."""
    g = generator_for(config.seed, "video-orbit", config.offset)
    return torch.rand(config.clips, generator=g) < config.orbit_fraction


def load_or_build_cache(backbone: FrozenBackbone, config: VideoDataConfig, progress: bool = True) -> dict[str, Tensor]:
    path = Path(config.cache)
    key = cache_key(backbone, config)
    if path.is_file():
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.get("key") == key:
            return data
    data = build_feature_cache(
        backbone, config.seed, config.clips, config.offset, config.clip_length, training_sizes(config),
        config.degrade, config.box_jitter, progress, desc="video training features",
        orbit=orbit_clips(config) if config.orbit_fraction > 0 else None, orbit_deg_range=config.orbit_deg_range,
    )
    data["key"] = key
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save(data, path)
    return data


def real_motion_bank(clips: int, length: int, seed: int, fps: float = 25.0) -> Tensor:
    """``(clips, length, 24, 3)`` axis-angle poses of the procedural motion prior (the "real" motion)."""
    cfg = MotionConfig(length=length, fps=fps)
    return torch.stack([sample_clip(cfg, generator_for(seed, "real-motion", i)).pose for i in range(clips)])


# --------------------------------------------------------------------------- losses
def frame_targets(batch: dict[str, Tensor], windows: Tensor | None = None) -> BasicTarget:
    """Per-frame :class:`BasicTarget` of a ``(B, T, ...)`` window, flattened to ``B*T`` samples.

    ``windows``: ``(B,)`` bool, the windows whose labels count (``None``: all); the frames of the
    others are masked out of every term.
    """
    b, t = batch["pose"].shape[:2]
    n = b * t
    flat = lambda key: batch[key].reshape(n, *batch[key].shape[2:])
    dev = batch["pose"].device
    used = torch.ones(n, device=dev) if windows is None else windows.to(dev).float()[:, None].expand(b, t).reshape(n)
    return BasicTarget(
        pose=flat("pose"),
        betas=flat("betas"),
        has_smpl=used,
        joints3d=flat("joints3d_smpl24"),
        has_joints3d=used,
        keypoints2d=flat("keypoints2d_smpl24"),
        has_keypoints2d=used,
    )


def predicted_joints(body: BodyModel, betas: Tensor, pose_rotmat: Tensor, camera: Tensor, crop_size: int) -> tuple[Tensor, Tensor]:
    """SMPL-24 joints ``(N, 24, 3)`` and their projection ``(N, 24, 2)`` in crop pixels (SPIN camera).

    The weak-perspective scale is floored at :data:`MIN_CAMERA_SCALE` for the projection: a scale
    near zero or negative puts the body at or behind the camera, where the projection (and the 2D
    loss) is unbounded; one such frame made a run diverge at step 2400.
    """
    joints = body.joints_only(betas, pose_rotmat)
    _, pixels = crop_camera(camera, crop_size, joints, min_scale=MIN_CAMERA_SCALE)
    return joints, pixels


def acceleration_loss(pred: Tensor, gt: Tensor, hips: tuple[int, int]) -> Tensor:
    """MSE between second differences of pelvis-centred joints, ``(B, T, J, 3)`` each (T >= 3)."""

    def centred(x: Tensor) -> Tensor:
        return pelvis_centre(x, hips)

    def acc(x: Tensor) -> Tensor:
        return x[:, :-2] - 2 * x[:, 1:-1] + x[:, 2:]

    return (acc(centred(pred)) - acc(centred(gt))).square().sum(-1).mean()


# --------------------------------------------------------------------------- trainer
class VideoTrainer(TrainLoop):
    """Runs a :class:`VideoTrainConfig` (see the module docstring) with :class:`TrainLoop`."""

    def __init__(self, config: VideoTrainConfig, device: str | None = None, resume: bool = False, max_steps: int | None = None, show_progress: bool = True, max_minutes: float | None = None) -> None:
        rt = config.runtime
        super().__init__(LoopConfig(
            name=config.name, out_dir=Path(rt.out_dir), total_steps=config.optim.steps, log_every=rt.log_every,
            checkpoint_every=rt.checkpoint_every, seed=rt.seed, threads=rt.threads, max_steps=max_steps,
            max_minutes=max_minutes, show_progress=show_progress,
        ))  # fmt: skip
        self.config = config
        self.device = resolve_device(device)
        self.body: BodyModel = load_body_model().to(self.device)
        self.backbone = FrozenBackbone(load_rscnet(config.backbone_checkpoint, self.body), device=self.device)
        # The regressor is a copy of the backbone's, so its sizes (and phi's width) come from there.
        net_cfg = self.backbone.net.config
        self.temporal_config = replace(
            config.temporal,
            feature_dim=self.backbone.net.feature_dim,
            regressor_hidden_dim=net_cfg.regressor_hidden_dim,
            regressor_iterations=net_cfg.regressor_iterations,
        )
        self.model = TemporalRegressor(self.temporal_config, self.body.mean_params).to(self.device)
        # A backbone's cut input (NetConfig.cut_input) stays behind: clip frames are read as whole people (flag 0).
        self.model.regressor.load_state_dict(self.backbone.net.regressor.unconditioned_state_dict(), strict=True)
        self.model.regressor.requires_grad_(config.optim.train_regressor)
        self.disc = MotionDiscriminator(config.discriminator).to(self.device)
        trained = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trained, lr=config.optim.lr)
        self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=config.optim.disc_lr)
        self.gen = torch.Generator().manual_seed(config.runtime.seed)
        path = self.resume_path(resume)
        if path is not None:
            self._restore(path)
        self.data = load_or_build_cache(self.backbone, config.data, progress=show_progress)
        self.real = real_motion_bank(config.data.real_motion_clips, config.data.clip_length, config.data.real_motion_seed)

    # ------------------------------------------------------------------ checkpoints
    def backbone_entry(self) -> dict[str, Any]:
        b = self.backbone
        return {
            "path": str(self.config.backbone_checkpoint),
            "checkpoint_id": b.checkpoint_id,
            "input_size": b.input_size,
            "resolution_bounds": list(b.ranges.bounds),
            "feature_dim": b.net.feature_dim,
        }

    def state(self) -> dict[str, Any]:
        return {
            "format": VIDEO_FORMAT,
            "model": self.model.state_dict(),
            "temporal_config": self.temporal_config.to_dict(),
            "discriminator": self.disc.state_dict(),
            "discriminator_config": self.config.discriminator.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "disc_optimizer": self.disc_opt.state_dict(),
            "train_config": self.config.to_dict(),
            "body_model": body_model_entry(self.body.info),
            "backbone": self.backbone_entry(),
            "step": self.step,
            "wall_seconds": self.wall_seconds,
        }

    def _restore(self, path: Path) -> None:
        ckpt = load_checkpoint(path, map_location=self.device, expected_format=VIDEO_FORMAT)
        if ckpt["body_model"]["sha256"] != self.body.info.sha256:
            raise ValueError(f"{path} was trained with body model {ckpt['body_model']['model_id']}, not {self.body.info.model_id}")
        if ckpt["backbone"]["checkpoint_id"] != self.backbone.checkpoint_id:
            raise ValueError(f"{path} was trained on features of backbone {ckpt['backbone']['checkpoint_id']}, not {self.backbone.checkpoint_id}")
        self.model.load_state_dict(ckpt["model"], strict=True)
        self.disc.load_state_dict(ckpt["discriminator"], strict=True)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.disc_opt.load_state_dict(ckpt["disc_optimizer"])
        self.step = int(ckpt["step"])
        self.wall_seconds = float(ckpt.get("wall_seconds", 0.0))
        self.gen.manual_seed(self.config.runtime.seed * 100_003 + self.step)  # a resumed run draws new windows

    # ------------------------------------------------------------------ batches
    def sample_batch(self) -> dict[str, Tensor]:
        """A ``(B, T, ...)`` window batch from the cache and a ``(B, T, 24, 3)`` real-motion batch."""
        o, d = self.config.optim, self.data
        n, k, length = d["phi"].shape[:3]
        b, t = o.batch_size, o.seq_len
        clip = torch.randint(n, (b,), generator=self.gen)
        deg = torch.randint(k, (b,), generator=self.gen)
        start = torch.randint(length - t + 1, (b,), generator=self.gen)
        # drawn only when asked for, so that runs without still windows draw what they always drew
        static = torch.rand(b, generator=self.gen) < o.static_prob if o.static_prob > 0 else torch.zeros(b, dtype=torch.bool)
        frames = start[:, None] + torch.arange(t)[None] * (~static)[:, None]
        batch = {"phi": d["phi"][clip[:, None], deg[:, None], frames].float()}
        for key in GT_KEYS:
            batch[key] = d[key][clip[:, None], frames]
        batch["betas"] = d["betas"][clip][:, None].expand(b, t, -1)
        valid = torch.rand(b, t, generator=self.gen) >= o.frame_drop_prob
        valid[torch.arange(b), torch.randint(t, (b,), generator=self.gen)] = True
        batch["valid"] = valid
        batch["static"] = static
        rc = torch.randint(self.real.shape[0], (b,), generator=self.gen)
        rs = torch.randint(self.real.shape[1] - t + 1, (b,), generator=self.gen)
        batch["real_pose"] = self.real[rc[:, None], rs[:, None] + torch.arange(t)[None]]
        return {key: v.to(self.device) for key, v in batch.items()}

    # ------------------------------------------------------------------ loop
    def generator_losses(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float], Tensor]:
        cfg = self.config
        b, t = batch["valid"].shape
        s = self.backbone.input_size
        out = self.model(batch["phi"], batch["valid"])
        betas, rotmat = out.betas.reshape(b * t, -1), out.pose_rotmat.reshape(b * t, 24, 3, 3)
        j3d, kp2d = predicted_joints(self.body, betas, rotmat, out.camera.reshape(b * t, 3), s)
        labelled = None if cfg.loss.static_ground_truth else ~batch["static"]
        target = frame_targets(batch, labelled)
        pred = BasicPrediction(rotmat=rotmat, betas=betas, joints3d=j3d, keypoints2d=kp2d)
        l_basic, terms = basic_loss(pred, target, float(s), cfg.loss.basic, hips=HIPS["smpl24"])
        total = l_basic
        logs = {f"basic/{k}": v for k, v in terms.items()}
        if cfg.loss.adversarial_weight > 0:
            l_adv = lsgan_generator_loss(self.disc(out.pose_rotmat))
            total = total + cfg.loss.adversarial_weight * l_adv
            logs["adversarial"] = float(l_adv.detach())
        if cfg.loss.accel_weight > 0 and t >= 3:
            gt = target.joints3d.reshape(b, t, -1, 3)
            l_acc = acceleration_loss(j3d.reshape(b, t, -1, 3), gt, HIPS["smpl24"])
            total = total + cfg.loss.accel_weight * l_acc
            logs["accel"] = float(l_acc.detach())
        if cfg.loss.root_velocity_weight > 0 and t >= 2:
            true_root = axis_angle_to_matrix(batch["pose"][:, :, 0].float())
            l_rv = root_velocity_loss(out.pose_rotmat[:, :, 0], true_root, math.radians(cfg.loss.root_velocity_margin_deg))
            total = total + cfg.loss.root_velocity_weight * l_rv
            logs["root_velocity"] = float(l_rv.detach())
        static = batch["static"]
        if cfg.loss.static_weight > 0 and bool(static.any()):
            l_static = self.static_loss(batch["phi"][static], j3d.reshape(b, t, -1, 3)[static])
            total = total + cfg.loss.static_weight * l_static
            logs["static"] = float(l_static.detach())
        logs["total"] = float(total.detach())
        return total, logs, out.pose_rotmat.detach()

    def static_loss(self, phi: Tensor, joints: Tensor) -> Tensor:
        """``L_static`` of repeated-frame windows: ``phi (W, T, C)``, predicted SMPL-24 joints
        ``(W, T, 24, 3)``; the target is the frozen single-frame regressor's answer (no gradient)."""
        w, t = joints.shape[:2]
        with torch.no_grad():
            reg = self.backbone.net.regressor(phi[:, 0].float())
            single = self.body.joints_only(reg.betas, reg.pose_rotmat)
        hips = HIPS["smpl24"]
        return (pelvis_centre(joints, hips) - pelvis_centre(single, hips)[:, None]).square().sum(-1).mean()

    def lr(self) -> float:
        o = self.config.optim
        return o.lr * lr_factor(self.step, o.steps, o.warmup_steps, cosine=False)

    def on_start(self, end: int) -> None:
        self.model.train()
        self.disc.train()

    def train_step(self) -> StepOutcome:
        cfg = self.config
        batch = self.sample_batch()
        loss, logs, fake = self.generator_losses(batch)
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"loss is {float(loss)} at step {self.step}: {logs}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], cfg.optim.grad_clip)
        self.optimizer.step()
        if cfg.loss.adversarial_weight > 0:
            real = axis_angle_to_matrix(batch["real_pose"])
            l_d = lsgan_discriminator_loss(self.disc(real), self.disc(fake))
            self.disc_opt.zero_grad(set_to_none=True)
            l_d.backward()
            self.disc_opt.step()
            logs["discriminator"] = float(l_d.detach())
        return StepOutcome(loss=logs["total"], terms=logs)


def config_from_args(args: argparse.Namespace) -> VideoTrainConfig:
    """The run's config with the command line's runtime overrides (``--out-dir``, ``--threads``,
    ``--seed``; ``--workers`` is refused: the video trainer reads cached features in-process)."""
    from model.train.__main__ import runtime_overrides

    return load_video_config(args.config, runtime_overrides(args))


def train_from_args(args: argparse.Namespace) -> None:
    """``python -m model.train --config <kind: video config>`` (see :mod:`model.train.__main__`)."""
    config = config_from_args(args)
    trainer = VideoTrainer(config, device=args.device, resume=args.resume, max_steps=args.max_steps, show_progress=not args.no_progress, max_minutes=getattr(args, "max_minutes", None))
    last = trainer.train()
    print(json.dumps(last))
    print(f"checkpoint: {trainer.out_dir / 'last.pt'}")

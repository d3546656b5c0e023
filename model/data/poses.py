"""Pose prior for people seen by surveillance and sports cameras.

Poses come from *families* (:mod:`model.data.pose_families`): parametric models of everyday
activities (standing, walking, running, phoning, pointing, carrying, bending, crouching, sitting,
arms raised, waving, reaching, kneeling, squatting, sitting on the ground, lying, lifting,
falling) and a ``random`` family that draws every joint uniformly inside its anatomical limits, so
that no pose inside the limits is unreachable. Three families (:data:`HELD_OUT_FAMILIES`:
cycling, fighting, pushing/pulling) are never drawn by the default mix; the held-out pose check
scores them.

On top of a family's pose the sampler

* turns the head and the torso freely with probability ``turn_prob`` (people look around and
  twist; the viewpoint's yaw, added by the scene composer, turns the whole body: back and side
  views are as frequent as front views);
* adds per-joint angle noise (``noise_deg``);
* projects every joint into :data:`JOINT_LIMITS_DEG` (joint-angle convention:
  :mod:`model.data.pose_angles`);
* rejects poses whose limbs pass through the body or each other
  (:func:`model.data.pose_collision.penetrating`, a capsule body) and draws them again (up to
  ``max_redraws`` times, then a standing pose takes the place, and if that fails too, a person
  standing with the arms hanging);
* mirrors left/right with probability ``mirror_prob``.

Sampled poses have no mean yaw: the scene composer adds heading and camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import Tensor

from model.body import BodyModel, load_body_model
from model.data.pose_angles import (
    DEG,
    JOINT_LIMITS_DEG,
    NUM_JOINTS,
    J,
    clamp_to_limits,
    euler_to_matrix,
    euler_to_pose,
    limit_violation,
    matrix_to_euler,
    mirror_pose,
    pose_to_euler,
    project_euler,
    wrap_angle,
)
from model.data.pose_collision import penetrating
from model.data.pose_families import (
    BUILDERS,
    FAMILIES,
    HELD_OUT_FAMILIES,
    TILTED_FAMILIES,
    gait_pose,
    stride_frequency,
    stride_length,
)
from model.geometry.rotations import axis_angle_to_matrix

__all__ = [
    "DEFAULT_FAMILY_WEIGHTS",
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "JOINT_LIMITS_DEG",
    "TILTED_FAMILIES",
    "PosePrior",
    "PosePriorConfig",
    "PoseSample",
    "clamp_to_limits",
    "euler_to_matrix",
    "euler_to_pose",
    "gait_pose",
    "held_out_pose_config",
    "limit_violation",
    "matrix_to_euler",
    "mirror_pose",
    "pose_to_euler",
    "sample_betas",
    "stride_frequency",
    "stride_length",
]

#: The training mix: every family but :data:`HELD_OUT_FAMILIES`; a tenth of the poses from the
#: whole space inside the limits (``random``).
DEFAULT_FAMILY_WEIGHTS: dict[str, float] = {
    "standing": 0.12, "walking": 0.14, "running": 0.05, "phone": 0.04, "pointing": 0.03, "carrying": 0.05,
    "bending": 0.03, "crouching": 0.03, "sitting": 0.06, "arms_raised": 0.05, "waving": 0.04, "reaching": 0.04,
    "kneeling": 0.04, "squatting": 0.03, "sitting_ground": 0.04, "lying": 0.03, "lifting": 0.03, "falling": 0.03,
    "random": 0.10,
}  # fmt: skip

def _noise_scale() -> Tensor:
    """Per joint and axis multiplier of ``noise_deg`` (twists and hinge side-axes move less)."""
    s = torch.ones(NUM_JOINTS, 3)
    s[0] = torch.tensor([0.25, 0.0, 0.25])  # root: tilt only, never yaw
    for j in ("spine1", "spine2", "spine3"):
        s[J[j]] = torch.tensor([0.5, 0.4, 0.4])
    s[J["neck"]] = torch.tensor([0.8, 1.0, 0.6])
    s[J["head"]] = torch.tensor([0.8, 1.0, 0.6])
    for side in ("left", "right"):
        s[J[f"{side}_hip"]] = torch.tensor([0.5, 0.8, 0.4])
        s[J[f"{side}_knee"]] = torch.tensor([0.8, 0.3, 0.1])
        s[J[f"{side}_ankle"]] = torch.tensor([0.6, 0.5, 0.5])
        s[J[f"{side}_foot"]] = torch.tensor([0.5, 0.2, 0.2])
        s[J[f"{side}_collar"]] = torch.tensor([0.3, 0.5, 0.5])
        s[J[f"{side}_shoulder"]] = torch.tensor([1.3, 1.3, 0.7])
        s[J[f"{side}_elbow"]] = torch.tensor([1.2, 1.3, 0.3])
        s[J[f"{side}_wrist"]] = torch.tensor([1.5, 1.0, 1.5])
        s[J[f"{side}_hand"]] = torch.tensor([1.0, 1.0, 1.5])
    return s


#: Per joint and axis multiplier of the angle noise ``(24, 3)`` (shared with the motion clips).
NOISE_SCALE = _noise_scale()


def _safe_pose() -> Tensor:
    """Joint angles ``(24, 3)`` (radians) of a person standing with the arms hanging a little away from the sides."""
    e = torch.zeros(NUM_JOINTS, 3)
    e[J["left_shoulder"], 2], e[J["right_shoulder"], 2] = 12.0 * DEG, -12.0 * DEG
    return e


_SAFE_POSE = _safe_pose()


def _free_turn(m: int, g: torch.Generator) -> Tensor:
    """Degrees ``(m, 24, 3)`` to add: the head and the torso turned, bent and tilted freely within the limits."""
    e = torch.zeros(m, NUM_JOINTS, 3)
    twist = (torch.rand(m, generator=g) * 2.0 - 1.0) * 75.0  # torso twist, spread over the spine
    for j in ("spine1", "spine2", "spine3"):
        e[:, J[j], 1] = twist / 3.0
        e[:, J[j], 0] = (torch.rand(m, generator=g) * 2.0 - 1.0) * 8.0
        e[:, J[j], 2] = (torch.rand(m, generator=g) * 2.0 - 1.0) * 8.0
    look = (torch.rand(m, generator=g) * 2.0 - 1.0) * 95.0  # head yaw relative to the chest
    e[:, J["neck"], 1], e[:, J["head"], 1] = 0.55 * look, 0.45 * look
    nod = (torch.rand(m, generator=g) * 2.0 - 1.0) * 45.0
    e[:, J["neck"], 0], e[:, J["head"], 0] = 0.55 * nod, 0.45 * nod
    tilt = (torch.rand(m, generator=g) * 2.0 - 1.0) * 30.0
    e[:, J["neck"], 2], e[:, J["head"], 2] = 0.5 * tilt, 0.5 * tilt
    return e


@dataclass(frozen=True)
class PosePriorConfig:
    """Configuration of :class:`PosePrior`.

    Attributes:
        family_weights: relative frequency of each family in :data:`FAMILIES` (missing families
            get weight 0; at least one must be positive).
        noise_deg: standard deviation (degrees) of the per-joint angle noise added around each
            family (scaled per joint; 0 disables it).
        mirror_prob: probability of mirroring a pose left/right.
        turn_prob: probability of turning the head and torso freely (the ``random`` family is
            already free).
        penetration_check: reject and redraw self-penetrating poses.
        penetration_overlap: tolerated capsule overlap (see
            :func:`model.data.pose_collision.penetrating`).
        max_redraws: redraws of a penetrating pose before a standing pose replaces it.
    """

    family_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAMILY_WEIGHTS))
    noise_deg: float = 6.0
    mirror_prob: float = 0.5
    turn_prob: float = 0.35
    penetration_check: bool = True
    penetration_overlap: float = 0.6
    max_redraws: int = 8

    def __post_init__(self) -> None:
        unknown = set(self.family_weights) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown pose families {sorted(unknown)}; expected a subset of {FAMILIES}")
        weights = [float(self.family_weights.get(f, 0.0)) for f in FAMILIES]
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"family_weights must be finite, >= 0 and not all zero, got {self.family_weights}")
        if not math.isfinite(self.noise_deg) or self.noise_deg < 0:
            raise ValueError(f"noise_deg must be >= 0, got {self.noise_deg}")
        for name in ("mirror_prob", "turn_prob", "penetration_overlap"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        if self.max_redraws < 0:
            raise ValueError(f"max_redraws must be >= 0, got {self.max_redraws}")

    def probabilities(self) -> Tensor:
        """(len(FAMILIES),) normalised family probabilities."""
        w = torch.tensor([float(self.family_weights.get(f, 0.0)) for f in FAMILIES], dtype=torch.float64)
        return (w / w.sum()).float()


@dataclass
class PoseSample:
    """Poses drawn by :meth:`PosePrior.sample`.

    Attributes:
        pose: ``(n, 24, 3)`` float32 axis-angle; the root is upright facing +z with only the
            family's tilt (no yaw).
        family: ``(n,)`` long index into :data:`FAMILIES`.
        mirrored: ``(n,)`` bool, whether the pose was mirrored left/right.
    """

    pose: Tensor
    family: Tensor
    mirrored: Tensor

    def family_names(self) -> list[str]:
        return [FAMILIES[i] for i in self.family.tolist()]


class PosePrior:
    """Samples plausible poses of people seen by surveillance and sports cameras.

    Args:
        config: family mix, noise, turning, penetration check and mirroring.
        body: the skeleton the penetration check poses (default: the embedded free model's mean
            shape; the check is approximate, so another body model's people share it).
    """

    def __init__(self, config: PosePriorConfig = PosePriorConfig(), body: BodyModel | None = None) -> None:
        self.config = config
        self._probs = config.probabilities()
        self._body = body

    def sample_euler(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Joint angles ``(n, 24, 3)`` (radians, within the limits, before mirroring), families and mirror flags."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        family = torch.multinomial(self._probs, n, replacement=True, generator=generator) if n else torch.zeros(0, dtype=torch.long)
        euler = self._draw(family, generator)
        if self.config.penetration_check and n:
            bad = self._penetrating(euler)
            for attempt in range(self.config.max_redraws + 2):
                if not bad.any():
                    break
                idx = bad.nonzero().squeeze(1)
                if attempt == self.config.max_redraws:  # rare: a standing pose takes the place
                    family[idx] = FAMILIES.index("standing")
                if attempt == self.config.max_redraws + 1:  # rarer still: arms hanging at the sides
                    euler[idx] = _SAFE_POSE
                    break
                euler[idx] = self._draw(family[idx], generator)
                bad[idx] = self._penetrating(euler[idx])
        mirrored = torch.rand(n, generator=generator) < self.config.mirror_prob
        return euler, family, mirrored

    def _draw(self, family: Tensor, generator: torch.Generator) -> Tensor:
        """Joint angles ``(m, 24, 3)`` (radians, projected into the limits) for families ``(m,)``."""
        m = family.shape[0]
        euler = torch.zeros(m, NUM_JOINTS, 3)
        for k in family.unique().tolist():  # ascending, as the draws of a batch must be ordered
            idx = (family == k).nonzero().squeeze(1)
            euler[idx] = BUILDERS[FAMILIES[k]](idx.numel(), generator)
        if self.config.turn_prob > 0:
            turn = (torch.rand(m, generator=generator) < self.config.turn_prob) & (family != FAMILIES.index("random"))
            euler = euler + turn[:, None, None] * _free_turn(m, generator)
        if self.config.noise_deg > 0:
            euler = euler + torch.randn(m, NUM_JOINTS, 3, generator=generator) * (NOISE_SCALE * self.config.noise_deg)
        return project_euler(wrap_angle(euler * DEG))[0]

    def _penetrating(self, euler: Tensor) -> Tensor:
        """``(m,)`` bool: which of the joint angles ``(m, 24, 3)`` (radians) pose a self-penetrating body."""
        body = self._body if self._body is not None else _default_body()
        rot = axis_angle_to_matrix(euler_to_pose(euler).float())
        with torch.no_grad():
            joints = body.joints_only(torch.zeros(euler.shape[0], 10), rot)
        return penetrating(joints, overlap=self.config.penetration_overlap)

    def sample(self, n: int, generator: torch.Generator) -> PoseSample:
        """``n`` poses, deterministic given the generator state."""
        euler, family, mirrored = self.sample_euler(n, generator)
        pose = euler_to_pose(euler).float()
        pose = torch.where(mirrored[:, None, None], mirror_pose(pose), pose)
        return PoseSample(pose=pose, family=family, mirrored=mirrored)


def held_out_pose_config(**overrides: object) -> PosePriorConfig:
    """The pose prior of the held-out pose check: only :data:`HELD_OUT_FAMILIES`, equally often."""
    return PosePriorConfig(family_weights={f: 1.0 for f in HELD_OUT_FAMILIES}, **overrides)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def _default_body() -> BodyModel:
    return load_body_model()


def sample_betas(n: int, generator: torch.Generator, clip: float = 2.5) -> Tensor:
    """``(n, 10)`` shape coefficients from N(0, 1) clipped to ``[-clip, clip]``."""
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    return torch.randn(n, 10, generator=generator).clamp(-clip, clip)

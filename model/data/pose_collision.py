"""Self-penetration check of posed skeletons with a capsule body.

A pose drawn from the whole space inside the joint limits can still push a hand through the
chest or one shin through the other. :func:`penetrating` approximates the body by capsules
around skeleton segments (torso, pelvis, head, upper arms, forearms, hands, thighs, shins, feet)
and reports poses in which two capsules that are not neighbours in the kinematic chain overlap by
more than a tolerance. The tolerance (``overlap``) lets limbs touch and press into soft tissue
(a hand resting on a thigh, crossed arms, knees pressed together) but not pass through.

Radii are those of an average adult of the embedded body model (metres); for children and small
adults the joints come closer together and the check, scaled by the skeleton's height, stays
valid (see :func:`penetrating`'s ``scale``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from model.body.joint_names import SMPL_JOINT_NAMES

__all__ = ["CAPSULES", "COLLISION_PAIRS", "Capsule", "capsule_overlaps", "penetrating", "segment_distance"]

_J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}


@dataclass(frozen=True)
class Capsule:
    """A capsule around the segment from joint ``a`` to joint ``b``, extended past ``b``.

    Attributes:
        name: capsule name.
        a, b: SMPL joint names of the segment ends.
        radius: metres, for a 1.7 m adult.
        extend: the segment is lengthened past ``b`` by this fraction of its length (the head
            above the head joint, fingers past the hand joint, toes past the foot joint).
    """

    name: str
    a: str
    b: str
    radius: float
    extend: float = 0.0


def _sided(name: str, a: str, b: str, radius: float, extend: float = 0.0) -> list[Capsule]:
    return [Capsule(f"{s}_{name}", f"{s}_{a}", f"{s}_{b}", radius, extend) for s in ("left", "right")]


#: The capsule body.
CAPSULES: tuple[Capsule, ...] = (
    Capsule("torso", "spine1", "spine3", 0.125),
    Capsule("pelvis", "left_hip", "right_hip", 0.08),
    Capsule("head", "neck", "head", 0.095, extend=0.9),
    *_sided("upper_arm", "shoulder", "elbow", 0.045),
    *_sided("forearm", "elbow", "wrist", 0.037),
    *_sided("hand", "wrist", "hand", 0.03, extend=0.6),
    *_sided("thigh", "hip", "knee", 0.07),
    *_sided("shin", "knee", "ankle", 0.048),
    *_sided("foot", "ankle", "foot", 0.035, extend=0.3),
)

_C = {c.name: i for i, c in enumerate(CAPSULES)}


def _pairs() -> tuple[tuple[str, str], ...]:
    """Capsule pairs that must not pass through each other (neighbours in the chain are left out)."""
    pairs: list[tuple[str, str]] = []
    arm = ("forearm", "hand")
    for s in ("left", "right"):
        o = "right" if s == "left" else "left"
        for part in arm:
            pairs += [(f"{s}_{part}", t) for t in ("torso", "pelvis", "head")]
            pairs += [(f"{s}_{part}", f"{side}_{leg}") for side in ("left", "right") for leg in ("thigh", "shin")]
            pairs += [(f"{s}_{part}", f"{o}_{p}") for p in ("upper_arm", "forearm", "hand")]
        pairs += [(f"{s}_upper_arm", "head"), (f"{s}_upper_arm", "torso")]
        pairs += [(f"{s}_shin", "torso"), (f"{s}_foot", "torso"), (f"{s}_foot", "head"), (f"{s}_shin", "head")]
        pairs += [(f"{s}_foot", f"{o}_shin"), (f"{s}_foot", f"{o}_thigh")]
    pairs += [("left_thigh", "right_thigh"), ("left_shin", "right_shin"), ("left_shin", "right_thigh"),
              ("right_shin", "left_thigh"), ("left_foot", "right_foot")]  # fmt: skip
    seen: set[frozenset[str]] = set()
    unique = []
    for p in pairs:
        key = frozenset(p)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return tuple(unique)


#: Capsule pairs checked by :func:`penetrating`.
COLLISION_PAIRS: tuple[tuple[str, str], ...] = _pairs()
_PAIR_INDEX = torch.tensor([[_C[a], _C[b]] for a, b in COLLISION_PAIRS], dtype=torch.long)  # (P, 2)
_A = torch.tensor([_J[c.a] for c in CAPSULES])
_B = torch.tensor([_J[c.b] for c in CAPSULES])
_EXTEND = torch.tensor([c.extend for c in CAPSULES])
_RADIUS = torch.tensor([c.radius for c in CAPSULES])
_REFERENCE_HEIGHT = 1.70  # metres: the body the radii are for


def segment_distance(p0: Tensor, p1: Tensor, q0: Tensor, q1: Tensor, eps: float = 1e-9) -> Tensor:
    """Closest distance between segments ``p0-p1`` and ``q0-q1``, each ``(..., 3)``; returns ``(...)``."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = (d1 * d1).sum(-1)
    e = (d2 * d2).sum(-1)
    b = (d1 * d2).sum(-1)
    c = (d1 * r).sum(-1)
    f = (d2 * r).sum(-1)
    denom = a * e - b * b
    # parameter on the first segment for the closest points of the infinite lines, then clamped
    s = torch.where(denom > eps, ((b * f - c * e) / denom.clamp(min=eps)).clamp(0.0, 1.0), torch.zeros_like(a))
    t = (b * s + f) / e.clamp(min=eps)
    # t outside [0, 1]: clamp it and recompute s for that end point
    t_c = t.clamp(0.0, 1.0)
    s = torch.where(t != t_c, ((b * t_c - c) / a.clamp(min=eps)).clamp(0.0, 1.0), s)
    closest_p = p0 + s[..., None] * d1
    closest_q = q0 + t_c[..., None] * d2
    return (closest_p - closest_q).norm(dim=-1)


def capsule_overlaps(joints: Tensor, scale: Tensor | float = 1.0) -> Tensor:
    """Overlap of every pair in :data:`COLLISION_PAIRS` as a fraction of the two radii.

    Args:
        joints: ``(B, 24, 3)`` posed SMPL joints (metres, any frame).
        scale: radius scale, a float or ``(B,)`` (body height / 1.7 m).
    Returns:
        ``(B, P)``: ``1 - distance / (r_a + r_b)``; positive values overlap, 1 = the axes cross.
    """
    a, b = joints[:, _A.to(joints.device)], joints[:, _B.to(joints.device)]  # (B, C, 3)
    b = b + (b - a) * _EXTEND.to(joints)[None, :, None]
    radius = _RADIUS.to(joints)[None] * (scale if isinstance(scale, float) else scale.to(joints)[:, None])
    i, k = _PAIR_INDEX[:, 0].to(joints.device), _PAIR_INDEX[:, 1].to(joints.device)
    dist = segment_distance(a[:, i], b[:, i], a[:, k], b[:, k])  # (B, P)
    return 1.0 - dist / (radius[:, i] + radius[:, k])


def penetrating(joints: Tensor, overlap: float = 0.45, scale: Tensor | float | None = None) -> Tensor:
    """``(B,)`` bool: whether any two non-neighbouring capsules overlap by more than ``overlap``.

    Args:
        joints: ``(B, 24, 3)`` posed SMPL joints.
        overlap: tolerated overlap as a fraction of the summed radii (0 = no contact at all,
            1 = only the axes crossing counts).
        scale: radius scale; default: from the skeleton's size (pelvis-to-head plus leg length
            relative to the reference adult's).
    """
    if joints.dim() != 3 or joints.shape[1:] != (24, 3):
        raise ValueError(f"joints must be (B, 24, 3), got {tuple(joints.shape)}")
    if scale is None:
        scale = skeleton_scale(joints)
    return (capsule_overlaps(joints, scale) > overlap).any(-1)


_CHAIN = (("pelvis", "spine1"), ("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head"),
          ("left_hip", "left_knee"), ("left_knee", "left_ankle"))  # fmt: skip
_CHAIN_LENGTH = 1.17  # metres: the same chain on the embedded free model's mean body (about 1.7 m tall)


def skeleton_scale(joints: Tensor) -> Tensor:
    """``(B,)`` size of skeletons relative to the reference adult, from bone lengths (pose-independent)."""
    length = sum((joints[:, _J[a]] - joints[:, _J[b]]).norm(dim=-1) for a, b in _CHAIN)
    return length / _CHAIN_LENGTH

"""Procedural pose prior for people seen by surveillance and sports cameras.

Poses are built from a handful of *families* (standing, walking, running, arm gestures, bending,
crouching, sitting), each a small parametric model of joint angles with random variation, then
projected into anatomical joint limits and mirrored left/right with probability ``mirror_prob``.

Joint-angle convention
----------------------
SMPL's local joint frames are all aligned with the canonical body frame in the rest pose (y up,
the body facing +z, the person's left at +x; the rest pose is a T-pose with the arms along
+-x and the palms down). Every non-root joint's local rotation is written as

    R_local = A_j @ Rx(x) @ Rz(z) @ Ry(y) @ B_j

i.e. intrinsic Euler angles in the order x, then z, then y (so y is the innermost rotation),
between fixed rotations ``A_j`` and ``B_j``, which are the identity except for

* the shoulders: ``B = Rz(-90 deg)`` (left) / ``Rz(+90 deg)`` (right) lowers the arm from the
  T-pose to hanging straight down, so that the angles read like hip angles (zero = arm down);
* the elbows: ``A = Rz(-/+90 deg)``, ``B = A^T``, a change of axes (zero is still the rest pose)
  that makes x the hinge (flexion) axis and y the forearm's long axis, like the knee.

Angles are stored in the order ``(x, y, z)`` (the axis they turn about), not in the order they
are applied. Meanings, for the person's LEFT side and for the midline joints (the right side is
the mirror image: same x, negated y and z):

=========================  =========================================  ===============================  ================================
joint                      x                                          y                                z
=========================  =========================================  ===============================  ================================
spine1/2/3, neck, head     flexion (+ bends forward)                  axial twist (+ turns to left)    lateral bend (+ bends to right)
hip                        -flexion (- swings the thigh forward)      external rotation (+ toes out)   abduction (+ leg outwards)
knee                       flexion (+ heel towards buttock)           tibial rotation                  varus/valgus (tiny)
ankle                      plantarflexion (+ toes down)               toe-out                          inversion/eversion
foot (toes)                toe flexion (+ toes down)                  --                               --
collar                     roll about the clavicle                    -protraction (- forwards)        elevation (+ shrug)
shoulder (arm-down zero)   -flexion (- swings the arm forward)        external rotation of the arm     abduction (+ arm outwards)
elbow                      flexion (+ forearm forwards)               forearm twist (- supination)     carrying angle (tiny)
wrist                      forearm twist (- supination)               radial/ulnar deviation           flexion/extension
hand                       small finger-base bend                     small                            small
=========================  =========================================  ===============================  ================================

The root (joint 0) uses the same Euler order with no extra rotations: x = pitch (+ leans
forward), y = yaw, z = roll (+ raises the person's left side). Sampled poses have no mean yaw:
the scene composer adds heading and camera.

:func:`clamp_to_limits` decomposes each joint rotation into these angles (choosing, of the two
Euler solutions, the one closer to the feasible box), clamps each angle to :data:`JOINT_LIMITS_DEG`
and recomposes; the root is never limited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from model.body.joint_names import SMPL_FLIP_PERMUTATION, SMPL_JOINT_NAMES
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_quaternion, quaternion_to_axis_angle

__all__ = [
    "FAMILIES",
    "JOINT_LIMITS_DEG",
    "PosePrior",
    "PosePriorConfig",
    "PoseSample",
    "clamp_to_limits",
    "euler_to_matrix",
    "euler_to_pose",
    "gait_pose",
    "limit_violation",
    "matrix_to_euler",
    "mirror_pose",
    "pose_to_euler",
    "sample_betas",
    "stride_frequency",
    "stride_length",
]

NUM_JOINTS = 24
FAMILIES: tuple[str, ...] = (
    "standing", "walking", "running", "phone", "pointing", "carrying", "bending", "crouching", "sitting",
)  # fmt: skip

_J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
_DEG = math.pi / 180.0
_FLIP = torch.tensor(SMPL_FLIP_PERMUTATION, dtype=torch.long)
_MIRROR_SIGN = (1.0, -1.0, -1.0)

DEFAULT_FAMILY_WEIGHTS: dict[str, float] = {
    "standing": 0.22, "walking": 0.25, "running": 0.08, "phone": 0.07, "pointing": 0.05,
    "carrying": 0.10, "bending": 0.06, "crouching": 0.06, "sitting": 0.11,
}  # fmt: skip

# --------------------------------------------------------------------------------------------
# Joint limits
# --------------------------------------------------------------------------------------------

#: Per-joint limits in degrees, ``(lo, hi)`` each ``(x, y, z)`` in the convention of the module
#: docstring, for the left side and the midline; the right side is derived by mirroring.
JOINT_LIMITS_DEG: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "spine1": ((-30.0, -30.0, -25.0), (55.0, 30.0, 25.0)),
    "spine2": ((-20.0, -30.0, -25.0), (45.0, 30.0, 25.0)),
    "spine3": ((-20.0, -30.0, -20.0), (45.0, 30.0, 20.0)),
    "neck": ((-45.0, -55.0, -35.0), (55.0, 55.0, 35.0)),
    "head": ((-40.0, -45.0, -30.0), (45.0, 45.0, 30.0)),
    "left_hip": ((-150.0, -45.0, -30.0), (35.0, 55.0, 60.0)),
    "left_knee": ((-5.0, -20.0, -8.0), (155.0, 20.0, 8.0)),
    "left_ankle": ((-45.0, -25.0, -25.0), (60.0, 25.0, 25.0)),
    "left_foot": ((-50.0, -10.0, -10.0), (30.0, 10.0, 10.0)),
    "left_collar": ((-20.0, -30.0, -15.0), (20.0, 20.0, 35.0)),
    "left_shoulder": ((-175.0, -95.0, -50.0), (65.0, 90.0, 175.0)),
    "left_elbow": ((-5.0, -85.0, -20.0), (155.0, 85.0, 20.0)),
    "left_wrist": ((-70.0, -35.0, -80.0), (70.0, 35.0, 80.0)),
    "left_hand": ((-20.0, -20.0, -30.0), (20.0, 20.0, 30.0)),
}


def _limit_tensors() -> tuple[Tensor, Tensor]:
    lo = torch.full((NUM_JOINTS, 3), -math.pi, dtype=torch.float64)
    hi = torch.full((NUM_JOINTS, 3), math.pi, dtype=torch.float64)
    for name, (l, h) in JOINT_LIMITS_DEG.items():
        lt = torch.tensor(l, dtype=torch.float64) * _DEG
        ht = torch.tensor(h, dtype=torch.float64) * _DEG
        lo[_J[name]], hi[_J[name]] = lt, ht
        if name.startswith("left_"):
            r = _J["right_" + name[len("left_") :]]
            # mirroring keeps x and negates y and z, which swaps their bounds
            lo[r] = torch.stack([lt[0], -ht[1], -ht[2]])
            hi[r] = torch.stack([ht[0], -lt[1], -lt[2]])
    return lo, hi


_LIMIT_LO, _LIMIT_HI = _limit_tensors()


def _rot_z_deg(angle: float) -> Tensor:
    c, s = math.cos(angle * _DEG), math.sin(angle * _DEG)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _frame_rotations() -> tuple[Tensor, Tensor]:
    """(A, B), each (24, 3, 3): ``R_local = A @ E @ B`` (see the module docstring)."""
    pre = torch.eye(3, dtype=torch.float64).repeat(NUM_JOINTS, 1, 1)
    post = pre.clone()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        post[_J[f"{side}_shoulder"]] = _rot_z_deg(-90.0 * sign)  # arm hanging down at E = 0
        pre[_J[f"{side}_elbow"]] = _rot_z_deg(-90.0 * sign)  # a change of axes: E = 0 is the rest
        post[_J[f"{side}_elbow"]] = _rot_z_deg(90.0 * sign)
    return pre, post


_PRE, _POST = _frame_rotations()  # (24, 3, 3) each
_PRE_Q, _POST_Q = matrix_to_quaternion(_PRE), matrix_to_quaternion(_POST)  # (24, 4) each


# --------------------------------------------------------------------------------------------
# Euler <-> rotation conversions
# --------------------------------------------------------------------------------------------


def euler_to_matrix(euler: Tensor) -> Tensor:
    """``Rx(x) @ Rz(z) @ Ry(y)`` for angles ``(..., 3)`` stored as ``(x, y, z)`` (radians)."""
    ca, cc, cb = torch.cos(euler).unbind(-1)
    sa, sc, sb = torch.sin(euler).unbind(-1)
    rows = (
        cb * cc, -sb, cb * sc,
        ca * sb * cc + sa * sc, ca * cb, ca * sb * sc - sa * cc,
        sa * sb * cc - ca * sc, sa * cb, sa * sb * sc + ca * cc,
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*euler.shape[:-1], 3, 3)


def matrix_to_euler(matrix: Tensor) -> Tensor:
    """Inverse of :func:`euler_to_matrix` with ``z`` in ``[-pi/2, pi/2]`` (``(..., 3)`` as ``(x, y, z)``).

    At gimbal lock (``|z| = pi/2``) the y angle is set to 0 and the whole remaining rotation
    goes to x.
    """
    r00, r01, r02 = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    r11, r21 = matrix[..., 1, 1], matrix[..., 2, 1]
    cos_b = torch.sqrt(r00 * r00 + r02 * r02)
    b = torch.atan2(-r01, cos_b)
    locked = cos_b < 1e-6
    a = torch.where(locked, torch.atan2(-matrix[..., 1, 2], matrix[..., 2, 2]), torch.atan2(r21, r11))
    c = torch.where(locked, torch.zeros_like(b), torch.atan2(r02, r00))
    return torch.stack((a, c, b), dim=-1)


def _wrap(angle: Tensor) -> Tensor:
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


def _clamp_box(euler: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Clamp wrapped angles to ``[lo, hi]`` going to the circularly nearer bound; returns (clamped, violation)."""
    inside = (euler >= lo) & (euler <= hi)
    d_lo = _wrap(euler - lo).abs()
    d_hi = _wrap(euler - hi).abs()
    clamped = torch.where(inside, euler, torch.where(d_lo <= d_hi, lo.expand_as(euler), hi.expand_as(euler)))
    violation = torch.where(inside, torch.zeros_like(euler), torch.minimum(d_lo, d_hi))
    return clamped, violation.sum(-1)


def _project_euler(euler: Tensor) -> tuple[Tensor, Tensor]:
    """Project canonical Euler angles ``(..., 24, 3)`` into the limits, trying both Euler solutions.

    Returns the clamped angles and the per-joint violation (radians, summed over the axes) of the
    better of the two solutions.
    """
    lo = _LIMIT_LO.to(euler)
    hi = _LIMIT_HI.to(euler)
    alt = torch.stack(
        (_wrap(euler[..., 0] + math.pi), _wrap(euler[..., 1] + math.pi), _wrap(math.pi - euler[..., 2])), dim=-1
    )
    c1, v1 = _clamp_box(euler, lo, hi)
    c2, v2 = _clamp_box(alt, lo, hi)
    use2 = (v2 < v1)[..., None]
    return torch.where(use2, c2, c1), torch.minimum(v1, v2)


def pose_to_euler(pose: Tensor) -> Tensor:
    """Axis-angle pose ``(..., 24, 3)`` -> joint angles ``(..., 24, 3)`` (radians, module convention)."""
    if pose.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"pose must be (..., 24, 3), got {tuple(pose.shape)}")
    rot = axis_angle_to_matrix(pose.double())
    return matrix_to_euler(_PRE.transpose(-1, -2) @ rot @ _POST.transpose(-1, -2)).to(pose.dtype)


def _quat_mul(p: Tensor, q: Tensor) -> Tensor:
    """Hamilton product of scalar-first quaternions ``(..., 4)``."""
    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack(
        (
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ),
        dim=-1,
    )


def euler_to_pose(euler: Tensor) -> Tensor:
    """Joint angles ``(..., 24, 3)`` (radians, module convention) -> axis-angle pose ``(..., 24, 3)``.

    Composes the elementary rotations as quaternions (cheaper than 3x3 matrices).
    """
    if euler.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"euler must be (..., 24, 3), got {tuple(euler.shape)}")
    half = 0.5 * euler
    c, s = torch.cos(half), torch.sin(half)
    cx, cy, cz = c.unbind(-1)
    sx, sy, sz = s.unbind(-1)
    # Rx(x) Rz(z) = (cx cz, sx cz, -sx sz, cx sz); then times Ry(y) = (cy, 0, sy, 0)
    w0, x0, y0, z0 = cx * cz, sx * cz, -sx * sz, cx * sz
    quat = torch.stack(
        (w0 * cy - y0 * sy, x0 * cy - z0 * sy, w0 * sy + y0 * cy, z0 * cy + x0 * sy), dim=-1
    )
    pre, post = _PRE_Q.to(euler), _POST_Q.to(euler)
    quat = _quat_mul(_quat_mul(pre, quat), post)
    return quaternion_to_axis_angle(quat)


def limit_violation(pose: Tensor) -> Tensor:
    """Per-joint distance (radians, summed over the three angles) of ``pose`` outside the limits: ``(..., 24)``."""
    return _project_euler(pose_to_euler(pose.double()))[1].to(pose.dtype)


_CLAMP_TOL = 1e-5


def clamp_to_limits(pose: Tensor) -> Tensor:
    """Project axis-angle poses ``(..., 24, 3)`` into :data:`JOINT_LIMITS_DEG`.

    Joints inside their limits (up to ``_CLAMP_TOL`` radians, which absorbs float32 round-off)
    and the root are returned unchanged (bit-exact); the others are decomposed into joint angles,
    clamped and recomposed.
    """
    euler = pose_to_euler(pose.double())
    clamped, violation = _project_euler(euler)
    new = euler_to_pose(clamped).to(pose.dtype)
    changed = (violation > _CLAMP_TOL)[..., None]
    changed[..., 0, :] = False
    return torch.where(changed, new, pose)


def mirror_pose(pose: Tensor) -> Tensor:
    """Mirror axis-angle poses ``(..., 24, 3)`` through the body's sagittal plane (x -> -x).

    Swaps left and right joints and negates the y and z components of every rotation vector
    (conjugation by ``diag(-1, 1, 1)``). An involution; the posed joints of the result are those
    of ``pose`` with x negated and left/right swapped.
    """
    sign = torch.tensor(_MIRROR_SIGN, dtype=pose.dtype, device=pose.device)
    return pose[..., _FLIP.to(pose.device), :] * sign


# --------------------------------------------------------------------------------------------
# Building poses from anatomical angles
# --------------------------------------------------------------------------------------------

Value = float | Tensor


class _Angles:
    """Joint angles (degrees, module convention) of ``m`` poses, set through anatomical helpers.

    Side-specific helpers take values in the person's-left convention and mirror them for
    ``side="right"``.
    """

    def __init__(self, m: int) -> None:
        self.m = m
        self.e = torch.zeros(m, NUM_JOINTS, 3)

    def _set(self, joint: str, side: str | None, x: Value | None, y: Value | None, z: Value | None) -> None:
        name = joint if side is None else f"{side}_{joint}"
        j = _J[name]
        s = -1.0 if side == "right" else 1.0
        if x is not None:
            self.e[:, j, 0] = x
        if y is not None:
            self.e[:, j, 1] = s * y
        if z is not None:
            self.e[:, j, 2] = s * z

    def root(self, pitch: Value = 0.0, roll: Value = 0.0, yaw: Value = 0.0) -> None:
        """Pelvis orientation: pitch + leans forward, roll + raises the left side, yaw + turns left."""
        self.e[:, 0, 0], self.e[:, 0, 1], self.e[:, 0, 2] = pitch, yaw, roll

    def mid(self, joint: str, flex: Value = 0.0, lat: Value = 0.0, twist: Value = 0.0) -> None:
        """Midline joint: flex + forward, lat + bends to the person's left, twist + turns left."""
        self._set(joint, None, flex, twist, -lat if isinstance(lat, Tensor) else -float(lat))

    def hip(self, side: str, flex: Value = 0.0, abd: Value = 0.0, ext: Value = 0.0) -> None:
        self._set("hip", side, -flex, ext, abd)

    def knee(self, side: str, flex: Value = 0.0) -> None:
        self._set("knee", side, flex, None, None)

    def ankle(self, side: str, plantar: Value = 0.0, toe_out: Value = 0.0, inv: Value = 0.0) -> None:
        self._set("ankle", side, plantar, toe_out, inv)

    def toes(self, side: str, flex: Value = 0.0) -> None:
        self._set("foot", side, flex, None, None)

    def collar(self, side: str, elev: Value = 0.0, protr: Value = 0.0) -> None:
        self._set("collar", side, None, -protr, elev)

    def shoulder(self, side: str, flex: Value = 0.0, abd: Value = 0.0, ext: Value = 0.0) -> None:
        self._set("shoulder", side, -flex, ext, abd)

    def elbow(self, side: str, flex: Value = 0.0, twist: Value = 0.0) -> None:
        self._set("elbow", side, flex, twist, None)

    def wrist(self, side: str, flex: Value = 0.0, dev: Value = 0.0, twist: Value = 0.0) -> None:
        self._set("wrist", side, twist, dev, flex)


def _uniform(g: torch.Generator, m: int, lo: float, hi: float) -> Tensor:
    return torch.rand(m, generator=g) * (hi - lo) + lo


def _normal(g: torch.Generator, m: int, std: float) -> Tensor:
    return torch.randn(m, generator=g) * std


def _choice(g: torch.Generator, m: int, probs: tuple[float, ...]) -> Tensor:
    return torch.multinomial(torch.tensor(probs, dtype=torch.float32), m, replacement=True, generator=g)


def _pick(index: Tensor, *options: Value) -> Tensor:
    """Per-sample choice among options (floats or (m,) tensors) by an integer index (m,)."""
    m = index.shape[0]
    cols = [o.expand(m) if isinstance(o, Tensor) else torch.full((m,), float(o)) for o in options]
    return torch.stack(cols, dim=1).gather(1, index[:, None]).squeeze(1)


def _flat_foot(a: _Angles, side: str) -> None:
    """Set the ankle plantarflexion so that the sole is level: pelvis pitch - hip flexion + knee + ankle = 0."""
    j = "left" if side == "left" else "right"
    pitch = a.e[:, 0, 0]
    hip_x = a.e[:, _J[f"{j}_hip"], 0]  # = -flexion
    knee = a.e[:, _J[f"{j}_knee"], 0]
    a.e[:, _J[f"{j}_ankle"], 0] = -(pitch + hip_x + knee)


def _upright_head(a: _Angles, amount: Value = 1.0) -> None:
    """Counter the pitch of pelvis + spine at the neck and head by ``amount`` (1 = look straight ahead)."""
    total = a.e[:, 0, 0] + a.e[:, _J["spine1"], 0] + a.e[:, _J["spine2"], 0] + a.e[:, _J["spine3"], 0]
    a.e[:, _J["neck"], 0] = a.e[:, _J["neck"], 0] - 0.6 * amount * total
    a.e[:, _J["head"], 0] = a.e[:, _J["head"], 0] - 0.4 * amount * total


# ---- standing ------------------------------------------------------------------------------


def _standing_legs(a: _Angles, g: torch.Generator) -> None:
    """Symmetric stance or a weight shift onto the left leg (the right knee relaxed)."""
    m = a.m
    shift = (torch.rand(m, generator=g) < 0.5).float()
    roll = shift * _uniform(g, m, 2.0, 6.0)
    a.root(pitch=_uniform(g, m, -2.0, 4.0), roll=roll)
    width = _uniform(g, m, 2.0, 8.0)
    a.hip("left", flex=_uniform(g, m, -3.0, 4.0), abd=width - roll - shift * 3.0, ext=_uniform(g, m, 0.0, 15.0))
    relaxed_knee = shift * _uniform(g, m, 10.0, 25.0)
    a.hip("right", flex=_uniform(g, m, -3.0, 4.0) + 0.5 * relaxed_knee, abd=width + roll + shift * 3.0,
          ext=_uniform(g, m, 0.0, 15.0))  # fmt: skip
    a.knee("left", _uniform(g, m, 0.0, 6.0))
    a.knee("right", _uniform(g, m, 0.0, 6.0) + relaxed_knee)
    for side in ("left", "right"):
        _flat_foot(a, side)
    # keep the trunk upright over the tilted pelvis
    for j, w in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.2)):
        a.mid(j, flex=_uniform(g, m, -2.0, 4.0), lat=w * roll, twist=_normal(g, m, 2.0))
    a.mid("neck", flex=_uniform(g, m, -5.0, 10.0), twist=_normal(g, m, 8.0))
    a.mid("head", flex=_uniform(g, m, -5.0, 8.0), lat=_normal(g, m, 3.0), twist=_normal(g, m, 8.0))
    _upright_head(a, 0.7)


def _relaxed_arm(a: _Angles, g: torch.Generator, side: str, swing: Value = 0.0) -> None:
    m = a.m
    a.collar(side, elev=_uniform(g, m, -3.0, 3.0), protr=_uniform(g, m, -3.0, 5.0))
    a.shoulder(side, flex=_uniform(g, m, -3.0, 10.0) + swing, abd=_uniform(g, m, 9.0, 16.0), ext=_uniform(g, m, -10.0, 15.0))
    a.elbow(side, flex=_uniform(g, m, 5.0, 25.0), twist=_uniform(g, m, -10.0, 20.0))
    a.wrist(side, flex=_normal(g, m, 8.0), dev=_normal(g, m, 5.0))


def _hand_on_hip(a: _Angles, g: torch.Generator, side: str) -> None:
    m = a.m
    a.collar(side, elev=_uniform(g, m, 0.0, 5.0))
    a.shoulder(side, flex=_uniform(g, m, -20.0, -5.0), abd=_uniform(g, m, 35.0, 50.0), ext=_uniform(g, m, -40.0, -25.0))
    a.elbow(side, flex=_uniform(g, m, 95.0, 115.0), twist=_uniform(g, m, 0.0, 20.0))
    a.wrist(side, flex=_uniform(g, m, -30.0, -10.0))


def _crossed_arms(a: _Angles, g: torch.Generator) -> None:
    """Forearms folded in front of the chest, the left one above."""
    m = a.m
    for side, flex in (("left", _uniform(g, m, 38.0, 48.0)), ("right", _uniform(g, m, 28.0, 36.0))):
        a.collar(side, elev=_uniform(g, m, 0.0, 4.0), protr=_uniform(g, m, 5.0, 10.0))
        a.shoulder(side, flex=flex, abd=_uniform(g, m, 0.0, 8.0), ext=_uniform(g, m, -75.0, -60.0))
        a.elbow(side, flex=_uniform(g, m, 86.0, 96.0), twist=_uniform(g, m, 0.0, 15.0))
        a.wrist(side, flex=_normal(g, m, 8.0))


def _clasped_front(a: _Angles, g: torch.Generator) -> None:
    m = a.m
    for side in ("left", "right"):
        a.collar(side, protr=_uniform(g, m, 3.0, 8.0))
        a.shoulder(side, flex=_uniform(g, m, 10.0, 20.0), abd=_uniform(g, m, 0.0, 6.0), ext=_uniform(g, m, -55.0, -40.0))
        a.elbow(side, flex=_uniform(g, m, 22.0, 38.0), twist=_uniform(g, m, 0.0, 20.0))


def _standing_arms(a: _Angles, g: torch.Generator) -> None:
    """Relaxed, hands on hips (one or both), arms crossed or hands clasped in front."""
    m = a.m
    variant = _choice(g, m, (0.5, 0.1, 0.1, 0.18, 0.12))
    opts = []
    for build in (
        lambda b: (_relaxed_arm(b, g, "left"), _relaxed_arm(b, g, "right")),
        lambda b: (_hand_on_hip(b, g, "left"), _hand_on_hip(b, g, "right")),
        lambda b: (_relaxed_arm(b, g, "left"), _hand_on_hip(b, g, "right")),
        lambda b: _crossed_arms(b, g),
        lambda b: _clasped_front(b, g),
    ):
        b = _Angles(m)
        build(b)
        opts.append(b.e)
    arms = torch.stack(opts, 1)[torch.arange(m), variant]  # (m, 24, 3)
    arm_joints = [_J[f"{s}_{j}"] for s in ("left", "right") for j in ("collar", "shoulder", "elbow", "wrist")]
    a.e[:, arm_joints] = arms[:, arm_joints]


def _standing(m: int, g: torch.Generator) -> Tensor:
    a = _Angles(m)
    _standing_legs(a, g)
    _standing_arms(a, g)
    # the hip on the weight-bearing (left) side is hiked up: let the left arm hang clear of it
    a.e[:, _J["left_shoulder"], 2] += a.e[:, 0, 2]
    return a.e


# ---- gait ----------------------------------------------------------------------------------


def _bump(phase: Tensor, centre: float, width: float) -> Tensor:
    """Periodic bump of height 1 at ``centre`` with about ``width`` (cycle units) standard deviation."""
    kappa = 1.0 / (2.0 * math.pi * width) ** 2
    return torch.exp(kappa * (torch.cos(2.0 * math.pi * (phase - centre)) - 1.0))


def _smoothstep(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _run_weight(speed: Tensor) -> Tensor:
    """0 for walking (<= 2.0 m/s), 1 for running (>= 3.0 m/s), smooth in between."""
    return _smoothstep((speed - 2.0) / 1.0)


class _PeriodicCurve:
    """C1 periodic cubic (cardinal Hermite) curve through keyframes ``(phase, value)`` with period 1."""

    def __init__(self, keys: tuple[tuple[float, float], ...]) -> None:
        t = torch.tensor([k[0] for k in keys], dtype=torch.float32)
        p = torch.tensor([k[1] for k in keys], dtype=torch.float32)
        # neighbours across the period boundary
        t_prev = torch.cat([t[-1:] - 1.0, t[:-1]])
        t_next = torch.cat([t[1:], t[:1] + 1.0])
        p_prev = torch.cat([p[-1:], p[:-1]])
        p_next = torch.cat([p[1:], p[:1]])
        self.t = torch.cat([t, t[:1] + 1.0])
        self.p = torch.cat([p, p[:1]])
        m = (p_next - p_prev) / (t_next - t_prev)
        self.m = torch.cat([m, m[:1]])

    def __call__(self, phase: Tensor) -> Tensor:
        x = torch.remainder(phase, 1.0)
        x = torch.where(x < self.t[0], x + 1.0, x)
        i = (torch.searchsorted(self.t, x.contiguous(), right=True) - 1).clamp(0, self.t.numel() - 2)
        t0, t1 = self.t[i], self.t[i + 1]
        dt = t1 - t0
        u = (x - t0) / dt
        u2, u3 = u * u, u * u * u
        h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2
        return h00 * self.p[i] + h10 * dt * self.m[i] + h01 * self.p[i + 1] + h11 * dt * self.m[i + 1]


# One leg's angles (degrees) over a gait cycle starting at its heel strike. Thigh = hip flexion
# relative to the vertical (the pelvis pitch is added on top); ankle + is plantarflexion.
# Walking: a slow (0.6 m/s) and a normal (1.5 m/s) set, toe-off at 62% of the cycle; running at
# 3.5 m/s, toe-off at 38%, flight until the other foot lands at 50%. The values started from
# textbook gait curves and were then adjusted on the embedded body model so that the swing foot
# clears the ground, both feet touch it in double support and the stance foot does not slide.
_WALK_PHASES = (0.0, 0.12, 0.3, 0.5, 0.62, 0.75, 0.88)
_WALK_SLOW_THIGH = _PeriodicCurve(tuple(zip(_WALK_PHASES, (12.7, 6.9, -2.1, -8.1, -4.0, 12.3, 23.3))))
_WALK_FAST_THIGH = _PeriodicCurve(tuple(zip(_WALK_PHASES, (20.3, 15.2, 0.6, -13.0, -9.7, 19.3, 28.7))))
_KNEE_PHASES = (0.0, 0.14, 0.4, 0.6, 0.72, 0.85, 0.95)
_WALK_SLOW_KNEE = _PeriodicCurve(tuple(zip(_KNEE_PHASES, (5.0, 8.0, 13.7, 34.0, 53.0, 25.5, 0.3))))
_WALK_FAST_KNEE = _PeriodicCurve(tuple(zip(_KNEE_PHASES, (4.8, 14.3, 17.6, 34.0, 63.1, 30.1, 3.3))))
_ANKLE_PHASES = (0.0, 0.08, 0.3, 0.48, 0.62, 0.75, 0.9)
_WALK_SLOW_ANKLE = _PeriodicCurve(tuple(zip(_ANKLE_PHASES, (-0.3, 2.0, -0.2, -9.6, 4.4, -0.8, -2.2))))
_WALK_FAST_ANKLE = _PeriodicCurve(tuple(zip(_ANKLE_PHASES, (-0.7, 3.7, -5.4, -14.1, 12.5, 0.5, -2.0))))
_RUN_THIGH = _PeriodicCurve(((0.0, 28.1), (0.1, 17.9), (0.2, 3.9), (0.3, -12.0), (0.38, -18.7), (0.55, 7.8), (0.7, 35.8), (0.87, 30.2)))
_RUN_KNEE = _PeriodicCurve(((0.0, 25.7), (0.15, 33.3), (0.38, 25.0), (0.55, 79.9), (0.68, 106.3), (0.85, 35.8)))
_RUN_ANKLE = _PeriodicCurve(((0.0, -2.0), (0.15, -16.5), (0.38, 8.1), (0.55, 8.8), (0.75, 0.7), (0.9, -9.4)))

#: Stride length (m per gait cycle) against speed (m/s): the rate at which :func:`gait_pose`
#: sweeps the stance foot backwards, measured on the embedded body model (see stride_frequency).
_STRIDE_SPEEDS = (0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.2, 2.6, 3.0, 3.5, 4.0, 4.5, 5.0)
_STRIDE_LENGTHS = (0.05, 0.48, 0.96, 1.11, 1.26, 1.41, 1.56, 1.58, 1.67, 2.14, 2.27, 2.39, 2.51, 2.63)


def stride_length(speed: Tensor) -> Tensor:
    """Metres travelled per gait cycle (two steps) at ``speed`` m/s, matched to :func:`gait_pose`'s legs."""
    v = torch.as_tensor(speed, dtype=torch.float32).clamp(0.0, _STRIDE_SPEEDS[-1])
    xs = torch.tensor(_STRIDE_SPEEDS)
    ys = torch.tensor(_STRIDE_LENGTHS)
    i = (torch.searchsorted(xs, v.contiguous(), right=True) - 1).clamp(0, len(xs) - 2)
    u = (v - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i] + u * (ys[i + 1] - ys[i])


def stride_frequency(speed: Tensor) -> Tensor:
    """Gait cycles (two steps) per second at ``speed`` m/s: ``speed / stride_length(speed)``.

    Integrating this frequency gives a phase at which the stance foot of :func:`gait_pose`
    hardly slides on the ground when the pelvis moves at ``speed``.
    """
    v = torch.as_tensor(speed, dtype=torch.float32).clamp_min(0.0)
    return v / stride_length(v)


# All gait curves tabulated on a fine periodic grid, evaluated together by linear interpolation
# (the interpolation error is far below 0.01 deg; one gather instead of nine spline evaluations).
_CURVE_GRID = 1024
_GAIT_CURVES = (
    _WALK_SLOW_THIGH, _WALK_FAST_THIGH, _WALK_SLOW_KNEE, _WALK_FAST_KNEE, _WALK_SLOW_ANKLE, _WALK_FAST_ANKLE,
    _RUN_THIGH, _RUN_KNEE, _RUN_ANKLE,
)  # fmt: skip
_GAIT_TABLE = torch.stack([c(torch.arange(_CURVE_GRID + 1) / _CURVE_GRID) for c in _GAIT_CURVES])  # (9, G + 1)


def _gait_curves(phase: Tensor) -> Tensor:
    """(9, ...) values of :data:`_GAIT_CURVES` at ``phase`` (cycles)."""
    x = torch.remainder(phase, 1.0) * _CURVE_GRID
    i = x.floor().long().clamp(0, _CURVE_GRID - 1)
    f = x - i
    return _GAIT_TABLE[:, i] * (1.0 - f) + _GAIT_TABLE[:, i + 1] * f


def _walk_blend(speed: Tensor) -> tuple[Tensor, Tensor]:
    """(fade, mix): fade goes 0 -> 1 from standing to 0.6 m/s, mix 0 -> 1 from the slow to the
    normal walking set (0.6 -> 1.5 m/s), extrapolating up to 1.45 (1.9 m/s)."""
    return (speed / 0.6).clamp(0.0, 1.0), ((speed - 0.6) / 0.9).clamp(0.0, 1.45)


def _leg_cycle(phase: Tensor, speed: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Thigh flexion (relative to vertical), knee flexion and ankle plantarflexion of ONE leg whose heel strikes at phase 0."""
    fade, mix = _walk_blend(speed)
    c = _gait_curves(phase)
    hip_w, knee_w, ankle_w = (fade * (c[k] + mix * (c[k + 1] - c[k])) for k in (0, 2, 4))
    ramp = (1.0 + 0.12 * (speed - 3.5)).clamp(0.85, 1.25)
    hip_r, knee_r, ankle_r = ramp * c[6], ramp * c[7], c[8]
    w = _run_weight(speed)
    return hip_w + w * (hip_r - hip_w), knee_w + w * (knee_r - knee_w), ankle_w + w * (ankle_r - ankle_w)


def _gait(a: _Angles, phase: Tensor, speed: Tensor, arm_swing: Value = 1.0, lean: Tensor | None = None) -> None:
    """Walking/running joint angles; the left heel strikes at phase 0, the right at 0.5."""
    w = _run_weight(speed)
    amp = (speed / 1.3).clamp(0.0, 1.3) ** 0.8
    two_pi_phase = 2.0 * math.pi * phase
    cos, sin = torch.cos(two_pi_phase), torch.sin(two_pi_phase)
    pitch = (2.0 * amp + w * 6.0) if lean is None else lean
    yaw_amp = 4.0 * amp * (1.0 - w) + 3.0 * w
    roll_amp = 4.0 * amp * (1.0 - w) + 3.0 * w
    roll = roll_amp * sin  # left stance (phase ~0.25): the right side drops
    a.root(pitch=pitch, roll=roll, yaw=-yaw_amp * cos)
    for side, ph, sgn in (("left", phase, 1.0), ("right", torch.remainder(phase + 0.5, 1.0), -1.0)):
        hip, knee, ankle = _leg_cycle(ph, speed)
        a.hip(side, flex=hip + pitch, abd=2.0 * (1.0 - w) - sgn * roll, ext=6.0)
        a.knee(side, knee)
        a.ankle(side, plantar=ankle)
        a.toes(side, flex=-12.0 * _bump(ph, 0.58 - 0.14 * w, 0.05) * amp)
    # trunk: counter-rotate the shoulders against the pelvis, keep it upright over the rolling pelvis
    shoulder_yaw = (3.0 * amp * (1.0 - w) + 6.0 * w) * cos
    total_twist = shoulder_yaw + yaw_amp * cos
    for j, f in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.3)):
        a.mid(j, flex=1.0 + 1.0 * w, lat=f * roll, twist=f * total_twist)
    a.mid("neck", twist=-0.6 * shoulder_yaw)
    a.mid("head", twist=-0.4 * shoulder_yaw)
    _upright_head(a, 0.9)
    # arms swing opposite to the legs: the left arm is back when the left leg is forward (phase 0)
    swing_mean = amp * 5.0 * (1.0 - w) + 6.0 * w
    osc = arm_swing * (amp * 16.0 * (1.0 - w) + 32.0 * w) * cos
    for side, fwd in (("left", -osc), ("right", osc)):
        elbow_w = 12.0 + 10.0 * amp * (0.5 + 0.5 * torch.tanh(fwd / 10.0))
        elbow_r = 80.0 + 15.0 * torch.tanh(fwd / 20.0)  # more flexed when the arm is forward
        a.collar(side, elev=2.0 * w, protr=1.5 * torch.tanh(fwd / 15.0))
        a.shoulder(side, flex=arm_swing * swing_mean + fwd, abd=9.0 + 5.0 * w, ext=-5.0 + 10.0 * w)
        a.elbow(side, flex=elbow_w + w * (elbow_r - elbow_w), twist=10.0)
        a.wrist(side, flex=-5.0 * w)


def gait_pose(
    phase: Tensor, speed: Tensor | float, arm_swing: Tensor | float = 1.0, lean_deg: Tensor | float | None = None
) -> Tensor:
    """Walking/running pose, periodic in ``phase``.

    Args:
        phase: ``(n,)`` gait phase in cycles; the left heel strikes at 0, the right at 0.5.
        speed: ``(n,)`` or scalar speed in m/s; walking below 2 m/s, running above 3 m/s,
            blended in between; 0 gives a neutral standing pose.
        arm_swing: scale of the arm swing (0 keeps the arms still).
        lean_deg: forward pelvis pitch in degrees (default: grows with speed).
    Returns:
        ``(n, 24, 3)`` float32 axis-angle pose with no mean yaw (facing +z).
    """
    phase = torch.as_tensor(phase, dtype=torch.float32).reshape(-1)
    n = phase.shape[0]
    speed_t = torch.as_tensor(speed, dtype=torch.float32)
    speed_t = speed_t.expand(n) if speed_t.ndim == 0 else speed_t.reshape(-1)
    a = _Angles(n)
    lean = None if lean_deg is None else torch.as_tensor(lean_deg, dtype=torch.float32).expand(n)
    _gait(a, torch.remainder(phase, 1.0), speed_t, arm_swing=torch.as_tensor(arm_swing, dtype=torch.float32), lean=lean)
    return euler_to_pose(a.e.double() * _DEG).float()


def _walking(m: int, g: torch.Generator) -> Tensor:
    a = _Angles(m)
    _gait(a, torch.rand(m, generator=g), _uniform(g, m, 0.6, 1.9), arm_swing=_uniform(g, m, 0.5, 1.3))
    return a.e


def _running(m: int, g: torch.Generator) -> Tensor:
    a = _Angles(m)
    speed = _uniform(g, m, 2.4, 4.5)
    _gait(a, torch.rand(m, generator=g), speed, arm_swing=_uniform(g, m, 0.7, 1.2), lean=_uniform(g, m, 3.0, 11.0))
    return a.e


def _legs_standing_or_walking(a: _Angles, g: torch.Generator, walk_prob: float) -> None:
    m = a.m
    walk = torch.rand(m, generator=g) < walk_prob
    st = _Angles(m)
    _standing_legs(st, g)
    _relaxed_arm(st, g, "left")
    _relaxed_arm(st, g, "right")
    wk = _Angles(m)
    _gait(wk, torch.rand(m, generator=g), _uniform(g, m, 0.6, 1.6), arm_swing=_uniform(g, m, 0.4, 1.0))
    a.e[:] = torch.where(walk[:, None, None], wk.e, st.e)


# ---- arm gestures --------------------------------------------------------------------------


def _phone_arms(a: _Angles, g: torch.Generator) -> None:
    """Phone at the right ear (60%) or held in front of the chest for texting (40%)."""
    m = a.m
    at_ear = (torch.rand(m, generator=g) < 0.6)
    ear = _Angles(m)
    ear.collar("right", elev=_uniform(g, m, 6.0, 12.0), protr=_uniform(g, m, 0.0, 6.0))
    ear.shoulder("right", flex=_uniform(g, m, 72.0, 92.0), abd=_uniform(g, m, 0.0, 25.0), ext=_uniform(g, m, -15.0, 0.0))
    ear.elbow("right", flex=_uniform(g, m, 140.0, 150.0), twist=_uniform(g, m, -10.0, 20.0))
    ear.wrist("right", flex=_uniform(g, m, -10.0, 10.0))
    ear.mid("neck", lat=-_uniform(g, m, 2.0, 8.0))
    ear.mid("head", lat=-_uniform(g, m, 0.0, 6.0))
    text = _Angles(m)
    both = (torch.rand(m, generator=g) < 0.5).float()
    for side, on in (("right", torch.ones(m)), ("left", both)):
        text.collar(side, protr=on * _uniform(g, m, 3.0, 8.0))
        text.shoulder(side, flex=on * _uniform(g, m, 12.0, 25.0) + (1 - on) * _uniform(g, m, -3.0, 10.0),
                      abd=on * _uniform(g, m, 0.0, 8.0) + (1 - on) * 10.0,
                      ext=on * _uniform(g, m, -35.0, -20.0))  # fmt: skip
        # palms up: supinate the forearm (negative twist), split between elbow and wrist as in SMPL
        text.elbow(side, flex=on * _uniform(g, m, 78.0, 95.0) + (1 - on) * 15.0, twist=on * _uniform(g, m, -80.0, -60.0))
        text.wrist(side, twist=on * _uniform(g, m, -55.0, -35.0), flex=on * _uniform(g, m, -15.0, 5.0))
    text.mid("neck", flex=_uniform(g, m, 15.0, 30.0))
    text.mid("head", flex=_uniform(g, m, 5.0, 20.0))
    joints = [_J[n] for n in ("right_collar", "right_shoulder", "right_elbow", "right_wrist")]
    a.e[:, joints] = torch.where(at_ear[:, None, None], ear.e[:, joints], text.e[:, joints])
    left = [_J[n] for n in ("left_collar", "left_shoulder", "left_elbow", "left_wrist")]
    a.e[:, left] = torch.where(at_ear[:, None, None], a.e[:, left], text.e[:, left])
    for j in ("neck", "head"):
        a.e[:, _J[j]] += torch.where(at_ear[:, None], ear.e[:, _J[j]], text.e[:, _J[j]])


def _pointing_arms(a: _Angles, g: torch.Generator) -> None:
    """Right arm pointing forward or forward-sideways, the head turned towards it."""
    m = a.m
    abd = _uniform(g, m, -10.0, 55.0)
    a.collar("right", elev=_uniform(g, m, 2.0, 8.0), protr=_uniform(g, m, 0.0, 8.0))
    a.shoulder("right", flex=_uniform(g, m, 65.0, 100.0), abd=abd, ext=_uniform(g, m, -30.0, -5.0))
    a.elbow("right", flex=_uniform(g, m, 0.0, 15.0), twist=_uniform(g, m, -10.0, 30.0))
    a.wrist("right", flex=_normal(g, m, 8.0))
    turn = -abd * _uniform(g, m, 0.3, 0.8)
    a.e[:, _J["neck"], 1] += 0.6 * turn
    a.e[:, _J["head"], 1] += 0.4 * turn


def _carrying_arms(a: _Angles, g: torch.Generator) -> None:
    """A bag in the right hand (50%) or a box held with both hands in front (50%)."""
    m = a.m
    bag = torch.rand(m, generator=g) < 0.5
    b = _Angles(m)
    b.e[:] = a.e
    b.collar("right", elev=_uniform(g, m, -8.0, -3.0))
    b.shoulder("right", flex=_uniform(g, m, -5.0, 8.0), abd=_uniform(g, m, 14.0, 24.0), ext=_uniform(g, m, -5.0, 15.0))
    b.elbow("right", flex=_uniform(g, m, 0.0, 12.0), twist=_uniform(g, m, 0.0, 20.0))
    lean = _uniform(g, m, 2.0, 7.0)  # lean away from the bag
    for j in ("spine1", "spine2", "spine3"):
        b.e[:, _J[j], 2] -= lean / 3.0
    x = _Angles(m)
    x.e[:] = a.e
    for side in ("left", "right"):
        x.collar(side, protr=_uniform(g, m, 3.0, 8.0))
        x.shoulder(side, flex=_uniform(g, m, 5.0, 20.0), abd=_uniform(g, m, 8.0, 18.0), ext=_uniform(g, m, -25.0, -10.0))
        x.elbow(side, flex=_uniform(g, m, 70.0, 90.0), twist=_uniform(g, m, -10.0, 20.0))
    for j in ("spine1", "spine2"):
        x.e[:, _J[j], 0] -= _uniform(g, m, 0.0, 4.0)
    a.e[:] = torch.where(bag[:, None, None], b.e, x.e)


def _gesture(arms: Callable[[_Angles, torch.Generator], None], walk_prob: float) -> Callable[[int, torch.Generator], Tensor]:
    def build(m: int, g: torch.Generator) -> Tensor:
        a = _Angles(m)
        _legs_standing_or_walking(a, g, walk_prob)
        arms(a, g)
        return a.e

    return build


# ---- bending, crouching, sitting -----------------------------------------------------------


def _bending(m: int, g: torch.Generator) -> Tensor:
    """Bent forward at the hips (40-100 deg trunk pitch), knees straight or bent, arms hanging or reaching."""
    a = _Angles(m)
    total = _uniform(g, m, 35.0, 100.0)
    pelvis = total * _uniform(g, m, 0.55, 0.8)
    knee = _uniform(g, m, 0.0, 35.0)
    a.root(pitch=pelvis, roll=_normal(g, m, 2.0))
    for side in ("left", "right"):
        a.hip(side, flex=pelvis + 0.5 * knee, abd=_uniform(g, m, 3.0, 12.0), ext=_uniform(g, m, 0.0, 15.0))
        a.knee(side, knee)
        _flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=(total - pelvis) / 3.0, twist=_normal(g, m, 3.0), lat=_normal(g, m, 2.0))
    a.mid("neck", flex=_uniform(g, m, -5.0, 10.0))
    _upright_head(a, _uniform(g, m, 0.2, 0.6))
    reach = _uniform(g, m, -10.0, 35.0)
    for side in ("left", "right"):
        a.collar(side, protr=_uniform(g, m, 0.0, 10.0))
        a.shoulder(side, flex=total + reach + _normal(g, m, 6.0), abd=_uniform(g, m, 5.0, 15.0), ext=_uniform(g, m, -20.0, 10.0))
        a.elbow(side, flex=_uniform(g, m, 5.0, 40.0), twist=_uniform(g, m, 0.0, 30.0))
    return a.e


def _crouching(m: int, g: torch.Generator) -> Tensor:
    """Squat / crouch: thighs 70-110 deg forward, knees deeply bent, heels down, forearms towards the knees."""
    a = _Angles(m)
    thigh = _uniform(g, m, 70.0, 110.0)
    pelvis = _uniform(g, m, 15.0, 35.0)
    knee = (thigh + _uniform(g, m, 20.0, 45.0)).clamp(max=150.0)
    a.root(pitch=pelvis, roll=_normal(g, m, 2.0))
    for side in ("left", "right"):
        a.hip(side, flex=thigh + pelvis, abd=_uniform(g, m, 10.0, 30.0), ext=_uniform(g, m, 10.0, 30.0))
        a.knee(side, knee)
        _flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=_uniform(g, m, 3.0, 12.0), twist=_normal(g, m, 3.0))
    _upright_head(a, _uniform(g, m, 0.4, 0.9))
    for side in ("left", "right"):
        a.collar(side, protr=_uniform(g, m, 3.0, 10.0))
        a.shoulder(side, flex=_uniform(g, m, 30.0, 70.0), abd=_uniform(g, m, 8.0, 20.0), ext=_uniform(g, m, -25.0, 0.0))
        a.elbow(side, flex=_uniform(g, m, 20.0, 80.0), twist=_uniform(g, m, 0.0, 40.0))
    return a.e


def _sitting(m: int, g: torch.Generator) -> Tensor:
    """Seated on a chair: thighs about horizontal, hip flexion ~90 deg, hands on thighs / in the lap / relaxed."""
    a = _Angles(m)
    thigh = _uniform(g, m, 78.0, 100.0)
    pelvis = _uniform(g, m, -12.0, 8.0)  # negative: leaning back
    a.root(pitch=pelvis, roll=_normal(g, m, 2.0))
    for side in ("left", "right"):
        knee = (thigh + _uniform(g, m, -25.0, 30.0)).clamp(min=45.0)
        a.hip(side, flex=thigh + pelvis, abd=_uniform(g, m, 2.0, 15.0), ext=_uniform(g, m, 0.0, 20.0))
        a.knee(side, knee)
        _flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=_uniform(g, m, 0.0, 10.0), twist=_normal(g, m, 3.0), lat=_normal(g, m, 2.0))
    a.mid("neck", twist=_normal(g, m, 10.0))
    _upright_head(a, _uniform(g, m, 0.6, 1.0))
    variant = _choice(g, m, (0.45, 0.3, 0.25))
    for side in ("left", "right"):
        a.collar(side, protr=_uniform(g, m, 0.0, 8.0))
        a.shoulder(side, flex=_pick(variant, _uniform(g, m, 15.0, 35.0), _uniform(g, m, 5.0, 20.0), _uniform(g, m, -5.0, 10.0)),
                   abd=_pick(variant, _uniform(g, m, 5.0, 15.0), _uniform(g, m, 5.0, 12.0), _uniform(g, m, 10.0, 20.0)),
                   ext=_pick(variant, _uniform(g, m, -20.0, 0.0), _uniform(g, m, -45.0, -25.0), _uniform(g, m, -10.0, 10.0)))  # fmt: skip
        a.elbow(side, flex=_pick(variant, _uniform(g, m, 45.0, 75.0), _uniform(g, m, 60.0, 90.0), _uniform(g, m, 10.0, 50.0)),
                twist=_uniform(g, m, 0.0, 40.0))  # fmt: skip
    return a.e


_BUILDERS: dict[str, Callable[[int, torch.Generator], Tensor]] = {
    "standing": _standing,
    "walking": _walking,
    "running": _running,
    "phone": _gesture(_phone_arms, 0.3),
    "pointing": _gesture(_pointing_arms, 0.15),
    "carrying": _gesture(_carrying_arms, 0.5),
    "bending": _bending,
    "crouching": _crouching,
    "sitting": _sitting,
}


def _noise_scale() -> Tensor:
    """Per joint and axis multiplier of ``noise_deg`` (twists and hinge side-axes move less)."""
    s = torch.ones(NUM_JOINTS, 3)
    s[0] = torch.tensor([0.25, 0.0, 0.25])  # root: tilt only, never yaw
    for j in ("spine1", "spine2", "spine3"):
        s[_J[j]] = torch.tensor([0.5, 0.4, 0.4])
    s[_J["neck"]] = torch.tensor([0.8, 1.0, 0.6])
    s[_J["head"]] = torch.tensor([0.8, 1.0, 0.6])
    for side in ("left", "right"):
        s[_J[f"{side}_hip"]] = torch.tensor([0.5, 0.8, 0.4])
        s[_J[f"{side}_knee"]] = torch.tensor([0.8, 0.3, 0.1])
        s[_J[f"{side}_ankle"]] = torch.tensor([0.6, 0.5, 0.5])
        s[_J[f"{side}_foot"]] = torch.tensor([0.5, 0.2, 0.2])
        s[_J[f"{side}_collar"]] = torch.tensor([0.3, 0.5, 0.5])
        s[_J[f"{side}_shoulder"]] = torch.tensor([1.3, 1.3, 0.7])
        s[_J[f"{side}_elbow"]] = torch.tensor([1.2, 1.3, 0.3])
        s[_J[f"{side}_wrist"]] = torch.tensor([1.5, 1.0, 1.5])
        s[_J[f"{side}_hand"]] = torch.tensor([1.0, 1.0, 1.5])
    return s


_NOISE_SCALE = _noise_scale()


# --------------------------------------------------------------------------------------------
# Public sampler
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PosePriorConfig:
    """Configuration of :class:`PosePrior`.

    Attributes:
        family_weights: relative frequency of each family in :data:`FAMILIES` (missing families
            get weight 0; at least one must be positive).
        noise_deg: standard deviation (degrees) of the per-joint angle noise added around each
            family (scaled per joint; 0 disables it).
        mirror_prob: probability of mirroring a pose left/right.
    """

    family_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAMILY_WEIGHTS))
    noise_deg: float = 6.0
    mirror_prob: float = 0.5

    def __post_init__(self) -> None:
        unknown = set(self.family_weights) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown pose families {sorted(unknown)}; expected a subset of {FAMILIES}")
        weights = [float(self.family_weights.get(f, 0.0)) for f in FAMILIES]
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"family_weights must be finite, >= 0 and not all zero, got {self.family_weights}")
        if not math.isfinite(self.noise_deg) or self.noise_deg < 0:
            raise ValueError(f"noise_deg must be >= 0, got {self.noise_deg}")
        if not 0.0 <= self.mirror_prob <= 1.0:
            raise ValueError(f"mirror_prob must be in [0, 1], got {self.mirror_prob}")

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
    """Samples plausible poses of people seen by surveillance and sports cameras."""

    def __init__(self, config: PosePriorConfig = PosePriorConfig()) -> None:
        self.config = config
        self._probs = config.probabilities()

    def sample_euler(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Joint angles ``(n, 24, 3)`` (radians, within the limits, before mirroring), families and mirror flags."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        family = torch.multinomial(self._probs, n, replacement=True, generator=generator) if n else torch.zeros(0, dtype=torch.long)
        euler = torch.zeros(n, NUM_JOINTS, 3)
        for k, name in enumerate(FAMILIES):
            idx = (family == k).nonzero().squeeze(1)
            if idx.numel():
                euler[idx] = _BUILDERS[name](idx.numel(), generator)
        if self.config.noise_deg > 0:
            euler = euler + torch.randn(n, NUM_JOINTS, 3, generator=generator) * (_NOISE_SCALE * self.config.noise_deg)
        euler, _ = _project_euler(_wrap(euler * _DEG))
        mirrored = torch.rand(n, generator=generator) < self.config.mirror_prob
        return euler, family, mirrored

    def sample(self, n: int, generator: torch.Generator) -> PoseSample:
        """``n`` poses, deterministic given the generator state."""
        euler, family, mirrored = self.sample_euler(n, generator)
        pose = euler_to_pose(euler).float()
        pose = torch.where(mirrored[:, None, None], mirror_pose(pose), pose)
        return PoseSample(pose=pose, family=family, mirrored=mirrored)


def sample_betas(n: int, generator: torch.Generator, clip: float = 2.5) -> Tensor:
    """``(n, 10)`` shape coefficients from N(0, 1) clipped to ``[-clip, clip]``."""
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    return torch.randn(n, 10, generator=generator).clamp(-clip, clip)

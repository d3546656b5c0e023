"""Joint-angle convention of the pose prior: limits, Euler conversions, mirroring and a pose builder.

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

import torch
from torch import Tensor

from model.body.joint_names import SMPL_JOINT_NAMES
from model.body.symmetry import mirror_pose
from model.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_quaternion,
    quaternion_to_axis_angle,
)

__all__ = [
    "DEG",
    "JOINT_LIMITS_DEG",
    "NUM_JOINTS",
    "J",
    "JointAngles",
    "Value",
    "choice",
    "clamp_to_limits",
    "euler_to_matrix",
    "euler_to_pose",
    "flat_foot",
    "limit_box",
    "limit_violation",
    "matrix_to_euler",
    "mirror_pose",
    "normal",
    "pick",
    "pose_to_euler",
    "project_euler",
    "uniform",
    "upright_head",
    "wrap_angle",
]

NUM_JOINTS = 24
#: Joint index by SMPL joint name.
J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
DEG = math.pi / 180.0

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
        lt = torch.tensor(l, dtype=torch.float64) * DEG
        ht = torch.tensor(h, dtype=torch.float64) * DEG
        lo[J[name]], hi[J[name]] = lt, ht
        if name.startswith("left_"):
            r = J["right_" + name[len("left_") :]]
            # mirroring keeps x and negates y and z, which swaps their bounds
            lo[r] = torch.stack([lt[0], -ht[1], -ht[2]])
            hi[r] = torch.stack([ht[0], -lt[1], -lt[2]])
    return lo, hi


_LIMIT_LO, _LIMIT_HI = _limit_tensors()


def limit_box() -> tuple[Tensor, Tensor]:
    """``(lo, hi)``, each ``(24, 3)`` float64 radians: the limits of every joint angle (the root: +-pi)."""
    return _LIMIT_LO.clone(), _LIMIT_HI.clone()


def _rot_z_deg(angle: float) -> Tensor:
    c, s = math.cos(angle * DEG), math.sin(angle * DEG)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _frame_rotations() -> tuple[Tensor, Tensor]:
    """(A, B), each (24, 3, 3): ``R_local = A @ E @ B`` (see the module docstring)."""
    pre = torch.eye(3, dtype=torch.float64).repeat(NUM_JOINTS, 1, 1)
    post = pre.clone()
    for side, sign in (("left", 1.0), ("right", -1.0)):
        post[J[f"{side}_shoulder"]] = _rot_z_deg(-90.0 * sign)  # arm hanging down at E = 0
        pre[J[f"{side}_elbow"]] = _rot_z_deg(-90.0 * sign)  # a change of axes: E = 0 is the rest
        post[J[f"{side}_elbow"]] = _rot_z_deg(90.0 * sign)
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


def wrap_angle(angle: Tensor) -> Tensor:
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


def _clamp_box(euler: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Clamp wrapped angles to ``[lo, hi]`` going to the circularly nearer bound; returns (clamped, violation)."""
    inside = (euler >= lo) & (euler <= hi)
    d_lo = wrap_angle(euler - lo).abs()
    d_hi = wrap_angle(euler - hi).abs()
    clamped = torch.where(inside, euler, torch.where(d_lo <= d_hi, lo.expand_as(euler), hi.expand_as(euler)))
    violation = torch.where(inside, torch.zeros_like(euler), torch.minimum(d_lo, d_hi))
    return clamped, violation.sum(-1)


def project_euler(euler: Tensor) -> tuple[Tensor, Tensor]:
    """Project canonical Euler angles ``(..., 24, 3)`` into the limits, trying both Euler solutions.

    Returns the clamped angles and the per-joint violation (radians, summed over the axes) of the
    better of the two solutions.
    """
    lo = _LIMIT_LO.to(euler)
    hi = _LIMIT_HI.to(euler)
    alt = torch.stack(
        (wrap_angle(euler[..., 0] + math.pi), wrap_angle(euler[..., 1] + math.pi), wrap_angle(math.pi - euler[..., 2])), dim=-1
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
    return project_euler(pose_to_euler(pose.double()))[1].to(pose.dtype)


_CLAMP_TOL = 1e-5


def clamp_to_limits(pose: Tensor) -> Tensor:
    """Project axis-angle poses ``(..., 24, 3)`` into :data:`JOINT_LIMITS_DEG`.

    Joints inside their limits (up to ``_CLAMP_TOL`` radians, which absorbs float32 round-off)
    and the root are returned unchanged (bit-exact); the others are decomposed into joint angles,
    clamped and recomposed.
    """
    euler = pose_to_euler(pose.double())
    clamped, violation = project_euler(euler)
    new = euler_to_pose(clamped).to(pose.dtype)
    changed = (violation > _CLAMP_TOL)[..., None]
    changed[..., 0, :] = False
    return torch.where(changed, new, pose)


# --------------------------------------------------------------------------------------------
# Building poses from anatomical angles
# --------------------------------------------------------------------------------------------

Value = float | Tensor


class JointAngles:
    """Joint angles (degrees, module convention) of ``m`` poses, set through anatomical helpers.

    Side-specific helpers take values in the person's-left convention and mirror them for
    ``side="right"``.
    """

    def __init__(self, m: int) -> None:
        self.m = m
        self.e = torch.zeros(m, NUM_JOINTS, 3)

    def _set(self, joint: str, side: str | None, x: Value | None, y: Value | None, z: Value | None) -> None:
        name = joint if side is None else f"{side}_{joint}"
        j = J[name]
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


def uniform(g: torch.Generator, m: int, lo: float, hi: float) -> Tensor:
    return torch.rand(m, generator=g) * (hi - lo) + lo


def normal(g: torch.Generator, m: int, std: float) -> Tensor:
    return torch.randn(m, generator=g) * std


def choice(g: torch.Generator, m: int, probs: tuple[float, ...]) -> Tensor:
    return torch.multinomial(torch.tensor(probs, dtype=torch.float32), m, replacement=True, generator=g)


def pick(index: Tensor, *options: Value) -> Tensor:
    """Per-sample choice among options (floats or (m,) tensors) by an integer index (m,)."""
    m = index.shape[0]
    cols = [o.expand(m) if isinstance(o, Tensor) else torch.full((m,), float(o)) for o in options]
    return torch.stack(cols, dim=1).gather(1, index[:, None]).squeeze(1)


def flat_foot(a: JointAngles, side: str) -> None:
    """Set the ankle plantarflexion so that the sole is level: pelvis pitch - hip flexion + knee + ankle = 0."""
    j = "left" if side == "left" else "right"
    pitch = a.e[:, 0, 0]
    hip_x = a.e[:, J[f"{j}_hip"], 0]  # = -flexion
    knee = a.e[:, J[f"{j}_knee"], 0]
    a.e[:, J[f"{j}_ankle"], 0] = -(pitch + hip_x + knee)


def upright_head(a: JointAngles, amount: Value = 1.0) -> None:
    """Counter the pitch of pelvis + spine at the neck and head by ``amount`` (1 = look straight ahead)."""
    total = a.e[:, 0, 0] + a.e[:, J["spine1"], 0] + a.e[:, J["spine2"], 0] + a.e[:, J["spine3"], 0]
    a.e[:, J["neck"], 0] = a.e[:, J["neck"], 0] - 0.6 * amount * total
    a.e[:, J["head"], 0] = a.e[:, J["head"], 0] - 0.4 * amount * total



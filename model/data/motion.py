"""Smooth procedural motion clips (world frame) for the video module.

A clip is a person standing idle (with sway, head turns and possibly raising a phone or pointing)
or walking / running with smoothly changing speed and heading (possibly carrying something or
on the phone). The joint angles come from :mod:`model.data.poses`; the gait phase is integrated
from the speed through :func:`~model.data.poses.stride_frequency`, so the stride length grows
with speed and the stance foot hardly slides.

World frame: y up, the ground plane is y = 0. ``heading`` is the yaw about +y; heading 0 faces
and walks along +z, heading +pi/2 along +x. The root rotation of ``pose`` is
``Ry(heading) @ Rz(bank) @ R_body`` where ``R_body`` is the family's pelvis tilt/sway and
``bank`` the lean into turns. ``transl`` is the SMPL translation: for the neutral shape the pelvis
is at ``transl`` and, in every frame, the lowest point of the soles is on y = 0 (a runner's is
above it in the flight phases); this per-frame grounding produces the gait's vertical bob. For
another body shape, :func:`ground_clip` shifts the clip so that its feet touch the ground.
Clips start at the world origin with a random heading; the scene composer places the camera and
may move/rotate a clip with :meth:`MotionClip.transformed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import torch
from torch import Tensor

from model.data import pose_angles as A
from model.data import pose_families as F
from model.data import poses as P
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = ["MOTION_FAMILIES", "MotionClip", "MotionConfig", "ground_clip", "sample_clip", "sample_clips"]

#: Families a clip can have (a subset of :data:`model.data.poses.FAMILIES`).
MOTION_FAMILIES: tuple[str, ...] = ("standing", "walking", "running", "phone", "pointing", "carrying")

_GRAVITY = 9.81
_ARM_JOINTS = tuple(A.J[f"{s}_{j}"] for s in ("left", "right") for j in ("collar", "shoulder", "elbow", "wrist"))


@dataclass
class MotionClip:
    """A motion clip.

    Attributes:
        pose: ``(T, 24, 3)`` float32 axis-angle; the root includes the heading yaw.
        transl: ``(T, 3)`` float32 world translation of the body (metres, y up, ground y = 0).
        fps: frames per second.
        speed: ``(T,)`` float32 ground speed of the pelvis path (m/s).
        family: one of :data:`MOTION_FAMILIES`.
        heading: ``(T,)`` float32 yaw (radians) of the walking direction / body facing.
        phase: ``(T,)`` float32 gait phase in cycles (unwrapped; the left heel strikes at integers).
        mirrored: whether the body pose was mirrored left/right.
    """

    pose: Tensor
    transl: Tensor
    fps: float
    speed: Tensor
    family: str
    heading: Tensor = field(default_factory=lambda: torch.zeros(0))
    phase: Tensor = field(default_factory=lambda: torch.zeros(0))
    mirrored: bool = False

    @property
    def length(self) -> int:
        return int(self.pose.shape[0])

    def transformed(self, yaw: float = 0.0, offset: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> MotionClip:
        """The clip rotated by ``yaw`` (radians, about +y through the world origin) and then shifted by ``offset``."""
        c, s = math.cos(yaw), math.sin(yaw)
        rot = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=torch.float32)
        root = rot @ axis_angle_to_matrix(self.pose[:, 0].double()).float()
        pose = self.pose.clone()
        pose[:, 0] = matrix_to_axis_angle(root.double()).float()
        transl = self.transl @ rot.T + torch.tensor(offset, dtype=torch.float32)
        return replace(self, pose=pose, transl=transl, heading=self.heading + yaw)


@dataclass(frozen=True)
class MotionConfig:
    """Configuration of :func:`sample_clip`.

    Attributes:
        length: frames per clip.
        fps: frames per second.
        speed_range: (min, max) ground speed in m/s; 0 is standing, ~1.3 walking, >= 2.5 running.
        walk_speed: range of the initial speed of walking clips (clipped to ``speed_range``).
        run_speed: range of the initial speed of running clips (clipped to ``speed_range``).
        run_prob: probability that a moving clip is a run.
        idle_prob: probability of a stationary clip (standing with sway, maybe a gesture).
        gesture_prob: probability of an arm gesture (phone / pointing / carrying) in a clip that is
            not running; in idle clips half of them are transitions (raising or lowering the arm).
        start_stop_prob: probability that a moving clip starts from or stops to standing.
        heading_change_deg_per_s: maximum turning rate.
        max_accel: maximum change of speed, m/s^2.
        noise_deg: per-clip constant joint-angle offsets (a person's style), degrees.
        mirror_prob: probability of mirroring the body left/right.
    """

    length: int = 16
    fps: float = 25.0
    speed_range: tuple[float, float] = (0.0, 3.5)
    walk_speed: tuple[float, float] = (0.6, 1.9)
    run_speed: tuple[float, float] = (2.4, 3.5)
    run_prob: float = 0.15
    idle_prob: float = 0.25
    gesture_prob: float = 0.3
    start_stop_prob: float = 0.1
    heading_change_deg_per_s: float = 45.0
    max_accel: float = 1.5
    noise_deg: float = 3.0
    mirror_prob: float = 0.5

    def __post_init__(self) -> None:
        if int(self.length) != self.length or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {self.length}")
        if not math.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be > 0, got {self.fps}")
        for name in ("speed_range", "walk_speed", "run_speed"):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi):
                raise ValueError(f"{name} must be (lo, hi) with 0 <= lo <= hi, got {getattr(self, name)}")
        if self.speed_range[1] > 6.0:
            raise ValueError(f"speed_range above 6 m/s is not supported, got {self.speed_range}")
        for name in ("run_prob", "idle_prob", "gesture_prob", "start_stop_prob", "mirror_prob"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        for name in ("heading_change_deg_per_s", "max_accel", "noise_deg"):
            x = getattr(self, name)
            if not math.isfinite(x) or x < 0:
                raise ValueError(f"{name} must be finite and >= 0, got {x}")


def _u(g: torch.Generator, lo: float, hi: float) -> float:
    return float(torch.rand((), generator=g)) * (hi - lo) + lo


def _smoothstep(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _cumtrapz(rate: Tensor, dt: float) -> Tensor:
    """Cumulative trapezoid integral along dim 0, starting at 0."""
    steps = 0.5 * (rate[1:] + rate[:-1]) * dt
    return torch.cat([torch.zeros_like(rate[:1]), steps.cumsum(0)])


def _speed_profile(cfg: MotionConfig, g: torch.Generator, t: Tensor, moving: bool, running: bool) -> Tensor:
    lo, hi = cfg.speed_range
    if not moving:
        return torch.zeros_like(t)
    rng = cfg.run_speed if running else cfg.walk_speed
    v0 = min(max(_u(g, *rng), lo), hi)
    duration = float(t[-1]) if t.numel() > 1 else 0.0
    if torch.rand((), generator=g) < cfg.start_stop_prob and cfg.max_accel > 0:
        # start from (or stop to) standing: smoothstep ramp whose peak acceleration is max_accel
        ramp = max(1.5 * v0 / cfg.max_accel, 1e-3)
        t0 = _u(g, -0.5 * ramp, max(duration - 0.5 * ramp, -0.5 * ramp))
        if bool(torch.rand((), generator=g) < 0.5):
            v = v0 * _smoothstep((t - t0) / ramp)  # starting to walk
        else:
            v = v0 * _smoothstep((t0 + ramp - t) / ramp)  # stopping
        return v.clamp(lo, hi)
    # a constant acceleration plus a slow wobble, together within max_accel
    accel = _u(g, -1.0, 1.0) * 0.5 * cfg.max_accel
    period = _u(g, 1.5, 4.0)
    wobble_amp = min(_u(g, 0.0, 0.05) * v0, 0.4 * cfg.max_accel * period / (2.0 * math.pi))
    wobble = wobble_amp * torch.sin(2.0 * math.pi * (t / period + _u(g, 0.0, 1.0)))
    return (v0 + accel * (t - 0.5 * duration) + wobble).clamp(lo, hi)


def _heading_profile(cfg: MotionConfig, g: torch.Generator, t: Tensor, moving: bool) -> Tensor:
    h0 = _u(g, -math.pi, math.pi)
    if not moving:
        return torch.full_like(t, h0)
    max_rate = math.radians(cfg.heading_change_deg_per_s)
    turning = bool(torch.rand((), generator=g) < 0.6)
    w0 = _u(g, -1.0, 1.0) * max_rate if turning else 0.0
    w1 = _u(g, -1.0, 1.0) * max_rate if turning else 0.0
    duration = max(float(t[-1]), 1e-6)
    rate = w0 + (w1 - w0) * _smoothstep(t / duration)
    return h0 + _cumtrapz(rate, float(t[1] - t[0]) if t.numel() > 1 else 0.0)


def _gesture_angles(kind: str, g: torch.Generator) -> Tensor:
    """(24, 3) degrees: NaN on arm joints the gesture leaves alone, offsets (0 if untouched) elsewhere."""
    a = A.JointAngles(1)
    a.e[:, list(_ARM_JOINTS)] = float("nan")
    {"phone": F._phone_arms, "pointing": F._pointing_arms, "carrying": F._carrying_arms}[kind](a, g)
    return a.e[0]


def _apply_gesture(e: Tensor, gesture: Tensor, weight: Tensor) -> Tensor:
    """Blend gesture angles into ``e`` (T, 24, 3) with per-frame ``weight`` (T,)."""
    w = weight[:, None, None]
    out = e + w * torch.nan_to_num(gesture, nan=0.0)  # offsets on non-arm joints
    arms = list(_ARM_JOINTS)
    target = torch.where(torch.isnan(gesture[arms]), e[:, arms], gesture[arms].expand_as(e[:, arms]))
    out[:, arms] = e[:, arms] + w * (target - e[:, arms])
    return out


def _idle_angles(g: torch.Generator, t: Tensor) -> Tensor:
    """Standing with slow sway, weight shift and head turns: (T, 24, 3) degrees."""
    n = t.shape[0]
    base = A.JointAngles(1)
    F._standing_legs(base, g)
    F._standing_arms(base, g)
    base.e[:, A.J["left_shoulder"], 2] += base.e[:, 0, 2]  # clear of the hiked hip, as in the pose prior
    a = A.JointAngles(n)
    a.e[:] = base.e
    J = A.J

    def osc(amp: float) -> Tensor:
        return amp * torch.sin(2.0 * math.pi * (t / _u(g, 2.5, 7.0) + _u(g, 0.0, 1.0)))

    sway = osc(_u(g, 0.5, 2.0))  # pelvis roll
    a.e[:, 0, 2] += sway
    # raw z angles about (nearly) the same axis: subtracting the roll keeps both legs vertical
    a.e[:, J["left_hip"], 2] -= sway
    a.e[:, J["right_hip"], 2] -= sway
    a.e[:, J["spine1"], 2] -= 0.6 * sway
    a.e[:, 0, 0] += osc(_u(g, 0.3, 1.0))
    for j in ("left_ankle", "right_ankle"):
        a.e[:, J[j], 0] -= a.e[:, 0, 0] - base.e[0, 0, 0]
    look = osc(_u(g, 3.0, 15.0)) + osc(_u(g, 0.0, 5.0))
    a.e[:, J["neck"], 1] += 0.6 * look
    a.e[:, J["head"], 1] += 0.4 * look
    a.e[:, J["head"], 0] += osc(_u(g, 0.0, 4.0))
    for side in ("left", "right"):
        a.e[:, J[f"{side}_shoulder"], 0] += osc(_u(g, 0.0, 3.0))
        a.e[:, J[f"{side}_elbow"], 0] += osc(_u(g, 0.0, 4.0))
    return a.e


def _gait_angles(g: torch.Generator, phase: Tensor, speed: Tensor, running: bool) -> Tensor:
    n = phase.shape[0]
    a = A.JointAngles(n)
    w = F._run_weight(speed)
    lean = _u(g, 0.0, 4.0) * (1.0 - w) + _u(g, 3.0, 10.0) * w
    F._gait(a, torch.remainder(phase, 1.0), speed, arm_swing=_u(g, 0.5, 1.3) if not running else _u(g, 0.7, 1.2), lean=lean)
    a.e[:, A.J["neck"], 1] += _u(g, -10.0, 10.0)  # looking a little to one side
    return a.e


@lru_cache(maxsize=1)
def _foot_rig() -> tuple[Tensor, Tensor, Tensor]:
    """Rest joints (24, 3) of the neutral body, foot vertices (F, 3) and the joint each follows (F,)."""
    from model.body.model import load_body_model

    body = load_body_model()
    with torch.no_grad():
        rest = body.neutral()
    feet = [A.J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    mask = torch.isin(body.part_labels, torch.tensor(feet))
    verts = rest.vertices[0][mask]
    keep = verts[:, 1] < verts[:, 1].min() + 0.04  # the sole region is enough to find the lowest point
    return rest.joints[0].double(), verts[keep].double(), body.part_labels[mask][keep]


def _lowest_foot_point(root: Tensor, body_pose: Tensor) -> Tensor:
    """Height (T,) of the lowest sole point below the pelvis, with rigid feet (forward kinematics of the legs only).

    ``root``: (T, 3, 3) pelvis rotation without the heading yaw; ``body_pose``: (T, 24, 3) axis-angle.
    """
    joints, verts, owner = _foot_rig()
    rot = axis_angle_to_matrix(body_pose.double())
    n = root.shape[0]
    glob: dict[int, Tensor] = {0: root}
    pos: dict[int, Tensor] = {0: torch.zeros(n, 3, dtype=torch.float64)}
    for chain in ((1, 4, 7, 10), (2, 5, 8, 11)):
        parent = 0
        for j in chain:
            pos[j] = pos[parent] + glob[parent] @ (joints[j] - joints[parent])
            glob[j] = glob[parent] @ rot[:, j]
            parent = j
    lowest = torch.full((n,), float("inf"), dtype=torch.float64)
    for j in (7, 8, 10, 11):
        sel = verts[owner == j]
        if sel.numel():
            y = pos[j][:, None, 1] + ((sel - joints[j]) @ glob[j].transpose(1, 2))[..., 1]
            lowest = torch.minimum(lowest, y.min(1).values)
    return lowest


def _flight(phase: Tensor, speed: Tensor) -> Tensor:
    """Extra height (m) of a runner in the flight phases (both feet off the ground around phase 0.44 and 0.94)."""
    lift = F._bump(torch.remainder(2.0 * phase, 1.0), 0.88, 0.09)
    return 0.04 * F._run_weight(speed) * lift


def _rot_y(angle: Tensor) -> Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([c, z, s, z, o, z, -s, z, c], -1).reshape(*angle.shape, 3, 3)


def _rot_z(angle: Tensor) -> Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*angle.shape, 3, 3)


def sample_clip(config: MotionConfig, generator: torch.Generator) -> MotionClip:
    """One clip, deterministic given the generator state.

    Idle clips stand with slow sway and head turns; moving clips walk or run with a smoothly
    changing speed (acceleration within ``max_accel``, sometimes starting from or stopping to
    standing) and heading (turn rate within ``heading_change_deg_per_s``, leaning into turns).
    Walking and idle clips may carry an arm gesture, held or raised/lowered during the clip.
    """
    cfg, g = config, generator
    n = int(cfg.length)
    dt = 1.0 / cfg.fps
    t = torch.arange(n, dtype=torch.float32) * dt
    moving = bool(torch.rand((), generator=g) >= cfg.idle_prob) and cfg.speed_range[1] > 0.0
    running = moving and bool(torch.rand((), generator=g) < cfg.run_prob)
    speed = _speed_profile(cfg, g, t, moving, running)
    heading = _heading_profile(cfg, g, t, moving)
    phase = _u(g, 0.0, 1.0) + _cumtrapz(F.stride_frequency(speed), dt)

    # body pose in the body frame (degrees)
    if moving:
        e = _gait_angles(g, phase, speed, running)
    else:
        e = _idle_angles(g, t)
    family = ("running" if float(speed.mean()) >= 2.5 else "walking") if moving else "standing"
    is_running = float(F._run_weight(speed).max()) > 0.5
    if not is_running and bool(torch.rand((), generator=g) < cfg.gesture_prob):
        kinds = ("phone", "pointing", "carrying")
        probs = torch.tensor((0.45, 0.1, 0.45) if moving else (0.45, 0.25, 0.3))
        kind = kinds[int(torch.multinomial(probs, 1, generator=g))]
        weight = torch.ones(n)
        # pointing is always a transition (raising or lowering the arm); other idle gestures half the time
        if kind == "pointing" or (not moving and bool(torch.rand((), generator=g) < 0.5)):
            dur = _u(g, 0.4, 1.0)
            start = _u(g, -0.5 * dur, max(float(t[-1]) - 0.5 * dur, -0.5 * dur))
            weight = _smoothstep((t - start) / dur)
            if bool(torch.rand((), generator=g) < 0.5):
                weight = weight.flip(0)  # lowering the arm instead of raising it
        e = _apply_gesture(e, _gesture_angles(kind, g), weight)
        family = kind
    if cfg.noise_deg > 0:
        style = torch.randn(24, 3, generator=g) * P.NOISE_SCALE * cfg.noise_deg
        style[0] = 0.0
        e = e + style
    euler, _ = A.project_euler(A.wrap_angle(e.double() * A.DEG))
    body = A.euler_to_pose(euler).float()
    mirrored = bool(torch.rand((), generator=g) < cfg.mirror_prob)
    if mirrored:
        body = A.mirror_pose(body)

    # world root: heading yaw, banking into turns, then the body-frame pelvis orientation
    turn_rate = torch.gradient(heading, spacing=dt)[0] if n > 1 else torch.zeros(n)
    bank = -torch.atan(speed * turn_rate / _GRAVITY)
    root = _rot_y(heading.double()) @ _rot_z(bank.double()) @ axis_angle_to_matrix(body[:, 0].double())
    pose = body.clone()
    pose[:, 0] = matrix_to_axis_angle(root).float()

    # pelvis path: integrate the velocity along the heading; the height keeps the lowest sole point
    # of the neutral body on the ground (which makes the gait's vertical bob), plus flight when running
    vx, vz = speed * torch.sin(heading), speed * torch.cos(heading)
    tilt = _rot_z(bank.double()) @ axis_angle_to_matrix(body[:, 0].double())
    height = -_lowest_foot_point(tilt, body) + _flight(phase, speed)
    transl = torch.stack([_cumtrapz(vx, dt), height.float(), _cumtrapz(vz, dt)], dim=1)
    return MotionClip(
        pose=pose, transl=transl.float(), fps=float(cfg.fps), speed=speed.float(), family=family,
        heading=heading.float(), phase=phase.float(), mirrored=mirrored,
    )  # fmt: skip


def sample_clips(n: int, config: MotionConfig, generator: torch.Generator) -> list[MotionClip]:
    """``n`` clips drawn one after the other from ``generator``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [sample_clip(config, generator) for _ in range(n)]


def ground_clip(clip: MotionClip, body: torch.nn.Module, betas: Tensor) -> MotionClip:
    """Shift the clip vertically so that the lowest vertex over the whole clip touches y = 0.

    Args:
        clip: a clip.
        body: a :class:`model.body.model.BodyModel`.
        betas: ``(10,)`` or ``(1, 10)`` shape of the person.
    """
    betas = betas.reshape(1, -1).float().expand(clip.length, -1)
    with torch.no_grad():
        out = body(betas, clip.pose, clip.transl)
    lowest = float(out.vertices[..., 1].min())
    transl = clip.transl.clone()
    transl[:, 1] -= lowest
    return replace(clip, transl=transl)

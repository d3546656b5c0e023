"""Pose families: parametric models of what people do in front of cameras, in joint angles.

Each builder ``(m, generator) -> (m, 24, 3)`` returns joint angles in degrees in the convention of
:mod:`model.data.pose_angles` (before noise, limits and mirroring, which :mod:`model.data.poses`
adds). Families drawn for training are listed in :data:`FAMILIES`; :data:`HELD_OUT_FAMILIES` are
built the same way but kept out of the training mix so that a check can score pose kinds the
network never saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from model.data.pose_angles import (
    DEG,
    J,
    JointAngles,
    Value,
    choice,
    euler_to_pose,
    flat_foot,
    limit_box,
    normal,
    pick,
    uniform,
    upright_head,
)

# ---- standing ------------------------------------------------------------------------------


def _standing_legs(a: JointAngles, g: torch.Generator) -> None:
    """Symmetric stance or a weight shift onto the left leg (the right knee relaxed)."""
    m = a.m
    shift = (torch.rand(m, generator=g) < 0.5).float()
    roll = shift * uniform(g, m, 2.0, 6.0)
    a.root(pitch=uniform(g, m, -2.0, 4.0), roll=roll)
    width = uniform(g, m, 2.0, 8.0)
    a.hip("left", flex=uniform(g, m, -3.0, 4.0), abd=width - roll - shift * 3.0, ext=uniform(g, m, 0.0, 15.0))
    relaxed_knee = shift * uniform(g, m, 10.0, 25.0)
    a.hip("right", flex=uniform(g, m, -3.0, 4.0) + 0.5 * relaxed_knee, abd=width + roll + shift * 3.0,
          ext=uniform(g, m, 0.0, 15.0))  # fmt: skip
    a.knee("left", uniform(g, m, 0.0, 6.0))
    a.knee("right", uniform(g, m, 0.0, 6.0) + relaxed_knee)
    for side in ("left", "right"):
        flat_foot(a, side)
    # keep the trunk upright over the tilted pelvis
    for j, w in (("spine1", 0.4), ("spine2", 0.3), ("spine3", 0.2)):
        a.mid(j, flex=uniform(g, m, -2.0, 4.0), lat=w * roll, twist=normal(g, m, 2.0))
    a.mid("neck", flex=uniform(g, m, -5.0, 10.0), twist=normal(g, m, 8.0))
    a.mid("head", flex=uniform(g, m, -5.0, 8.0), lat=normal(g, m, 3.0), twist=normal(g, m, 8.0))
    upright_head(a, 0.7)


def _relaxed_arm(a: JointAngles, g: torch.Generator, side: str, swing: Value = 0.0) -> None:
    m = a.m
    a.collar(side, elev=uniform(g, m, -3.0, 3.0), protr=uniform(g, m, -3.0, 5.0))
    a.shoulder(side, flex=uniform(g, m, -3.0, 10.0) + swing, abd=uniform(g, m, 9.0, 16.0), ext=uniform(g, m, -10.0, 15.0))
    a.elbow(side, flex=uniform(g, m, 5.0, 25.0), twist=uniform(g, m, -10.0, 20.0))
    a.wrist(side, flex=normal(g, m, 8.0), dev=normal(g, m, 5.0))


def _hand_on_hip(a: JointAngles, g: torch.Generator, side: str) -> None:
    m = a.m
    a.collar(side, elev=uniform(g, m, 0.0, 5.0))
    a.shoulder(side, flex=uniform(g, m, -20.0, -5.0), abd=uniform(g, m, 35.0, 50.0), ext=uniform(g, m, -40.0, -25.0))
    a.elbow(side, flex=uniform(g, m, 95.0, 115.0), twist=uniform(g, m, 0.0, 20.0))
    a.wrist(side, flex=uniform(g, m, -30.0, -10.0))


def _crossed_arms(a: JointAngles, g: torch.Generator) -> None:
    """Forearms folded in front of the chest, the left one above."""
    m = a.m
    for side, flex in (("left", uniform(g, m, 38.0, 48.0)), ("right", uniform(g, m, 28.0, 36.0))):
        a.collar(side, elev=uniform(g, m, 0.0, 4.0), protr=uniform(g, m, 5.0, 10.0))
        a.shoulder(side, flex=flex, abd=uniform(g, m, 0.0, 8.0), ext=uniform(g, m, -75.0, -60.0))
        a.elbow(side, flex=uniform(g, m, 86.0, 96.0), twist=uniform(g, m, 0.0, 15.0))
        a.wrist(side, flex=normal(g, m, 8.0))


def _clasped_front(a: JointAngles, g: torch.Generator) -> None:
    m = a.m
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 3.0, 8.0))
        a.shoulder(side, flex=uniform(g, m, 10.0, 20.0), abd=uniform(g, m, 0.0, 6.0), ext=uniform(g, m, -55.0, -40.0))
        a.elbow(side, flex=uniform(g, m, 22.0, 38.0), twist=uniform(g, m, 0.0, 20.0))


def _standing_arms(a: JointAngles, g: torch.Generator) -> None:
    """Relaxed, hands on hips (one or both), arms crossed or hands clasped in front."""
    m = a.m
    variant = choice(g, m, (0.5, 0.1, 0.1, 0.18, 0.12))
    opts = []
    for build in (
        lambda b: (_relaxed_arm(b, g, "left"), _relaxed_arm(b, g, "right")),
        lambda b: (_hand_on_hip(b, g, "left"), _hand_on_hip(b, g, "right")),
        lambda b: (_relaxed_arm(b, g, "left"), _hand_on_hip(b, g, "right")),
        lambda b: _crossed_arms(b, g),
        lambda b: _clasped_front(b, g),
    ):
        b = JointAngles(m)
        build(b)
        opts.append(b.e)
    arms = torch.stack(opts, 1)[torch.arange(m), variant]  # (m, 24, 3)
    arm_joints = [J[f"{s}_{j}"] for s in ("left", "right") for j in ("collar", "shoulder", "elbow", "wrist")]
    a.e[:, arm_joints] = arms[:, arm_joints]


def _standing(m: int, g: torch.Generator) -> Tensor:
    a = JointAngles(m)
    _standing_legs(a, g)
    _standing_arms(a, g)
    # the hip on the weight-bearing (left) side is hiked up: let the left arm hang clear of it
    a.e[:, J["left_shoulder"], 2] += a.e[:, 0, 2]
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


def _gait(a: JointAngles, phase: Tensor, speed: Tensor, arm_swing: Value = 1.0, lean: Tensor | None = None) -> None:
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
    upright_head(a, 0.9)
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
    a = JointAngles(n)
    lean = None if lean_deg is None else torch.as_tensor(lean_deg, dtype=torch.float32).expand(n)
    _gait(a, torch.remainder(phase, 1.0), speed_t, arm_swing=torch.as_tensor(arm_swing, dtype=torch.float32), lean=lean)
    return euler_to_pose(a.e.double() * DEG).float()


def _walking(m: int, g: torch.Generator) -> Tensor:
    a = JointAngles(m)
    _gait(a, torch.rand(m, generator=g), uniform(g, m, 0.6, 1.9), arm_swing=uniform(g, m, 0.5, 1.3))
    return a.e


def _running(m: int, g: torch.Generator) -> Tensor:
    a = JointAngles(m)
    speed = uniform(g, m, 2.4, 4.5)
    _gait(a, torch.rand(m, generator=g), speed, arm_swing=uniform(g, m, 0.7, 1.2), lean=uniform(g, m, 3.0, 11.0))
    return a.e


def _legs_standing_or_walking(a: JointAngles, g: torch.Generator, walk_prob: float) -> None:
    m = a.m
    walk = torch.rand(m, generator=g) < walk_prob
    st = JointAngles(m)
    _standing_legs(st, g)
    _relaxed_arm(st, g, "left")
    _relaxed_arm(st, g, "right")
    wk = JointAngles(m)
    _gait(wk, torch.rand(m, generator=g), uniform(g, m, 0.6, 1.6), arm_swing=uniform(g, m, 0.4, 1.0))
    a.e[:] = torch.where(walk[:, None, None], wk.e, st.e)


# ---- arm gestures --------------------------------------------------------------------------


def _phone_arms(a: JointAngles, g: torch.Generator) -> None:
    """Phone at the right ear (60%) or held in front of the chest for texting (40%)."""
    m = a.m
    at_ear = (torch.rand(m, generator=g) < 0.6)
    ear = JointAngles(m)
    ear.collar("right", elev=uniform(g, m, 6.0, 12.0), protr=uniform(g, m, 0.0, 6.0))
    ear.shoulder("right", flex=uniform(g, m, 72.0, 92.0), abd=uniform(g, m, 0.0, 25.0), ext=uniform(g, m, -15.0, 0.0))
    ear.elbow("right", flex=uniform(g, m, 140.0, 150.0), twist=uniform(g, m, -10.0, 20.0))
    ear.wrist("right", flex=uniform(g, m, -10.0, 10.0))
    ear.mid("neck", lat=-uniform(g, m, 2.0, 8.0))
    ear.mid("head", lat=-uniform(g, m, 0.0, 6.0))
    text = JointAngles(m)
    both = (torch.rand(m, generator=g) < 0.5).float()
    for side, on in (("right", torch.ones(m)), ("left", both)):
        text.collar(side, protr=on * uniform(g, m, 3.0, 8.0))
        text.shoulder(side, flex=on * uniform(g, m, 12.0, 25.0) + (1 - on) * uniform(g, m, -3.0, 10.0),
                      abd=on * uniform(g, m, 0.0, 8.0) + (1 - on) * 10.0,
                      ext=on * uniform(g, m, -35.0, -20.0))  # fmt: skip
        # palms up: supinate the forearm (negative twist), split between elbow and wrist as in SMPL
        text.elbow(side, flex=on * uniform(g, m, 78.0, 95.0) + (1 - on) * 15.0, twist=on * uniform(g, m, -80.0, -60.0))
        text.wrist(side, twist=on * uniform(g, m, -55.0, -35.0), flex=on * uniform(g, m, -15.0, 5.0))
    text.mid("neck", flex=uniform(g, m, 15.0, 30.0))
    text.mid("head", flex=uniform(g, m, 5.0, 20.0))
    joints = [J[n] for n in ("right_collar", "right_shoulder", "right_elbow", "right_wrist")]
    a.e[:, joints] = torch.where(at_ear[:, None, None], ear.e[:, joints], text.e[:, joints])
    left = [J[n] for n in ("left_collar", "left_shoulder", "left_elbow", "left_wrist")]
    a.e[:, left] = torch.where(at_ear[:, None, None], a.e[:, left], text.e[:, left])
    for j in ("neck", "head"):
        a.e[:, J[j]] += torch.where(at_ear[:, None], ear.e[:, J[j]], text.e[:, J[j]])


def _pointing_arms(a: JointAngles, g: torch.Generator) -> None:
    """Right arm pointing forward or forward-sideways, the head turned towards it."""
    m = a.m
    abd = uniform(g, m, -10.0, 55.0)
    a.collar("right", elev=uniform(g, m, 2.0, 8.0), protr=uniform(g, m, 0.0, 8.0))
    a.shoulder("right", flex=uniform(g, m, 65.0, 100.0), abd=abd, ext=uniform(g, m, -30.0, -5.0))
    a.elbow("right", flex=uniform(g, m, 0.0, 15.0), twist=uniform(g, m, -10.0, 30.0))
    a.wrist("right", flex=normal(g, m, 8.0))
    turn = -abd * uniform(g, m, 0.3, 0.8)
    a.e[:, J["neck"], 1] += 0.6 * turn
    a.e[:, J["head"], 1] += 0.4 * turn


def _carrying_arms(a: JointAngles, g: torch.Generator) -> None:
    """A bag in the right hand (50%) or a box held with both hands in front (50%)."""
    m = a.m
    bag = torch.rand(m, generator=g) < 0.5
    b = JointAngles(m)
    b.e[:] = a.e
    b.collar("right", elev=uniform(g, m, -8.0, -3.0))
    b.shoulder("right", flex=uniform(g, m, -5.0, 8.0), abd=uniform(g, m, 14.0, 24.0), ext=uniform(g, m, -5.0, 15.0))
    b.elbow("right", flex=uniform(g, m, 0.0, 12.0), twist=uniform(g, m, 0.0, 20.0))
    lean = uniform(g, m, 2.0, 7.0)  # lean away from the bag
    for j in ("spine1", "spine2", "spine3"):
        b.e[:, J[j], 2] -= lean / 3.0
    x = JointAngles(m)
    x.e[:] = a.e
    for side in ("left", "right"):
        x.collar(side, protr=uniform(g, m, 3.0, 8.0))
        x.shoulder(side, flex=uniform(g, m, 5.0, 20.0), abd=uniform(g, m, 8.0, 18.0), ext=uniform(g, m, -25.0, -10.0))
        x.elbow(side, flex=uniform(g, m, 70.0, 90.0), twist=uniform(g, m, -10.0, 20.0))
    for j in ("spine1", "spine2"):
        x.e[:, J[j], 0] -= uniform(g, m, 0.0, 4.0)
    a.e[:] = torch.where(bag[:, None, None], b.e, x.e)


def _gesture(arms: Callable[[JointAngles, torch.Generator], None], walk_prob: float) -> Callable[[int, torch.Generator], Tensor]:
    def build(m: int, g: torch.Generator) -> Tensor:
        a = JointAngles(m)
        _legs_standing_or_walking(a, g, walk_prob)
        arms(a, g)
        return a.e

    return build


# ---- bending, crouching, sitting -----------------------------------------------------------


def _bending(m: int, g: torch.Generator) -> Tensor:
    """Bent forward at the hips (40-100 deg trunk pitch), knees straight or bent, arms hanging or reaching."""
    a = JointAngles(m)
    total = uniform(g, m, 35.0, 100.0)
    pelvis = total * uniform(g, m, 0.55, 0.8)
    knee = uniform(g, m, 0.0, 35.0)
    a.root(pitch=pelvis, roll=normal(g, m, 2.0))
    for side in ("left", "right"):
        a.hip(side, flex=pelvis + 0.5 * knee, abd=uniform(g, m, 3.0, 12.0), ext=uniform(g, m, 0.0, 15.0))
        a.knee(side, knee)
        flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=(total - pelvis) / 3.0, twist=normal(g, m, 3.0), lat=normal(g, m, 2.0))
    a.mid("neck", flex=uniform(g, m, -5.0, 10.0))
    upright_head(a, uniform(g, m, 0.2, 0.6))
    reach = uniform(g, m, -10.0, 35.0)
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 0.0, 10.0))
        a.shoulder(side, flex=total + reach + normal(g, m, 6.0), abd=uniform(g, m, 5.0, 15.0), ext=uniform(g, m, -20.0, 10.0))
        a.elbow(side, flex=uniform(g, m, 5.0, 40.0), twist=uniform(g, m, 0.0, 30.0))
    return a.e


def _crouching(m: int, g: torch.Generator) -> Tensor:
    """Squat / crouch: thighs 70-110 deg forward, knees deeply bent, heels down, forearms towards the knees."""
    a = JointAngles(m)
    thigh = uniform(g, m, 70.0, 110.0)
    pelvis = uniform(g, m, 15.0, 35.0)
    knee = (thigh + uniform(g, m, 20.0, 45.0)).clamp(max=150.0)
    a.root(pitch=pelvis, roll=normal(g, m, 2.0))
    for side in ("left", "right"):
        a.hip(side, flex=thigh + pelvis, abd=uniform(g, m, 10.0, 30.0), ext=uniform(g, m, 10.0, 30.0))
        a.knee(side, knee)
        flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, 3.0, 12.0), twist=normal(g, m, 3.0))
    upright_head(a, uniform(g, m, 0.4, 0.9))
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 3.0, 10.0))
        a.shoulder(side, flex=uniform(g, m, 30.0, 70.0), abd=uniform(g, m, 8.0, 20.0), ext=uniform(g, m, -25.0, 0.0))
        a.elbow(side, flex=uniform(g, m, 20.0, 80.0), twist=uniform(g, m, 0.0, 40.0))
    return a.e


def _sitting(m: int, g: torch.Generator) -> Tensor:
    """Seated on a chair: thighs about horizontal, hip flexion ~90 deg, hands on thighs / in the lap / relaxed."""
    a = JointAngles(m)
    thigh = uniform(g, m, 78.0, 100.0)
    pelvis = uniform(g, m, -12.0, 8.0)  # negative: leaning back
    a.root(pitch=pelvis, roll=normal(g, m, 2.0))
    for side in ("left", "right"):
        knee = (thigh + uniform(g, m, -25.0, 30.0)).clamp(min=45.0)
        a.hip(side, flex=thigh + pelvis, abd=uniform(g, m, 2.0, 15.0), ext=uniform(g, m, 0.0, 20.0))
        a.knee(side, knee)
        flat_foot(a, side)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, 0.0, 10.0), twist=normal(g, m, 3.0), lat=normal(g, m, 2.0))
    a.mid("neck", twist=normal(g, m, 10.0))
    upright_head(a, uniform(g, m, 0.6, 1.0))
    variant = choice(g, m, (0.45, 0.3, 0.25))
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 0.0, 8.0))
        a.shoulder(side, flex=pick(variant, uniform(g, m, 15.0, 35.0), uniform(g, m, 5.0, 20.0), uniform(g, m, -5.0, 10.0)),
                   abd=pick(variant, uniform(g, m, 5.0, 15.0), uniform(g, m, 5.0, 12.0), uniform(g, m, 10.0, 20.0)),
                   ext=pick(variant, uniform(g, m, -20.0, 0.0), uniform(g, m, -45.0, -25.0), uniform(g, m, -10.0, 10.0)))  # fmt: skip
        a.elbow(side, flex=pick(variant, uniform(g, m, 45.0, 75.0), uniform(g, m, 60.0, 90.0), uniform(g, m, 10.0, 50.0)),
                twist=uniform(g, m, 0.0, 40.0))  # fmt: skip
    return a.e


# ---- arms raised, waving, reaching --------------------------------------------------------

_ARM_PARTS = ("collar", "shoulder", "elbow", "wrist")


def _joints(side: str, parts: tuple[str, ...] = _ARM_PARTS) -> list[int]:
    return [J[f"{side}_{p}"] for p in parts]


def _take(a: JointAngles, b: JointAngles, where: Tensor, joints: list[int]) -> None:
    """Copy ``joints`` from ``b`` into ``a`` for the samples where ``where`` (m,) is true."""
    a.e[:, joints] = torch.where(where[:, None, None], b.e[:, joints], a.e[:, joints])


def _arm_overhead(a: JointAngles, g: torch.Generator, side: str) -> None:
    m = a.m
    a.collar(side, elev=uniform(g, m, 10.0, 25.0), protr=uniform(g, m, -5.0, 5.0))
    a.shoulder(side, flex=uniform(g, m, 135.0, 175.0), abd=uniform(g, m, -5.0, 35.0), ext=uniform(g, m, -25.0, 25.0))
    a.elbow(side, flex=uniform(g, m, 0.0, 45.0), twist=uniform(g, m, -30.0, 30.0))
    a.wrist(side, flex=normal(g, m, 15.0), dev=normal(g, m, 10.0))


def _arm_up_bent(a: JointAngles, g: torch.Generator, side: str) -> None:
    """Upper arm out to the side at about shoulder height, forearm pointing up (hands up, waving)."""
    m = a.m
    a.collar(side, elev=uniform(g, m, 5.0, 20.0))
    a.shoulder(side, flex=uniform(g, m, -10.0, 35.0), abd=uniform(g, m, 65.0, 120.0), ext=uniform(g, m, 55.0, 90.0))
    a.elbow(side, flex=uniform(g, m, 45.0, 115.0), twist=uniform(g, m, -20.0, 20.0))
    a.wrist(side, flex=normal(g, m, 15.0), dev=normal(g, m, 20.0))


def _arm_sideways(a: JointAngles, g: torch.Generator, side: str) -> None:
    m = a.m
    a.collar(side, elev=uniform(g, m, 0.0, 12.0))
    a.shoulder(side, flex=uniform(g, m, -15.0, 30.0), abd=uniform(g, m, 60.0, 105.0), ext=uniform(g, m, -30.0, 30.0))
    a.elbow(side, flex=uniform(g, m, 0.0, 30.0), twist=uniform(g, m, -20.0, 20.0))


def _raised_arms(a: JointAngles, g: torch.Generator) -> None:
    """Both arms overhead, one arm overhead, hands up (surrender) or arms out to the sides."""
    m = a.m
    variant = choice(g, m, (0.35, 0.3, 0.2, 0.15))
    builds = (
        lambda b: (_arm_overhead(b, g, "left"), _arm_overhead(b, g, "right")),
        lambda b: (_arm_overhead(b, g, "right"), _relaxed_arm(b, g, "left")),
        lambda b: (_arm_up_bent(b, g, "left"), _arm_up_bent(b, g, "right")),
        lambda b: (_arm_sideways(b, g, "left"), _arm_sideways(b, g, "right")),
    )
    for k, build in enumerate(builds):
        b = JointAngles(m)
        build(b)
        _take(a, b, variant == k, _joints("left") + _joints("right"))
    look_up = uniform(g, m, -25.0, 5.0) * (variant <= 1).float()
    a.e[:, J["neck"], 0] += 0.6 * look_up
    a.e[:, J["head"], 0] += 0.4 * look_up


def _waving_arms(a: JointAngles, g: torch.Generator) -> None:
    """The right hand waves: forearm up beside the head, or the whole arm overhead."""
    m = a.m
    b = JointAngles(m)
    high = torch.rand(m, generator=g) < 0.35
    _arm_up_bent(b, g, "right")
    c = JointAngles(m)
    _arm_overhead(c, g, "right")
    c.elbow("right", flex=uniform(g, m, 0.0, 25.0))
    _take(b, c, high, _joints("right"))
    _take(a, b, torch.ones(m, dtype=torch.bool), _joints("right"))
    a.e[:, J["right_wrist"], 1] += uniform(g, m, -30.0, 30.0)  # the wave: radial/ulnar deviation


def _reaching(m: int, g: torch.Generator) -> Tensor:
    """Reaching forward, up or sideways with one or both arms, the trunk following, sometimes on tiptoe."""
    a = JointAngles(m)
    _standing_legs(a, g)
    _relaxed_arm(a, g, "left")
    both = torch.rand(m, generator=g) < 0.4
    height = uniform(g, m, 40.0, 170.0)  # shoulder flexion: forward at chest height .. straight up
    for side, on in (("right", torch.ones(m, dtype=torch.bool)), ("left", both)):
        b = JointAngles(m)
        b.collar(side, elev=uniform(g, m, 0.0, 20.0), protr=uniform(g, m, 5.0, 15.0))
        b.shoulder(side, flex=height + normal(g, m, 8.0), abd=uniform(g, m, -20.0, 60.0), ext=uniform(g, m, -30.0, 10.0))
        b.elbow(side, flex=uniform(g, m, 0.0, 35.0), twist=uniform(g, m, -20.0, 30.0))
        b.wrist(side, flex=normal(g, m, 15.0))
        _take(a, b, on, _joints(side))
    low = (height < 90.0).float()
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=low * uniform(g, m, 0.0, 12.0) - (1 - low) * uniform(g, m, 0.0, 6.0), twist=normal(g, m, 8.0))
    tiptoe = (torch.rand(m, generator=g) < 0.3) & (height > 120.0)
    for side in ("left", "right"):
        a.e[:, J[f"{side}_ankle"], 0] += tiptoe.float() * uniform(g, m, 15.0, 35.0)
        a.e[:, J[f"{side}_knee"], 0] *= 1.0 - tiptoe.float()
    upright_head(a, 0.8)
    return a.e


# ---- kneeling, squatting, sitting on the ground, lying ------------------------------------


def _arms_in_front(a: JointAngles, g: torch.Generator) -> None:
    """Hands working in front of the body at waist height (a task, or resting on the thighs)."""
    m = a.m
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 0.0, 10.0))
        a.shoulder(side, flex=uniform(g, m, 10.0, 70.0), abd=uniform(g, m, 5.0, 25.0), ext=uniform(g, m, -40.0, 0.0))
        a.elbow(side, flex=uniform(g, m, 20.0, 100.0), twist=uniform(g, m, -20.0, 40.0))
        a.wrist(side, flex=normal(g, m, 15.0))


def _kneeling(m: int, g: torch.Generator) -> Tensor:
    """On one knee (the right one down), upright on both knees, or sitting back on the heels."""
    a = JointAngles(m)
    variant = choice(g, m, (0.5, 0.25, 0.25))
    pelvis = pick(variant, uniform(g, m, 0.0, 15.0), uniform(g, m, -5.0, 10.0), uniform(g, m, -5.0, 15.0))
    a.root(pitch=pelvis, roll=normal(g, m, 2.0))
    # the leg in front (one knee) or both legs (two knees)
    front_thigh = pick(variant, uniform(g, m, 70.0, 100.0), uniform(g, m, -10.0, 20.0), uniform(g, m, 45.0, 75.0))
    front_knee = pick(variant, uniform(g, m, 80.0, 110.0), uniform(g, m, 80.0, 105.0), uniform(g, m, 138.0, 155.0))
    a.hip("left", flex=front_thigh + pelvis, abd=uniform(g, m, 3.0, 15.0), ext=uniform(g, m, 0.0, 15.0))
    a.knee("left", front_knee)
    back_thigh = pick(variant, uniform(g, m, -15.0, 20.0), front_thigh + normal(g, m, 3.0), front_thigh + normal(g, m, 3.0))
    back_knee = pick(variant, uniform(g, m, 85.0, 120.0), front_knee + normal(g, m, 3.0), front_knee + normal(g, m, 2.0))
    a.hip("right", flex=back_thigh + pelvis, abd=uniform(g, m, 3.0, 15.0), ext=uniform(g, m, 0.0, 15.0))
    a.knee("right", back_knee)
    flat_foot(a, "left")
    # a shin on the ground: the foot behind it rests on its curled toes (about 0) or on its top (60)
    on_knee = variant > 0
    a.ankle("right", plantar=uniform(g, m, -10.0, 60.0))
    a.e[:, J["left_ankle"], 0] = torch.where(on_knee, uniform(g, m, -10.0, 60.0), a.e[:, J["left_ankle"], 0])
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, -3.0, 10.0), twist=normal(g, m, 4.0), lat=normal(g, m, 2.0))
    upright_head(a, uniform(g, m, 0.5, 1.0))
    arms = torch.rand(m, generator=g) < 0.5
    b = JointAngles(m)
    _arms_in_front(b, g)
    c = JointAngles(m)
    _relaxed_arm(c, g, "left")
    _relaxed_arm(c, g, "right")
    for side in ("left", "right"):
        _take(a, b, arms, _joints(side))
        _take(a, c, ~arms, _joints(side))
    return a.e


def _squatting(m: int, g: torch.Generator) -> Tensor:
    """Deep squat: thighs past horizontal, knees fully bent, heels down or up; arms forward, on the knees or to the ground."""
    a = JointAngles(m)
    pelvis = uniform(g, m, 15.0, 45.0)
    thigh = uniform(g, m, 95.0, 125.0)
    a.root(pitch=pelvis, roll=normal(g, m, 3.0))
    heels_up = (torch.rand(m, generator=g) < 0.35).float()
    for side in ("left", "right"):
        a.hip(side, flex=(thigh + pelvis).clamp(max=148.0), abd=uniform(g, m, 15.0, 40.0), ext=uniform(g, m, 10.0, 40.0))
        a.knee(side, uniform(g, m, 130.0, 154.0))
        flat_foot(a, side)
        a.e[:, J[f"{side}_ankle"], 0] += heels_up * uniform(g, m, 15.0, 35.0)
        a.toes(side, -heels_up * uniform(g, m, 20.0, 45.0))
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, 3.0, 15.0), twist=normal(g, m, 4.0))
    upright_head(a, uniform(g, m, 0.5, 1.0))
    variant = choice(g, m, (0.4, 0.35, 0.25))
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 3.0, 12.0))
        a.shoulder(side, flex=pick(variant, uniform(g, m, 50.0, 95.0), uniform(g, m, 25.0, 55.0), uniform(g, m, 60.0, 100.0)),
                   abd=uniform(g, m, 5.0, 25.0), ext=uniform(g, m, -30.0, 5.0))  # fmt: skip
        a.elbow(side, flex=pick(variant, uniform(g, m, 0.0, 40.0), uniform(g, m, 60.0, 110.0), uniform(g, m, 0.0, 25.0)),
                twist=uniform(g, m, -10.0, 30.0))  # fmt: skip
    return a.e


def _sitting_ground(m: int, g: torch.Generator) -> Tensor:
    """On the ground: cross-legged, legs out leaning back on the hands, or knees up with the arms around them."""
    a = JointAngles(m)
    variant = choice(g, m, (0.35, 0.3, 0.35))
    pelvis = pick(variant, uniform(g, m, -5.0, 10.0), uniform(g, m, -25.0, -5.0), uniform(g, m, -20.0, 0.0))
    a.root(pitch=pelvis, roll=normal(g, m, 3.0))
    knee_up = torch.rand(m, generator=g) < 0.3  # legs-out variant: one knee pulled up
    for side in ("left", "right"):
        up = knee_up & (side == "left")
        thigh = pick(variant, uniform(g, m, 60.0, 85.0), torch.where(up, uniform(g, m, 100.0, 125.0), uniform(g, m, 75.0, 95.0)),
                     uniform(g, m, 105.0, 135.0))  # fmt: skip
        a.hip(side, flex=thigh + pelvis, abd=pick(variant, uniform(g, m, 35.0, 55.0), uniform(g, m, 2.0, 15.0), uniform(g, m, 0.0, 15.0)),
              ext=pick(variant, uniform(g, m, 30.0, 55.0), uniform(g, m, 0.0, 20.0), uniform(g, m, 0.0, 15.0)))  # fmt: skip
        knee = pick(variant, uniform(g, m, 120.0, 150.0), torch.where(up, uniform(g, m, 70.0, 110.0), uniform(g, m, 0.0, 25.0)),
                    uniform(g, m, 110.0, 150.0))  # fmt: skip
        a.knee(side, knee)
        a.ankle(side, plantar=uniform(g, m, -10.0, 40.0), inv=uniform(g, m, 0.0, 20.0))
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, 0.0, 12.0), twist=normal(g, m, 4.0), lat=normal(g, m, 2.0))
    upright_head(a, uniform(g, m, 0.6, 1.0))
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 0.0, 10.0))
        a.shoulder(side, flex=pick(variant, uniform(g, m, 10.0, 35.0), uniform(g, m, -55.0, -25.0), uniform(g, m, 40.0, 70.0)),
                   abd=pick(variant, uniform(g, m, 5.0, 20.0), uniform(g, m, 10.0, 30.0), uniform(g, m, 0.0, 15.0)),
                   ext=pick(variant, uniform(g, m, -30.0, 0.0), uniform(g, m, -10.0, 20.0), uniform(g, m, -55.0, -30.0)))  # fmt: skip
        a.elbow(side, flex=pick(variant, uniform(g, m, 50.0, 85.0), uniform(g, m, 0.0, 15.0), uniform(g, m, 60.0, 100.0)),
                twist=uniform(g, m, -10.0, 30.0))  # fmt: skip
    return a.e


def _lying(m: int, g: torch.Generator) -> Tensor:
    """On the back, the front or the side, legs straight or a knee up, arms by the side, overhead or under the head."""
    a = JointAngles(m)
    variant = choice(g, m, (0.4, 0.25, 0.35))
    pitch = pick(variant, uniform(g, m, -100.0, -80.0), uniform(g, m, 80.0, 100.0), normal(g, m, 8.0))
    roll = pick(variant, normal(g, m, 8.0), normal(g, m, 8.0), uniform(g, m, 75.0, 100.0))
    a.root(pitch=pitch, roll=roll)
    for side in ("left", "right"):
        bent = torch.rand(m, generator=g) < pick(variant, torch.full((m,), 0.3), torch.full((m,), 0.2), torch.full((m,), 0.6))
        a.hip(side, flex=torch.where(bent, uniform(g, m, 35.0, 90.0), uniform(g, m, -10.0, 20.0)),
              abd=uniform(g, m, 0.0, 20.0), ext=uniform(g, m, 0.0, 30.0))  # fmt: skip
        a.knee(side, torch.where(bent, uniform(g, m, 50.0, 110.0), uniform(g, m, 0.0, 25.0)))
        a.ankle(side, plantar=uniform(g, m, 0.0, 40.0))
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, -8.0, 12.0), twist=normal(g, m, 6.0), lat=normal(g, m, 5.0))
    a.mid("neck", flex=uniform(g, m, -10.0, 25.0), twist=uniform(g, m, -45.0, 45.0))
    a.mid("head", flex=uniform(g, m, -10.0, 15.0), twist=normal(g, m, 10.0))
    for side in ("left", "right"):
        arm = choice(g, m, (0.45, 0.2, 0.2, 0.15))
        b = JointAngles(m)
        _relaxed_arm(b, g, side)
        c = JointAngles(m)
        _arm_overhead(c, g, side)
        d = JointAngles(m)
        _arm_up_bent(d, g, side)
        d.elbow(side, flex=uniform(g, m, 115.0, 150.0))  # hand under the head
        e = JointAngles(m)
        e.shoulder(side, flex=uniform(g, m, 15.0, 45.0), abd=uniform(g, m, 0.0, 15.0), ext=uniform(g, m, -65.0, -40.0))
        e.elbow(side, flex=uniform(g, m, 85.0, 125.0))  # forearm on the chest
        for k, src in enumerate((b, c, d, e)):
            _take(a, src, arm == k, _joints(side))
    return a.e


# ---- cycling, pushing and pulling, lifting, fighting, falling ------------------------------


def _cycling(m: int, g: torch.Generator) -> Tensor:
    """Seated on a bicycle: forward lean, the legs at a random point of the pedal stroke, hands on the bars."""
    a = JointAngles(m)
    pelvis = uniform(g, m, 15.0, 45.0)
    a.root(pitch=pelvis, roll=normal(g, m, 3.0))
    phase = torch.rand(m, generator=g) * 2.0 * math.pi
    for side, shift in (("left", 0.0), ("right", math.pi)):
        c = torch.cos(phase + shift)  # 1 = pedal at the top
        thigh = 42.0 + 25.0 * c + normal(g, m, 3.0)  # thigh forward of vertical
        a.hip(side, flex=thigh + pelvis, abd=uniform(g, m, 0.0, 8.0), ext=uniform(g, m, 0.0, 10.0))
        a.knee(side, (72.0 + 42.0 * c + normal(g, m, 4.0)).clamp(20.0, 150.0))
        flat_foot(a, side)
        a.e[:, J[f"{side}_ankle"], 0] += uniform(g, m, -10.0, 20.0)
    spine = uniform(g, m, 3.0, 15.0)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=spine, twist=normal(g, m, 3.0))
    upright_head(a, uniform(g, m, 0.7, 1.1))
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 5.0, 12.0))
        # the arms reach forward-down to the bars: 35-70 degrees forward of vertical in the world
        a.shoulder(side, flex=pelvis + 3.0 * spine + uniform(g, m, 35.0, 70.0), abd=uniform(g, m, 5.0, 20.0),
                   ext=uniform(g, m, -25.0, 0.0))  # fmt: skip
        a.elbow(side, flex=uniform(g, m, 10.0, 45.0), twist=uniform(g, m, -60.0, -20.0))
    return a.e


def _staggered_legs(a: JointAngles, g: torch.Generator, lean: Tensor) -> None:
    """The left foot forward, the right one back (heel up), the pelvis pitched by ``lean`` (m,) degrees."""
    m = a.m
    a.root(pitch=lean, roll=normal(g, m, 2.0))
    a.hip("left", flex=uniform(g, m, 15.0, 40.0) + lean, abd=uniform(g, m, 3.0, 12.0), ext=uniform(g, m, 0.0, 20.0))
    a.knee("left", uniform(g, m, 10.0, 40.0))
    a.hip("right", flex=uniform(g, m, -30.0, -8.0) + lean, abd=uniform(g, m, 3.0, 12.0), ext=uniform(g, m, 0.0, 25.0))
    a.knee("right", uniform(g, m, 0.0, 25.0))
    for side in ("left", "right"):
        flat_foot(a, side)
    a.e[:, J["right_ankle"], 0] += uniform(g, m, 0.0, 25.0)


def _pushing(m: int, g: torch.Generator) -> Tensor:
    """Pushing (leaning in) or pulling (leaning back) something at chest height with both hands."""
    a = JointAngles(m)
    push = (torch.rand(m, generator=g) < 0.6).float()
    lean = push * uniform(g, m, 8.0, 30.0) - (1 - push) * uniform(g, m, 0.0, 12.0)
    _staggered_legs(a, g, lean)
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=push * uniform(g, m, 0.0, 6.0), twist=normal(g, m, 4.0))
    upright_head(a, 0.9)
    for side in ("left", "right"):
        a.collar(side, protr=uniform(g, m, 5.0, 15.0))
        a.shoulder(side, flex=uniform(g, m, 50.0, 90.0) - 0.6 * lean, abd=uniform(g, m, 5.0, 25.0), ext=uniform(g, m, -35.0, -5.0))
        a.elbow(side, flex=push * uniform(g, m, 5.0, 70.0) + (1 - push) * uniform(g, m, 15.0, 70.0), twist=uniform(g, m, -30.0, 10.0))
    return a.e


def _lifting(m: int, g: torch.Generator) -> Tensor:
    """Picking something up from the ground (squat or stoop, arms hanging to it) or lifting it overhead."""
    a = JointAngles(m)
    low = torch.rand(m, generator=g) < 0.55
    b = JointAngles(m)
    pelvis = uniform(g, m, 25.0, 60.0)
    thigh = uniform(g, m, 40.0, 95.0)
    b.root(pitch=pelvis, roll=normal(g, m, 2.0))
    for side in ("left", "right"):
        b.hip(side, flex=(thigh + pelvis).clamp(max=148.0), abd=uniform(g, m, 8.0, 25.0), ext=uniform(g, m, 5.0, 25.0))
        b.knee(side, (thigh + uniform(g, m, 0.0, 40.0)).clamp(max=150.0))
        flat_foot(b, side)
    trunk = uniform(g, m, 5.0, 30.0)
    for j in ("spine1", "spine2", "spine3"):
        b.mid(j, flex=trunk / 3.0, twist=normal(g, m, 3.0))
    upright_head(b, uniform(g, m, 0.3, 0.8))
    for side in ("left", "right"):
        b.shoulder(side, flex=pelvis + trunk + uniform(g, m, -10.0, 25.0), abd=uniform(g, m, 5.0, 20.0), ext=uniform(g, m, -30.0, 0.0))
        b.elbow(side, flex=uniform(g, m, 0.0, 35.0), twist=uniform(g, m, -20.0, 20.0))
    c = JointAngles(m)
    _standing_legs(c, g)
    for side in ("left", "right"):
        _arm_overhead(c, g, side)
        c.elbow(side, flex=uniform(g, m, 0.0, 70.0))
    a.e[:] = torch.where(low[:, None, None], b.e, c.e)
    return a.e


def _guard_arm(a: JointAngles, g: torch.Generator, side: str) -> None:
    m = a.m
    a.collar(side, elev=uniform(g, m, 3.0, 10.0), protr=uniform(g, m, 5.0, 12.0))
    a.shoulder(side, flex=uniform(g, m, 25.0, 60.0), abd=uniform(g, m, 10.0, 35.0), ext=uniform(g, m, -45.0, -10.0))
    a.elbow(side, flex=uniform(g, m, 100.0, 145.0), twist=uniform(g, m, -40.0, 0.0))


def _fighting(m: int, g: torch.Generator) -> Tensor:
    """A boxing guard, a straight punch with the right arm, or a kick with the right leg."""
    a = JointAngles(m)
    variant = choice(g, m, (0.4, 0.3, 0.3))
    _staggered_legs(a, g, uniform(g, m, -3.0, 12.0))
    twist = pick(variant, uniform(g, m, 5.0, 25.0), uniform(g, m, 15.0, 35.0), uniform(g, m, -10.0, 10.0))
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, 0.0, 6.0), twist=twist / 3.0)
    a.mid("neck", flex=uniform(g, m, 0.0, 15.0), twist=-0.6 * twist)
    upright_head(a, 0.8)
    for side in ("left", "right"):
        _guard_arm(a, g, side)
    punch = JointAngles(m)
    punch.collar("right", protr=uniform(g, m, 10.0, 20.0))
    punch.shoulder("right", flex=uniform(g, m, 70.0, 100.0), abd=uniform(g, m, -5.0, 25.0), ext=uniform(g, m, -35.0, -10.0))
    punch.elbow("right", flex=uniform(g, m, 0.0, 25.0), twist=uniform(g, m, -60.0, -20.0))
    _take(a, punch, variant == 1, _joints("right"))
    kick = JointAngles(m)
    kick.root(pitch=uniform(g, m, -20.0, 0.0), roll=uniform(g, m, -10.0, 5.0))
    kick.hip("right", flex=uniform(g, m, 40.0, 110.0), abd=uniform(g, m, 0.0, 35.0), ext=uniform(g, m, -10.0, 20.0))
    kick.knee("right", uniform(g, m, 0.0, 70.0))
    kick.ankle("right", plantar=uniform(g, m, -10.0, 40.0))
    kick.hip("left", flex=uniform(g, m, -5.0, 15.0), abd=uniform(g, m, 0.0, 10.0))
    kick.knee("left", uniform(g, m, 5.0, 25.0))
    flat_foot(kick, "left")
    legs = [0] + [J[f"{s}_{p}"] for s in ("left", "right") for p in ("hip", "knee", "ankle")]
    _take(a, kick, variant == 2, legs)
    return a.e


def _falling(m: int, g: torch.Generator) -> Tensor:
    """Losing balance or falling: the body tilted 25-75 degrees in any direction, arms flung out, legs apart."""
    a = JointAngles(m)
    direction = torch.rand(m, generator=g) * 2.0 * math.pi
    tilt = uniform(g, m, 25.0, 75.0)
    a.root(pitch=tilt * torch.cos(direction), roll=tilt * torch.sin(direction))
    for side in ("left", "right"):
        a.hip(side, flex=uniform(g, m, -25.0, 80.0), abd=uniform(g, m, 0.0, 40.0), ext=uniform(g, m, -10.0, 30.0))
        a.knee(side, uniform(g, m, 0.0, 100.0))
        a.ankle(side, plantar=uniform(g, m, -20.0, 40.0))
        a.collar(side, elev=uniform(g, m, 0.0, 25.0))
        a.shoulder(side, flex=uniform(g, m, -40.0, 160.0), abd=uniform(g, m, 20.0, 150.0), ext=uniform(g, m, -40.0, 40.0))
        a.elbow(side, flex=uniform(g, m, 0.0, 70.0), twist=uniform(g, m, -30.0, 30.0))
        a.wrist(side, flex=normal(g, m, 25.0))
    for j in ("spine1", "spine2", "spine3"):
        a.mid(j, flex=uniform(g, m, -10.0, 20.0), lat=normal(g, m, 8.0), twist=normal(g, m, 10.0))
    a.mid("neck", flex=uniform(g, m, -25.0, 30.0), twist=normal(g, m, 20.0))
    return a.e


# ---- anything inside the limits ------------------------------------------------------------


def _random(m: int, g: torch.Generator) -> Tensor:
    """Every joint uniform inside its limits; the body mostly upright, sometimes tilted up to lying.

    Self-penetrating draws are rejected by the sampler (:class:`model.data.poses.PosePrior`).
    """
    lo, hi = (t.float() / DEG for t in limit_box())
    e = lo + (hi - lo) * torch.rand(m, 24, 3, generator=g)
    tilted = torch.rand(m, generator=g) < 0.25
    e[:, 0, 0] = torch.where(tilted, uniform(g, m, -100.0, 100.0), uniform(g, m, -20.0, 20.0))
    e[:, 0, 2] = torch.where(tilted, uniform(g, m, -90.0, 90.0), uniform(g, m, -15.0, 15.0))
    e[:, 0, 1] = 0.0
    return e


#: Training families (the sampler's default mix), then the families kept out of training.
FAMILIES: tuple[str, ...] = (
    "standing", "walking", "running", "phone", "pointing", "carrying", "bending", "crouching", "sitting",
    "arms_raised", "waving", "reaching", "kneeling", "squatting", "sitting_ground", "lying", "lifting",
    "falling", "random", "cycling", "fighting", "pushing",
)  # fmt: skip

#: Pose kinds that the default training mix never draws: the held-out pose check scores them.
HELD_OUT_FAMILIES: tuple[str, ...] = ("cycling", "fighting", "pushing")

#: Families whose root is tilted far from upright by design.
TILTED_FAMILIES: tuple[str, ...] = (
    "bending", "crouching", "kneeling", "squatting", "sitting_ground", "lying", "lifting", "falling", "random", "cycling",
    "fighting", "pushing",
)  # fmt: skip

BUILDERS: dict[str, Callable[[int, torch.Generator], Tensor]] = {
    "standing": _standing,
    "walking": _walking,
    "running": _running,
    "phone": _gesture(_phone_arms, 0.3),
    "pointing": _gesture(_pointing_arms, 0.15),
    "carrying": _gesture(_carrying_arms, 0.5),
    "bending": _bending,
    "crouching": _crouching,
    "sitting": _sitting,
    "arms_raised": _gesture(_raised_arms, 0.2),
    "waving": _gesture(_waving_arms, 0.25),
    "reaching": _reaching,
    "kneeling": _kneeling,
    "squatting": _squatting,
    "sitting_ground": _sitting_ground,
    "lying": _lying,
    "lifting": _lifting,
    "falling": _falling,
    "random": _random,
    "cycling": _cycling,
    "fighting": _fighting,
    "pushing": _pushing,
}

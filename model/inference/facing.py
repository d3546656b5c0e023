"""A consistent facing over a sequence: each frame's answer or its depth-mirror twin, chosen by Viterbi.

One view does not tell a body seen from the front from its depth-mirror twin seen from the back
(:mod:`model.body.symmetry`: the same skeleton reflected through the image plane, left and right
relabelled; it projects onto the same pixels). A single-frame network that cannot read the heading
of a 32-px person picks one of the two, and over a clip its pick can change from frame to frame: the
body *flips* round while the person turns a few degrees. The decoder here keeps, per frame, both
hypotheses -- the answer ``A_t`` and its twin ``A'_t`` -- and picks one per frame so that

    sum_t  c * [frame t takes the twin]  +  sum_t  d(pick_{t-1}, pick_t)

is smallest, where ``d`` is the mean distance (metres) between the two frames' pelvis-centred SMPL-24
joints, labels included, and ``c`` (``switch_cost_mm``) is what overruling the network costs per
frame. Two states, so the exact minimum is a Viterbi pass (``O(T)``). Frames without a person are
skipped (the frames on either side are compared). ``c > 0`` breaks the tie between the answer path
and its all-twin copy, which move equally, in favour of the network; a run of ``L`` frames whose
heading went the other way is turned back when the two flips that bound it cost more than
``c * L``.

It needs the whole clip (it looks ahead as far as behind), like the Gaussian filter. The pose
parameters of a turned frame are :func:`~model.body.symmetry.depth_mirror_rotmat` of its own; shape
and camera are kept.

**Measured, not served** (``python -m model.eval.video --facing``; the video model's card, "A
consistent facing"): on our turning-camera clips it changes almost nothing, because the frames that
face the wrong way are mostly not the twin of the truth -- their whole body is off, not just mirrored
in depth. It stays as an evaluation row and for heading work on the network.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from model.body.joint_names import SMPL_FLIP_PERMUTATION
from model.body.symmetry import depth_mirror_joints, depth_mirror_rotmat

__all__ = ["DEFAULT_SWITCH_COST_MM", "consistent_facing", "consistent_rotmat", "viterbi_two_state"]

#: Price (mm of mean joint distance) of taking a frame's twin instead of the network's answer. Swept on
#: the validation clips (seed ``VIDEO_VALIDATION_SEED`` of :mod:`model.eval.video`), never on the test
#: clips; from 5 to 200 mm the results barely move.
DEFAULT_SWITCH_COST_MM = 30.0


def viterbi_two_state(transition: np.ndarray, unary: np.ndarray) -> np.ndarray:
    """Cheapest path through two states per step.

    Args:
        transition: ``(T - 1, 2, 2)``, ``transition[t, a, b]`` the cost of state ``a`` at step ``t``
            followed by state ``b`` at step ``t + 1``.
        unary: ``(T, 2)`` cost of each state at each step.

    Returns:
        ``(T,)`` int64 states of a cheapest path (ties: the lower state).
    """
    unary = np.asarray(unary, dtype=np.float64)
    transition = np.asarray(transition, dtype=np.float64)
    t = unary.shape[0]
    if transition.shape != (max(t - 1, 0), 2, 2):
        raise ValueError(f"transition must be ({max(t - 1, 0)}, 2, 2) for {t} steps, got {transition.shape}")
    back = np.zeros((t, 2), dtype=np.int64)
    acc = unary[0].copy()
    for k in range(1, t):
        total = acc[:, None] + transition[k - 1]  # (from, to)
        back[k] = np.argmin(total, axis=0)
        acc = total[back[k], (0, 1)] + unary[k]
    states = np.zeros(t, dtype=np.int64)
    states[-1] = int(np.argmin(acc))
    for k in range(t - 1, 0, -1):
        states[k - 1] = back[k, states[k]]
    return states


def consistent_facing(
    joints: Tensor, valid: Tensor | None = None, switch_cost_mm: float = DEFAULT_SWITCH_COST_MM
) -> Tensor:
    """Which frames to replace by their depth-mirror twin.

    Args:
        joints: ``(N, T, 24, 3)`` or ``(T, 24, 3)`` SMPL-24 joints of each frame's answer (metres;
            any origin per frame: they are centred on the pelvis here).
        valid: ``(N, T)`` / ``(T,)`` bool, ``False`` for frames without a person; ``None``: all.
        switch_cost_mm: the per-frame price of a twin (>= 0).

    Returns:
        ``(N, T)`` / ``(T,)`` bool, ``True`` where the twin is taken (never on invalid frames).
    """
    if not switch_cost_mm >= 0:
        raise ValueError(f"switch_cost_mm must be >= 0, got {switch_cost_mm!r}")
    single = joints.ndim == 3
    if single:
        joints = joints[None]
        valid = None if valid is None else valid[None]
    n, t = joints.shape[:2]
    valid = torch.ones(n, t, dtype=torch.bool) if valid is None else valid.to(torch.bool).cpu()
    centred = (joints - joints[..., :1, :]).detach().double().cpu()
    twin = depth_mirror_joints(centred, SMPL_FLIP_PERMUTATION)
    hyp = torch.stack([centred, twin], dim=2)  # (N, T, 2, 24, 3)
    mask = torch.zeros(n, t, dtype=torch.bool)
    for i in range(n):
        idx = torch.nonzero(valid[i]).flatten()
        if idx.numel() < 2:
            continue
        h = hyp[i, idx]  # (L, 2, 24, 3)
        trans = (h[:-1, :, None] - h[1:, None, :]).norm(dim=-1).mean(-1).numpy()  # (L-1, 2, 2)
        unary = np.zeros((idx.numel(), 2))
        unary[:, 1] = switch_cost_mm / 1000.0
        mask[i, idx] = torch.from_numpy(viterbi_two_state(trans, unary).astype(bool))
    return mask[0] if single else mask


def consistent_rotmat(
    rotmat: Tensor, joints: Tensor, valid: Tensor | None = None, switch_cost_mm: float = DEFAULT_SWITCH_COST_MM
) -> tuple[Tensor, Tensor]:
    """:func:`consistent_facing` applied to pose parameters.

    Args:
        rotmat: ``(N, T, 24, 3, 3)`` per-frame poses (root in the camera frame).
        joints: ``(N, T, 24, 3)`` their SMPL-24 joints.
        valid, switch_cost_mm: as :func:`consistent_facing`.

    Returns:
        ``(rotmat, mask)``: the poses with the twin where ``mask (N, T)`` is ``True``.
    """
    mask = consistent_facing(joints, valid, switch_cost_mm).to(rotmat.device)
    return torch.where(mask[..., None, None, None], depth_mirror_rotmat(rotmat), rotmat), mask

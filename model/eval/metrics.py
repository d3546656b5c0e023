"""3D pose and shape evaluation metrics (MPJPE, PA-MPJPE, PVE, ACC, ACC-ERR).

Units: inputs are in **metres**, outputs in **millimetres** (accelerations in
mm / frame^2).

Inputs are torch tensors only (wrap numpy arrays with ``torch.as_tensor``);
float32 or float64, CPU or CUDA. Metrics are reported per sample (or per
frame); averaging over a data set is left to the caller.

Alignment is the caller's choice and is done explicitly before calling
:func:`mpjpe` / :func:`pve`:

* root / pelvis alignment: :func:`pelvis_center` on both prediction and
  ground truth (the standard "MPJPE" protocol);
* similarity (Procrustes) alignment: :func:`procrustes_align`, or directly
  :func:`pa_mpjpe`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from model.body.symmetry import mirror_joints

__all__ = [
    "MM_PER_M",
    "acceleration",
    "acceleration_error",
    "mirror_twin",
    "mpjpe",
    "pa_mpjpe",
    "pelvis_center",
    "procrustes_align",
    "pve",
]

MM_PER_M: float = 1000.0
"""Metres-to-millimetres factor applied to every metric."""


def _mean_distance_mm(pred: Tensor, gt: Tensor, mask: Tensor | None) -> Tensor:
    """Mean Euclidean distance between corresponding points, in millimetres.

    Args:
        pred: ``(B, P, 3)`` points in metres.
        gt: ``(B, P, 3)`` points in metres.
        mask: ``(B, P)`` bool/0-1 weights of the points to average, or ``None``.

    Returns:
        ``(B,)`` mean distance in mm; NaN for a sample with no valid point.
    """
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ValueError(f"pred and gt must both be (B, P, 3), got {tuple(pred.shape)} and {tuple(gt.shape)}")
    dist = torch.linalg.vector_norm(pred - gt, dim=-1)  # (B, P)
    if mask is None:
        return dist.mean(-1) * MM_PER_M
    weight = mask.to(dist.dtype)
    return (dist * weight).sum(-1) / weight.sum(-1) * MM_PER_M


def pelvis_center(joints: Tensor, left_hip: int, right_hip: int) -> Tensor:
    """Express joints relative to the pelvis, the midpoint of the two hips.

    Args:
        joints: ``(B, J, 3)`` joints.
        left_hip: index of the left hip joint.
        right_hip: index of the right hip joint.

    Returns:
        ``(B, J, 3)`` joints minus ``(joints[:, left_hip] + joints[:, right_hip]) / 2``.
    """
    pelvis = 0.5 * (joints[..., left_hip, :] + joints[..., right_hip, :])
    return joints - pelvis[..., None, :]


def mpjpe(pred: Tensor, gt: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean per-joint position error, after whatever alignment the caller did.

    Args:
        pred: ``(B, J, 3)`` predicted joints (metres).
        gt: ``(B, J, 3)`` ground-truth joints (metres).
        mask: ``(B, J)`` valid joints (bool or 0/1), or ``None`` for all.

    Returns:
        ``(B,)`` mean Euclidean joint error in mm (NaN for a sample whose mask
        is all false).
    """
    return _mean_distance_mm(pred, gt, mask)


def procrustes_align(pred: Tensor, gt: Tensor, mask: Tensor | None = None) -> Tensor:
    """Align ``pred`` to ``gt`` with the best similarity transform (Umeyama 1991).

    Finds the rotation ``R`` (proper: ``det R = +1``, reflections are never
    used), uniform scale ``c`` and translation ``t`` minimising
    ``sum_j w_j |c R pred_j + t - gt_j|^2`` and returns ``c R pred + t``.

    Args:
        pred: ``(B, J, 3)`` points to align.
        gt: ``(B, J, 3)`` target points.
        mask: ``(B, J)`` points used to fit the transform (bool or 0/1
            weights), or ``None`` for all. All points are transformed.

    Returns:
        ``(B, J, 3)`` aligned prediction.
    """
    if pred.shape != gt.shape or pred.shape[-1] != 3:
        raise ValueError(f"pred and gt must both be (B, J, 3), got {tuple(pred.shape)} and {tuple(gt.shape)}")
    if mask is None:
        weight = torch.ones(pred.shape[:-1], dtype=pred.dtype, device=pred.device)
    else:
        weight = mask.to(pred.dtype)
    weight = (weight / weight.sum(-1, keepdim=True).clamp_min(torch.finfo(pred.dtype).tiny))[..., None]  # (B, J, 1)

    mu_pred = (weight * pred).sum(-2, keepdim=True)
    mu_gt = (weight * gt).sum(-2, keepdim=True)
    x = pred - mu_pred
    y = gt - mu_gt
    var_pred = (weight * x * x).sum((-2, -1))  # (B,)
    cov = y.transpose(-1, -2) @ (weight * x)  # (B, 3, 3), sum_j w_j y_j x_j^T

    u, sigma, vh = torch.linalg.svd(cov)
    # Flip the last singular direction if U V^T would be a reflection.
    sign = torch.sign(torch.linalg.det(u) * torch.linalg.det(vh))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    d = torch.ones_like(sigma)
    d[..., -1] = sign
    rot = u @ (d[..., :, None] * vh)  # U diag(d) V^T
    c = (sigma * d).sum(-1) / var_pred.clamp_min(torch.finfo(pred.dtype).tiny)  # (B,)
    return c[..., None, None] * (x @ rot.transpose(-1, -2)) + mu_gt


def pa_mpjpe(pred: Tensor, gt: Tensor, mask: Tensor | None = None) -> Tensor:
    """MPJPE after Procrustes (similarity) alignment of ``pred`` to ``gt``.

    Args:
        pred: ``(B, J, 3)`` predicted joints (metres).
        gt: ``(B, J, 3)`` ground-truth joints (metres).
        mask: ``(B, J)`` valid joints, used both to fit the alignment and to
            average the error, or ``None`` for all.

    Returns:
        ``(B,)`` PA-MPJPE in mm.
    """
    return _mean_distance_mm(procrustes_align(pred, gt, mask), gt, mask)


def mirror_twin(joints: Tensor, permutation: tuple[int, ...] | list[int]) -> Tensor:
    """The mirror twin of ``(B, J, 3)`` joints, for scoring against it with :func:`pa_mpjpe`.

    x negated and left and right relabelled (``permutation``: the layout's left/right swap, e.g.
    :data:`~model.body.joint_names.LSP14_FLIP_PERMUTATION`). One picture fits a body and its depth
    mirror almost equally well (:mod:`model.body.symmetry`); any reflection differs from the depth
    mirror by a rotation, which the Procrustes alignment removes. An involution.
    """
    return mirror_joints(joints, permutation)


def pve(pred_vertices: Tensor, gt_vertices: Tensor) -> Tensor:
    """Per-vertex error: mean Euclidean vertex distance.

    Any root/pelvis alignment is the caller's (e.g. subtract the pelvis of the
    joints regressed from each mesh from that mesh's vertices first).

    Args:
        pred_vertices: ``(B, V, 3)`` predicted mesh vertices (metres).
        gt_vertices: ``(B, V, 3)`` ground-truth mesh vertices (metres).

    Returns:
        ``(B,)`` PVE in mm.
    """
    return _mean_distance_mm(pred_vertices, gt_vertices, None)


def _second_difference(joints: Tensor) -> Tensor:
    """Discrete second derivative along time, ``x[t] - 2 x[t+1] + x[t+2]``.

    Args:
        joints: ``(T, J, 3)`` joint trajectories.

    Returns:
        ``(T-2, J, 3)``.
    """
    if joints.dim() < 3 or joints.shape[-1] != 3:
        raise ValueError(f"expected (T, J, 3), got {tuple(joints.shape)}")
    return joints[..., :-2, :, :] - 2.0 * joints[..., 1:-1, :, :] + joints[..., 2:, :, :]


def acceleration(joints: Tensor) -> Tensor:
    """Per-frame acceleration magnitude (VIBE's ACC).

    Args:
        joints: ``(T, J, 3)`` joint trajectory in metres (extra leading batch
            dimensions are allowed: ``(..., T, J, 3)``).

    Returns:
        ``(T-2,)`` mean over joints of ``|x[t] - 2 x[t+1] + x[t+2]|`` in
        mm / frame^2.
    """
    return torch.linalg.vector_norm(_second_difference(joints), dim=-1).mean(-1) * MM_PER_M


def acceleration_error(pred: Tensor, gt: Tensor, visible: Tensor | None = None) -> Tensor:
    """Acceleration error (VIBE's ACC-ERR).

    For each window ``(t, t+1, t+2)``: the mean over joints of the norm of the
    difference between predicted and ground-truth second differences.

    Args:
        pred: ``(T, J, 3)`` predicted joint trajectory (metres).
        gt: ``(T, J, 3)`` ground-truth joint trajectory (metres).
        visible: ``(T,)`` valid frames (bool or 0/1), or ``None`` for all.

    Returns:
        ``(K,)`` errors in mm / frame^2, one per window whose three frames are
        all valid, in time order; ``K = T - 2`` when ``visible`` is ``None``.
    """
    if pred.shape != gt.shape:
        raise ValueError(f"pred and gt shapes differ: {tuple(pred.shape)} vs {tuple(gt.shape)}")
    err = torch.linalg.vector_norm(_second_difference(pred) - _second_difference(gt), dim=-1).mean(-1) * MM_PER_M
    if visible is None:
        return err
    if pred.dim() != 3 or visible.shape != pred.shape[:1]:
        raise ValueError(f"with a frame mask, expected pred (T, J, 3) and visible (T,), got {tuple(pred.shape)}, {tuple(visible.shape)}")
    vis = visible.to(torch.bool)
    window_valid = vis[:-2] & vis[1:-1] & vis[2:]
    return err[window_valid]

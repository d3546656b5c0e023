"""Interim temporal smoothing of per-frame predictions (until the GRU video module lands).

``/v1/sequence`` predicts every frame on its own (through the shared batcher) and then smooths
the per-frame parameters with this filter, **not** with RSC-Net's temporal (GRU) module. The
filter is named in every answer (``temporal_model``) and in ``/v1/models``.

Filter (``gaussian-chordal``): for output frame ``t`` the weights over the *valid* frames ``s``
(frames whose prediction succeeded) are ``w_ts ~ exp(-(t - s)^2 / (2 sigma^2))`` for
``|t - s| <= ceil(3 sigma)``, normalised to sum to one (so gaps and sequence ends renormalise;
``sigma = 0`` returns the per-frame values unchanged). Then

* each joint rotation is the chordal L2 mean: ``R_t = proj_SO3(sum_s w_ts R_s)`` (SVD projection
  with the determinant fixed to +1);
* ``betas`` and the weak-perspective camera ``[s, tx, ty]`` are weighted means;
* joints, COCO keypoints and (optionally) vertices are recomputed by posing the body model with
  the smoothed parameters; the translation is rebuilt from the smoothed camera exactly as
  :class:`model.inference.Predictor` does (``t = [tx, ty, 2 f_S / (S s)]``), and the 2D keypoints
  are projected with each frame's own crop camera (``focal``, ``principal``).

Zero-phase (it looks ahead as far as behind), so it needs the whole sequence: fine for uploaded
clips, not for live streams.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch

from model.body.model import BodyModel
from model.geometry.camera import focal_for_size, perspective_projection, weak_perspective_to_translation
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.inference import Prediction

__all__ = ["FILTER_NAME", "gaussian_weights", "project_to_rotation", "smooth_predictions"]

#: Name of the filter, reported by the service.
FILTER_NAME = "gaussian-chordal"

_CHUNK = 64  # frames posed per body-model call


def gaussian_weights(valid: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised Gaussian weights over valid frames.

    Args:
        valid: ``(T,)`` bool, which frames have a prediction.
        sigma: standard deviation in frames (``0``: identity).

    Returns:
        ``(T, T)`` float64 ``W`` with ``W[t, s] = 0`` for invalid ``s`` or ``|t - s| > ceil(3 sigma)``
        and rows of valid ``t`` summing to one (rows of invalid ``t`` are zero).
    """
    valid = np.asarray(valid, dtype=bool)
    t = np.arange(valid.shape[0], dtype=np.float64)
    d = t[:, None] - t[None, :]
    if sigma <= 0:
        w = (d == 0).astype(np.float64)
    else:
        w = np.exp(-0.5 * (d / sigma) ** 2) * (np.abs(d) <= math.ceil(3 * sigma))
    w = w * valid[None, :] * valid[:, None]
    sums = w.sum(axis=1, keepdims=True)
    return np.divide(w, sums, out=np.zeros_like(w), where=sums > 0)


def project_to_rotation(m: torch.Tensor) -> torch.Tensor:
    """Nearest rotation (Frobenius) of each ``(..., 3, 3)`` matrix: ``U diag(1, 1, det(U V^T)) V^T``."""
    u, _, vh = torch.linalg.svd(m)
    det = torch.det(u @ vh)
    fix = torch.ones(m.shape[:-1], dtype=m.dtype, device=m.device)
    fix[..., 2] = det
    return (u * fix[..., None, :]) @ vh


def smooth_predictions(
    preds: Sequence[Prediction | None],
    body: BodyModel,
    *,
    sigma: float,
    input_size: int,
    include_vertices: bool = False,
) -> list[Prediction | None]:
    """Smooth a sequence of per-frame predictions (see the module docstring).

    Args:
        preds: one :class:`Prediction` per frame, ``None`` for frames without one.
        body: the body model the predictions were made with.
        sigma: Gaussian standard deviation in frames.
        input_size: the network input side ``S`` (for the translation, as in the predictor).
        include_vertices: also return smoothed ``(V, 3)`` vertices.

    Returns:
        One smoothed :class:`Prediction` per frame (``None`` where the input was ``None``); ``phi``
        and the per-frame crop geometry are kept as they were.
    """
    valid = np.array([p is not None for p in preds], dtype=bool)
    out: list[Prediction | None] = [None] * len(preds)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return out
    frames = [preds[i] for i in idx]
    assert all(p is not None for p in frames)
    device = body.faces.device
    w = torch.from_numpy(gaussian_weights(valid, sigma)[np.ix_(idx, idx)]).to(device=device, dtype=torch.float64)
    pose = torch.from_numpy(np.stack([p.pose for p in frames])).to(device=device, dtype=torch.float64)  # (N, 24, 3)
    betas = torch.from_numpy(np.stack([p.betas for p in frames])).to(device=device, dtype=torch.float64)  # (N, 10)
    cam = torch.from_numpy(np.stack([p.camera_weak for p in frames])).to(device=device, dtype=torch.float64)  # (N, 3)
    rot = axis_angle_to_matrix(pose)  # (N, 24, 3, 3)
    rot_s = project_to_rotation(torch.einsum("ts,sjab->tjab", w, rot)).float()
    betas_s = (w @ betas).float()
    cam_s = (w @ cam).float()
    s = int(input_size)
    trans = weak_perspective_to_translation(cam_s, focal_for_size(s), s)  # (N, 3)
    focal = torch.tensor([p.focal for p in frames], dtype=torch.float32, device=device)
    principal = torch.from_numpy(np.stack([p.principal for p in frames])).to(device=device, dtype=torch.float32)
    with torch.inference_mode():
        for start in range(0, len(frames), _CHUNK):
            sl = slice(start, start + _CHUNK)
            posed = body(betas_s[sl], rot_s[sl]) if include_vertices else body.keypoints_only(betas_s[sl], rot_s[sl])
            t = trans[sl]
            kp = perspective_projection(posed.coco17, t, focal[sl], principal[sl])
            host = {
                "betas": betas_s[sl],
                "pose": matrix_to_axis_angle(rot_s[sl]),
                "camera_weak": cam_s[sl],
                "translation": t,
                "joints3d_smpl24": posed.joints + t[:, None],
                "joints3d_coco17": posed.coco17 + t[:, None],
                "keypoints2d_coco17": kp,
            }
            if include_vertices:
                host["vertices"] = posed.vertices + t[:, None]  # type: ignore[attr-defined]
            arrays = {k: v.detach().float().cpu().numpy() for k, v in host.items()}
            for j, frame in enumerate(frames[sl]):
                values = {k: v[j] for k, v in arrays.items()}
                if not include_vertices:
                    values["vertices"] = None
                out[int(idx[start + j])] = dataclasses.replace(frame, **values)
    return out

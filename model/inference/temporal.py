"""Temporal models: one interface over a sequence of single-frame predictions, two implementations.

>>> model = GruTemporalModel(SequencePredictor.from_checkpoint("checkpoints/video-cpu/model.pt"))
>>> model = GaussianFilter(predictor.body_model, predictor.input_size, sigma=1.5)   # or the filter
>>> smoothed = model.smooth(per_frame)     # per_frame: Predictions (None where no person), in order
>>> model.summary()                        # JSON-ready: what answered (name, kind, settings)

Both take the per-frame :class:`Prediction` objects of :meth:`Predictor.predict` and return one
entry per frame (``None`` where the input was ``None``), each in its own frame's crop geometry, so
a caller (the service's ``/v1/sequence``) treats them alike. A sequence without any prediction
gives all ``None`` from either. :class:`TurnLimited` wraps either with the causal turn limit of
:mod:`model.inference.turn_limit` (no facing flip between two frames; served by default).

:class:`GruTemporalModel` is RSC-Net's video module (:class:`SequencePredictor`: a GRU over the
frames' backbone features ``phi``, gaps bridged). It is causal or bidirectional as trained.

:class:`GaussianFilter` (``gaussian-chordal``) smooths the per-frame parameters instead. For output
frame ``t`` the weights over the *valid* frames ``s`` are ``w_ts ~ exp(-(t - s)^2 / (2 sigma^2))`` for
``|t - s| <= ceil(3 sigma)``, normalised to sum to one (so gaps and sequence ends renormalise;
``sigma = 0`` returns the per-frame values unchanged). Then

* each joint rotation is the chordal L2 mean: ``R_t = proj_SO3(sum_s w_ts R_s)`` (SVD projection
  with the determinant fixed to +1);
* ``betas`` and the weak-perspective camera ``[s, tx, ty]`` are weighted means;
* joints, COCO keypoints and (optionally) vertices are recomputed by posing the body model with
  the smoothed parameters; the translation is rebuilt from the smoothed camera exactly as
  :class:`Predictor` does (``t = [tx, ty, 2 f_S / (S s)]``), and the 2D keypoints are projected
  with each frame's own crop camera (``focal``, ``principal``).

The filter is zero-phase (it looks ahead as far as behind), so it needs the whole sequence: fine
for uploaded clips, not for live streams.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from model.body.model import BodyModel
from model.geometry.camera import crop_camera, perspective_projection
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.inference.predictor import Prediction
from model.inference.sequence import SequencePredictor
from model.inference.turn_limit import limit_turn

__all__ = [
    "FILTER_NAME",
    "GaussianFilter",
    "GruTemporalModel",
    "TemporalModel",
    "TurnLimited",
    "gaussian_weights",
    "posed_predictions",
    "project_to_rotation",
]

#: Name of the Gaussian filter (``name`` of its :meth:`GaussianFilter.summary`).
FILTER_NAME = "gaussian-chordal"

_CHUNK = 64  # frames posed per body-model call


class TemporalModel(Protocol):
    """What a caller needs of a temporal model: smooth a sequence, and say what it is."""

    #: ``"gru"`` (a learned model over backbone features) or ``"filter"`` (parameter smoothing).
    kind: str

    def smooth(self, frames: Sequence[Prediction | None], include_vertices: bool = False) -> list[Prediction | None]:
        """One prediction per frame (``None`` where ``frames`` has ``None``), in each frame's crop geometry."""
        ...

    def summary(self) -> dict[str, Any]:
        """JSON-ready ``name``, ``kind``, ``description`` and the settings that shaped the answer."""
        ...


class GruTemporalModel:
    """RSC-Net's video module (a :class:`SequencePredictor`) behind :class:`TemporalModel`.

    Args:
        sequence: the loaded video model (its backbone made the per-frame predictions).
    """

    kind = "gru"
    #: What this model does, in one sentence (reported with every answer).
    DESCRIPTION = (
        "RSC-Net's video module: a 2-layer GRU over the frames' backbone features (residual), then the "
        "iterative regressor; frames without a person are bridged."
    )
    #: The same for a GRU that reads frame-to-frame feature changes (``gru_input: motion``).
    MOTION_DESCRIPTION = (
        "RSC-Net's video module: a 2-layer GRU over the frame-to-frame changes of the backbone features "
        "(residual; a still input gets exactly the single-frame answer), then the single-frame iterative "
        "regressor; frames without a person are bridged."
    )

    def __init__(self, sequence: SequencePredictor) -> None:
        self.sequence = sequence

    @property
    def description(self) -> str:
        """What this GRU does, in one sentence (reported with every answer)."""
        return self.MOTION_DESCRIPTION if self.sequence.temporal.config.gru_input == "motion" else self.DESCRIPTION

    def smooth(self, frames: Sequence[Prediction | None], include_vertices: bool = False) -> list[Prediction | None]:
        frames = list(frames)
        if all(f is None for f in frames):
            return frames
        return self.sequence.smooth(frames, include_vertices=include_vertices)

    def summary(self) -> dict[str, Any]:
        return {
            "name": "gru",
            "kind": self.kind,
            "checkpoint_id": self.sequence.checkpoint_id,
            "bidirectional": not self.sequence.causal,
            "description": self.description,
        }


class GaussianFilter:
    """The zero-phase Gaussian filter of the module docstring behind :class:`TemporalModel`.

    Args:
        body: the body model the predictions were made with.
        input_size: the network input side ``S`` (for the translation, as in the predictor).
        sigma: Gaussian standard deviation in frames (``0``: the per-frame values unchanged).
    """

    kind = "filter"
    #: What this model does, in one sentence (reported with every answer).
    DESCRIPTION = (
        "Per-frame RSC-Net predictions smoothed by a zero-phase Gaussian filter over valid frames "
        "(rotations: chordal mean projected to SO(3); betas and weak camera: weighted means)."
    )

    def __init__(self, body: BodyModel, input_size: int, sigma: float) -> None:
        if not sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {sigma!r}")
        self.body = body
        self.input_size = int(input_size)
        self.sigma = float(sigma)

    def summary(self) -> dict[str, Any]:
        return {"name": FILTER_NAME, "kind": self.kind, "sigma": self.sigma, "description": self.DESCRIPTION}

    def smooth(self, frames: Sequence[Prediction | None], include_vertices: bool = False) -> list[Prediction | None]:
        """Smoothed predictions; ``phi`` and the per-frame crop geometry are kept as they were."""
        valid = np.array([p is not None for p in frames], dtype=bool)
        out: list[Prediction | None] = [None] * len(frames)
        idx = np.flatnonzero(valid)
        if idx.size == 0:
            return out
        present: list[Prediction] = [frames[i] for i in idx]  # type: ignore[misc]
        device = self.body.faces.device
        f64 = {"device": device, "dtype": torch.float64}
        w = torch.from_numpy(gaussian_weights(valid, self.sigma)[np.ix_(idx, idx)]).to(**f64)
        pose = torch.from_numpy(np.stack([p.pose for p in present])).to(**f64)  # (N, 24, 3)
        betas = torch.from_numpy(np.stack([p.betas for p in present])).to(**f64)  # (N, 10)
        cam = torch.from_numpy(np.stack([p.camera_weak for p in present])).to(**f64)  # (N, 3)
        rot_s = project_to_rotation(torch.einsum("ts,sjab->tjab", w, axis_angle_to_matrix(pose))).float()
        posed = posed_predictions(self.body, self.input_size, present, rot_s, (w @ betas).float(), (w @ cam).float(), include_vertices)
        for i, p in zip(idx, posed):
            out[int(i)] = p
        return out


class TurnLimited:
    """Any :class:`TemporalModel` with the turn limit of :mod:`model.inference.turn_limit` on its answer.

    The inner model smooths; then, frame by frame in order, each answer's heading turns by at most
    ``max_turn_deg`` from the previous answer's (that times the frames between, across frames with no
    person), about the camera's vertical axis, and the frames it turned are posed again (the others
    are the inner model's answers as they were). No facing flip (a turn above 90 degrees between two
    frames) survives it.

    Args:
        inner: the temporal model whose answers are limited.
        body: the body model the answers are posed with.
        input_size: the network input side ``S`` their weak cameras refer to.
        max_turn_deg: degrees per frame, in ``(0, 180]``.
    """

    def __init__(self, inner: TemporalModel, body: BodyModel, input_size: int, max_turn_deg: float) -> None:
        if not 0 < max_turn_deg <= 180:
            raise ValueError(f"max_turn_deg must be in (0, 180], got {max_turn_deg!r}")
        self.inner = inner
        self.body = body
        self.input_size = int(input_size)
        self.max_turn_deg = float(max_turn_deg)
        self.kind = inner.kind

    def summary(self) -> dict[str, Any]:
        inner = self.inner.summary()
        note = f" Then the heading turns by at most {self.max_turn_deg:g} degrees per frame (no facing flips)."
        return {**inner, "max_turn_deg": self.max_turn_deg, "description": inner["description"] + note}

    def smooth(self, frames: Sequence[Prediction | None], include_vertices: bool = False) -> list[Prediction | None]:
        out = self.inner.smooth(frames, include_vertices=include_vertices)
        idx = [i for i, p in enumerate(out) if p is not None]
        if not idx:
            return out
        device = self.body.faces.device
        root = torch.eye(3, dtype=torch.float64, device=device).repeat(len(out), 1, 1)
        root[idx] = axis_angle_to_matrix(torch.from_numpy(np.stack([out[i].pose[0] for i in idx])).to(device=device, dtype=torch.float64))  # type: ignore[union-attr]
        valid = torch.zeros(len(out), dtype=torch.bool, device=device)
        valid[idx] = True
        limited = limit_turn(root, self.max_turn_deg, valid)
        turned = [i for i in idx if not torch.equal(limited[i], root[i])]
        if not turned:
            return out
        frames_turned: list[Prediction] = [out[i] for i in turned]  # type: ignore[misc]
        f32 = {"device": device, "dtype": torch.float32}
        rot = axis_angle_to_matrix(torch.from_numpy(np.stack([p.pose for p in frames_turned])).to(**f32))
        rot[:, 0] = limited[turned].float()
        betas = torch.from_numpy(np.stack([p.betas for p in frames_turned])).to(**f32)
        cam = torch.from_numpy(np.stack([p.camera_weak for p in frames_turned])).to(**f32)
        result = list(out)
        for i, p in zip(turned, posed_predictions(self.body, self.input_size, frames_turned, rot, betas, cam, include_vertices)):
            result[i] = p
        return result


def posed_predictions(
    body: BodyModel,
    input_size: int,
    frames: Sequence[Prediction],
    rotmat: torch.Tensor,
    betas: torch.Tensor,
    camera: torch.Tensor,
    include_vertices: bool,
) -> list[Prediction]:
    """``frames`` with new parameters, the body posed again and projected in each frame's own crop.

    Args:
        body: the body model.
        input_size: the network input side ``S`` (the translation is ``[tx, ty, 2 f_S / (S s)]``, as
            :class:`Predictor` makes it).
        frames: ``N`` predictions whose ``focal``, ``principal`` and everything not set here are kept.
        rotmat: ``(N, 24, 3, 3)`` joint rotations; ``betas``: ``(N, 10)``; ``camera``: ``(N, 3)``
            weak-perspective ``[s, tx, ty]``.
        include_vertices: pose the whole mesh too (else ``vertices`` is ``None``).

    Returns:
        ``N`` predictions, in order.
    """
    device = body.faces.device
    trans, _ = crop_camera(camera, input_size)  # (N, 3), the network crop's camera
    focal = torch.tensor([p.focal for p in frames], dtype=torch.float32, device=device)
    principal = torch.from_numpy(np.stack([p.principal for p in frames])).to(device=device, dtype=torch.float32)
    out: list[Prediction] = []
    with torch.inference_mode():
        for start in range(0, len(frames), _CHUNK):
            sl = slice(start, start + _CHUNK)
            posed = body(betas[sl], rotmat[sl]) if include_vertices else body.keypoints_only(betas[sl], rotmat[sl])
            t = trans[sl]
            host = {
                "betas": betas[sl],
                "pose": matrix_to_axis_angle(rotmat[sl]),
                "camera_weak": camera[sl],
                "translation": t,
                "joints3d_smpl24": posed.joints + t[:, None],
                "joints3d_coco17": posed.coco17 + t[:, None],
                "keypoints2d_coco17": perspective_projection(posed.coco17, t, focal[sl], principal[sl]),
            }
            if include_vertices:
                host["vertices"] = posed.vertices + t[:, None]  # type: ignore[attr-defined]
            arrays = {k: v.detach().float().cpu().numpy() for k, v in host.items()}
            for j, frame in enumerate(frames[sl]):
                values = {k: v[j] for k, v in arrays.items()}
                if not include_vertices:
                    values["vertices"] = None
                out.append(dataclasses.replace(frame, **values))
    return out


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

"""Sequence inference: the video model (temporal GRU, paper Section 3.5) on top of the single-frame predictor.

>>> seq = SequencePredictor.from_checkpoint("checkpoints/video-cpu/model.pt")   # loads its backbone too
>>> per_frame = seq.backbone.predict(crops)          # single-frame Predictions (each carries phi)
>>> smoothed = seq.smooth(per_frame)                  # same frames, temporal model's predictions
>>> seq.predict([crop0, None, crop2])                 # None = no person in that frame (a gap)

The temporal module reads the per-frame backbone features ``phi`` in order; frames without a
person are gaps it bridges (their features are filled, see
:func:`model.nets.temporal.fill_missing_features`) and get no prediction. Long sequences run in
chunks (:meth:`TemporalRegressor.forward_chunked`). Each output frame keeps its own crop geometry,
so keypoints come back in that frame's crop pixels exactly as :meth:`Predictor.predict` gives them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from model.inference.predictor import Prediction, Predictor, TensorPrediction
from model.nets.checkpoint import VIDEO_FORMAT, file_id, load_checkpoint, load_temporal
from model.nets.temporal import TemporalRegressor

__all__ = ["BackboneMismatch", "SequencePredictor"]


class BackboneMismatch(ValueError):
    """A video checkpoint was trained on the features of another single-frame network than the one loaded.

    Attributes:
        path: the video checkpoint.
        trained_on: ``(id, path)`` of the backbone it was trained on.
        loaded: ``(id, path)`` of the backbone that is loaded.
    """

    def __init__(self, path: Path, trained_id: str, trained_path: str | None, backbone: Predictor) -> None:
        self.path = path
        self.trained_on = (trained_id, trained_path)
        self.loaded = (backbone.checkpoint_id, None if backbone.checkpoint_path is None else str(backbone.checkpoint_path))
        super().__init__(
            f"video checkpoint {path} was trained on features of backbone {trained_id} ({trained_path}), "
            f"but the loaded backbone is {backbone.checkpoint_id} ({backbone.checkpoint_path})"
        )


class SequencePredictor:
    """A single-frame :class:`Predictor` (the frozen backbone) plus the temporal module.

    Args:
        backbone: the single-frame predictor whose features the temporal module was trained on.
        temporal: the temporal module (put in eval mode, moved to the backbone's device).
        checkpoint_path, checkpoint_id: where the temporal weights came from.
    """

    def __init__(self, backbone: Predictor, temporal: TemporalRegressor, checkpoint_path: str | os.PathLike[str] | None = None, checkpoint_id: str = "untrained") -> None:
        if temporal.config.feature_dim != backbone.net.feature_dim:
            raise ValueError(f"temporal module expects {temporal.config.feature_dim}-d features, the backbone gives {backbone.net.feature_dim}")
        self.backbone = backbone
        self.temporal = temporal.eval().to(backbone.device)
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.checkpoint_id = checkpoint_id

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike[str], backbone: Predictor | str | os.PathLike[str] | None = None, device: str | torch.device | None = None
    ) -> SequencePredictor:
        """Load a video checkpoint (``python -m model.train`` with a ``kind: video`` config, exported).

        Args:
            path: the video checkpoint.
            backbone: the single-frame predictor, or its checkpoint path; default the path the video
                checkpoint names. Its weights must be the ones the video model was trained on.
            device: for a backbone loaded here.

        Raises:
            CheckpointError: unreadable or inconsistent checkpoint, weights that do not match.
            BackboneMismatch: (a ``ValueError``) another backbone than the one trained with.
            ValueError: another body model.
        """
        path = Path(path)
        ckpt = load_checkpoint(path, map_location="cpu", expected_format=VIDEO_FORMAT)
        entry = ckpt["backbone"]
        if not isinstance(backbone, Predictor):
            backbone = Predictor.from_checkpoint(backbone or entry["path"], device=device)
        if ckpt["body_model"]["sha256"] != backbone.body_model.info.sha256:
            raise ValueError(f"video checkpoint {path} was trained with body model {ckpt['body_model']['model_id']}, the backbone uses {backbone.model_id}")
        if entry["checkpoint_id"] != backbone.checkpoint_id:
            raise BackboneMismatch(path, str(entry["checkpoint_id"]), entry.get("path"), backbone)
        temporal = load_temporal(ckpt, path, backbone.body_model.mean_params)
        return cls(backbone, temporal, checkpoint_path=path, checkpoint_id=file_id(path))

    # ------------------------------------------------------------------ info
    @property
    def causal(self) -> bool:
        """Whether each frame depends on past frames only (usable online)."""
        return not self.temporal.config.bidirectional

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (for the service's ``/v1/models``)."""
        c = self.temporal.config
        return {
            "name": "gru",
            "kind": "gru",
            "checkpoint": None if self.checkpoint_path is None else str(self.checkpoint_path),
            "checkpoint_id": self.checkpoint_id,
            "backbone_checkpoint_id": self.backbone.checkpoint_id,
            "hidden_dim": c.hidden_dim,
            "num_layers": c.num_layers,
            "bidirectional": c.bidirectional,
            "gru_input": c.gru_input,
            "init_state": c.init_state,
            "chunk_size": c.chunk_size,
            "chunk_overlap": c.chunk_overlap,
        }

    # ------------------------------------------------------------------ tensors
    @torch.inference_mode()
    def predict_features(self, phi: Tensor, valid: Tensor | None = None, temporal: bool = True, include_vertices: bool = False) -> TensorPrediction:
        """Predictions from per-frame features.

        Args:
            phi: ``(N, T, C)`` (or ``(T, C)``) backbone features in frame order.
            valid: ``(N, T)`` (or ``(T,)``) bool, ``False`` for missing frames; ``None``: all valid.
            temporal: ``False`` gives the single-frame model's predictions (the backbone's own
                regressor on each frame) for comparison.
            include_vertices: also return the vertices.

        Returns:
            :class:`TensorPrediction` with ``N*T`` rows in ``(n, t)`` order (``phi`` is the
            temporal feature for the video model).
        """
        if phi.ndim == 2:
            phi = phi[None]
            valid = None if valid is None else valid[None]
        phi = phi.to(self.backbone.device, torch.float32)
        n, t, c = phi.shape
        if temporal:
            out = self.temporal.forward_chunked(phi, None if valid is None else valid.to(phi.device))
            flat = lambda x: x.reshape(n * t, *x.shape[2:])
            return self.backbone.decode(flat(out.features), flat(out.pose_rotmat), flat(out.pose_6d), flat(out.betas), flat(out.camera), include_vertices)
        reg = self.backbone.net.regressor(phi.reshape(n * t, c))
        return self.backbone.decode(phi.reshape(n * t, c), reg.pose_rotmat, reg.pose_6d, reg.betas, reg.camera, include_vertices)

    # ------------------------------------------------------------------ frames
    def smooth(self, frames: Sequence[Prediction | None], include_vertices: bool = False) -> list[Prediction | None]:
        """The temporal model's predictions for a sequence of single-frame predictions.

        Args:
            frames: per frame, the backbone's :class:`Prediction` (with ``phi``) or ``None`` where
                the frame has no person.
            include_vertices: also return vertices.

        Returns:
            One entry per frame: a :class:`Prediction` in that frame's crop geometry, ``None`` for gaps.

        Raises:
            ValueError: no frame has a prediction.
        """
        frames = list(frames)
        present = [i for i, f in enumerate(frames) if f is not None]
        if not present:
            raise ValueError("a sequence needs at least one frame with a person")
        c = self.backbone.net.feature_dim
        phi = torch.zeros(len(frames), c)
        valid = torch.zeros(len(frames), dtype=torch.bool)
        for i in present:
            phi[i] = torch.from_numpy(np.asarray(frames[i].phi, dtype=np.float32))
            valid[i] = True
        out = self.predict_features(phi, valid, temporal=True, include_vertices=include_vertices)
        idx = torch.tensor(present, device=out.betas.device)
        picked = TensorPrediction(
            **{name: (None if getattr(out, name) is None else getattr(out, name)[idx]) for name in TensorPrediction.__dataclass_fields__}
        )
        preds = self.backbone.to_predictions(picked, [frames[i].geometry() for i in present])
        result: list[Prediction | None] = [None] * len(frames)
        for i, p in zip(present, preds):
            result[i] = p
        return result

    def predict(self, crops: Sequence[np.ndarray | None], include_vertices: bool = False) -> list[Prediction | None]:
        """Single-frame predictions of every crop, then :meth:`smooth` (``None`` crops are gaps)."""
        crops = list(crops)
        present = [i for i, c in enumerate(crops) if c is not None]
        singles = self.backbone.predict([crops[i] for i in present]) if present else []
        frames: list[Prediction | None] = [None] * len(crops)
        for i, p in zip(present, singles):
            frames[i] = p
        return self.smooth(frames, include_vertices=include_vertices)

    def __repr__(self) -> str:
        c = self.temporal.config
        return f"SequencePredictor(checkpoint={self.checkpoint_id}, backbone={self.backbone.checkpoint_id}, bidirectional={c.bidirectional})"

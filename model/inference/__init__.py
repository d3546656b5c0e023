"""Inference APIs the service runs.

* :class:`Predictor` (:mod:`model.inference.predictor`): single crops in, SMPL-layout parameters,
  joints and keypoints out.
* The sequence predictor (temporal GRU module) and the texture predictor (TexGlo) live in their own
  modules of this package.
"""

from model.inference.predictor import (
    MAX_SIDE,
    MIN_SIDE,
    PRECISIONS,
    Prediction,
    Predictor,
    TensorPrediction,
    cpu_supports_bf16,
)

__all__ = [
    "MAX_SIDE",
    "MIN_SIDE",
    "PRECISIONS",
    "Prediction",
    "Predictor",
    "TensorPrediction",
    "cpu_supports_bf16",
]

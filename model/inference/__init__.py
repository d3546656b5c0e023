"""Inference APIs the service runs.

* :class:`Predictor` (:mod:`model.inference.predictor`): single crops in, SMPL-layout parameters,
  joints and keypoints out.
* :class:`SequencePredictor` (:mod:`model.inference.sequence`): the video model (temporal GRU)
  over the single-frame features of a sequence of crops.
* :class:`TexturePredictor` (:mod:`model.inference.texture`): TexGlo's UV texture for a crop and
  ``texture(crop) -> (vertices, faces, uvs, texture image)``.
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
from model.inference.sequence import SequencePredictor
from model.inference.texture import TexturedMesh, TexturePredictor

__all__ = [
    "MAX_SIDE",
    "MIN_SIDE",
    "PRECISIONS",
    "Prediction",
    "Predictor",
    "SequencePredictor",
    "TensorPrediction",
    "TexturePredictor",
    "TexturedMesh",
    "cpu_supports_bf16",
]

"""Inference APIs the service runs.

* :class:`Predictor` (:mod:`model.inference.predictor`): single crops in, SMPL-layout parameters,
  joints and keypoints out; crops it refuses raise :class:`CropsRejected` with each one's reason
  (:func:`check_crop`, :mod:`model.inference.crops`).
* :class:`SequencePredictor` (:mod:`model.inference.sequence`): the video model (temporal GRU)
  over the single-frame features of a sequence of crops.
* :class:`TemporalModel` (:mod:`model.inference.temporal`): one interface for smoothing a sequence
  of single-frame predictions, by the GRU (:class:`GruTemporalModel`) or a Gaussian filter
  (:class:`GaussianFilter`), either with a limit on how fast the body turns (:class:`TurnLimited`,
  :mod:`model.inference.turn_limit`).
* :class:`TexturePredictor` (:mod:`model.inference.texture`): TexGlo's UV texture for a crop and
  ``texture(crop) -> (vertices, faces, uvs, texture image)``.
"""

from model.inference.crops import MAX_SIDE, MIN_SIDE, CropRejection, CropsRejected, check_crop
from model.inference.predictor import (
    PRECISIONS,
    Prediction,
    Predictor,
    TensorPrediction,
    cpu_supports_bf16,
)
from model.inference.sequence import BackboneMismatch, SequencePredictor
from model.inference.temporal import GaussianFilter, GruTemporalModel, TemporalModel, TurnLimited
from model.inference.texture import TexturedMesh, TexturePredictor

__all__ = [
    "CropRejection",
    "CropsRejected",
    "GaussianFilter",
    "GruTemporalModel",
    "MAX_SIDE",
    "MIN_SIDE",
    "PRECISIONS",
    "BackboneMismatch",
    "Prediction",
    "Predictor",
    "SequencePredictor",
    "TemporalModel",
    "TensorPrediction",
    "TexturePredictor",
    "TexturedMesh",
    "TurnLimited",
    "check_crop",
    "cpu_supports_bf16",
]

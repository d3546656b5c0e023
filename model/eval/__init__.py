"""Evaluation: 3D pose/shape metrics (inputs in metres, outputs in millimetres)."""

from __future__ import annotations

from model.eval.metrics import (
    MM_PER_M,
    acceleration,
    acceleration_error,
    mpjpe,
    pa_mpjpe,
    pelvis_center,
    procrustes_align,
    pve,
)

__all__ = [
    "MM_PER_M",
    "acceleration",
    "acceleration_error",
    "mpjpe",
    "pa_mpjpe",
    "pelvis_center",
    "procrustes_align",
    "pve",
]

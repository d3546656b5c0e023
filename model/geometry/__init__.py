"""Geometry: rotation conversions and camera / crop conventions (see :mod:`model.geometry.camera`)."""

from __future__ import annotations

from model.geometry.camera import (
    SPIN_CROP_SIZE,
    SPIN_FOCAL_LENGTH,
    crop_affine,
    crop_to_full,
    crop_translation_to_full,
    focal_for_size,
    full_to_crop,
    perspective_projection,
    square_crop_box,
    translation_to_weak_perspective,
    weak_perspective_to_translation,
)
from model.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rot6d_to_matrix,
)

__all__ = [
    "SPIN_CROP_SIZE",
    "SPIN_FOCAL_LENGTH",
    "axis_angle_to_matrix",
    "axis_angle_to_quaternion",
    "crop_affine",
    "crop_to_full",
    "crop_translation_to_full",
    "focal_for_size",
    "full_to_crop",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "matrix_to_rot6d",
    "perspective_projection",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix",
    "rot6d_to_matrix",
    "square_crop_box",
    "translation_to_weak_perspective",
    "weak_perspective_to_translation",
]

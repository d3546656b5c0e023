"""Left/right symmetry of the SMPL layout: the mirror image of a pose, and its depth-mirror twin.

Two reflections matter for a monocular body:

* :func:`mirror_pose` / :func:`mirror_rotmat` -- the **sagittal mirror** (the image flipped left to
  right): every joint rotation conjugated by ``S = diag(-1, 1, 1)`` and the left and right joints
  swapped. The posed joints are those of the input with x negated and left/right relabelled.
* :func:`depth_mirror_rotmat` / :func:`depth_mirror_joints` -- the **depth mirror** (the classic
  front/back ambiguity of one view): the same skeleton reflected through the plane of the image
  about its pelvis, ``X' - p = D (X - p)`` with ``D = diag(1, 1, -1)`` in the camera frame, left and
  right relabelled so that it is again a proper body. Its orthographic projection is the input's,
  joint for joint (the labels of each point swap sides: what was drawn as the right knee is now the
  left one), and it faces the other way whenever the body is seen from the front or back (seen in
  profile, its facing does not change). In parameters it is the sagittal mirror of the pose with
  the root turned half round the camera's vertical axis: ``R_0' = diag(-1, 1, -1) S R_0 S``.

Both are exact for a left/right symmetric body shape (the free SMPL-layout model and SMPL are, up to
rounding), where the rest pelvis lies on the sagittal plane.
"""

from __future__ import annotations

import torch
from torch import Tensor

from model.body.joint_names import SMPL_FLIP_PERMUTATION

__all__ = ["DEPTH_MIRROR", "depth_mirror_joints", "depth_mirror_rotmat", "mirror_joints", "mirror_pose", "mirror_rotmat"]

#: The reflection through the image plane, camera frame (x right, y down, z forward).
DEPTH_MIRROR = (1.0, 1.0, -1.0)
_FLIP = torch.tensor(SMPL_FLIP_PERMUTATION, dtype=torch.long)
_MIRROR_SIGN = (1.0, -1.0, -1.0)  # conjugation of a rotation vector by diag(-1, 1, 1)
_SAGITTAL = (-1.0, 1.0, 1.0)
_HALF_TURN_Y = (-1.0, 1.0, -1.0)  # rotation by pi about the camera's vertical axis


def mirror_pose(pose: Tensor) -> Tensor:
    """Mirror axis-angle poses ``(..., 24, 3)`` through the body's sagittal plane (x -> -x).

    Swaps left and right joints and negates the y and z components of every rotation vector
    (conjugation by ``diag(-1, 1, 1)``). An involution; the posed joints of the result are those
    of ``pose`` with x negated and left/right swapped.
    """
    sign = torch.tensor(_MIRROR_SIGN, dtype=pose.dtype, device=pose.device)
    return pose[..., _FLIP.to(pose.device), :] * sign


def mirror_rotmat(rotmat: Tensor) -> Tensor:
    """:func:`mirror_pose` for rotation matrices ``(..., 24, 3, 3)``: ``S R S`` with joints swapped."""
    s = torch.tensor(_SAGITTAL, dtype=rotmat.dtype, device=rotmat.device)
    swapped = rotmat[..., _FLIP.to(rotmat.device), :, :]
    return s[:, None] * swapped * s[None, :]


def mirror_joints(points: Tensor, permutation: tuple[int, ...] | list[int] | Tensor) -> Tensor:
    """Points ``(..., J, C)`` mirrored through the plane ``x = 0``: left and right relabelled
    (``permutation``, the layout's swap, e.g. :data:`SMPL_FLIP_PERMUTATION`) and the first coordinate
    negated; further columns (a confidence, a visibility) move with their joint. An involution. In the
    body frame it is the sagittal mirror (what :func:`mirror_pose` poses); in a camera frame it is the
    image flipped left to right, and under a Procrustes alignment it is also the depth-mirror twin."""
    perm = torch.as_tensor(permutation, dtype=torch.long, device=points.device)
    out = points[..., perm, :].clone()
    out[..., 0] = -out[..., 0]
    return out


def depth_mirror_rotmat(rotmat: Tensor) -> Tensor:
    """The depth-mirror twin of poses ``(..., 24, 3, 3)`` (root in the camera frame).

    Returns:
        ``(..., 24, 3, 3)``: the sagittal mirror, its root turned by pi about the camera's y axis.
        An involution; posing it gives :func:`depth_mirror_joints` of the input's joints.
    """
    out = mirror_rotmat(rotmat)
    turn = torch.tensor(_HALF_TURN_Y, dtype=rotmat.dtype, device=rotmat.device)
    return torch.cat([turn[:, None] * out[..., :1, :, :], out[..., 1:, :, :]], dim=-3)


def depth_mirror_joints(joints: Tensor, permutation: tuple[int, ...] | Tensor, pelvis: Tensor | None = None) -> Tensor:
    """Joints ``(..., J, 3)`` (camera frame) of the depth-mirror twin.

    Args:
        joints: ``(..., J, 3)``.
        permutation: the layout's left/right swap (e.g. :data:`SMPL_FLIP_PERMUTATION`).
        pelvis: ``(..., 3)`` the point reflected about; default joint 0 (SMPL's pelvis).

    Returns:
        ``(..., J, 3)``: ``p + D (joints - p)`` with left and right relabelled.
    """
    perm = torch.as_tensor(permutation, dtype=torch.long, device=joints.device)
    p = joints[..., 0, :] if pelvis is None else pelvis
    d = torch.tensor(DEPTH_MIRROR, dtype=joints.dtype, device=joints.device)
    return p[..., None, :] + (joints[..., perm, :] - p[..., None, :]) * d

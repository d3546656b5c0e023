"""Flip test-time augmentation: the network on a crop and on its mirror image, answers merged.

A regressor trained with horizontal flips (:mod:`model.data.augment`) should give mirrored answers
for mirrored images; where it does not, the two answers hold independent errors and their mean
is usually closer to the truth (the test-time protocol of most 2D pose networks, e.g. SimpleBaselines
and HRNet). :func:`merge_flipped` maps the mirror image's answer back and averages:

* **pose** ``(B, 24, 3, 3)``: the mirrored answer's joints are swapped left/right and conjugated by
  ``diag(-1, 1, 1)`` (:func:`model.body.symmetry.mirror_rotmat`); each joint's two rotations are
  averaged by :func:`model.geometry.rotations.mean_rotation` (the geodesic midpoint);
* **betas** ``(B, 10)``: averaged (a mirror image does not change the body's shape);
* **camera** ``[s, tx, ty]`` ``(B, 3)``: the mirror's ``tx`` negated (the image flips about its
  centre, the network input's principal point), then averaged.

The pooled feature ``phi`` is not merged: it is the original crop's, as the video and texture
models were trained on single-view features.

How far the two answers are apart (:func:`flip_disagreement`: the mean distance between their
joints, root rotation included) is a free confidence signal. On the served network's held-out
checks at 32 px the half of the people with the lower disagreement has an MPJPE of 229-268 mm, the
other half 310-337 (Spearman 0.32-0.41); on the real people the 2D error is 0.161 vs 0.192 of the
box height (Spearman 0.23). ``python -m model.eval.flip_confidence`` measures it.

It costs a second network pass per crop (the batch is doubled in one call).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from model.body.symmetry import mirror_joints, mirror_rotmat
from model.geometry.rotations import matrix_to_rot6d, mean_rotation

__all__ = ["FlipMerged", "flip_disagreement", "flip_images", "merge_flipped", "merge_flipped_keypoints"]

_CAMERA_MIRROR = (1.0, -1.0, 1.0)


@dataclass
class FlipMerged:
    """Merged regressor outputs.

    Attributes:
        pose_rotmat: ``(B, 24, 3, 3)``.
        pose_6d: ``(B, 24, 6)`` of ``pose_rotmat``.
        betas: ``(B, 10)``.
        camera: ``(B, 3)`` weak-perspective ``[s, tx, ty]``.
    """

    pose_rotmat: Tensor
    pose_6d: Tensor
    betas: Tensor
    camera: Tensor


def flip_images(images: Tensor) -> Tensor:
    """``(B, 3, S, S)`` -> ``(2B, 3, S, S)``: the images followed by their mirror images (left-right)."""
    if images.ndim != 4:
        raise ValueError(f"images must be (B, 3, S, S), got {tuple(images.shape)}")
    return torch.cat([images, images.flip(-1)], dim=0)


def merge_flipped(pose_rotmat: Tensor, betas: Tensor, camera: Tensor) -> FlipMerged:
    """Merge the answers for a :func:`flip_images` batch into one answer per original image.

    Args:
        pose_rotmat: ``(2B, 24, 3, 3)``: rows ``:B`` for the images, ``B:`` for their mirrors.
        betas: ``(2B, 10)``.
        camera: ``(2B, 3)`` weak-perspective ``[s, tx, ty]`` of each network input.

    Returns:
        :class:`FlipMerged` with ``B`` rows (float32).
    """
    n = pose_rotmat.shape[0]
    if n % 2 or betas.shape[0] != n or camera.shape[0] != n:
        raise ValueError(f"expected an even batch of originals and mirrors with matching rows, got {n}, {betas.shape[0]}, {camera.shape[0]}")
    b = n // 2
    rot = pose_rotmat.float()
    back = mirror_rotmat(rot[b:])
    pose = mean_rotation(torch.stack([rot[:b], back]), dim=0)
    sign = torch.tensor(_CAMERA_MIRROR, dtype=torch.float32, device=camera.device)
    cam = 0.5 * (camera[:b].float() + camera[b:].float() * sign)
    shape = 0.5 * (betas[:b].float() + betas[b:].float())
    return FlipMerged(pose_rotmat=pose, pose_6d=matrix_to_rot6d(pose), betas=shape, camera=cam)


def flip_disagreement(keypoints_only: Callable[[Tensor, Tensor], object], pose_rotmat: Tensor, betas: Tensor) -> Tensor:
    """How far the answer for each image and the mapped-back answer for its mirror are apart.

    Args:
        keypoints_only: the body model's joint function ``(betas (N, 10), rotmat (N, 24, 3, 3)) ->``
            an output with ``joints (N, 24, 3)`` (e.g. ``BodyModel.keypoints_only``).
        pose_rotmat: ``(2B, 24, 3, 3)`` as for :func:`merge_flipped`.
        betas: ``(2B, 10)``.

    Returns:
        ``(B,)``: the mean distance (metres) between the SMPL-24 joints of the two answers (root
        rotation included, no translation).
    """
    n = pose_rotmat.shape[0]
    if n % 2 or betas.shape[0] != n:
        raise ValueError(f"expected an even batch of originals and mirrors with matching rows, got {n}, {betas.shape[0]}")
    b = n // 2
    rot = pose_rotmat.float()
    both = torch.cat([rot[:b], mirror_rotmat(rot[b:])])
    joints = keypoints_only(betas.float(), both).joints  # type: ignore[attr-defined]
    return (joints[:b] - joints[b:]).norm(dim=-1).mean(dim=-1)


def merge_flipped_keypoints(keypoints: Tensor, permutation: tuple[int, ...] | Tensor) -> Tensor:
    """Merge 2D keypoints answered for a :func:`flip_images` batch.

    Args:
        keypoints: ``(2B, J, 2)`` in normalised crop coordinates ``2 u / S - 1`` (the mirror image's
            ``x`` is the original's ``-x``).
        permutation: the layout's left/right swap (e.g. ``COCO17_FLIP_PERMUTATION``).

    Returns:
        ``(B, J, 2)``: the mean of each image's keypoints and its mirror's, mapped back.
    """
    n = keypoints.shape[0]
    if n % 2:
        raise ValueError(f"expected an even batch of originals and mirrors, got {n}")
    b = n // 2
    return 0.5 * (keypoints[:b].float() + mirror_joints(keypoints[b:].float(), permutation))

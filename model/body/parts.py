"""Body-part classes of the surface: ten parts, left and right apart, each split into front and back.

A dense target that a picture's inside decides and its outline does not: a body and its depth-mirror
twin have nearly the same outline but opposite labels (left for right, front for back) on nearly
every pixel. Class 0 is "not this body" (background, occluders, other people, carried bags); class
``1 + 2 g + s`` is part ``g`` of :data:`PART_GROUPS` on its front (``s = 0``) or back (``s = 1``)
side, the side of each face taken from its normal in the rest pose (the body faces ``+z``).

>>> classes = face_part_classes(load_body_model())   # (F,) long in 1 .. NUM_PART_CLASSES - 1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from model.body.joint_names import SMPL_JOINT_NAMES

if TYPE_CHECKING:
    from model.body.model import BodyModel

__all__ = ["NUM_PART_CLASSES", "PART_FLIP_PERMUTATION", "PART_GROUPS", "face_part_classes", "part_class_names"]

#: The ten parts, left and right apart.
PART_GROUPS: tuple[str, ...] = (
    "head", "torso", "left_upper_arm", "right_upper_arm", "left_forearm", "right_forearm",
    "left_thigh", "right_thigh", "left_shin", "right_shin",
)  # fmt: skip

_JOINT_GROUP: dict[str, str] = {
    "pelvis": "torso", "spine1": "torso", "spine2": "torso", "spine3": "torso", "neck": "head",
    "left_collar": "torso", "right_collar": "torso", "head": "head",
    "left_shoulder": "left_upper_arm", "right_shoulder": "right_upper_arm",
    "left_elbow": "left_forearm", "right_elbow": "right_forearm", "left_wrist": "left_forearm",
    "right_wrist": "right_forearm", "left_hand": "left_forearm", "right_hand": "right_forearm",
    "left_hip": "left_thigh", "right_hip": "right_thigh", "left_knee": "left_shin", "right_knee": "right_shin",
    "left_ankle": "left_shin", "right_ankle": "right_shin", "left_foot": "left_shin", "right_foot": "right_shin",
}  # fmt: skip

#: Background plus each part's front and back.
NUM_PART_CLASSES = 1 + 2 * len(PART_GROUPS)


def part_class_names() -> tuple[str, ...]:
    """Names of the classes: ``background``, then ``<part>_front`` and ``<part>_back`` per part."""
    return ("background", *(f"{g}_{side}" for g in PART_GROUPS for side in ("front", "back")))


def _flip_permutation() -> tuple[int, ...]:
    names = part_class_names()
    swapped = [n.replace("left_", "\0").replace("right_", "left_").replace("\0", "right_") for n in names]
    return tuple(names.index(n) for n in swapped)


#: Class of each class in a picture flipped left to right (left and right parts swap; sides stay).
PART_FLIP_PERMUTATION: tuple[int, ...] = _flip_permutation()


def face_part_classes(body: BodyModel) -> Tensor:
    """``(F,)`` long class of every face of ``body`` (1 .. ``NUM_PART_CLASSES - 1``).

    The part is the skinning part (:attr:`BodyModel.part_labels`, the joint of largest weight) of
    the face's first vertex, grouped by :data:`PART_GROUPS`; the side is the sign of the rest-pose
    face normal's ``z`` (the rest body faces ``+z``): front for ``z >= 0``.
    """
    group_of_joint = torch.tensor([PART_GROUPS.index(_JOINT_GROUP[n]) for n in SMPL_JOINT_NAMES])
    faces = body.faces.cpu()
    group = group_of_joint[body.part_labels.cpu()[faces[:, 0]]]
    rest = body.smpl.v_template.detach().cpu().double()[faces]  # (F, 3, 3)
    normal_z = torch.linalg.cross(rest[:, 1] - rest[:, 0], rest[:, 2] - rest[:, 0])[:, 2]
    back = (normal_z < 0).long()
    return 1 + 2 * group + back

"""Joint layouts shared by every body model of the project.

SMPL's 24-joint kinematic tree, COCO-17 and LSP-14 keypoints, with the index permutations that
swap left and right (for horizontal-flip augmentation). "Left" always means the person's left.
"""

from __future__ import annotations

SMPL_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip

#: Parent of each SMPL joint (-1 for the root); SMPL's ``kintree_table[0]``.
SMPL_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)  # fmt: skip

COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

LSP14_NAMES: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top",
)  # fmt: skip

#: Skeleton edges for drawing COCO-17 keypoints.
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12),
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip


def _mirror(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[len("left_") :]
    if name.startswith("right_"):
        return "left_" + name[len("right_") :]
    return name


def flip_permutation(names: tuple[str, ...]) -> tuple[int, ...]:
    """Index permutation that swaps left and right joints of a layout.

    ``flipped_joints = joints[..., flip_permutation(names), :]`` after mirroring the x axis.
    """
    return tuple(names.index(_mirror(n)) for n in names)


SMPL_FLIP_PERMUTATION = flip_permutation(SMPL_JOINT_NAMES)
COCO17_FLIP_PERMUTATION = flip_permutation(COCO17_NAMES)
LSP14_FLIP_PERMUTATION = flip_permutation(LSP14_NAMES)

#: Indices of the two hips in each layout; the pelvis used by metrics is their mean.
HIPS: dict[str, tuple[int, int]] = {
    "smpl24": (SMPL_JOINT_NAMES.index("left_hip"), SMPL_JOINT_NAMES.index("right_hip")),
    "coco17": (COCO17_NAMES.index("left_hip"), COCO17_NAMES.index("right_hip")),
    "lsp14": (LSP14_NAMES.index("left_hip"), LSP14_NAMES.index("right_hip")),
}

"""Keypoint regressors: COCO-17 and LSP-14 keypoints as linear functions of a body mesh.

A keypoint regressor here is a matrix ``(K, V + 24)`` applied to the concatenation of the
posed vertices ``(B, V, 3)`` and the 24 SMPL joints ``(B, 24, 3)``; each row sums to one so a
translation of the body moves the keypoints with it. The free model ships rows over vertices only
(fitted at build time); for a real SMPL file, whose COCO/LSP regressors are separately licensed
files, :func:`smpl_keypoint_regressors` derives them from SMPL joints and well-known vertices.
"""

from __future__ import annotations

import numpy as np

from model.body.joint_names import COCO17_NAMES, LSP14_NAMES, SMPL_JOINT_NAMES

#: Vertices of the official 6890-vertex SMPL mesh at facial landmarks (the indices smplx uses).
SMPL_FACE_VERTICES: dict[str, int] = {
    "nose": 332,
    "left_eye": 2800,
    "right_eye": 6260,
    "left_ear": 583,
    "right_ear": 4071,
}

SMPL_NUM_VERTICES = 6890


def head_top_row(mean_verts: np.ndarray, segment_weights: np.ndarray, head_joint: int) -> np.ndarray:
    """Regressor row ``(V,)``: the mean of the head vertices within 1.5 cm of the crown.

    Args:
        mean_verts: (V, 3) template in SMPL axes (y up).
        segment_weights: (V, 24) skinning weights.
        head_joint: index of the head segment.
    """
    head = segment_weights[:, head_joint] > 0.9
    if not head.any():
        raise ValueError("no vertex is skinned mainly to the head segment")
    top = mean_verts[head, 1].max()
    sel = head & (mean_verts[:, 1] > top - 0.015)
    row = np.zeros(mean_verts.shape[0])
    row[sel] = 1.0 / sel.sum()
    return row


def lsp_from_coco(coco: np.ndarray, head_top: np.ndarray) -> np.ndarray:
    """LSP-14 rows from COCO-17 rows ``(17, N)``: shared limbs, neck = mid-shoulders, head top given."""
    lsp = np.zeros((len(LSP14_NAMES), coco.shape[1]))
    for i, name in enumerate(LSP14_NAMES):
        if name in COCO17_NAMES:
            lsp[i] = coco[COCO17_NAMES.index(name)]
    lsp[LSP14_NAMES.index("neck")] = 0.5 * (
        coco[COCO17_NAMES.index("left_shoulder")] + coco[COCO17_NAMES.index("right_shoulder")]
    )
    lsp[LSP14_NAMES.index("head_top")] = head_top
    return lsp


def smpl_keypoint_regressors(v_template: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 and LSP-14 regressors ``(17, V+24)``, ``(14, V+24)`` for the official SMPL mesh.

    Face keypoints are single vertices, limb keypoints are SMPL's joints of the same name (SMPL's
    hip joints sit deeper than COCO's annotated hips; this is the usual approximation when the
    licensed COCO regressor is not at hand), the LSP head top is the crown of the template.

    Raises:
        ValueError: the mesh is not SMPL's 6890-vertex topology (vertex indices would be wrong).
    """
    num_v = v_template.shape[0]
    if num_v != SMPL_NUM_VERTICES:
        raise ValueError(f"SMPL keypoint vertices need the {SMPL_NUM_VERTICES}-vertex mesh, got {num_v}")
    coco = np.zeros((len(COCO17_NAMES), num_v + len(SMPL_JOINT_NAMES)))
    for k, name in enumerate(COCO17_NAMES):
        if name in SMPL_FACE_VERTICES:
            coco[k, SMPL_FACE_VERTICES[name]] = 1.0
        else:
            coco[k, num_v + SMPL_JOINT_NAMES.index(name)] = 1.0
    head_top = np.concatenate(
        [head_top_row(v_template, weights, SMPL_JOINT_NAMES.index("head")), np.zeros(len(SMPL_JOINT_NAMES))]
    )
    return coco, lsp_from_coco(coco, head_top)


def with_joint_columns(vertex_rows: np.ndarray) -> np.ndarray:
    """Pad a vertex-only regressor ``(K, V)`` with zero joint columns to ``(K, V+24)``."""
    return np.concatenate([vertex_rows, np.zeros((vertex_rows.shape[0], len(SMPL_JOINT_NAMES)))], axis=1)

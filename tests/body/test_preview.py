"""The body-model preview CLI writes a PNG."""

from __future__ import annotations

import numpy as np
from PIL import Image

from model.body import preview
from model.body.joint_names import SMPL_JOINT_NAMES


def test_preview_writes_a_png(tmp_path) -> None:
    out = tmp_path / "body.png"
    preview.main(["--out", str(out), "--dpi", "40"])
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[0] > 50 and img.shape[1] > 4 * 50
    assert img.std() > 10  # not a blank image


def test_joint_colours_mark_sides() -> None:
    colors = preview.joint_side_colors()
    assert colors[SMPL_JOINT_NAMES.index("left_wrist")] == "tab:blue"
    assert colors[SMPL_JOINT_NAMES.index("right_wrist")] == "tab:red"
    assert colors[0] == "white"


def test_front_view_drops_back_faces() -> None:
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 1]])
    polys, shade = preview.front_view(verts, faces)
    assert polys.shape == (1, 3, 2) and shade.shape == (1,)

"""The real-people contact sheet: one tile per person with both panels, from any checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from eval_support import write_tiny_checkpoint
from PIL import Image

from model.data.real_people import load_real_people
from model.eval import real_people_sheet
from model.inference import Predictor


def test_sheet_has_a_tile_per_person_with_skeleton_and_side_view(tmp_path: Path) -> None:
    ckpt = write_tiny_checkpoint(tmp_path / "tiny.pt", seed=0)
    out = tmp_path / "sheet.jpg"
    real_people_sheet.main(["--checkpoint", str(ckpt), "--height", "32", "--out", str(out)])
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(int)
    people = load_real_people(usable_only=False)
    tile, side, caption, columns = 160, 80, 26, 5
    rows = (len(people) + columns - 1) // columns
    assert sheet.shape == (rows * (tile + caption), columns * (tile + side), 3)
    # Every tile's side view holds a drawn skeleton (coloured bones on the dark panel).
    for i in range(len(people)):
        x0, y0 = (i % columns) * (tile + side) + tile, (i // columns) * (tile + caption)
        panel = sheet[y0 : y0 + tile, x0 : x0 + side]
        assert (panel.max(-1) > 120).sum() > 20, f"no skeleton in the side view of tile {i}"


def test_side_view_of_a_standing_body_is_upright(tmp_path: Path) -> None:
    """The rest pose turned by any root rotation comes out as the same vertical stick figure."""
    predictor = Predictor.from_checkpoint(write_tiny_checkpoint(tmp_path / "tiny.pt", seed=1), device="cpu")
    rest = predictor.body_model.keypoints_only(torch.zeros(1, 10), torch.eye(3).expand(1, 24, 3, 3)).keypoints("smpl24")[0].numpy()
    rot = np.array([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])  # the usual camera-frame root: 180 degrees about x
    a = np.asarray(real_people_sheet._side_panel(rest, np.eye(3), 80, 160))
    b = np.asarray(real_people_sheet._side_panel(rest @ rot.T, rot, 80, 160))
    assert np.array_equal(a, b)
    # Head above the feet: bright pixels of the top quarter sit near the vertical centre line.
    top = np.argwhere(a[:40].max(-1) > 120)
    assert len(top) and abs(top[:, 1].mean() - 40) < 10

"""The real-photo texture check (``python -m model.eval.texture_real``): its metric, its person
region, and the CLI on a few committed people with the committed texture and RSC-Net checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.eval import texture_real
from model.eval.texture_real import FLAT_GREY_LABEL, colour_error, convex_hull, hull_mask

ROOT = Path(__file__).resolve().parents[2]
TEXTURE = ROOT / "checkpoints" / "texture" / "model.pt"
PEOPLE = ("ul_bus_coat", "skv_bikes_f110")


def test_colour_error_is_zero_for_the_crop_itself_and_counts_only_the_mask() -> None:
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 5:25] = True
    assert colour_error(crop, crop, mask) == 0.0
    # A render whose texture gives exactly the crop's colours on the person beats a flat grey one.
    grey = crop.copy()
    grey[mask] = 128
    assert colour_error(grey, crop, mask) > 0.1
    # Pixels outside the mask do not count; uint8 and float [0, 1] inputs agree.
    elsewhere = crop.copy()
    elsewhere[~mask] = 255 - elsewhere[~mask]
    assert colour_error(elsewhere, crop, mask) == 0.0
    assert colour_error(grey, crop, mask) == pytest.approx(colour_error(grey / 255.0, crop / 255.0, mask))
    # Extremes: black against white is 1, an empty mask has no score.
    black, white = np.zeros_like(crop), np.full_like(crop, 255)
    assert colour_error(black, white, mask) == 1.0
    assert math.isnan(colour_error(black, white, np.zeros_like(mask)))


def test_hull_mask_is_the_dilated_convex_hull_of_the_points() -> None:
    square = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0], [20.0, 20.0], [np.nan, 5.0]])
    assert len(convex_hull(square[:5])) == 4  # the inner point is no vertex
    tight = hull_mask(square, (40, 50), margin=0.0)
    assert tight.shape == (40, 50) and tight.sum() == 400 and tight[10:30, 10:30].all()  # centres in [10, 30]^2
    wide = hull_mask(square, (40, 50), margin=5.0)
    assert (wide & tight).sum() == 400
    assert wide[20, 32] and not wide[20, 36]  # pixel centres 2.5 and 6.5 px right of the edge
    assert wide[32, 32] and not wide[34, 34]  # rounded corners: 3.5 * sqrt(2) in, 4.5 * sqrt(2) out
    # One point: nothing without a margin, about a disk with one.
    assert not hull_mask(np.array([[20.0, 20.0]]), (40, 40), 0.0).any()
    assert abs(hull_mask(np.array([[20.0, 20.0]]), (40, 40), 6.0).sum() - math.pi * 36) < 10


@pytest.mark.skipif(not TEXTURE.is_file() or not texture_real.DEFAULT_CHECKPOINT.is_file(), reason="committed checkpoints missing")
def test_cli_on_committed_checkpoints(tmp_path: Path) -> None:
    out = tmp_path / "check"
    texture_real.main(["--texture", str(TEXTURE), "--height", "24", "--people", ",".join(PEOPLE), "--out", str(out)])
    result = json.loads((out / "texture_real.json").read_text())
    report = (out / "texture_real.md").read_text()
    sheet = Image.open(out / "sheet_24px.jpg")

    assert result["people"] == ["skv_bikes_f110", "ul_bus_coat"]  # file order
    name = torch.load(TEXTURE, map_location="cpu", weights_only=True)["name"]  # the served one: "Glo-S masked"
    assert result["rows"] == [name, FLAT_GREY_LABEL]
    for label in result["rows"]:
        values = result["error"][label]
        assert len(values) == 2 and all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values), (label, values)
        summary = result["summary"][label]
        assert 0.0 <= summary["mean_identities"] <= 1.0 and summary["crops_scored"] == 2
    assert "vs_first" in result["summary"][FLAT_GREY_LABEL]
    px = result["pixels"]
    assert all(0 < s <= min(h, m) for s, h, m in zip(px["scored"], px["hull"], px["silhouette"]))
    # The cyclist (dark clothes on a busy street) is an easy case: the texture beats the flat grey by far.
    i = result["people"].index("skv_bikes_f110")
    assert result["error"][name][i] < result["error"][FLAT_GREY_LABEL][i] - 0.05

    assert "python -m model.eval.texture_real --texture" in report and "ul_bus_coat" in report and FLAT_GREY_LABEL in report
    tile = 128
    assert sheet.width == tile * 4 and sheet.height > 2 * tile

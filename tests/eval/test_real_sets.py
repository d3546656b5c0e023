"""Every committed real-people set loads whole, and the pseudo-ground-truth tool's options for small crops."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from model.data.real_people import load_real_people

ROOT = Path(__file__).resolve().parents[2]
SETS = sorted(p.parent for p in (ROOT / "checks").glob("real_people*/people.json"))


def test_the_five_sets_are_committed() -> None:
    assert [s.name for s in SETS] == ["real_people", "real_people_b", "real_people_c", "real_people_d", "real_people_e"]


@pytest.mark.parametrize("root", SETS, ids=[s.name for s in SETS])
def test_a_set_loads_with_its_crops_and_degraded_baseline(root: Path) -> None:
    people = load_real_people(root, usable_only=False)
    usable = load_real_people(root)
    assert len(usable) >= 10 and len({p.person_id for p in usable}) >= 10
    for person in people:
        image = person.image()
        assert image.shape[0] == image.shape[1] == person.side
    degraded = json.loads((root / "blazepose_degraded.json").read_text())
    assert {p.id for p in usable} <= set(degraded["keypoints"])
    reviewed = json.loads((root / "review.json").read_text())
    assert {p.id for p in people} >= set(reviewed)


def _blazepose_tool():
    spec = importlib.util.spec_from_file_location("blazepose_tool", ROOT / "checks" / "real_people" / "blazepose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_crops_are_enlarged_for_the_detector_and_answered_in_their_own_pixels() -> None:
    tool = _blazepose_tool()
    seen: list[tuple[int, int]] = []

    def fake_pose(rgb: np.ndarray) -> np.ndarray:
        seen.append(rgb.shape[:2])
        h, w = rgb.shape[:2]
        return np.array([[w / 2, h / 4, 0.9]] * 17, np.float32)  # a joint at (half, quarter) of what it sees

    crop = np.zeros((100, 100, 3), np.uint8)
    kp = tool.upscaled(fake_pose, crop, 400)
    assert seen[-1] == (400, 400)
    np.testing.assert_allclose(kp[0, :2], [50.0, 25.0])
    assert kp[0, 2] == pytest.approx(0.9)
    kp = tool.upscaled(fake_pose, np.zeros((500, 500, 3), np.uint8), 400)  # large crops as they are
    assert seen[-1] == (500, 500) and kp[0, 0] == 250.0
    assert tool.upscaled(lambda rgb: None, crop, 400) is None

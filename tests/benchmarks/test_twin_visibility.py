"""The twin-visibility benchmark: its twin is the depth mirror, its control a small turn, its report reads."""

from __future__ import annotations

import pytest
import torch

from benchmarks.data import twin_visibility as tv
from model.data.synthetic import SyntheticConfig, SyntheticPeople


@pytest.fixture(scope="module")
def people() -> SyntheticPeople:
    return SyntheticPeople(SyntheticConfig(crop_size=64))


def test_control_turns_only_the_body_joints(people: SyntheticPeople) -> None:
    scene = people.sample_scene(3)
    control = tv.control_scene(scene, 10.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(control.body_pose[0], scene.body_pose[0])
    from model.geometry.rotations import axis_angle_to_matrix

    rel = axis_angle_to_matrix(scene.body_pose[1:]).transpose(-1, -2) @ axis_angle_to_matrix(control.body_pose[1:])
    angle = torch.rad2deg(torch.arccos(((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
    torch.testing.assert_close(angle, torch.full((23,), 10.0), atol=0.05, rtol=0)


def test_difference_and_report() -> None:
    a = torch.zeros(2, 3, 16, 16)
    b = a.clone()
    b[0, :, :8] = 1.0
    mask = torch.zeros(2, 16, 16, dtype=torch.bool)
    mask[:, :8] = True
    torch.testing.assert_close(tv._difference(a, b, mask, 16), torch.tensor([255.0, 0.0]))
    per = {"iou": torch.tensor([0.9, 0.8]), "kp_gap": torch.tensor([1.0, 2.0]), "pa_gap": torch.tensor([0.0, 0.0]),
           "family": torch.tensor([0, 0]), "twin_32": torch.tensor([1.0, 3.0]), "control_32": torch.tensor([2.0, 2.0])}
    summary = tv.summarise(per, [32])
    assert summary["all"]["below_control_32"] == 0.5 and summary["kp_gap_px"] == 1.5
    text = tv.render(summary, {"command": "x", "cpu": "cpu", "date": "d"}, [32], 10.0)
    assert "| **all** | 2 | 0.850 | 2.0 / 2.0 (50 %) |" in text
    with pytest.raises(SystemExit):
        tv.main(["--sizes", "4"])

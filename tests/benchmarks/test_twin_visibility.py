"""The twin-visibility benchmark: its twin is the depth mirror, its control a small turn, its report reads."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmarks.data import twin_visibility as tv
from model.body.joint_names import LSP14_FLIP_PERMUTATION
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.eval.metrics import mirror_twin, pa_mpjpe


@pytest.fixture(scope="module")
def people() -> SyntheticPeople:
    return SyntheticPeople(SyntheticConfig(crop_size=64))


def test_twin_scene_poses_the_mirror_twin_at_the_same_place(people: SyntheticPeople) -> None:
    scenes = [people.sample_scene(i) for i in (0, 1, 2)]
    truth = people.render(scenes)
    placed = [dataclasses.replace(sc, cam_t=t) for sc, t in zip(scenes, truth["cam_t"])]
    twin = people.render([tv.twin_scene(sc) for sc in placed])
    gap = pa_mpjpe(twin["joints3d_lsp14"].float(), mirror_twin(truth["joints3d_lsp14"].float(), LSP14_FLIP_PERMUTATION))
    assert float(gap.max()) < 0.5  # mm
    pelvis = twin["joints3d_smpl24"][:, 0]
    torch.testing.assert_close(pelvis, truth["joints3d_smpl24"][:, 0])
    # the depth mirror about the pelvis: x and y of every joint kept relative to it, z negated
    rel_t = truth["joints3d_lsp14"] - truth["joints3d_smpl24"][:, :1]
    rel_w = (twin["joints3d_lsp14"] - pelvis[:, None])[:, list(LSP14_FLIP_PERMUTATION)]
    torch.testing.assert_close(rel_w * torch.tensor([1.0, 1.0, -1.0]), rel_t, atol=1e-4, rtol=0)
    twice = tv.twin_scene(tv.twin_scene(scenes[0]))
    torch.testing.assert_close(twice.body_pose, scenes[0].body_pose, atol=1e-4, rtol=0)


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

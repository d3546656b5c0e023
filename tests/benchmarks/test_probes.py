"""The chirality and facing probes: body-frame questions, the linear probe and the reports."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks.train import chirality_probe as cp
from benchmarks.train import facing_probe as fp
from model.body.joint_names import LSP14_NAMES
from model.data.real_people import DEFAULT_ROOT
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def _skeleton() -> torch.Tensor:
    """LSP-14 joints of an upright body facing +z (body frame), left ankle forward, left wrist high."""
    j = torch.zeros(14, 3)
    at = {"left_hip": (0.1, 0.0, 0.0), "right_hip": (-0.1, 0.0, 0.0), "left_ankle": (0.1, -0.9, 0.3),
          "right_ankle": (-0.1, -0.9, -0.1), "left_wrist": (0.3, 0.6, 0.0), "right_wrist": (-0.3, -0.1, 0.0)}
    for name, p in at.items():
        j[LSP14_NAMES.index(name)] = torch.tensor(p)
    return j


def test_questions_are_asked_in_the_body_frame() -> None:
    body = _skeleton()
    for yaw in (0.0, 1.0, math.pi):
        root = axis_angle_to_matrix(torch.tensor([[0.0, yaw, 0.0]]))
        cam = body[None] @ root.transpose(-1, -2) + torch.tensor([0.2, 0.1, 5.0])  # x_cam = R x_body + t
        a = cp.body_frame_answers(cam, root)
        assert a["feet"].item() == pytest.approx(0.4, abs=1e-5) and a["hands"].item() == pytest.approx(0.7, abs=1e-5)
    # facing +z of the body = away from a camera looking along +z; turned by pi it faces the camera
    assert cp.body_frame_answers(body[None], torch.eye(3)[None])["facing"].item() < 0
    assert cp.body_frame_answers(body[None], axis_angle_to_matrix(torch.tensor([[0.0, math.pi, 0.0]])))["facing"].item() > 0


def test_linear_probe_reads_a_linear_answer_and_not_noise() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 8, generator=g)
    y = x[:, 3] - 0.5 * x[:, 5] > 0
    assert cp.probe_accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.9
    noise = torch.rand(600, generator=g) > 0.5
    assert cp.probe_accuracy(x[:400], noise[:400], x[400:], noise[400:]) < 0.65


def test_reports_render() -> None:
    result = {"checkpoint": "c.pt", "resolution": 64, "questions": {
        q: {"people": 10, "train_people": 20, "chance": 0.5, "network": 0.6, "probe": 0.7} for q in cp.QUESTIONS}}
    text = cp.render(result, {"command": "x", "cpu": "cpu", "date": "d", "train": 20, "shards": "s"})
    assert "| feet: left ankle in front (stride >= 15 cm) | 10 / 20 | 50 % | 60 % | 70 % |" in text
    real = {"front": 0.75, "back": 0.25, "balanced": 0.5}
    rows = {"rows": [{"step": 300, "fit": 0.9, "held_out": 0.8, "real": real, "seconds": 7}], "scenes": 100, "held_out_people": 40,
            "held_out_majority": 0.55, "real_people": 12, "real_front": 8}
    text = fp.render(rows, {"command": "x", "cpu": "cpu", "threads": 2, "date": "d", "size": 64, "batch": 64, "lr": 5e-4, "real": ["checks/a"]})
    assert "| 300 | 90 % | 80 % | 75 % | 25 % | 50 % | 7 |" in text and "majority answer 55 %" in text
    assert "12 real people of checks/a" in text and "8 facing the camera, 4 from behind" in text
    assert "filled" not in text
    filled = fp.render(rows, {"command": "x", "cpu": "cpu", "threads": 2, "date": "d", "size": 64, "batch": 64, "lr": 5e-4,
                              "real": ["checks/a"], "fill_figure": True})
    assert "every figure filled with its mean colour, the outline alone" in filled
    with pytest.raises(SystemExit):
        fp.main(["--steps", "10", "--every", "20"])
    with pytest.raises(SystemExit):
        cp.main(["--checkpoint", "c.pt", "--train", "5"])


def test_facing_net_gives_one_logit() -> None:
    net = fp.FacingNet()
    assert net(torch.rand(2, 3, 64, 64)).shape == (2,)


def test_real_facing_set_reads_the_committed_people() -> None:
    images, labels, ids = fp.real_facing_set([DEFAULT_ROOT.parent / "real_people_d"], 32)
    assert images.shape == (len(ids), 3, 32, 32) and labels.shape == (len(ids),)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert bool(labels.any()) and bool((~labels).any())  # the set has people seen from behind
    with pytest.raises(ValueError, match="no real person"):
        fp.real_facing_set([], 32)


def test_upright_keeps_standing_people_and_drops_lying_ones() -> None:
    body = _skeleton()
    # both face the camera (the body's forward +z to the camera's -z); one stands (body up +y to the
    # image's up, camera -y), the other lies across the picture (body up to the camera's +x)
    standing = torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]])
    lying = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    for root, upright in ((standing, True), (lying, False)):
        aa = matrix_to_axis_angle(root[None])
        cam = body[None] @ root.T
        asked, faces = fp._facing(cam, aa)
        assert bool(asked) and bool(faces)
        assert bool(fp._facing(cam, aa, upright=True)[0]) == upright


def test_outline_probe_fills_the_figure_and_reports_the_kept_gain() -> None:
    from benchmarks.train.outline_probe import MEAN_ROW, PICTURES, fill_figure, pictures, render

    images = torch.rand(2, 3, 16, 16)
    sil = torch.zeros(2, 16, 16, dtype=torch.bool)
    sil[:, 4:12, 6:10] = True
    filled = fill_figure(images, sil)
    inside = filled[0][:, sil[0]]
    torch.testing.assert_close(inside, images[0][:, sil[0]].mean(1, keepdim=True).expand_as(inside))  # one colour: the mean
    assert torch.equal(filled[:, :, ~sil[0]], images[:, :, ~sil[0]])  # the background untouched
    flat = fill_figure(images, sil, background=True)
    assert flat[0][:, ~sil[0]].std(1).max() < 1e-6 and torch.equal(flat[:, :, sil[0]], filled[:, :, sil[0]])
    views = pictures({"images": images, "silhouette": sil}, tiny=4)
    assert tuple(views) == PICTURES and all(v.shape == images.shape for v in views.values())
    result = {"people": 2, "rendered": 3, "tiny": 8, "models": {
        "net": {"as rendered": 150.0, "figure filled": 160.0, "figure filled, no background": 150.0, "tiny": 170.0},
        MEAN_ROW: dict.fromkeys(PICTURES, 170.0)}}  # fmt: skip
    text = render(result, {"command": "x", "cpu": "cpu", "date": "d"})
    assert "| net | 150.0 | 160.0 (50 %) | 150.0 (100 %) | 170.0 (0 %) |" in text and "tiny (8 px)" in text
    assert f"| {MEAN_ROW} | 170.0 | 170.0 | 170.0 | 170.0 |" in text


def test_outline_probe_refuses_bad_sizes() -> None:
    from benchmarks.train import outline_probe

    for argv in (["--checkpoint", "x.pt", "--tiny", "2"], ["--checkpoint", "x.pt", "--samples", "0"], ["--tiny", "8"]):
        with pytest.raises(SystemExit):
            outline_probe.main(argv)


def test_part_probe_scores_the_truth_the_twin_and_an_outline_reader() -> None:
    from benchmarks.train.part_probe import ROWS, render, scores
    from model.body.parts import part_class_names

    names = part_class_names()
    c = {n: i for i, n in enumerate(names)}
    truth = torch.tensor([[[c["torso_front"], c["left_forearm_front"], c["right_shin_back"], 0]]])
    twin = torch.tensor([[[c["torso_back"], c["right_forearm_back"], c["left_shin_front"], 0]]])
    right = scores(truth, truth)
    assert right == {"exact": 1.0, "twin's class": 0.0, "part": 1.0, "front/back": 1.0, "left/right": 1.0}
    mirrored = scores(twin, truth)
    assert mirrored["exact"] == 0.0 and mirrored["twin's class"] == 1.0 and mirrored["front/back"] == 0.0
    assert mirrored["left/right"] == 0.0 and mirrored["part"] == 1.0  # the outline's answer: the part, not its side
    result = {"people": 3, "resolutions": [224], "models": {"net": {"224": {**right, "majority": 0.25}}}}
    text = render(result, {"command": "x", "cpu": "cpu", "date": "d"})
    assert "| net | 224 | " + " | ".join("100.0 %" if k != "twin's class" else "0.0 %" for k in ROWS) + " | 25.0 % |" in text


def test_part_probe_refuses_bad_arguments() -> None:
    from benchmarks.train import part_probe

    for argv in (["--checkpoint", "x.pt", "--resolutions", "4"], ["--checkpoint", "x.pt", "--samples", "0"], ["--checkpoint", "x.pt", "--resolutions", "a"]):
        with pytest.raises(SystemExit):
            part_probe.main(argv)


def test_partial_scale_fits_the_size_a_network_drew_and_groups_real_people() -> None:
    import numpy as np

    from benchmarks.train.partial_scale import REAL_GROUPS, fit_scale, placement_scores, real_group, render, summarise

    truth = np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 40.0], [20.0, 60.0]])
    drawn = (truth - truth.mean(0)) / 2.0 + truth.mean(0) + np.array([0.0, -5.0])  # half the size, 5 px too high
    s, fitted = fit_scale(drawn, truth)
    assert s == pytest.approx(2.0) and np.allclose(fitted, truth)
    valid = np.array([True, True, True, False])
    scale, error, after = placement_scores(drawn, np.c_[truth, np.ones(4)], valid, norm=50.0)  # type: ignore[misc]
    assert scale == pytest.approx(2.0) and error > 0.1 and after == pytest.approx(0.0, abs=1e-9)
    assert placement_scores(drawn, truth, np.array([True, True, False, False]), 50.0) is None  # < 3 joints: no fit
    assert summarise([(2.0, 0.2, 0.1), (1.0, 0.1, 0.1), (3.0, 0.3, 0.1)]) == {"n": 3, "scale": 2.0, "error": 0.2, "fitted": 0.1}
    assert summarise([]) == {"n": 0}

    class Person:
        def __init__(self, full_body: bool, hips: bool) -> None:
            self.full_body, self.valid = full_body, np.array([True] * 11 + [hips, hips] + [False] * 4)

    assert [real_group(Person(True, True)), real_group(Person(False, True)), real_group(Person(False, False))] == list(REAL_GROUPS)  # type: ignore[arg-type]
    cell = {"n": 2, "scale": 1.5, "error": 0.2, "fitted": 0.1}
    result = {"height": 32, "framing": "box", "samples": 4, "sets": ["checks/x"], "crops": {"uncut": 4},
              "models": {"net": {"synthetic": {"uncut": cell}, "real": {"x": dict.fromkeys(REAL_GROUPS, cell)}}}}
    text = render(result, {"command": "c", "cpu": "cpu", "date": "d"})
    assert "| net | 1.50 / 0.200 / 0.100 |" in text and "full body (2)" in text
    assert "told which crops are cut" in text
    result["models"]["net"]["cut_input"], result["tell_cut"] = True, False
    text = render(result, {"command": "c", "cpu": "cpu", "date": "d"})
    assert "| net *cut* | 1.50 / 0.200 / 0.100 |" in text and "not told which crops are cut" in text


def test_partial_scale_refuses_bad_arguments() -> None:
    from benchmarks.train import partial_scale

    for argv in (["--checkpoint", "x.pt", "--height", "8"], ["--checkpoint", "x.pt", "--samples", "0"], ["--height", "32"]):
        with pytest.raises(SystemExit):
            partial_scale.main(argv)

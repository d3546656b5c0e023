"""The benchmarks under ``benchmarks/`` run (tiny settings), answer ``--help`` and write their reports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keep_threads():
    """The benches set torch's thread count for the whole process; restore it afterwards."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("area", ["nets", "data", "render", "train"])
def test_bench_help(area: str) -> None:
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{area}.bench", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "usage:" in out.stdout
    if area != "train":  # the training-step benchmark writes its report by its own options
        assert "--report" in out.stdout


def test_nets_bench_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads) -> None:
    from benchmarks.nets import bench

    report = tmp_path / "nets.md"
    bench.main(["--depths", "18", "--sizes", "32", "--batch", "2", "--iters", "1", "--warmup", "0", "--threads", "1", "--report", str(report)])
    out = capsys.readouterr().out
    assert "| ResNet-18 | 32x32 |" in out and "bf16-cl / fp32" in out
    assert "| ResNet-18 | 32x32 |" in report.read_text()
    bench.main(["--depths", "18", "--sizes", "32", "--output-strides", "32", "16", "--modes", "fp32", "--batch", "2",
                "--iters", "1", "--warmup", "0", "--threads", "1", "--report", str(report)])  # fmt: skip
    assert "| ResNet-18 | 32x32 |" in report.read_text() and "| ResNet-18, output stride 16 | 32x32 |" in report.read_text()


def test_render_bench_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads) -> None:
    from benchmarks.render import bench

    report = tmp_path / "render.md"
    bench.main(["--sizes", "16", "--batch", "2", "--threads", "1", "--repeats", "1", "--subdivisions", "1", "--report", str(report)])
    out = capsys.readouterr().out
    assert "ms/batch" in out and "images/s" in out
    assert re.search(r"^\| 1 \| 16 \| [0-9.]+ \|", report.read_text(), re.MULTILINE)


def test_reports_default_to_their_area() -> None:
    from benchmarks.nets import bench as nets_bench
    from benchmarks.render import bench as render_bench

    assert nets_bench.DEFAULT_REPORT == ROOT / "benchmarks" / "nets" / "REPORT.md"
    assert render_bench.DEFAULT_REPORT == ROOT / "benchmarks" / "render" / "REPORT.md"


def test_data_bench_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads) -> None:
    from benchmarks.data import bench

    report = tmp_path / "b.md"
    (tmp_path / "RENDER.md").write_text("## Training-set render\n\n| samples rendered |\n")
    bench.main(["--samples", "16", "--batch", "8", "--sizes", "64", "--modes", "bicubic", "--report", str(report)])
    text = report.read_text()
    assert "## Training-set render" in text  # the render report beside it is included
    assert "samples/s" in text
    row = re.search(r"^\| 64 \| bicubic \| 16 \| ([0-9.]+) \| ([0-9.]+) \|$", text, re.MULTILINE)
    assert row, text
    seconds, rate = float(row.group(1)), float(row.group(2))
    assert seconds > 0 and rate > 0
    rows = json.loads(report.with_suffix(".json").read_text())
    assert len(rows) == 1 and rows[0]["size"] == 64 and rows[0]["samples"] == 16
    assert rows[0]["samples_per_s"] == pytest.approx(16 / rows[0]["seconds"])
    assert "samples/s" in capsys.readouterr().out


def test_shape_visibility_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads) -> None:
    from benchmarks.body import shape_visibility

    report = tmp_path / "shape.md"
    shape_visibility.main(["--heights", "1000,32", "--report", str(report)])
    text = report.read_text()
    assert "| beta 0 |" in text and "| beta 9 |" in text and "| 32 px |" in text
    payload = json.loads(report.with_suffix(".json").read_text())
    assert len(payload["rows"]) == 10
    # the first coefficient is mostly size: its raw change dwarfs what is left after scaling
    first = payload["rows"][0]
    assert first["raw_mm"] > 5 * first["aligned_mm"] > 0
    # a 1000-px person shows more coefficients than a 32-px one
    assert payload["visible"]["1000"] >= payload["visible"]["32"]
    with pytest.raises(SystemExit):
        shape_visibility.main(["--heights", "0"])


def test_learning_speed_help_and_report_rows() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.train.learning_speed", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--orient-weight" in out.stdout
    from benchmarks.train.learning_speed import render

    rows = [{"step": 10, "fit": 150.0, "held_out": 160.0, "fit_heading": 40.0, "held_out_heading": 60.0, "seconds": 5}]
    meta = {"command": "x", "cpu": "cpu", "threads": 1, "date": "d", "subset": 8, "batch": 2, "orient_weight": 1.0}
    text = render([{"variant": "off:body", "rows": rows}], meta)
    assert "| off:body PA-MPJPE | 150.0 / 160.0 | 5 |" in text and "| off:body heading | 40.0 / 60.0 | |" in text
    assert "root-rotation weight 1" in text
    # reports written before the heading columns still render
    old = [{"step": 10, "fit": 150.0, "held_out": 160.0, "seconds": 5}]
    assert "heading |" not in render([{"variant": "off:body", "rows": old}], {**meta, "orient_weight": 0.0}).split("|---|")[-1]


def test_heading_probe_help_and_arguments() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.train.heading_probe", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--checkpoint" in out.stdout and "--shards" in out.stdout
    from benchmarks.train import heading_probe

    with pytest.raises(SystemExit):
        heading_probe.main(["--checkpoint", "x.pt", "--shards", "y", "--samples", "5"])
    errors = heading_probe._errors(torch.tensor([0.0, 3.0]), torch.tensor([0.1, -3.0]))
    assert errors["median"] < 20 and errors["wrong_way"] == 0.0


def test_zero_shape_mpjpe_scores_the_shape_left_out(tmp_path: Path) -> None:
    from benchmarks.body.shape_visibility import zero_shape_mpjpe
    from model.body import load_body_model
    from model.geometry.rotations import axis_angle_to_matrix

    body = load_body_model()
    g = torch.Generator().manual_seed(0)
    pose = torch.randn(4, 24, 3, generator=g) * 0.2
    betas = torch.randn(4, 10, generator=g)
    joints = body.keypoints_only(betas, axis_angle_to_matrix(pose)).lsp14
    path = tmp_path / "set.pt"
    torch.save({"pose": pose, "betas": betas, "joints3d_lsp14": joints}, path)
    floors = zero_shape_mpjpe(path)
    assert floors["true_betas"] < 1e-3 < floors["beta0_zeroed"] and floors["zero_betas"] > 1.0


def test_learning_speed_takes_a_start_and_a_rate() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.train.learning_speed", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--init" in out.stdout and "--lr" in out.stdout
    from benchmarks.train.learning_speed import render

    rows = [{"step": 10, "fit": 150.0, "held_out": 160.0, "seconds": 5}]
    meta = {"command": "x", "cpu": "cpu", "threads": 1, "date": "d", "subset": 8, "batch": 2, "orient_weight": 1.0, "lr": 1e-4, "init": "a.pt"}
    text = render([{"variant": "off:body", "rows": rows}], meta)
    assert text.startswith("# Learning speed from `a.pt`") and "Adam 0.0001 (constant)" in text
    assert render([{"variant": "off:body", "rows": rows}], {**meta, "init": None}).startswith("# Learning speed from scratch")
    twin_rows = [{**rows[0], "fit_twin": 0.2, "held_out_twin": 0.48}]
    assert "| off:body closer to the mirror twin | 20 / 48 % | |" in render([{"variant": "off:body", "rows": twin_rows}], meta)


def test_learning_speed_scores_2d_and_left_right() -> None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.train.learning_speed", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--head-stride" in out.stdout and "--head-loss" in out.stdout and "--sigma" in out.stdout
    from benchmarks.train.learning_speed import _twin_share, render

    truth = torch.rand(4, 17, 2)
    swapped = truth.flip(1)
    err, share = _twin_share(torch.cat([swapped[:1], truth[1:]]), truth, swapped)
    assert share == 0.25 and err > 0  # only the first person answered with the swapped labels
    assert _twin_share(truth, truth, swapped) == (0.0, 0.0)
    row = {"step": 10, "fit": 150.0, "held_out": 160.0, "seconds": 5, "fit_kp2d": 0.14, "held_out_kp2d": 0.15,
           "fit_kp2d_swapped": 0.5, "held_out_kp2d_swapped": 0.25, "fit_head2d": 0.12, "held_out_head2d": 0.13,
           "fit_head2d_swapped": 0.4, "held_out_head2d_swapped": 0.6}
    meta = {"command": "x", "cpu": "cpu", "threads": 1, "date": "d", "subset": 8, "batch": 2, "orient_weight": 1.0,
            "head_stride": 4, "head_loss": "heatmap", "keypoint_weight": 1.0}
    text = render([{"variant": "aux:body", "rows": [row]}], meta)
    assert "keypoint head: stride 4, heatmap loss, weight 1;" in text
    assert "| aux:body projected 2D (fraction of the crop) | 0.140 / 0.150 | |" in text
    assert "| aux:body head 2D closer to L/R-swapped labels | 40 / 60 % | |" in text


def test_learning_speed_variants_carry_their_own_settings() -> None:
    from benchmarks.train.learning_speed import parse_variant

    assert parse_variant("off:body") == ("off", "body", {})
    head, frame, settings = parse_variant("feed:camera net.pooling=flatten optim.lr=1e-3 loss.basic.pose_weight=0")
    assert (head, frame) == ("feed", "camera")
    assert settings == {"net": {"pooling": "flatten"}, "optim": {"lr": 0.001}, "loss": {"basic": {"pose_weight": 0}}}
    for bad in ("off", "up:body", "off:body net.pooling", "off:body .x=1", "off:body net=1 net.pooling=flatten"):
        with pytest.raises(ValueError):
            parse_variant(bad)
    with pytest.raises(SystemExit):
        from benchmarks.train import learning_speed

        learning_speed.main(["--variant", "off:body optim.lr"])


def test_learning_speed_reports_the_chunks_training_losses(tmp_path: Path) -> None:
    import json

    from benchmarks.train.learning_speed import render, training_losses

    log = tmp_path / "log.jsonl"
    lines = [{"step": s, "basic/keypoints2d": 0.1 * s, "basic/joints3d": 0.01, "basic/global_orient": 0.5, "basic/pose": 0.08}
             for s in (25, 50, 75, 100)]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    chunk = training_losses(log, 50, 100)  # steps 75 and 100 only
    assert chunk == {"train_keypoints2d": 8.75, "train_joints3d": 0.01, "train_global_orient": 0.5, "train_pose": 0.08}
    assert training_losses(log, 100, 200) == {} and training_losses(tmp_path / "none.jsonl", 0, 10) == {}
    rows = [{"step": 100, "fit": 150.0, "held_out": 160.0, "seconds": 5, **chunk}]
    meta = {"command": "x", "cpu": "cpu", "threads": 1, "date": "d", "subset": 8, "batch": 2, "orient_weight": 1.0}
    text = render([{"variant": "off:body optim.lr=1e-4", "rows": rows}], meta)
    assert "| off:body optim.lr=1e-4 training loss over the chunk (2D / 3D joints / root / pose) | 8.750 / 0.010 / 0.500 / 0.080 | |" in text


def test_learning_speed_scores_a_part_head_from_scratch(tmp_path: Path) -> None:
    import json

    from benchmarks.train import learning_speed
    from model.data.shards import write_shards
    from model.data.synthetic import SyntheticConfig

    shards = tmp_path / "parts"
    write_shards(shards, 4, SyntheticConfig(crop_size=128, seed=5, part_maps=True), shard_size=4, show_progress=False)
    out = tmp_path / "LS.md"
    learning_speed.main(["--variant", "off:body net.part_head=true loss.part_head_weight=1", "--shards", str(shards),
                         "--subset", "2", "--steps", "2", "--every", "1", "--batch", "2", "--threads", "1", "--out", str(out)])
    rows = json.loads(out.with_suffix(".json").read_text())["results"][0]["rows"]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        for key in learning_speed.PART_ROWS:
            assert 0.0 <= row[f"fit_parts_{key}"] <= 1.0 and 0.0 <= row[f"held_out_parts_{key}"] <= 1.0
    text = out.read_text()
    assert "part head: front/back right |" in text and "part head: left/right right |" in text
    # a network without a part head reports no part rows
    plain = learning_speed.render([{"variant": "off:body", "rows": [{k: v for k, v in rows[0].items() if "parts" not in k}]}],
                                  json.loads(out.with_suffix(".json").read_text())["meta"])
    assert "part head" not in plain

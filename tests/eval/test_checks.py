"""The checks on data the training generator did not make: configs, per-family scoring, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from eval_support import write_tiny_checkpoint as _checkpoint

from model.data.poses import DEFAULT_FAMILY_WEIGHTS, FAMILIES, HELD_OUT_FAMILIES
from model.data.synthetic import SyntheticConfig
from model.eval import checks, evaluate


@pytest.fixture
def rendered_sets(monkeypatch: pytest.MonkeyPatch) -> dict[int, dict[str, torch.Tensor]]:
    """The checks' test sets rendered at the asked size without the disk cache, one per generator seed."""
    sets: dict[int, dict[str, torch.Tensor]] = {}

    def fake_load(samples: int, cache, config: SyntheticConfig):
        if config.seed not in sets:
            sets[config.seed] = evaluate.render_test_set(samples, batch=samples, config=config)
        return sets[config.seed]

    monkeypatch.setattr(checks, "load_test_set", fake_load)
    return sets


def test_check_configs_are_disjoint_from_training() -> None:
    train = SyntheticConfig()
    seeds = {checks.check_config(c).seed for c in checks.CHECKS}
    assert len(seeds) == 3 and train.seed not in seeds
    poses = checks.check_config("poses").poses
    assert {f for f, w in poses.family_weights.items() if w > 0} == set(HELD_OUT_FAMILIES)
    assert not set(HELD_OUT_FAMILIES) & {f for f, w in DEFAULT_FAMILY_WEIGHTS.items() if w > 0}
    assert checks.check_config("appearance").appearance_pool == "heldout"
    assert checks.check_config("own").appearance_pool == train.appearance_pool == "train"
    with pytest.raises(ValueError, match="unknown check"):
        checks.check_config("real")


def test_family_table_averages_each_family() -> None:
    family = torch.tensor([FAMILIES.index("cycling")] * 2 + [FAMILIES.index("pushing")])
    errors = {"net": {32: {"pa_mpjpe": torch.tensor([10.0, 30.0, 5.0])}}, "mean": {32: {"pa_mpjpe": torch.tensor([1.0, 1.0, 7.0])}}}
    table = checks.family_table(errors, family, 32)
    assert "| cycling (2) | 20.0 | 1.0 |" in table and "| pushing (1) | 5.0 | 7.0 |" in table


def test_knee_table_scores_straight_and_bent_people_apart() -> None:
    true_pose = torch.zeros(4, 24, 3)
    true_pose[2:, 4:6, 0] = math.radians(90.0)  # people 2 and 3 sit: both knees bent 90 degrees
    answers = torch.tensor([[5.0, 5.0], [50.0, 5.0], [80.0, 70.0], [20.0, 80.0]])  # straight, one bent, bent, one straight
    errors = {"net": {32: {"knees_deg": answers}}}
    table, rates = checks.knee_table(errors, true_pose, [32])
    assert rates["net"]["32"] == {"straight": 0.5, "bent": 0.5}
    assert "n = 2" in table and "| net | 50 % | 50 % |" in table


def test_heading_table_scores_people_with_a_heading() -> None:
    true_pose = torch.zeros(4, 24, 3)
    true_pose[3, 0, 0] = math.pi / 2  # forward axis along the camera's vertical: no heading, not scored
    errors = {"net": {32: {"heading_deg": torch.tensor([10.0, 100.0, 40.0, 170.0])}}}
    table, figures = checks.heading_table(errors, true_pose, [32])
    assert figures["net"]["32"]["error_deg"] == pytest.approx(50.0)
    assert figures["net"]["32"]["wrong_way"] == pytest.approx(1 / 3)
    assert "over the 3 people" in table and "| net | 50.0 | 33.3 % |" in table
    # all three face away from the camera: the "from behind" sector has them, the others nobody
    assert "| net | 40.0 / 0.0 % | - | - |" in table and "from behind (0-45, n = 3)" in table
    assert figures["net"]["sectors"]["from behind"] == {"median_deg": pytest.approx(40.0), "turned_round": 0.0}
    assert set(figures["net"]["sectors"]) == {"from behind"}


def test_fingerprint_follows_the_generator_config() -> None:
    a = evaluate.generator_fingerprint(checks.check_config("own"))
    assert a == evaluate.generator_fingerprint(checks.check_config("own"))
    assert a != evaluate.generator_fingerprint(checks.check_config("appearance"))


def test_cli_scores_checkpoint_and_mean_on_each_check(tmp_path: Path, monkeypatch, capsys) -> None:
    sets = {}

    def fake_load(samples: int, cache, config: SyntheticConfig):
        key = config.seed
        if key not in sets:
            sets[key] = evaluate.render_test_set(samples, batch=samples, config=config)
        return sets[key]

    monkeypatch.setattr(checks, "load_test_set", fake_load)
    ckpt = _checkpoint(tmp_path / "a.pt", 0)
    out = tmp_path / "checks"
    checks.main(["--checkpoint", str(ckpt), "--samples", "3", "--resolutions", "224,32", "--out", str(out), "--cache", "", "--threads", "1"])
    payload = json.loads((out / "checks.json").read_text())
    assert set(payload["checks"]) == set(checks.CHECKS)
    for check in checks.CHECKS:
        res = payload["checks"][check]["results"]
        if check == "partial":  # the own test's upright people only (tested in test_partial_check_cuts_upright_people)
            assert 0 <= payload["checks"][check]["people"] <= 3
            assert not res or res["a"]["32"]["pa_mpjpe"] > 0
            continue
        assert set(res) == {"a", checks.MEAN_ROW}
        assert res["a"]["32"]["pa_mpjpe"] > 0 and res[checks.MEAN_ROW]["224"]["pa_mpjpe"] == pytest.approx(res[checks.MEAN_ROW]["32"]["pa_mpjpe"], rel=0.05)
        # the mean answer predicts zero betas: its error is the mean |beta| of the set
        zero_mae = float(sets[checks.check_config(check).seed]["betas"].abs().mean())
        assert res[checks.MEAN_ROW]["32"]["betas_mae"] == pytest.approx(zero_mae, rel=1e-4)
    md = (out / "CHECKS.md").read_text()
    assert "held-out poses" in md and "per pose family" in md and "| mean-params (no network) |" in md
    assert "**Betas**" in md and "**Knees**" in md and "**Heading**" in md and "true root rotation" in md and "**Mirror twin**" in md
    own = payload["checks"]["own"]
    assert set(own["heading"]["a"]["32"]) == {"error_deg", "wrong_way"}
    # the true-root MPJPE and the heading error are scored for every model, the mean answer too
    mean32 = own["results"][checks.MEAN_ROW]["32"]
    assert 0 < mean32["mpjpe_true_root"] and 0 <= mean32["heading_deg"] <= 180
    twin = own["twin"][checks.MEAN_ROW]["32"]  # a constant answer is no closer to the truth than to its twin on average
    assert set(twin) == {"pa_mpjpe", "pa_mpjpe_twin", "closer_to_twin"} and 0.0 <= twin["closer_to_twin"] <= 1.0
    assert own["twin"]["a"]["32"]["pa_mpjpe"] == pytest.approx(own["results"]["a"]["32"]["pa_mpjpe"])
    knees = payload["checks"]["own"]["knees"]["a"]["32"]
    assert set(knees) == {"straight", "bent"}
    held = sets[checks.HELD_OUT_POSE_SEED]["family"]
    assert {FAMILIES[k] for k in held.tolist()} <= set(HELD_OUT_FAMILIES)


def test_partial_check_cuts_upright_people_and_keeps_their_ground_truth() -> None:
    n, size = 3, 64
    sil = torch.zeros(n, size, size, dtype=torch.bool)
    sil[0, 4:60, 24:40] = True  # standing
    sil[1, 28:36, 2:62] = True  # lying: too flat to cut
    sil[2, 10:62, 20:36] = True  # standing
    data = {"images": torch.rand(n, 3, size, size), "silhouette": sil, "joints3d_lsp14": torch.randn(n, 14, 3),
            "family": torch.tensor([0, 5, 1]), "betas": torch.randn(n, 10), "keypoints2d_coco17": torch.rand(n, 17, 3)}
    cut = checks.partial_test_set(data, seed=7)
    assert cut["images"].shape == (2, 3, size, size) and "silhouette" not in cut
    assert "keypoints2d_coco17" not in cut  # the uncut picture's 2D points would be wrong for the cut one
    assert torch.equal(cut["joints3d_lsp14"], data["joints3d_lsp14"][[0, 2]]) and torch.equal(cut["family"], torch.tensor([0, 1]))
    assert not torch.equal(cut["images"][0], data["images"][0])  # re-cropped
    assert torch.equal(cut["cut"], torch.ones(2))  # a network with a cut input is told
    again = checks.partial_test_set(data, seed=7)
    assert torch.equal(again["images"], cut["images"])  # seeded: the same cuts every run


def test_flip_test_both_scores_each_checkpoint_twice(tmp_path: Path, rendered_sets) -> None:
    ckpt = _checkpoint(tmp_path / "a.pt", 0)
    md, payload = checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu", flip_test="both")
    res = payload["checks"]["own"]["results"]
    assert set(res) == {"a", "a" + checks.FLIP_SUFFIX, checks.MEAN_ROW} and payload["flip_test"] == "both"
    assert res["a"]["32"]["pa_mpjpe"] != res["a" + checks.FLIP_SUFFIX]["32"]["pa_mpjpe"]
    _, only = checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu", flip_test="on")
    assert set(only["checks"]["own"]["results"]) == {"a" + checks.FLIP_SUFFIX, checks.MEAN_ROW}
    with pytest.raises(ValueError, match="flip_test"):
        checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu", flip_test="sometimes")


def test_realistic_camera_is_recorded_and_rejects_unknown_cameras(tmp_path: Path, rendered_sets) -> None:
    ckpt = _checkpoint(tmp_path / "a.pt", 0)
    md_clean, clean = checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu")
    md, real = checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu", camera="realistic")
    assert clean["camera"] == "bicubic" and real["camera"] == "realistic"
    assert "bicubic down to each size" in md_clean and "realistic camera" in md
    assert checks.REALISTIC_CAMERA.clean_prob == 0.0 and checks.REALISTIC_CAMERA.mode == "realistic"
    a_clean, a_real = clean["checks"]["own"]["results"]["a"]["32"], real["checks"]["own"]["results"]["a"]["32"]
    assert a_clean["pa_mpjpe"] != a_real["pa_mpjpe"]
    with pytest.raises(ValueError, match="camera"):
        checks.run_checks([str(ckpt)], ["own"], 2, [32], None, "cpu", camera="fisheye")

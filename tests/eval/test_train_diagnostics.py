"""The training diagnostics (benchmarks/train): fit gap, and truth against mirror twin."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from eval_support import write_tiny_checkpoint

from benchmarks.train import chirality, fit_gap
from model.data.synthetic import SyntheticConfig, SyntheticPeople
from model.eval import evaluate
from model.eval.evaluate import MEAN_ROW


def test_seen_sets_parse_and_reject_malformed_spans() -> None:
    assert fit_gap.parse_seen("stretch 8=300000:400") == ("stretch 8", 300000, 400)
    for bad in ("300000:400", "x=300000", "x=a:4", "x=1:0", "=1:2"):
        with pytest.raises(argparse.ArgumentTypeError, match="LABEL=START:COUNT"):
            fit_gap.parse_seen(bad)


def test_render_test_set_starts_at_the_asked_index() -> None:
    config = SyntheticConfig(crop_size=48, seed=0)
    seen = evaluate.render_test_set(2, config=config, start=5)
    direct = SyntheticPeople(config).generate([5, 6])
    assert torch.allclose(seen["joints3d_lsp14"], direct["joints3d_lsp14"].cpu())
    assert not torch.allclose(seen["joints3d_lsp14"], evaluate.render_test_set(2, config=config)["joints3d_lsp14"])


def test_cli_scores_seen_scenes_own_test_and_mean(tmp_path: Path, monkeypatch) -> None:
    own = evaluate.render_test_set(2, batch=2)
    monkeypatch.setattr(fit_gap, "load_test_set", lambda samples, cache, config: own)
    ckpt = write_tiny_checkpoint(tmp_path / "a.pt", 0)
    out = tmp_path / "FIT_GAP.md"
    fit_gap.main(["--checkpoint", str(ckpt), "--seen", "seen=3:2", "--samples", "2", "--resolutions", "224,32", "--cache", "",
                  "--threads", "1", "--out", str(out)])
    payload = json.loads(out.with_suffix(".json").read_text())
    assert set(payload["sets"]) == {"seen", fit_gap.OWN_TEST}
    for entry in payload["sets"].values():
        assert entry["people"] == 2 and set(entry["results"]) == {"a", MEAN_ROW}
        assert entry["results"]["a"]["32"] > 0 and entry["families"]["a"]
    text = out.read_text()
    assert "| seen | 2 | a |" in text and "Per pose family at 224 px, seen" in text


def test_chirality_cli_scores_truth_twin_and_2d(tmp_path: Path, monkeypatch) -> None:
    small = evaluate.render_test_set(3, config=SyntheticConfig(crop_size=64, seed=evaluate.TEST_SEED))
    monkeypatch.setattr(chirality, "render_test_set", lambda samples: small)
    ckpt = write_tiny_checkpoint(tmp_path / "a.pt", 0)
    out = tmp_path / "CHIRALITY.md"
    chirality.main(["--checkpoint", str(ckpt), "--samples", "3", "--resolutions", "64,32", "--threads", "1", "--out", str(out)])
    payload = json.loads(out.with_suffix(".json").read_text())
    assert set(payload["models"]) == {"a", MEAN_ROW} and payload["people"] == 3
    for name in payload["models"]:
        m = payload["models"][name]["32"]
        assert m["pa"] > 0 and m["pa_twin"] > 0 and m["pa_min"] <= min(m["pa"], m["pa_twin"]) + 1e-6
        assert 0.0 <= m["twin_closer"] <= 1.0 and "head2d" not in m
    assert "| a | 32 |" in out.read_text()


def test_labelled_predictors_put_the_mean_answer_last(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_tiny_checkpoint(tmp_path / "a" / "last.pt", seed=0)
    b = write_tiny_checkpoint(tmp_path / "b" / "last.pt", seed=1)
    predictors = evaluate.labelled_predictors([str(a), str(b)])
    assert list(predictors) == ["a", "b", MEAN_ROW]
    images = torch.rand(1, 3, predictors["a"].input_size, predictors["a"].input_size)
    mean = predictors[MEAN_ROW].predict_tensor(images, [0])
    assert torch.allclose(mean.betas, torch.zeros_like(mean.betas), atol=1e-6)  # the constant answer: zero betas
    with pytest.raises(ValueError, match="at least one checkpoint"):
        evaluate.labelled_predictors([])

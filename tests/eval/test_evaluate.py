"""The evaluation CLI: table, plot and JSON for several checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from eval_support import write_tiny_checkpoint as _checkpoint

from model.eval import evaluate


@pytest.fixture(scope="module")
def test_set() -> dict[str, torch.Tensor]:
    return evaluate.render_test_set(3, batch=3)


def test_evaluate_checkpoint_gives_errors_per_resolution(tmp_path: Path, test_set) -> None:
    from model.inference import Predictor

    predictor = Predictor.from_checkpoint(_checkpoint(tmp_path / "a.pt", 0), device="cpu")
    res = evaluate.evaluate_checkpoint(predictor, test_set, [224, 24])
    assert set(res) == {224, 24}
    for r in res.values():
        assert r["pa_mpjpe"] <= r["mpjpe"] + 1e-3 and r["mpjpe"] > 0


def test_cli_writes_table_plot_and_json(tmp_path: Path, test_set, monkeypatch, capsys) -> None:
    monkeypatch.setattr(evaluate, "load_test_set", lambda samples, cache: test_set)
    a, b = _checkpoint(tmp_path / "a" / "last.pt", 0), _checkpoint(tmp_path / "b.pt", 1)
    out = tmp_path / "eval"
    evaluate.main(["--checkpoint", str(a), str(b), "--resolutions", "224,32", "--samples", "3", "--out", str(out), "--json", "--cache", ""])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(printed) == {"a", "b"} and set(printed["a"]) == {"224", "32"}
    assert set(printed["b"]["32"]) == {"mpjpe", "pa_mpjpe", "pa_mpjpe_twin", "heading_deg", "mpjpe_true_root", "betas_mae"}
    assert (out / "eval.png").stat().st_size > 1000
    table = (out / "eval.md").read_text()
    assert "PA-MPJPE" in table and "| a |" in table and "| b |" in table


def test_test_set_is_fixed_and_not_the_training_seed() -> None:
    assert evaluate.TEST_SEED != 0
    a = evaluate.render_test_set(2, batch=2)
    b = evaluate.render_test_set(2, batch=1)
    torch.testing.assert_close(a["joints3d_lsp14"], b["joints3d_lsp14"])


def test_mean_params_predictor_is_constant(tmp_path: Path, test_set) -> None:
    from model.inference import Predictor

    reference = Predictor.from_checkpoint(_checkpoint(tmp_path / "a.pt", 0), device="cpu")
    mean = evaluate.mean_params_predictor(reference)
    images = test_set["images"][:2, :, :32, :32].contiguous()
    out = mean.predict_tensor(images, torch.zeros(2, dtype=torch.long))
    torch.testing.assert_close(out.lsp14[0] - out.lsp14[0].mean(0), out.lsp14[1] - out.lsp14[1].mean(0))
    torch.testing.assert_close(out.betas, torch.zeros_like(out.betas))


def test_realistic_camera_degrades_the_same_pixels_for_every_model(tmp_path: Path, test_set, monkeypatch) -> None:
    from model.data.degrade import DegradeConfig
    from model.inference import Predictor

    predictor = Predictor.from_checkpoint(_checkpoint(tmp_path / "a.pt", 0), device="cpu")
    seen: list[torch.Tensor] = []
    original = predictor.predict_tensor

    def record(images: torch.Tensor, ranges: torch.Tensor, cut=None):  # noqa: ANN001
        seen.append(images.clone())
        return original(images, ranges, cut=cut)

    monkeypatch.setattr(predictor, "predict_tensor", record)
    camera = DegradeConfig(mode="realistic", clean_prob=0.0, noise_prob=1.0)
    evaluate.per_sample_errors(predictor, test_set, [224, 32])
    evaluate.per_sample_errors(predictor, test_set, [224, 32], camera=camera)
    evaluate.per_sample_errors(predictor, test_set, [224, 32], camera=camera)
    clean224, clean32, cam224, cam32, again224, again32 = seen
    assert torch.equal(cam224, clean224)  # the full-size crop is not degraded
    assert not torch.allclose(cam32, clean32, atol=1e-3)  # the 32-px crop is
    assert torch.equal(again32, cam32)  # seeded by resolution and position: the same for every model and run
    assert cam32.min() >= 0 and cam32.max() <= 1

"""Training with the cut flag (``NetConfig.cut_input``): the config needs partial views, the trainer
feeds each crop's partial-view flag to the network."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.nets import NetConfig
from model.train.config import load_config
from model.train.trainer import Trainer, compute_losses


def test_config_validates_the_flag(tiny_config_file: Path) -> None:
    with pytest.raises(ValueError, match="cut_input must be a bool"):
        NetConfig.from_dict({"cut_input": "yes"})
    with pytest.raises(ValueError, match="partial_view.prob"):
        load_config(tiny_config_file, {"net": {"cut_input": True}})


def test_trainer_feeds_the_partial_view_flags(tiny_config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(tiny_config_file, {"net": {"cut_input": True}, "data": {"partial_view": {"prob": 1.0}}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    batch = next(trainer._batches())
    assert "partial_view" in batch and batch["partial_view"].shape == (cfg.optim.batch_size,)
    batch["partial_view"] = torch.arange(cfg.optim.batch_size, dtype=torch.float32) % 2  # whatever the generator cut
    seen: list[torch.Tensor] = []
    forward = trainer.net.forward

    def spy(images, range_index, cut=None):  # type: ignore[no-untyped-def]
        seen.append(cut)
        return forward(images, range_index, cut)

    monkeypatch.setattr(trainer.net, "forward", spy)
    loss, _, _, _ = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    k = batch["images"].shape[1]
    assert torch.equal(seen[0], batch["partial_view"].repeat_interleave(k))  # every resolution of a crop shares its flag
    loss.backward()
    assert float(trainer.net.regressor.condition.weight.grad.abs().sum()) > 0.0


def test_a_stretch_adds_the_cut_input_to_a_committed_resume_file(tiny_config_file: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    resume_file = tmp_path / "committed" / "resume.pt"
    plain = load_config(tiny_config_file, {"runtime": {"resume_file": str(resume_file)}})
    first = Trainer(plain, device="cpu", max_steps=2, show_progress=False)
    first.train()
    for f in Path(plain.runtime.out_dir).iterdir():  # a fresh machine: only the committed file
        f.unlink()
    flagged = load_config(tiny_config_file, {"runtime": {"resume_file": str(resume_file)}, "net": {"cut_input": True},
                                             "data": {"partial_view": {"prob": 1.0}}})
    second = Trainer(flagged, device="cpu", resume=True, show_progress=False)
    assert second.step == 2 and "new input(s) ['regressor.condition.weight'] start at zero" in capsys.readouterr().out
    assert float(second.net.regressor.condition.weight.detach().abs().sum()) == 0.0
    images, ranges = torch.rand(2, 3, 32, 32), torch.zeros(2, dtype=torch.long)
    first.net.eval()
    second.net.eval()
    with torch.no_grad():  # the same answers as the file's network, cut or not
        ref = first.net(images, ranges)
        out = second.net(images, ranges, torch.ones(2))
    torch.testing.assert_close(out.camera, ref.camera, atol=2e-3, rtol=0)  # fp16 weights in the file
    second.train()
    assert float(second.net.regressor.condition.weight.detach().abs().sum()) > 0.0  # it learns from the cut samples

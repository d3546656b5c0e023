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

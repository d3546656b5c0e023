"""The trainer: a few steps, checkpoints, progressive alpha initialisation, resume."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from model.train.checkpoint import load_checkpoint
from model.train.config import load_config
from model.train.trainer import Trainer, compute_losses


def test_trains_and_writes_a_safe_checkpoint(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file)
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    last = trainer.train()
    assert trainer.step == cfg.total_steps == 4
    assert last["step"] == 4 and last["contrastive"] > 0 and last["basic"] > 0
    ckpt = load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")  # weights_only=True inside
    assert ckpt["step"] == 4 and ckpt["resolution_bounds"] == [32, 24] and ckpt["input_size"] == 32
    assert ckpt["body_model"]["name"] == "free-smpl-layout"
    assert ckpt["train_config"]["name"] == "tiny"
    assert sorted(ckpt["alpha_initialised"]) == [0, 1]
    lines = (Path(cfg.runtime.out_dir) / "log.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["stage"] == 1


def test_new_range_copies_the_row_above_once(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file)
    trainer = Trainer(cfg, device="cpu", max_steps=2, show_progress=False)
    trainer.train()  # stage 0 only: row 1 untouched
    alpha = trainer.net.backbone.alpha.detach().clone()
    assert not torch.equal(alpha[0], torch.ones_like(alpha[0]))  # row 0 was trained
    assert torch.equal(alpha[1], torch.ones_like(alpha[1]))
    trainer.max_steps = 1
    trainer.train()  # enters stage 1: row 1 <- row 0, then one step
    assert 1 in trainer.alpha_initialised
    after = trainer.net.backbone.alpha.detach().clone()
    assert not torch.equal(after[1], torch.ones_like(after[1]))

    resumed = Trainer(cfg, device="cpu", resume=True, show_progress=False)
    assert resumed.step == 3
    before = resumed.net.backbone.alpha.detach().clone()
    resumed._enter_stage(1)  # resuming inside stage 1 must not copy row 0 again
    assert torch.equal(resumed.net.backbone.alpha.detach(), before)
    assert not torch.equal(before[0], before[1])
    resumed.train()
    assert resumed.step == 4


def test_losses_switch_off(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file, {"loss": {"self_supervision_weight": 0.0, "contrastive_weight": 0.0}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    batch = next(trainer._batches())
    loss, terms, feats = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert feats is None and terms["self_supervision"] == 0.0 and terms["contrastive"] == 0.0
    assert torch.isclose(loss, torch.tensor(terms["basic"]))
    loss.backward()
    assert trainer.net.backbone.conv1.weight.grad is not None


def test_served_export_fp16_and_int8(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.train.checkpoint import export_served

    cfg = load_config(tiny_config_file)
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    trainer.train()
    full = load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")
    served = export_served(full, tmp_path / "served.pt", int8_min_numel=100_000)
    raw = torch.load(served, weights_only=True)
    assert "optimizer" not in raw and "queue" not in raw and raw["int8_scales"]
    q_key = next(iter(raw["int8_scales"]))
    assert raw["model"][q_key].dtype == torch.int8 and raw["model"]["backbone.conv1.weight"].dtype == torch.float16
    loaded = load_checkpoint(served)
    assert "int8_scales" not in loaded
    for key, value in full["model"].items():
        got = loaded["model"][key].float()
        rel = 1e-2 if key in raw["int8_scales"] else 2e-3  # int8: half a step of max/127 per channel
        tol = rel * float(value.float().abs().max()) + 1e-6
        assert torch.allclose(got, value.float(), atol=tol), key
    assert served.stat().st_size < (Path(cfg.runtime.out_dir) / "last.pt").stat().st_size


def test_init_checkpoint_starts_from_another_run_and_resume_ignores_it(tiny_config_file: Path, tmp_path: Path) -> None:
    plain = load_config(tiny_config_file, {"net": {"backbone": {"resolution_aware": False}}, "runtime": {"out_dir": str(tmp_path / "hr")}})
    source = Trainer(plain, device="cpu", max_steps=1, show_progress=False)
    source.train()
    src_path = source.save()
    src = load_checkpoint(src_path)["model"]

    cfg = load_config(tiny_config_file, {"init": {"checkpoint": str(src_path)}, "runtime": {"out_dir": str(tmp_path / "ft")}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    own = trainer.net.state_dict()
    assert all(torch.equal(own[k], v) for k, v in src.items())
    assert torch.equal(own["backbone.alpha"], torch.ones_like(own["backbone.alpha"]))
    info = trainer.initialised_from
    assert info is not None and info["step"] == 1 and info["newly_initialised"] == ["backbone.alpha"]
    trainer.max_steps = 1
    trainer.train()
    assert load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")["initialised_from"]["checkpoint"] == str(src_path)

    resumed = Trainer(cfg, device="cpu", resume=True, show_progress=False)  # the run's own weights, not the init
    assert resumed.step == 1 and resumed.initialised_from == info
    assert not all(torch.equal(resumed.net.state_dict()[k], v) for k, v in src.items())

"""The trainer: a few steps, checkpoints, progressive alpha initialisation, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from model.data.twins import partner_mask
from model.nets.checkpoint import load_checkpoint
from model.train.config import ConfigError, load_config
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
    loss, terms, feats, _ = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert feats is None and terms["self_supervision"] == 0.0 and terms["contrastive"] == 0.0
    assert torch.isclose(loss, torch.tensor(terms["basic"]))
    loss.backward()
    assert trainer.net.backbone.conv1.weight.grad is not None


def test_heading_head_joins_the_loss_and_needs_its_head(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file, {"net": {"heading_head": "decode", "heading_bins": 8}, "loss": {"heading_head_weight": 0.5}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    batch = next(trainer._batches())
    loss, terms, _, out = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert out.heading_logits is not None and out.heading_logits.shape[1] == 8
    assert 0 < terms["heading_head"] < 10
    loss.backward()
    assert trainer.net.heading_head is not None and trainer.net.heading_head.classify[-1].weight.grad.abs().sum() > 0
    assert trainer.net.backbone.conv1.weight.grad is not None
    with pytest.raises(ValueError, match="heading_head_weight"):
        load_config(tiny_config_file, {"loss": {"heading_head_weight": 0.5}})


def test_served_export_fp16_and_int8(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.nets.checkpoint import export_served

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


def test_init_across_input_size_and_output_stride_is_explicit(tiny_config_file: Path, tmp_path: Path) -> None:
    source = Trainer(load_config(tiny_config_file, {"runtime": {"out_dir": str(tmp_path / "src")}}), device="cpu", max_steps=1, show_progress=False)
    source.train()
    src_path = source.save()
    larger = {"net": {"input_size": 48, "backbone": {"output_stride": 16}}, "data": {"crop_size": 48}, "init": {"checkpoint": str(src_path)}}
    with pytest.raises(ValueError, match="new_input_size"):
        Trainer(load_config(tiny_config_file, {**larger, "runtime": {"out_dir": str(tmp_path / "refused")}}), device="cpu", show_progress=False)
    larger["init"]["new_input_size"] = True
    trainer = Trainer(load_config(tiny_config_file, {**larger, "runtime": {"out_dir": str(tmp_path / "ft")}}), device="cpu", max_steps=1, show_progress=False)
    src = load_checkpoint(src_path)["model"]
    assert all(torch.equal(trainer.net.state_dict()[k], v) for k, v in src.items())
    trainer.train()
    ckpt = load_checkpoint(Path(trainer.config.runtime.out_dir) / "last.pt")
    assert ckpt["input_size"] == 48 and ckpt["train_config"]["net"]["backbone"]["output_stride"] == 16


def test_pose_prior_trains_a_discriminator_and_checkpoints_it(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file, {"loss": {"pose_prior_weight": 0.05}, "adversarial_prior": {"discriminator": {"pose_hidden": 32}}})
    trainer = Trainer(cfg, device="cpu", max_steps=2, show_progress=False)
    assert trainer.discriminator is not None
    before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    last = trainer.train()
    assert last["pose_prior"] > 0 and last["discriminator"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters()))
    ckpt = load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")
    assert set(ckpt["discriminator"]) == set(trainer.discriminator.state_dict())
    resumed = Trainer(cfg, device="cpu", resume=True, show_progress=False)
    assert resumed.discriminator is not None
    assert all(torch.equal(a, b) for a, b in zip(resumed.discriminator.state_dict().values(), trainer.discriminator.state_dict().values()))


def test_prior_off_has_no_discriminator(tiny_config_file: Path) -> None:
    trainer = Trainer(load_config(tiny_config_file), device="cpu", show_progress=False)
    assert trainer.discriminator is None and "discriminator" not in trainer.state()


def test_resume_file_continues_a_run_on_a_fresh_machine(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.nets.checkpoint import load_resume_file

    resume_file = tmp_path / "committed" / "resume.pt"
    cfg = load_config(tiny_config_file, {"runtime": {"resume_file": str(resume_file), "resume_warmup_steps": 4}})
    first = Trainer(cfg, device="cpu", max_steps=3, show_progress=False)
    first.train()
    assert resume_file.is_file()
    from model.inference import Predictor

    served = Predictor.from_checkpoint(resume_file, device="cpu", precision="fp32")  # the resume file is servable too
    assert served.input_size == cfg.net.input_size and tuple(served.ranges.bounds) == tuple(cfg.resolution.bounds)
    saved = load_resume_file(resume_file)
    assert saved["format"] == "rscnet-resume/1" and saved["step"] == 3 and "optimizer" not in saved
    # stage 0 has one active range (K = 1, 2 crops a step), stage 1 two (K = 2, 4 crops)
    assert [(s["start_step"], s["end_step"], s["crops"]) for s in saved["stretches"]] == [(0, 3, 2 + 2 + 4)]
    # A fresh machine: the run folder is gone, only the committed file remains.
    for f in Path(cfg.runtime.out_dir).iterdir():
        f.unlink()
    second = Trainer(cfg, device="cpu", resume=True, show_progress=False)
    assert second.started_from == "resume_file" and second.step == 3 and second.optimizer_restart_step == 3
    own = first.net.state_dict()
    for key, value in second.net.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, own[key].half().to(value.dtype), atol=0, rtol=0) or key.endswith("alpha"), key
    assert torch.equal(second.net.backbone.alpha, first.net.backbone.alpha)  # alpha is stored exactly
    assert second.lr() == cfg.optim.lr_at(3, cfg.total_steps) / 4  # warm-up restarts: 1/4 of the rate
    second.train()
    log = [json.loads(line) for line in (Path(cfg.runtime.out_dir) / "log.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "resumed_from_file" and log[0]["optimizer"] == "restarted"
    stretches = load_resume_file(resume_file)["stretches"]
    assert [(s["start_step"], s["end_step"], s["started_from"]) for s in stretches] == [(0, 3, "new"), (3, 4, "resume_file")]


def test_max_minutes_stops_and_checkpoints(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file)
    trainer = Trainer(cfg, device="cpu", show_progress=False, max_minutes=0.0)
    trainer.train()
    assert trainer.step == 0 and not (Path(cfg.runtime.out_dir) / "last.pt").exists()
    trainer.max_minutes = 10.0
    trainer.max_steps = 1
    trainer.train()
    assert load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")["step"] == 1


def test_packed_export_is_lossless_fp16(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.nets.checkpoint import export_served

    cfg = load_config(tiny_config_file)
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    trainer.train()
    full = load_checkpoint(Path(cfg.runtime.out_dir) / "last.pt")
    served = export_served(full, tmp_path / "packed.pt", packed=True)
    assert "model" not in torch.load(served, weights_only=True)
    loaded = load_checkpoint(served)
    for key, value in full["model"].items():
        expect = value if key.endswith("alpha") or not value.is_floating_point() else value.half()
        assert torch.equal(loaded["model"][key], expect), key


def test_init_from_a_resolution_aware_run_keeps_its_trained_rows(tiny_config_file: Path, tmp_path: Path) -> None:
    source_cfg = load_config(tiny_config_file, {"runtime": {"out_dir": str(tmp_path / "src")}})
    source = Trainer(source_cfg, device="cpu", show_progress=False)
    source.train()  # both stages: rows 0 and 1 trained
    alpha = source.net.backbone.alpha.detach().clone()
    assert not torch.equal(alpha[0], alpha[1])
    cfg = load_config(tiny_config_file, {"init": {"checkpoint": str(Path(source_cfg.runtime.out_dir) / "last.pt")},
                                         "runtime": {"out_dir": str(tmp_path / "ft")}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    assert sorted(trainer.alpha_initialised) == [0, 1]
    trainer._enter_stage(1)  # must not copy row 0 over the trained row 1
    assert torch.equal(trainer.net.backbone.alpha.detach(), alpha)


def test_init_from_a_committed_resume_file(tiny_config_file: Path, tmp_path: Path) -> None:
    """A long run's committed resume file (fp16, packed) starts another run, e.g. an ablation."""
    resume_file = tmp_path / "committed" / "resume.pt"
    source = Trainer(load_config(tiny_config_file, {"runtime": {"resume_file": str(resume_file)}}), device="cpu", max_steps=1, show_progress=False)
    source.train()
    cfg = load_config(tiny_config_file, {"init": {"checkpoint": str(resume_file)}, "runtime": {"out_dir": str(tmp_path / "ablation")}})
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    assert trainer.started_from == "init" and trainer.initialised_from["step"] == 1
    for key, value in trainer.net.state_dict().items():
        if value.is_floating_point() and not key.endswith("alpha"):
            assert torch.equal(value, source.net.state_dict()[key].half().to(value.dtype)), key


def test_partial_views_reach_the_training_batches(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file, {"data": {"partial_view": {"prob": 1.0}}})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    assert trainer.dataset.transform.config.partial_view.prob == 1.0
    trainer.train()
    trainer.dataset.set_active_ranges((0,))  # progressive stages keep the setting
    assert trainer.dataset.transform.config.partial_view.prob == 1.0


def test_family_weights_set_the_mix_of_the_training_batches(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.data.pose_families import FAMILIES
    from model.data.shards import ShardDataset, write_shards
    from model.data.synthetic import SyntheticConfig

    shards = tmp_path / "shards"
    write_shards(shards, 8, SyntheticConfig(crop_size=32, seed=5), shard_size=4, batch_size=4, show_progress=False)
    present = sorted({int(f) for f in ShardDataset(shards).families()})
    assert len(present) >= 2, "the scenes should span several families"
    kept = FAMILIES[present[0]]
    weights = {name: 0.0 for name in FAMILIES if name != kept}
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(shards), "family_weights": weights}})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    batches = trainer._batches()
    drawn = torch.cat([next(batches)["family"] for _ in range(6)])
    assert set(drawn.tolist()) == {present[0]}  # weight 0 families never drawn
    trainer.train()


@pytest.mark.parametrize("stride", [8, 4])
def test_heatmap_supervised_keypoint_head_joins_the_loss(tiny_config_file: Path, stride: int) -> None:
    cfg = load_config(
        tiny_config_file,
        {"net": {"keypoint_head": "aux", "keypoint_head_stride": stride},
         "loss": {"keypoint_head_weight": 1.0, "keypoint_head_loss": "heatmap", "keypoint_heatmap_sigma": 1.5}},
    )
    trainer = Trainer(cfg, device="cpu", show_progress=False)
    batch = next(trainer._batches())
    loss, terms, _, out = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert out.keypoint_logits is not None and out.keypoint_logits.shape[-1] == cfg.net.input_size // stride
    assert 0 < terms["keypoint_head"] < math.log(out.keypoint_logits.shape[-1] ** 2)  # a KL below a flat map's bound
    loss.backward()
    assert trainer.net.keypoint_head is not None and trainer.net.keypoint_head.heatmaps.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="keypoint_head_weight"):
        load_config(tiny_config_file, {"loss": {"keypoint_head_weight": 1.0}})


def test_twin_pair_shards_give_batches_of_whole_pairs_and_the_pair_loss(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.data.shards import write_shards
    from model.data.synthetic import SyntheticConfig

    shards = tmp_path / "twins"
    write_shards(shards, 8, SyntheticConfig(crop_size=32, seed=5, twin_pairs=True), start=10, shard_size=4, show_progress=False)
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(shards)}, "loss": {"twin_pair_weight": 1.0}})
    assert cfg.optim.batch_size % 2 == 0
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    batches = trainer._batches()
    for _ in range(4):
        index = next(batches)["index"]
        assert bool(partner_mask(index).all()), index.tolist()
    batch = next(batches)
    loss, terms, _, _ = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert terms["twin_pair"] > 0 and math.isfinite(float(loss.detach()))
    trainer.train()


def test_twin_pair_share_puts_pairs_at_the_front_of_each_batch_and_needs_pair_shards(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.data.shards import write_shards
    from model.data.synthetic import SyntheticConfig

    twins, plain = tmp_path / "twins", tmp_path / "plain"
    write_shards(twins, 16, SyntheticConfig(crop_size=32, seed=5, twin_pairs=True), shard_size=8, show_progress=False)
    write_shards(plain, 4, SyntheticConfig(crop_size=32, seed=5), shard_size=4, show_progress=False)
    share = {"loss": {"twin_pair_weight": 1.0}, "optim": {"batch_size": 4}}
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(twins), "twin_pair_share": 0.5}, **share})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    batches = trainer._batches()
    for _ in range(4):  # one whole pair, then two singles of two other pairs
        index = next(batches)["index"]
        assert partner_mask(index).tolist() == [True, False], index.tolist()
        assert len({int(i) // 2 for i in index}) == 3
    trainer.train()
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(plain), "twin_pair_share": 0.5}, **share})
    with pytest.raises(ValueError, match="twin-pair shards"):
        Trainer(cfg, device="cpu", max_steps=1, show_progress=False)


def test_part_head_learns_from_part_map_shards_and_refuses_shards_without_them(tiny_config_file: Path, tmp_path: Path) -> None:
    from model.data.shards import write_shards
    from model.data.synthetic import SyntheticConfig

    with_maps, without = tmp_path / "parts", tmp_path / "plain"
    write_shards(with_maps, 4, SyntheticConfig(crop_size=32, seed=5, part_maps=True), shard_size=4, show_progress=False)
    write_shards(without, 4, SyntheticConfig(crop_size=32, seed=5), shard_size=4, show_progress=False)
    head = {"net": {"part_head": True}, "loss": {"part_head_weight": 1.0}}
    with pytest.raises(ConfigError, match="net.part_head"):
        load_config(tiny_config_file, {"loss": {"part_head_weight": 1.0}})
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(with_maps)}, **head})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    batch = next(trainer._batches())
    assert batch["parts"].shape[-1] == 32 and batch["parts"].dtype == torch.uint8
    loss, terms, _, out = compute_losses(trainer.module, trainer.body, batch, cfg, trainer.queue)
    assert out.part_logits is not None and 0 < terms["part_head"] and math.isfinite(float(loss.detach()))
    assert 0.0 <= terms["part_head/accuracy"] <= 1.0
    trainer.train()
    cfg = load_config(tiny_config_file, {"data": {"source": "shards", "shards": str(without)}, **head})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    with pytest.raises(ValueError, match="--part-maps"):
        compute_losses(trainer.module, trainer.body, next(trainer._batches()), cfg, trainer.queue)


def test_part_head_can_learn_at_its_own_rate(tiny_config_file: Path) -> None:
    cfg = load_config(tiny_config_file, {"net": {"part_head": True}, "optim": {"part_head_lr_scale": 10.0}})
    trainer = Trainer(cfg, device="cpu", max_steps=1, show_progress=False)
    groups = trainer.optimizer.param_groups
    assert len(groups) == 2 and groups[1]["lr_scale"] == 10.0
    head = {id(p) for p in trainer.net.part_head.parameters()}
    assert {id(p) for p in groups[1]["params"]} == head and not head & {id(p) for p in groups[0]["params"]}
    trainer.train()
    assert groups[1]["lr"] == pytest.approx(10.0 * groups[0]["lr"])
    single = Trainer(load_config(tiny_config_file, {"net": {"part_head": True}}), device="cpu", max_steps=1, show_progress=False)
    assert len(single.optimizer.param_groups) == 1
    with pytest.raises(ConfigError, match="part_head_lr_scale"):
        load_config(tiny_config_file, {"optim": {"part_head_lr_scale": 0.0}})

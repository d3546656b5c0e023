"""Training configs load, validate and reject typos."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.train.config import ConfigError, TrainConfig, config_kind, load_config

ALL_CONFIGS = sorted((Path(__file__).parents[2] / "configs").rglob("*.yaml"))
CONFIGS = [p for p in ALL_CONFIGS if config_kind(p) == "rscnet"]


def test_there_are_configs_for_the_paper_rows() -> None:
    names = {p.stem for p in CONFIGS}
    expected = {"paper", "cpu", "ba", "ba_ss", "ba_ss_cl", "ra", "ra_ss", "ra_ss_ms", "ra_ss_cd", "ra_ss_cl",
                "wo_pt", "ss_o", "ss_h", "hr_only"}  # fmt: skip
    assert expected <= names, expected - names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_validates(path: Path) -> None:
    cfg = load_config(path)
    assert isinstance(cfg, TrainConfig)
    assert cfg.total_steps > 0
    assert cfg.net.backbone.num_ranges == len(cfg.resolution.bounds)


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=[p.stem for p in ALL_CONFIGS])
def test_every_config_of_every_trainer_validates(path: Path) -> None:
    """Whatever its kind, a committed config loads with its trainer's validation."""
    kind = config_kind(path)
    if kind == "video":
        from model.train.video import load_video_config

        assert load_video_config(path).optim.steps > 0
    elif kind == "rscnet":
        assert load_config(path).total_steps > 0
    else:  # reid / texture configs are validated by their own tests; the kind must still be known
        assert kind in ("reid", "texture")


def test_kind_dispatch_rejects_unknown_kinds(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: optical-flow\nname: x\n")
    with pytest.raises(ConfigError, match="unknown kind"):
        config_kind(bad)
    video = tmp_path / "video.yaml"
    video.write_text("kind: video\nname: x\n")
    with pytest.raises(ConfigError, match="not an RSC-Net config"):
        load_config(video)


def test_ablation_switches(tmp_path: Path) -> None:
    root = Path(__file__).parents[2] / "configs" / "train" / "ablations"
    ba = load_config(root / "ba.yaml")
    assert not ba.net.backbone.resolution_aware and ba.loss.self_supervision_weight == 0 and ba.loss.contrastive_weight == 0
    full = load_config(root / "ra_ss_cl.yaml")
    assert full.net.backbone.resolution_aware and full.loss.contrastive_kind == "infonce"
    assert load_config(root / "ra_ss_ms.yaml").loss.contrastive_kind == "mse"
    assert load_config(root / "ra_ss_cd.yaml").loss.contrastive_kind == "cosine"
    assert load_config(root / "ss_o.yaml").loss.self_supervision_mode == "symmetric"
    assert load_config(root / "ss_h.yaml").loss.self_supervision_mode == "highest"
    wo_pt = load_config(root / "wo_pt.yaml")
    assert len(wo_pt.stages) == 1 and wo_pt.total_steps == full.total_steps
    hr = load_config(root / "hr_only.yaml")
    assert all(s.ranges == (0,) for s in hr.stages)


def test_unknown_key_is_named(tiny_config_file: Path) -> None:
    data = yaml.safe_load(tiny_config_file.read_text())
    data["optim"]["learning_rate"] = 1.0
    tiny_config_file.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(tiny_config_file)


def test_invalid_values_are_reported(tiny_config_file: Path) -> None:
    with pytest.raises(ConfigError, match="num_ranges"):
        load_config(tiny_config_file, {"net": {"backbone": {"num_ranges": 3}}})
    with pytest.raises(ConfigError, match="per_sample"):
        load_config(tiny_config_file, {"resolution": {"per_sample": 1}})
    with pytest.raises(ConfigError, match="precision"):
        load_config(tiny_config_file, {"runtime": {"precision": "fp8"}})


def test_family_weights_are_validated(tiny_config_file: Path) -> None:
    shards = {"source": "shards", "shards": "data/shards/x"}
    cfg = load_config(tiny_config_file, {"data": {**shards, "family_weights": {"sitting": 0.5, "random": 0}}})
    assert cfg.data.family_weights == {"sitting": 0.5, "random": 0.0}
    with pytest.raises(ConfigError, match="unknown famil"):
        load_config(tiny_config_file, {"data": {**shards, "family_weights": {"dancing": 0.5}}})
    with pytest.raises(ConfigError, match=">= 0"):
        load_config(tiny_config_file, {"data": {**shards, "family_weights": {"sitting": -1}}})
    with pytest.raises(ConfigError, match="needs data.source 'shards'"):
        load_config(tiny_config_file, {"data": {"family_weights": {"sitting": 0.5}}})


def test_twin_pair_share_is_validated(tiny_config_file: Path) -> None:
    shards = {"source": "shards", "shards": "data/shards/x"}
    assert load_config(tiny_config_file, {"data": shards}).data.twin_pair_share == 1.0
    assert load_config(tiny_config_file, {"data": {**shards, "twin_pair_share": 0.5}}).data.twin_pair_share == 0.5
    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ConfigError, match="twin_pair_share"):
            load_config(tiny_config_file, {"data": {**shards, "twin_pair_share": bad}})


def test_base_inheritance(tmp_path: Path, tiny_config_file: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"base": tiny_config_file.name, "name": "child", "optim": {"lr": 0.5}}))
    cfg = load_config(child)
    assert cfg.name == "child" and cfg.optim.lr == 0.5 and cfg.optim.batch_size == 2


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("no/such/config.yaml")

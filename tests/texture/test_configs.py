"""The committed texture configs load, and the four ablations differ only in the Table 8 switches."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.train.config import ConfigError, config_kind
from model.train.reid import load_reid_config
from model.train.texture import load_texture_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "texture"
EXPECTED = {"wo_up_glo": (False, "none"), "wo_glo": (True, "none"), "glo_c": (True, "concat"), "glo_s": (True, "sum")}


@pytest.mark.parametrize("folder", ["", "ground_truth"])
def test_ablation_configs_share_everything_but_the_switches(folder: str) -> None:
    configs = {name: load_texture_config(CONFIGS / folder / f"{name}.yaml") for name in EXPECTED}
    for name, cfg in configs.items():
        assert (cfg.net.upsample, cfg.net.glo) == EXPECTED[name]
        assert cfg.geometry == ("ground_truth" if folder else "predictor")
        assert config_kind(CONFIGS / folder / f"{name}.yaml") == "texture"
    ref = configs["glo_s"]
    for cfg in configs.values():  # identical budgets and data
        assert cfg.optim == ref.optim and cfg.loss == ref.loss and cfg.data == ref.data and cfg.reid_checkpoint == ref.reid_checkpoint
        assert cfg.net.widths == ref.net.widths and cfg.net.uv_size == ref.net.uv_size
    assert len({cfg.runtime.out_dir for cfg in configs.values()}) == 4


def test_reid_config_loads_and_kind_is_checked(tmp_path: Path) -> None:
    cfg = load_reid_config(CONFIGS / "reid.yaml")
    assert cfg.net.input_size == (128, 64) and cfg.optim.views_per_identity >= 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: reid\nnet: {widthz: [8]}\n")
    with pytest.raises(ConfigError, match="widthz"):
        load_reid_config(bad)
    with pytest.raises(ConfigError, match="kind"):
        load_texture_config(CONFIGS / "reid.yaml")


@pytest.mark.parametrize("name", ["glo_s", "glo_c"])
def test_masked_configs_differ_from_their_base_only_in_the_mask_name_output_precision_and_reid(name: str) -> None:
    from dataclasses import replace

    base = load_texture_config(CONFIGS / f"{name}.yaml")
    masked = load_texture_config(CONFIGS / f"{name}_masked.yaml")
    assert config_kind(CONFIGS / f"{name}_masked.yaml") == "texture"
    assert masked.net.input_mask is True and base.net.input_mask is False and masked.net.mask_fill == 0.5
    assert masked.runtime.bf16 is False and masked.runtime.out_dir == f"runs/texture/{name}_masked"
    assert masked.name != base.name
    assert masked.reid_checkpoint == "checkpoints/texture/reid.pt"  # the committed f_Re
    same = replace(
        masked, name=base.name, reid_checkpoint=base.reid_checkpoint, net=replace(masked.net, input_mask=False),
        runtime=replace(masked.runtime, out_dir=base.runtime.out_dir, bf16=base.runtime.bf16),
    )  # fmt: skip
    assert same == base


def test_input_mask_must_be_a_boolean(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"kind: texture\nbase: {CONFIGS / 'glo_s.yaml'}\nnet: {{input_mask: 'yes'}}\n")
    with pytest.raises(ConfigError, match="input_mask"):
        load_texture_config(bad)

"""NetConfig / BackboneConfig: defaults, validation, dict round-trip."""

from __future__ import annotations

import json

import pytest

from model.nets.config import BackboneConfig, NetConfig


def test_defaults_follow_the_paper_and_spin() -> None:
    cfg = NetConfig()
    assert cfg.backbone == BackboneConfig(depth=50, num_ranges=5, resolution_aware=True)
    assert (cfg.regressor_iterations, cfg.regressor_hidden_dim, cfg.regressor_dropout) == (3, 1024, 0.5)
    assert (cfg.projection_dim, cfg.projection_hidden_dim, cfg.input_size) == (128, None, 224)


@pytest.mark.parametrize("depth,blocks,dim", [(18, 8, 512), (34, 16, 512), (50, 16, 2048)])
def test_backbone_derived_sizes(depth: int, blocks: int, dim: int) -> None:
    cfg = BackboneConfig(depth=depth)
    assert (cfg.num_blocks, cfg.feature_dim) == (blocks, dim)


def test_round_trip_through_json() -> None:
    cfg = NetConfig(
        backbone=BackboneConfig(depth=18, num_ranges=3, resolution_aware=False, output_stride=16), input_size=128
    )
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["backbone"] == {"depth": 18, "num_ranges": 3, "resolution_aware": False, "output_stride": 16}
    assert NetConfig.from_dict(data) == cfg


def test_partial_dicts_take_defaults() -> None:
    cfg = NetConfig.from_dict({"backbone": {"depth": 34}})
    assert cfg.backbone.depth == 34 and cfg.backbone.num_ranges == 5 and cfg.input_size == 224


def test_unknown_keys_are_named() -> None:
    with pytest.raises(ValueError, match="iters"):
        NetConfig.from_dict({"iters": 3})
    with pytest.raises(ValueError, match="width"):
        NetConfig.from_dict({"backbone": {"depth": 18, "width": 2}})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"backbone": {"depth": 101}},
        {"backbone": {"num_ranges": 0}},
        {"backbone": {"resolution_aware": "yes"}},
        {"backbone": {"output_stride": 8}},
        {"backbone": {"output_stride": True}},
        {"regressor_iterations": 0},
        {"regressor_dropout": 1.0},
        {"projection_dim": 0},
        {"projection_hidden_dim": -1},
        {"input_size": 16},
        {"input_size": 224.0},
    ],
)
def test_invalid_values_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        NetConfig.from_dict(kwargs)

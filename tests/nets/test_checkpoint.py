"""Every committed checkpoint (``checkpoints/*/*.pt``, resume files included once committed) loads,
unchanged, through :mod:`model.nets.checkpoint` and its users."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.body import load_body_model
from model.nets.checkpoint import (
    FORMAT,
    REID_FORMAT,
    REQUIRED_BY_FORMAT,
    RESUME_FORMAT,
    TEXTURE_FORMAT,
    VIDEO_FORMAT,
    CheckpointError,
    load_checkpoint,
    load_reid,
    load_resume_file,
    load_rscnet,
    load_texglo,
    pack_weights,
    save_checkpoint,
    unpack_weights,
)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "checkpoints").glob("*/*.pt"))


@pytest.mark.parametrize("path", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_committed_checkpoint_loads(path: Path) -> None:
    raw = torch.load(path, map_location="cpu", weights_only=True)
    ckpt = load_checkpoint(path, expected_format=None)
    assert ckpt["format"] == raw["format"] and ckpt["format"] in REQUIRED_BY_FORMAT
    assert set(REQUIRED_BY_FORMAT[ckpt["format"]]) <= set(ckpt)
    assert set(ckpt) == set(raw) - {"int8_scales", "model_packed"} | {"model"}  # entries kept as written
    if ckpt["format"] == FORMAT:
        loaded = load_rscnet(path, load_body_model())
        assert loaded.input_size == int(raw["input_size"]) and list(loaded.ranges.bounds) == list(raw["resolution_bounds"])
    elif ckpt["format"] == TEXTURE_FORMAT:
        net, _ = load_texglo(path)
        assert not net.training
    elif ckpt["format"] == REID_FORMAT:
        net, _ = load_reid(path)
        assert not any(p.requires_grad for p in net.parameters())
    elif ckpt["format"] == RESUME_FORMAT:  # a long run's committed resume file
        from model.nets import NetConfig, RSCNet

        net = RSCNet(NetConfig.from_dict(ckpt["net_config"]), load_body_model().mean_params)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in load_resume_file(path)["model"].items()}, strict=True)
    elif ckpt["format"] == VIDEO_FORMAT:
        from model.inference import SequencePredictor

        seq = SequencePredictor.from_checkpoint(path, device="cpu")
        assert seq.backbone.checkpoint_id == raw["backbone"]["checkpoint_id"]


def test_committed_checkpoints_cover_every_served_kind() -> None:
    formats = {torch.load(p, map_location="cpu", weights_only=True)["format"] for p in COMMITTED}
    assert formats >= {FORMAT, VIDEO_FORMAT, REID_FORMAT, TEXTURE_FORMAT}


def test_wrong_format_and_missing_entries_are_named(tmp_path: Path) -> None:
    p = save_checkpoint({"format": REID_FORMAT, "model": {}}, tmp_path / "r.pt")
    with pytest.raises(CheckpointError, match="lacks"):
        load_checkpoint(p, expected_format=REID_FORMAT)
    p = save_checkpoint({"format": REID_FORMAT, "model": {}, "net_config": {}}, tmp_path / "r.pt")
    with pytest.raises(CheckpointError, match="expected 'rscnet-texglo/1'"):
        load_checkpoint(p, expected_format=TEXTURE_FORMAT, required=("format",))
    with pytest.raises(CheckpointError, match="texture checkpoint .* does not exist"):
        load_texglo(tmp_path / "absent.pt")


def test_packed_weights_round_trip_fp16_exactly() -> None:
    state = {"a.weight": torch.randn(3, 4), "b.alpha": torch.rand(2, 5), "n": torch.tensor(7)}
    out = unpack_weights(pack_weights(state))
    assert list(out) == list(state)
    assert torch.equal(out["a.weight"], state["a.weight"].half())
    assert torch.equal(out["b.alpha"], state["b.alpha"]) and torch.equal(out["n"], state["n"])

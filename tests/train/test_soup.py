"""model.train.soup: averaging the weights of fine-tunes of one start."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model.body import load_body_model
from model.inference import Predictor
from model.nets import NetConfig, RSCNet
from model.nets.checkpoint import (
    CheckpointError,
    body_model_entry,
    load_network_file,
    save_checkpoint,
    save_resume_file,
)
from model.train.soup import average_weights, main, soup_checkpoint

TINY = {"backbone": {"depth": 18, "num_ranges": 5}, "input_size": 64, "regressor_hidden_dim": 64}
BOUNDS = (224, 128, 64, 40, 24)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def state_of(body, seed: int, extra: dict[str, torch.Tensor] | None = None, bounds=BOUNDS) -> dict:
    cfg = NetConfig.from_dict(TINY)
    torch.manual_seed(seed)
    net = RSCNet(cfg, body.mean_params)
    model = dict(net.state_dict())
    model.update(extra or {})
    return {"model": model, "net_config": cfg.to_dict(), "train_config": {"seed": seed}, "body_model": body_model_entry(body.info),
            "resolution_bounds": list(bounds), "input_size": cfg.input_size, "step": 100 + seed, "optimizer": {}, "queue": {}}


def test_average_weights_uniform_weighted_and_int_buffers() -> None:
    a = {"w": torch.tensor([0.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([2.0, 4.0]), "n": torch.tensor(7)}
    out = average_weights([a, b])
    torch.testing.assert_close(out["w"], torch.tensor([1.0, 3.0]))
    assert int(out["n"]) == 3  # integer buffers: the base's
    torch.testing.assert_close(average_weights([a, b], [3, 1])["w"], torch.tensor([0.5, 2.5]))
    with pytest.raises(ValueError, match="other weights"):
        average_weights([a, {"w": a["w"]}])
    with pytest.raises(ValueError, match="shape"):
        average_weights([a, {"w": torch.zeros(3), "n": a["n"]}])
    with pytest.raises(ValueError, match="non-negative"):
        average_weights([a, b], [1, -1])
    with pytest.raises(ValueError, match="nothing"):
        average_weights([])


def test_soup_of_training_checkpoints_loads_and_is_the_mean(body, tmp_path: Path) -> None:
    paths = [save_checkpoint(state_of(body, s), tmp_path / f"{s}.pt") for s in (1, 2)]
    record = soup_checkpoint(paths, tmp_path / "soup.pt")
    assert [i["step"] for i in record["ingredients"]] == [101, 102] and record["dropped"] == {}
    soup = load_network_file(tmp_path / "soup.pt")
    assert soup["soup"]["weights"] == [1.0, 1.0] and "optimizer" not in soup and soup["step"] == 101
    a, b = (load_network_file(p)["model"] for p in paths)
    key = "regressor.fc1.weight" if "regressor.fc1.weight" in a else next(k for k, v in a.items() if v.is_floating_point() and v.ndim == 2)
    torch.testing.assert_close(soup["model"][key].float(), 0.5 * (a[key] + b[key]), atol=2e-3, rtol=1e-3)  # fp16 file
    p = Predictor.from_checkpoint(tmp_path / "soup.pt", device="cpu", body=body, precision="fp32")
    assert p.is_trained and p.predict_tensor(torch.rand(1, 3, 64, 64), [0]).pose_rotmat.shape == (1, 24, 3, 3)


def test_soup_keeps_a_resume_files_format(body, tmp_path: Path) -> None:
    position = {"epoch": 0, "stage": 0, "alpha_initialised": [0], "stretches": [{"steps": 100}]}
    paths = [save_resume_file({**state_of(body, s), **position}, tmp_path / f"r{s}.pt") for s in (1, 2, 3)]
    main(["--checkpoints", *map(str, paths), "--out", str(tmp_path / "soup.pt"), "--weights", "2", "1", "1"])
    soup = load_network_file(tmp_path / "soup.pt")
    assert soup["format"] == "rscnet-resume/1" and soup["soup"]["weights"] == [2.0, 1.0, 1.0]


def test_soup_refuses_other_weights_unless_dropped_and_other_bounds(body, tmp_path: Path) -> None:
    base = save_checkpoint(state_of(body, 1), tmp_path / "base.pt")
    headed = save_checkpoint(state_of(body, 2, {"heading_head.w": torch.ones(3)}), tmp_path / "headed.pt")
    with pytest.raises(CheckpointError, match="--drop-prefix"):
        soup_checkpoint([base, headed], tmp_path / "x.pt")
    record = soup_checkpoint([base, headed], tmp_path / "x.pt", drop_prefixes=["heading_head."])
    assert record["dropped"] == {str(headed): ["heading_head.w"]}
    assert "heading_head.w" not in load_network_file(tmp_path / "x.pt")["model"]
    other = save_checkpoint(state_of(body, 3, bounds=(224, 128, 64, 40, 20)), tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="resolution_bounds"):
        soup_checkpoint([base, other], tmp_path / "y.pt")
    with pytest.raises(ValueError, match="at least two"):
        soup_checkpoint([base], tmp_path / "z.pt")

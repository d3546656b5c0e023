"""Tiny end-to-end runs: identity data, ReID training, TexGlo training (+ resume), evaluation CLI,
served-checkpoint export and ``TexturePredictor.texture``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from model.cli.identity_data import compute_geometry
from model.data.identity import build_identity_sets, load_geometry, load_identity_set
from model.inference import Predictor
from model.inference.texture import TexturePredictor, load_texglo
from model.nets.checkpoint import load_reid
from model.train.texture import export_texture_checkpoint

CROP = 32


def _args(config: Path, **kw) -> argparse.Namespace:
    base = dict(config=str(config), resume=False, max_steps=None, out_dir=None, device="cpu", threads=1, workers=None, seed=None, no_progress=True)
    base.update(kw)
    return argparse.Namespace(**base)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """4 train + 2 test identities x 3 looks at 32 px, ground-truth geometry, a 4-step ReID net."""
    root = tmp_path_factory.mktemp("texture")
    data = root / "data"
    build_identity_sets(data, train_identities=4, test_identities=2, views=3, crop_size=CROP, texture_size=32, seed=1, show_progress=False)
    geo = {split: compute_geometry(load_identity_set(data / f"{split}.pt"), "ground_truth", show_progress=False) for split in ("train", "test")}
    torch.save(geo, data / "geometry-ground_truth.pt")
    reid_cfg = root / "reid.yaml"
    reid_cfg.write_text(yaml.safe_dump({
        "kind": "reid", "data": {"dir": str(data)},
        "net": {"input_size": [32, 16], "widths": [8, 16], "blocks": 1, "embed_dim": 16},
        "optim": {"steps": 4, "warmup_steps": 1, "identities_per_batch": 2, "views_per_identity": 2, "low_res_range": [8, 24], "eval_low_res": 12},
        "runtime": {"out_dir": str(root / "reid"), "log_every": 1, "checkpoint_every": 2, "bf16": False},
    }))  # fmt: skip
    from model.train.__main__ import main

    main(["--config", str(reid_cfg), "--no-progress", "--threads", "1"])
    tex_cfg = root / "tex.yaml"
    tex_cfg.write_text(yaml.safe_dump({
        "kind": "texture", "name": "tiny Glo-S", "data": {"dir": str(data)}, "geometry": "ground_truth",
        "reid_checkpoint": str(root / "reid" / "last.pt"),
        "net": {"input_size": [32, 16], "uv_size": 32, "widths": [8, 16], "glo": "sum", "reduce_channels": 4, "fc_dim": 16, "out_channels": 4},
        "loss": {"layer_weights": [1.0, 1.0]},
        "optim": {"steps": 6, "warmup_steps": 1, "batch_size": 2, "low_res_range": [8, 16]},
        "runtime": {"out_dir": str(root / "tex"), "log_every": 1, "checkpoint_every": 3, "bf16": False},
    }))  # fmt: skip
    return {"root": root, "data": data, "reid_cfg": reid_cfg, "tex_cfg": tex_cfg}


def test_identity_sets_have_disjoint_identities_and_textures(tiny: dict[str, Path]) -> None:
    train = load_identity_set(tiny["data"] / "train.pt")
    test = load_identity_set(tiny["data"] / "test.pt")
    assert train.images.shape == (12, 3, CROP, CROP) and train.images.dtype == torch.uint8
    assert set(train.identity.tolist()) == {0, 1, 2, 3} and set(test.identity.tolist()) == {4, 5}
    assert train.textures.shape == (4, 3, 32, 32)
    assert train.labels().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    # Looks of one identity differ (pose/view/background), identities differ in texture.
    assert not torch.equal(train.images[0], train.images[1])
    assert not torch.equal(train.textures[0], train.textures[1])
    geo = load_geometry(tiny["data"], "ground_truth", "test")
    assert geo["betas"].shape == (6, 10) and geo["principal"].shape == (6, 2)
    with pytest.raises(FileNotFoundError, match="geometry"):
        load_geometry(tiny["data"], "predictor", "test")


def test_reid_training_writes_checkpoint_log_and_eval(tiny: dict[str, Path]) -> None:
    out = tiny["root"] / "reid"
    lines = [json.loads(l) for l in (out / "log.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines] == [1, 2, 3, 4]
    ev = json.loads((out / "eval.json").read_text())
    assert 0.0 <= ev["clean"]["rank1"] <= 1.0 and ev["clean"]["queries"] == 6 and "low_res_12px" in ev
    net, ckpt = load_reid(out / "last.pt")
    assert ckpt["step"] == 4 and not any(p.requires_grad for p in net.parameters())


@pytest.fixture(scope="module")
def trained(tiny: dict[str, Path]) -> dict[str, object]:
    """The tiny TexGlo trained 3 steps, then resumed to its 6 steps."""
    from model.train.texture import train_from_args

    train_from_args(_args(tiny["tex_cfg"], max_steps=3))
    last = tiny["root"] / "tex" / "last.pt"
    first = torch.load(last, weights_only=True)
    train_from_args(_args(tiny["tex_cfg"], resume=True))
    return {"last": last, "first": first}


def test_texture_training_resume_and_export(tiny: dict[str, Path], trained: dict[str, object]) -> None:
    last, first = trained["last"], trained["first"]
    assert first["step"] == 3 and first["geometry"]["source"] == "ground_truth"
    ckpt = torch.load(last, weights_only=True)
    assert ckpt["step"] == 6
    losses = [json.loads(l)["loss"] for l in (tiny["root"] / "tex" / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 6 and all(np.isfinite(losses))
    changed = [k for k in ckpt["model"] if ckpt["model"][k].is_floating_point() and not torch.equal(ckpt["model"][k], first["model"][k])]
    assert changed  # the resumed run kept training
    served = export_texture_checkpoint(last, tiny["root"] / "served.pt")
    net, sckpt = load_texglo(served)
    assert "optimizer" not in sckpt and all(v.dtype == torch.float16 for v in sckpt["model"].values() if v.is_floating_point())
    assert net(torch.rand(1, 3, CROP, CROP)).shape == (1, 3, 32, 32)


def test_texture_eval_cli_writes_table_grid_and_json(tiny: dict[str, Path], trained: dict[str, object]) -> None:
    from model.eval.texture import main

    last = trained["last"]
    out = tiny["root"] / "eval"
    reid = str(tiny["root"] / "reid" / "last.pt")
    main(["--checkpoint", str(last), "--reid", reid, "--judge-reid", reid, "--data", str(tiny["data"]), "--low-res", "12", "--out", str(out), "--no-progress"])
    report = json.loads((out / "eval.json").read_text())
    names = [r["name"] for r in report["rows"]]
    assert names == ["tiny Glo-S", "mean texture (reference)"]
    for row in report["rows"]:
        m = row["metrics"]
        assert 0 <= m["reid_distance"] <= 2 and 0 <= m["uv_l1_visible"] <= 1 and 0 <= m["uv_l1_whole"] <= 1
        assert m["uv_psnr_visible"] > 0 and m["uv_psnr_whole"] > 0
        assert m["reid_distance_judge"] == pytest.approx(m["reid_distance"], abs=1e-4)  # same network as judge
        assert 0 <= m["background_leak"] <= 1
    # the mean texture ignores its input entirely: nothing behind the person leaks into it
    assert report["rows"][1]["metrics"]["background_leak"] == 0.0
    assert report["geometry_vs_ground_truth"]["ground_truth"]["silhouette_iou"] == pytest.approx(1.0)
    assert report["geometry_vs_ground_truth"]["ground_truth"]["vertex_2d_error_px"] == pytest.approx(0.0, abs=1e-4)
    assert report["rows"][0]["paired_vs_last"]["reid_distance"]["mean_diff"] == 0.0  # the last checkpoint itself
    assert (out / "table.md").read_text().startswith("| model |")
    assert (out / "grid_tex.png").is_file()


def test_visible_texels_are_a_subset_of_the_atlas_and_non_empty() -> None:
    from model.body import load_body_model
    from model.data.textures import get_atlas
    from model.eval.texture import visible_texels
    from model.render import MeshRenderer, PerspectiveCameras

    body = load_body_model()
    out = body(torch.zeros(1, 10), torch.zeros(1, 24, 3))
    verts = out.vertices * torch.tensor([1.0, -1.0, -1.0]) + torch.tensor([0.0, 0.0, 6.0])  # facing the camera, upright
    cams = PerspectiveCameras.from_focal(1, (64, 64), 500.0)
    vis = visible_texels(MeshRenderer(), body, verts, cams, 64)
    covered = get_atlas(body, 64).covered
    frac_inside = (vis[0, 0] & covered).sum() / vis.sum()
    assert vis.sum() > 50 and frac_inside > 0.9  # bilinear footprints may touch gutter texels
    assert vis.sum() < covered.sum()  # the back of the body is not visible


def test_texture_predictor_texture_returns_mesh_and_uv_image(trained: dict[str, object]) -> None:
    last = trained["last"]
    predictor = Predictor.random_init(device="cpu", precision="fp32")
    tp = TexturePredictor.from_checkpoint(last, predictor)
    crop = np.random.default_rng(0).integers(0, 255, (60, 30, 3), dtype=np.uint8)
    mesh = tp.texture(crop)
    body = predictor.body_model
    assert mesh.vertices.shape == (body.num_vertices, 3)
    assert mesh.faces.shape == (body.num_faces, 3) and mesh.uvs.shape == (body.num_faces, 3, 2)
    assert mesh.texture_image.shape == (32, 32, 3) and mesh.texture_image.dtype == np.uint8
    assert tp.describe()["name"] == "tiny Glo-S" and len(tp.checkpoint_id) == 16
    # Deterministic, and depends on the input.
    assert np.array_equal(tp.predict_uv([crop])[0], mesh.texture_image)
    other = np.full_like(crop, 200)
    assert not np.array_equal(tp.predict_uv([other])[0], mesh.texture_image)
    with pytest.raises(ValueError, match="crop 0"):
        tp.predict_uv([np.zeros((4, 4, 3), dtype=np.uint8)])


def test_reid_export_and_eval_cli(tiny: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from model.eval.reid import main
    from model.train.reid import export_reid_checkpoint

    served = export_reid_checkpoint(tiny["root"] / "reid" / "last.pt", tmp_path / "reid.pt")
    ckpt = torch.load(served, weights_only=True)
    assert "optimizer" not in ckpt and all(v.dtype == torch.float16 for v in ckpt["model"].values() if v.is_floating_point())
    main(["--checkpoint", str(served), "--data", str(tiny["data"]), "--low-res", "12"])
    report = json.loads(capsys.readouterr().out)
    assert report["clean"]["queries"] == 6 and 0 <= report["low_res_12px"]["mAP"] <= 1


# ------------------------------------------------------------------ TexGlo with the body-mask input
@pytest.fixture(scope="module")
def masked_cfg(tiny: dict[str, Path]) -> Path:
    """The tiny Glo-S config with ``net.input_mask: true``, 2 steps, its own output folder."""
    cfg = yaml.safe_load(tiny["tex_cfg"].read_text())
    cfg["name"] = "tiny Glo-S masked"
    cfg["net"]["input_mask"] = True
    cfg["optim"]["steps"] = 2
    cfg["runtime"]["out_dir"] = str(tiny["root"] / "tex_masked")
    path = tiny["root"] / "tex_masked.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_masked_training_step_feeds_the_silhouette_of_the_geometry_mesh(masked_cfg: Path) -> None:
    from model.data.identity import render_silhouette
    from model.train.texture import TextureTrainer, load_texture_config

    trainer = TextureTrainer(load_texture_config(masked_cfg, {"out_dir": str(masked_cfg.parent / "tex_masked_spy")}), device="cpu", show_progress=False)
    assert trainer.net.config.input_mask and trainer.net.encoder[0][0].in_channels == 4
    seen: list[torch.Tensor] = []
    forward = trainer.net.forward

    def spy(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        assert mask is not None and mask.shape == (images.shape[0], 1, CROP, CROP)
        seen.append(mask.detach().clone())
        return forward(images, mask)

    trainer.net.forward = spy  # type: ignore[method-assign]
    outcome = trainer.train_step()
    assert np.isfinite(outcome.loss) and len(seen) == 1
    # Every mask is the silhouette of one training image's (ground-truth) mesh, rendered at the crop size.
    verts, cams = trainer.geo(torch.arange(len(trainer.data)), trainer.device)
    silhouettes = render_silhouette(trainer.renderer, trainer.body, verts, cams)
    assert silhouettes.sum((1, 2, 3)).min() > 0 and set(silhouettes.unique().tolist()) <= {0.0, 1.0}
    for mask in seen[0]:
        assert any(torch.equal(mask, s) for s in silhouettes)


def test_masked_training_export_serving_and_eval(tiny: dict[str, Path], masked_cfg: Path) -> None:
    from model.eval.texture import main as eval_main
    from model.train.texture import train_from_args

    train_from_args(_args(masked_cfg))
    out = tiny["root"] / "tex_masked"
    ckpt = torch.load(out / "last.pt", weights_only=True)
    assert ckpt["step"] == 2 and ckpt["net_config"]["input_mask"] is True and ckpt["net_config"]["mask_fill"] == 0.5
    losses = [json.loads(l)["loss"] for l in (out / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 2 and all(np.isfinite(losses))
    served = export_texture_checkpoint(out / "last.pt", tiny["root"] / "served_masked.pt")
    net, _ = load_texglo(served)
    assert net.config.input_mask
    with pytest.raises(ValueError, match="input_mask=True"):
        net(torch.rand(1, 3, CROP, CROP))
    tp = TexturePredictor.from_checkpoint(served, Predictor.random_init(device="cpu", precision="fp32"))
    assert tp.input_mask and tp.describe()["input_mask"] is True
    crop = np.random.default_rng(0).integers(0, 255, (60, 30, 3), dtype=np.uint8)
    mesh = tp.texture(crop)
    assert mesh.texture_image.shape == (32, 32, 3) and np.array_equal(tp.predict_uv([crop])[0], mesh.texture_image)
    reid = str(tiny["root"] / "reid" / "last.pt")
    eval_dir = tiny["root"] / "eval_masked"
    eval_main(["--checkpoint", str(served), "--reid", reid, "--data", str(tiny["data"]), "--low-res", "12", "--out", str(eval_dir), "--no-progress", "--no-mean-baseline"])
    [row] = json.loads((eval_dir / "eval.json").read_text())["rows"]
    assert row["name"] == "tiny Glo-S masked" and 0 <= row["metrics"]["reid_distance"] <= 2

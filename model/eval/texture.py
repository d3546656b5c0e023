"""Evaluate TexGlo checkpoints on the held-out identities (Table 8 analogue).

``python -m model.eval.texture --checkpoint runs/texture/glo_s/last.pt [--checkpoint ...] --out checkpoints/texture/eval``

For every held-out ``x_H`` (``<data>/test.pt`` of :mod:`model.data.identity`): ``x_L`` is
``x_H`` bicubic down to ``--low-res`` pixels (default 32, the paper's test height) and back up;
the checkpoint predicts ``T(x_L)`` (a checkpoint trained with ``input_mask`` gets ``x_L`` masked
with the silhouette of the mesh it is rendered on, as in training); then

* **ReID feature distance**: ``||f_Re(R(M(x_H), delta(x_H), T(x_L))) - f_Re(x_H)||_2`` of the
  L2-normalised embeddings of the frozen ReID network (the render is composited over ``x_H``'s
  background, with the mesh/camera source the checkpoint was trained with), and the multi-layer
  training loss :func:`~model.losses.texture.reid_feature_distance`;
* **UV L1 / PSNR** against the identity's ground-truth albedo (resized to the UV size if needed),
  over the texels *visible in* ``x_H`` (texels with a non-zero bilinear weight in the render of the
  ground-truth mesh, found by back-propagating the rendered image to an all-zero texture) and over
  the *whole* map (every texel inside a UV triangle).

Reference row "mean texture": the per-texel mean of the training identities' ground-truth textures
for every input (what an input-blind predictor scores). Writes ``eval.json``, ``table.md`` and a
PNG grid per checkpoint (columns: x_L, x_H, render, predicted UV, GT UV). ``eval.json`` also has,
per checkpoint, the paired difference of every metric to the last checkpoint given (mean over the
same test images and its standard error), to tell real gaps from noise; checkpoints that share a
model name (runs of one config with other ``--seed``s) also get a mean ± standard deviation row.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from tqdm import tqdm

from model.body import BodyModel, load_body_model
from model.data.degrade import bicubic_down_up
from model.data.identity import (
    GeometryBatch,
    IdentitySet,
    load_geometry,
    load_identity_set,
    mean_lights,
    render_silhouette,
    render_texture,
)
from model.data.textures import get_atlas
from model.losses.texture import (
    TextureLossConfig,
    embedding_distance,
    masked_l1,
    masked_psnr,
    reid_feature_distance,
)
from model.nets.checkpoint import load_reid, load_texglo
from model.nets.reid import ReIDNet
from model.nets.texture import TexGlo
from model.render import Lights, MeshRenderer
from model.runtime import autocast

__all__ = ["METRICS", "TextureEval", "evaluate_texture", "geometry_agreement", "save_grid", "visible_texels"]

#: Metric keys of one evaluation row.
METRICS = ("reid_distance", "reid_loss", "uv_l1_visible", "uv_psnr_visible", "uv_l1_whole", "uv_psnr_whole", "background_leak")


def visible_texels(renderer: MeshRenderer, body: BodyModel, verts: Tensor, cams: Any, uv_size: int) -> Tensor:
    """``(B, 1, U, U)`` bool: texels whose bilinear weight is non-zero somewhere in the render."""
    probe = torch.zeros(verts.shape[0], 1, uv_size, uv_size, requires_grad=True)
    with torch.enable_grad():
        out = renderer.render(verts, body.faces, cams, texture=probe, face_uvs=body.face_uvs)
        (grad,) = torch.autograd.grad(out.image.sum(), probe)
    return grad > 0


@torch.no_grad()
def geometry_agreement(geometry: dict[str, Any], gt_geometry: dict[str, Any], body: BodyModel, crop_size: int, samples: int | None = None, batch_size: int = 50) -> dict[str, float]:
    """How well a mesh/camera source matches the ground truth on the test images: mean silhouette IoU
    and mean 2D vertex distance (pixels of the ``crop_size`` crop)."""
    renderer = MeshRenderer()
    geo, gt = GeometryBatch(geometry, body, crop_size), GeometryBatch(gt_geometry, body, crop_size)
    n = int(gt_geometry["betas"].shape[0]) if samples is None else min(samples, int(gt_geometry["betas"].shape[0]))
    ious, dists = [], []
    for start in range(0, n, batch_size):
        idx = torch.arange(start, min(n, start + batch_size))
        (vp, cp), (vg, cg) = geo(idx, torch.device("cpu")), gt(idx, torch.device("cpu"))
        mp = renderer.render(vp, body.faces, cp).mask > 0.5
        mg = renderer.render(vg, body.faces, cg).mask > 0.5
        ious.append((mp & mg).sum((1, 2, 3)).float() / (mp | mg).sum((1, 2, 3)).clamp(min=1))
        dists.append((cp.project(vp).uv - cg.project(vg).uv).norm(dim=-1).mean(1))
    return {"silhouette_iou": float(torch.cat(ious).mean()), "vertex_2d_error_px": float(torch.cat(dists).mean()), "samples": n}


@dataclass
class TextureEval:
    """Per-sample results of :func:`evaluate_texture` (``(N,)`` tensors) and the first images for the grid."""

    metrics: dict[str, Tensor]
    grid: dict[str, Tensor]

    def summary(self) -> dict[str, float]:
        return {k: float(v.mean()) for k, v in self.metrics.items()}


@torch.no_grad()
def evaluate_texture(
    predict: Callable[[Tensor, Tensor | None], Tensor],
    reid: ReIDNet,
    test: IdentitySet,
    geometry: dict[str, Any],
    gt_geometry: dict[str, Any],
    body: BodyModel,
    uv_size: int,
    low_res: int = 32,
    samples: int | None = None,
    batch_size: int = 16,
    lights: Lights | None = None,
    grid_rows: int = 6,
    grid_stride: int = 8,
    precision: str = "fp32",
    show_progress: bool = True,
    judge: ReIDNet | None = None,
    input_mask: bool = False,
) -> TextureEval:
    """Metrics of ``predict`` (``x_L (B, 3, S, S), mask -> UV (B, 3, U, U)``) on the first ``samples`` test images.

    ``input_mask``: ``mask`` is the ``(B, 1, S, S)`` silhouette of ``geometry``'s mesh (the one the
    texture is rendered on, :func:`~model.data.identity.render_silhouette`, as in training); else ``None``.

    ``background_leak``: how much the texture follows what is *behind* the person: every ``x_H``
    keeps its person (the ground-truth silhouette) and gets the next test image of the batch
    behind it, is degraded the same way and textured again (a masked network with the same input
    mask); the value is the mean absolute difference of the two UV maps over the texels the atlas
    covers (0 = the background has no influence).

    ``judge``: an independently trained ReID network (not the training loss's); adds
    ``reid_distance_judge``, the embedding distance under it. The grid keeps ``grid_rows`` samples, every ``grid_stride``-th (one look per identity when it is
    the number of views per identity).
    """
    dev = torch.device("cpu")
    n = len(test) if samples is None else min(samples, len(test))
    renderer = MeshRenderer()
    lights = lights if lights is not None else mean_lights(1)
    geo = GeometryBatch(geometry, body, test.crop_size)
    gt_geo = GeometryBatch(gt_geometry, body, test.crop_size)
    covered = get_atlas(body, uv_size).covered[None, None]
    rows = test.texture_rows(test.identity)
    loss_cfg = TextureLossConfig(layer_weights=(1.0,) * len(reid.config.widths))
    out: dict[str, list[Tensor]] = {k: [] for k in METRICS + (("reid_distance_judge",) if judge is not None else ())}
    grid: dict[str, list[Tensor]] = {k: [] for k in ("x_l", "x_h", "render", "uv", "gt_uv")}
    for start in tqdm(range(0, n, batch_size), desc="texture eval", disable=not show_progress):
        idx = torch.arange(start, min(n, start + batch_size))
        x_h = test.images[idx].float().div(255.0)
        x_l = bicubic_down_up(x_h, low_res, x_h.shape[-1])
        verts, cams = geo(idx, dev)
        mask = render_silhouette(renderer, body, verts, cams) if input_mask else None
        uv = predict(x_l, mask).float().clamp(0, 1)
        gv, gc = gt_geo(idx, dev)
        person = render_silhouette(renderer, body, gv, gc)
        swapped = x_h * person + x_h.roll(1, dims=0) * (1.0 - person)
        uv_swapped = predict(bicubic_down_up(swapped, low_res, x_h.shape[-1]), mask).float().clamp(0, 1)
        if uv.shape[-1] != uv_size:
            raise ValueError(f"predictor returned UV size {uv.shape[-1]}, expected {uv_size}")
        gt = test.textures[rows[idx]].float().div(255.0)
        if gt.shape[-1] != uv_size:
            gt = F.interpolate(gt, size=(uv_size, uv_size), mode="bilinear", align_corners=False, antialias=True)
        render = render_texture(renderer, body, verts, cams, uv, lights.expand(len(idx)), x_h)
        with autocast(precision, dev):
            a, b = reid(render), reid(x_h)
        out["reid_distance"].append(embedding_distance(a.embedding, b.embedding))
        out["reid_loss"].append(reid_feature_distance(a.features, a.embedding, b.features, b.embedding, loss_cfg))
        if judge is not None:
            with autocast(precision, dev):
                ja, jb = judge(render), judge(x_h)
            out["reid_distance_judge"].append(embedding_distance(ja.embedding, jb.embedding))
        out["background_leak"].append(masked_l1(uv, uv_swapped, covered))
        vis = visible_texels(renderer, body, gv, gc, uv_size) & covered
        out["uv_l1_visible"].append(masked_l1(uv, gt, vis))
        out["uv_psnr_visible"].append(masked_psnr(uv, gt, vis))
        out["uv_l1_whole"].append(masked_l1(uv, gt, covered))
        out["uv_psnr_whole"].append(masked_psnr(uv, gt, covered))
        pick = (idx % grid_stride == 0).nonzero().squeeze(1)
        if sum(len(t) for t in grid["x_h"]) < grid_rows and len(pick):
            for k, v in (("x_l", x_l), ("x_h", x_h), ("render", render), ("uv", uv), ("gt_uv", gt)):
                grid[k].append(v[pick])
    metrics = {k: torch.cat(v).float() for k, v in out.items()}
    return TextureEval(metrics, {k: torch.cat(v)[:grid_rows] for k, v in grid.items()})


def save_grid(grid: dict[str, Tensor], path: str | Path, cell: int = 128) -> Path:
    """PNG: one row per sample, columns x_L, x_H, render, predicted UV, GT UV (each ``cell`` px square)."""
    cols = ["x_l", "x_h", "render", "uv", "gt_uv"]
    rows = []
    for i in range(grid["x_h"].shape[0]):
        cells = [F.interpolate(grid[c][i : i + 1], size=(cell, cell), mode="bilinear", align_corners=False)[0] for c in cols]
        rows.append(torch.cat(cells, dim=2))
    img = torch.cat(rows, dim=1).clamp(0, 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return path


_METRICS = ("reid_distance", "reid_loss", "reid_distance_judge", "uv_l1_visible", "uv_psnr_visible", "uv_l1_whole", "uv_psnr_whole", "background_leak")


def run_means(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per model name with several runs (e.g. seeds): ``{name: {metric: {"mean", "std", "runs"}}}``.

    ``std`` is the sample standard deviation over the runs (run-to-run spread, which single-run
    tables cannot show).
    """
    groups: dict[str, list[dict[str, float]]] = {}
    for r in rows:
        groups.setdefault(r["name"], []).append(r["metrics"])
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, runs in groups.items():
        if len(runs) < 2:
            continue
        out[name] = {}
        for k in _METRICS:
            if all(k in m for m in runs):
                v = np.asarray([m[k] for m in runs], dtype=np.float64)
                out[name][k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)), "runs": len(runs)}
    return out


def _fmt_run_means(means: dict[str, dict[str, dict[str, float]]]) -> str:
    if not means:
        return ""
    keys = [k for k in _METRICS if all(k in m for m in means.values())]
    lines = ["", "Mean ± standard deviation over runs of the same model (seeds):", ""]
    lines.append("| model | runs | " + " | ".join(keys) + " |")
    lines.append("|" + "---|" * (len(keys) + 2))
    for name, m in means.items():
        runs = next(iter(m.values()))["runs"]
        lines.append(f"| {name} | {runs} | " + " | ".join(f"{m[k]['mean']:.4f} ± {m[k]['std']:.4f}" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def _fmt_table(rows: list[dict[str, Any]]) -> str:
    judge = all("reid_distance_judge" in r["metrics"] for r in rows)
    head = "| model | geometry | steps | ReID distance | ReID loss |" + (" ReID distance (judge) |" if judge else "")
    head += " UV L1 visible | UV PSNR visible (dB) | UV L1 whole | UV PSNR whole (dB) | background leak |"
    lines = [head, "|" + "---|" * head.count(" |")]
    for r in rows:
        m = r["metrics"]
        line = f"| {r['name']} | {r.get('geometry', '-')} | {r.get('steps', '-')} | {m['reid_distance']:.4f} | {m['reid_loss']:.4f} |"
        if judge:
            line += f" {m['reid_distance_judge']:.4f} |"
        line += f" {m['uv_l1_visible']:.4f} | {m['uv_psnr_visible']:.2f} | {m['uv_l1_whole']:.4f} | {m['uv_psnr_whole']:.2f} | {m['background_leak']:.4f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.texture", description="Evaluate TexGlo checkpoints (ReID distance, UV L1/PSNR) on held-out identities.")
    parser.add_argument("--checkpoint", action="append", required=True, help="TexGlo checkpoint (repeat for several)")
    parser.add_argument("--reid", default="runs/texture/reid/last.pt", help="frozen ReID checkpoint")
    parser.add_argument("--judge-reid", default=None, help="an independently trained ReID checkpoint: also report the ReID distance under it")
    parser.add_argument("--data", default="data/texture", help="identity data folder (test.pt, geometry-*.pt)")
    parser.add_argument("--geometry", default=None, choices=["predictor", "ground_truth"], help="mesh/camera source for the render (default: the checkpoint's)")
    parser.add_argument("--low-res", type=int, default=32, help="x_L size in pixels")
    parser.add_argument("--samples", type=int, default=None, help="first N test images (default all)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-mean-baseline", action="store_true", help="skip the mean-texture reference row")
    parser.add_argument("--out", default="runs/texture/eval", help="output folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    test = load_identity_set(Path(args.data) / "test.pt")
    body = load_body_model()
    reid, _ = load_reid(args.reid)
    judge = load_reid(args.judge_reid)[0] if args.judge_reid else None
    gt_geometry = load_geometry(args.data, "ground_truth", "test")
    results: list[dict[str, Any]] = []
    per_sample: list[dict[str, Tensor]] = []
    for path in args.checkpoint:
        net, ckpt = load_texglo(path)
        source = args.geometry or ckpt["geometry"]["source"]
        geometry = load_geometry(args.data, source, "test")
        net_eval: TexGlo = net

        def predict(x: Tensor, mask: Tensor | None, net: TexGlo = net_eval) -> Tensor:
            return net(x, mask)

        ev = evaluate_texture(predict, reid, test, geometry, gt_geometry, body, net.config.uv_size, args.low_res, args.samples, args.batch_size, grid_stride=int(test.config.get("views", 1)), show_progress=not args.no_progress, judge=judge, input_mask=net.config.input_mask)
        per_sample.append(ev.metrics)
        slug = Path(path).parent.name if Path(path).name == "last.pt" else Path(path).stem
        grid_path = save_grid(ev.grid, out_dir / f"grid_{slug}.png")
        results.append({"name": ckpt.get("name", slug), "checkpoint": str(path), "geometry": source, "steps": int(ckpt.get("step", 0)), "train_seconds": ckpt.get("train_seconds"), "uv_size": net.config.uv_size, "metrics": ev.summary(), "grid": str(grid_path)})
    # Paired differences to the last checkpoint (same test images): mean and its standard error.
    ref = per_sample[-1]
    for row, metrics in zip(results, per_sample):
        row["paired_vs_last"] = {
            k: {"mean_diff": float((v - ref[k]).mean()), "stderr": float((v - ref[k]).std() / max(1, v.numel()) ** 0.5)}
            for k, v in metrics.items()
        }
    if not args.no_mean_baseline:
        uv_size = int(results[0]["uv_size"])
        train_tex = torch.load(Path(args.data) / "train.pt", map_location="cpu", weights_only=True)["textures"].float().div(255.0)
        mean_tex = train_tex.mean(0, keepdim=True)
        if mean_tex.shape[-1] != uv_size:
            mean_tex = F.interpolate(mean_tex, size=(uv_size, uv_size), mode="bilinear", align_corners=False, antialias=True)
        source = results[0]["geometry"]
        ev = evaluate_texture(lambda x, _mask: mean_tex.expand(x.shape[0], -1, -1, -1), reid, test, load_geometry(args.data, source, "test"), gt_geometry, body, uv_size, args.low_res, args.samples, args.batch_size, show_progress=not args.no_progress, judge=judge)
        results.append({"name": "mean texture (reference)", "checkpoint": None, "geometry": source, "steps": 0, "metrics": ev.summary()})
    sources = sorted({r["geometry"] for r in results})
    agreement = {src: geometry_agreement(load_geometry(args.data, src, "test"), gt_geometry, body, test.crop_size, args.samples) for src in sources}
    means = run_means([r for r in results if r["checkpoint"] is not None])
    report = {"run_means": means, "geometry_vs_ground_truth": agreement, "judge_reid": args.judge_reid, "low_res": args.low_res, "samples": args.samples or len(test), "test_identities": int(test.texture_ids.numel()), "reid": args.reid, "rows": results, "seconds": round(time.time() - t0, 1)}
    (out_dir / "eval.json").write_text(json.dumps(report, indent=2) + "\n")
    table = _fmt_table(results) + _fmt_run_means(means) + "".join(
        f"\nGeometry '{src}' vs ground truth on the test images: silhouette IoU {a['silhouette_iou']:.3f}, "
        f"mean 2D vertex error {a['vertex_2d_error_px']:.1f} px ({test.crop_size} px crops).\n"
        for src, a in agreement.items()
    )
    (out_dir / "table.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

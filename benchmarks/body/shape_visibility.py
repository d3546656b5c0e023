"""How much of a body's shape a crop can show: each shape coefficient's effect, in millimetres and pixels.

``python -m benchmarks.body.shape_visibility [--heights 224,64,32,24] [--report benchmarks/body/SHAPE_VISIBILITY.md]``

A crop is scaled to the person, so a network can recover only what a shape coefficient changes
**after** the body is brought to a common size. For each coefficient ``beta_i`` of the body model
(the default: the free SMPL-layout body) at ``+-sigma`` (``--sigma``, default 1: the training
draw's standard deviation), the body in its rest pose is compared with the mean body:

* ``raw``: mean vertex displacement (mm);
* ``aligned``: the same after the best similarity transform (scale, rotation, translation) onto the
  mean body -- what is left for a scale-free crop to show; also its 95th percentile;
* height change (mm), which a crop scaled to the person hides;
* ``aligned`` in pixels for a person ``H`` px tall (the body's height maps to ``H``).

Then the bound this puts on the betas error: a coefficient whose aligned displacement stays under
one pixel at ``H`` (95th percentile) is taken as invisible and answered with its mean (0); with every
visible coefficient answered perfectly, the mean absolute error over all coefficients falls by at
most ``visible / K`` against predicting zeros (the coefficients are drawn independently with equal
spread). With ``--check-sets`` (the checks' cached test sets, built by ``python -m model.eval.checks``)
it also scores, on each set, the true pose and root with zero betas against the truth (MPJPE, mm,
LSP-14): the part of MPJPE that body size and shape cost an answer that never sees them. Writes a
Markdown table and a JSON file beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from benchmarks.report import write_report
from model.body import load_body_model
from model.body.joint_names import HIPS
from model.body.model import NUM_BETAS
from model.eval.metrics import mpjpe, pelvis_center, procrustes_align
from model.geometry.rotations import axis_angle_to_matrix

DEFAULT_REPORT = Path(__file__).resolve().parent / "SHAPE_VISIBILITY.md"


def coefficient_effects(sigma: float, body_path: str | None = None) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """Per-coefficient effects at ``+-sigma`` on the rest-pose body; see the module docstring."""
    body = load_body_model(body_path)
    k = NUM_BETAS
    rest = torch.eye(3).expand(1, 24, 3, 3)
    mean = body(torch.zeros(1, k), rest).vertices[0]
    height = float(mean[:, 1].max() - mean[:, 1].min())
    rows = []
    for i in range(k):
        betas = torch.zeros(2, k)
        betas[0, i], betas[1, i] = sigma, -sigma
        verts = body(betas, rest.expand(2, 24, 3, 3)).vertices
        raw = (verts - mean).norm(dim=-1)
        aligned = (procrustes_align(verts, mean.expand(2, -1, -1)) - mean).norm(dim=-1)
        heights = verts[:, :, 1].max(1).values - verts[:, :, 1].min(1).values
        rows.append({
            "coefficient": i,
            "raw_mm": 1000 * float(raw.mean()),
            "aligned_mm": 1000 * float(aligned.mean()),
            "aligned_p95_mm": 1000 * float(aligned.quantile(0.95, dim=1).max()),
            "height_change_mm": 1000 * float((heights - height).abs().max()),
        })
    info = {"body_model": body.info.model_id, "height_m": height, "sigma": sigma, "coefficients": k}
    return info, rows


def zero_shape_mpjpe(path: Path, body_path: str | None = None) -> dict[str, float]:
    """MPJPE (mm) of a cached test set's true poses with zero betas (and with only beta 0 zeroed)."""
    body = load_body_model(body_path)
    data = torch.load(path, weights_only=True)
    rotmat = axis_angle_to_matrix(data["pose"].float())
    hips = HIPS["lsp14"]
    gt = pelvis_center(data["joints3d_lsp14"].float(), *hips)
    betas = data["betas"].float()
    first_zeroed = betas.clone()
    first_zeroed[:, 0] = 0.0

    def score(b: torch.Tensor) -> float:
        return float(mpjpe(pelvis_center(body.keypoints_only(b, rotmat).lsp14, *hips), gt).mean())

    return {"zero_betas": score(torch.zeros_like(betas)), "beta0_zeroed": score(first_zeroed), "true_betas": score(betas)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.body.shape_visibility", description=__doc__.split("\n\n")[0])
    parser.add_argument("--heights", default="224,64,32,24", help="person heights in pixels (comma-separated)")
    parser.add_argument("--sigma", type=float, default=1.0, help="coefficient value compared with 0 (+- this)")
    parser.add_argument("--body-model", default=None, help="body model file (default: the embedded free body)")
    parser.add_argument("--check-sets", type=Path, nargs="*", default=[], help="cached test sets (data/eval/checks/*.pt) to score with zero betas")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT)
    args = parser.parse_args(argv)
    heights = [int(h) for h in args.heights.split(",") if h]
    if not heights or min(heights) < 1:
        parser.error("--heights must be positive integers")
    torch.set_num_threads(args.threads)
    info, rows = coefficient_effects(args.sigma, args.body_model)
    mm_per_px = {h: 1000 * info["height_m"] / h for h in heights}
    px_cols = " | ".join(f"aligned p95 at {h} px (px)" for h in heights)
    md = [
        "# Shape visibility: what each shape coefficient changes once the body is scaled to the crop",
        "",
        f"Body model `{info['body_model']}` (height {info['height_m']:.2f} m), rest pose, each coefficient at +-{args.sigma:g}"
        " (the training draw's standard deviation is 1); `python -m benchmarks.body.shape_visibility "
        + " ".join(argv if argv is not None else sys.argv[1:]) + "`.",
        "",
        f"| coefficient | raw (mm) | height change (mm) | aligned (mm) | aligned p95 (mm) | {px_cols} |",
        "|---|---|---|---|---|" + "---|" * len(heights),
    ]
    visible: dict[int, int] = {}
    for r in rows:
        px = [r["aligned_p95_mm"] / mm_per_px[h] for h in heights]
        md.append(f"| beta {r['coefficient']} | {r['raw_mm']:.1f} | {r['height_change_mm']:.0f} | {r['aligned_mm']:.1f} | {r['aligned_p95_mm']:.1f} | "
                  + " | ".join(f"{p:.2f}" for p in px) + " |")
    for h in heights:
        visible[h] = sum(1 for r in rows if r["aligned_p95_mm"] / mm_per_px[h] >= 1.0)
    md += [
        "",
        "Aligned: after the best scale, rotation and translation onto the mean body (a crop scaled to the person shows no more).",
        "Pixels: for a person as tall as the column says.",
        "",
        "| person height | coefficients moving the aligned body >= 1 px (p95) | best possible betas MAE reduction vs zeros |",
        "|---|---|---|",
    ]
    for h in heights:
        md.append(f"| {h} px | {visible[h]} of {info['coefficients']} | {100 * visible[h] / info['coefficients']:.0f} % |")
    floors = {p.stem: zero_shape_mpjpe(p, args.body_model) for p in args.check_sets}
    if floors:
        md += ["", "True pose and root with the shape left out (MPJPE, mm, LSP-14, pelvis-centred): what body size and shape cost"
               " an answer that never sees them.", "", "| test set | zero betas | only beta 0 zeroed | true betas |", "|---|---|---|---|"]
        md += [f"| {name} | {f['zero_betas']:.1f} | {f['beta0_zeroed']:.1f} | {f['true_betas']:.1f} |" for name, f in floors.items()]
    payload = {**info, "heights": heights, "rows": rows, "visible": {str(h): v for h, v in visible.items()}, "zero_shape_mpjpe": floors}
    text = "\n".join(md)
    print(text)
    write_report(args.report, text, payload)


if __name__ == "__main__":
    main(sys.argv[1:])

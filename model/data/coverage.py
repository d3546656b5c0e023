"""Pose coverage report: do the training poses reach every joint's range? And what do they look like?

``python -m model.data.coverage --out benchmarks/data/pose_coverage [--samples 20000] [--per-family 6]``

Draws ``--samples`` poses from the training pose prior (:class:`model.data.poses.PosePrior`, default
mix, fixed seed) and writes to ``--out``:

* ``coverage.png``: for every joint and each of its three angles (convention of
  :mod:`model.data.pose_angles`), the histogram of the sampled angles with the joint's limits as
  vertical lines;
* ``COVERAGE.md`` / ``coverage.json``: per joint and angle the limits, the sampled range, and the
  share of 5-degree bins inside the limits that the samples reach; a joint angle counts as
  *reached* when samples come within 5 degrees of both limits and fill at least 95 % of the bins;
  plus the family frequencies and the rejection rate of the self-penetration check;
* ``montage.png``: ``--per-family`` sampled poses of every family (held-out ones included,
  marked), rendered as grey meshes seen from the front-left and slightly above.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from model.body import load_body_model
from model.body.joint_names import SMPL_JOINT_NAMES
from model.data.framing import camera_root_rotation, frame_person
from model.data.pose_angles import limit_box, pose_to_euler
from model.data.poses import FAMILIES, HELD_OUT_FAMILIES, PosePrior, PosePriorConfig
from model.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from model.render import Lights, MeshRenderer, PerspectiveCameras

SEED = 20_261_205
BIN_DEG = 5.0
AXES = ("x", "y", "z")


def sample_training_poses(samples: int, config: PosePriorConfig = PosePriorConfig(), chunk: int = 1000) -> tuple[Tensor, Tensor]:
    """``(N, 24, 3)`` axis-angle poses and ``(N,)`` families from the prior, in chunks (with a progress bar)."""
    prior = PosePrior(config)
    gen = torch.Generator().manual_seed(SEED)
    poses, families = [], []
    for start in tqdm(range(0, samples, chunk), desc="sampling poses", unit="chunk"):
        s = prior.sample(min(chunk, samples - start), gen)
        poses.append(s.pose)
        families.append(s.family)
    return torch.cat(poses), torch.cat(families)


def coverage_table(euler_deg: np.ndarray, bin_deg: float = BIN_DEG) -> list[dict[str, float | str | bool]]:
    """Per joint (1..23) and axis: limits, sampled range, bin coverage and whether the range is reached.

    Args:
        euler_deg: ``(N, 24, 3)`` joint angles in degrees (module convention).
    """
    lo, hi = (t.numpy() * 180.0 / math.pi for t in limit_box())
    # pose_to_euler returns z in [-90, 90]: a shoulder abducted past 90 degrees is the other Euler
    # solution (x and y turned by 180 degrees), so the z limits are read within that interval
    lo[:, 2], hi[:, 2] = np.maximum(lo[:, 2], -90.0), np.minimum(hi[:, 2], 90.0)
    rows: list[dict[str, float | str | bool]] = []
    for j in range(1, 24):
        for k, axis in enumerate(AXES):
            a, b = float(lo[j, k]), float(hi[j, k])
            v = euler_deg[:, j, k]
            edges = np.arange(a, b + 1e-6, bin_deg)
            if edges[-1] < b - 1e-6:
                edges = np.append(edges, b)
            if len(edges) < 2:
                edges = np.array([a, b])
            counts, _ = np.histogram(v, bins=edges)
            filled = float((counts > 0).mean())
            vmin, vmax = float(v.min()), float(v.max())
            reached = bool(vmin <= a + bin_deg and vmax >= b - bin_deg and filled >= 0.95)
            rows.append({
                "joint": SMPL_JOINT_NAMES[j], "axis": axis, "limit_lo": a, "limit_hi": b,
                "min": vmin, "max": vmax, "p01": float(np.percentile(v, 1)), "p99": float(np.percentile(v, 99)),
                "bins_filled": filled, "reached": reached,
            })  # fmt: skip
    return rows


def _plot_histograms(euler_deg: np.ndarray, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = (t.numpy() * 180.0 / math.pi for t in limit_box())
    lo[:, 2], hi[:, 2] = np.maximum(lo[:, 2], -90.0), np.minimum(hi[:, 2], 90.0)
    fig, axes = plt.subplots(23, 3, figsize=(9, 34), dpi=80)
    for j in range(1, 24):
        for k in range(3):
            ax = axes[j - 1, k]
            a, b = lo[j, k], hi[j, k]
            ax.hist(euler_deg[:, j, k], bins=np.linspace(a - 10, b + 10, 60), color="tab:gray")
            ax.axvline(a, color="tab:red", lw=1)
            ax.axvline(b, color="tab:red", lw=1)
            ax.set_yticks([])
            ax.tick_params(labelsize=6)
            ax.set_title(f"{SMPL_JOINT_NAMES[j]} {AXES[k]}", fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def render_montage(per_family: int, out: Path, size: int = 160) -> None:
    """Render ``per_family`` poses of every family as grey meshes into one PNG grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    body = load_body_model()
    renderer = MeshRenderer()
    fig, axes = plt.subplots(len(FAMILIES), per_family, figsize=(1.3 * per_family, 1.45 * len(FAMILIES)), dpi=90, squeeze=False)
    for row, family in enumerate(tqdm(FAMILIES, desc="montage", unit="family")):
        prior = PosePrior(PosePriorConfig(family_weights={family: 1.0}))
        pose = prior.sample(per_family, torch.Generator().manual_seed(SEED + row)).pose
        n = pose.shape[0]
        view = camera_root_rotation(torch.full((n,), math.radians(-25.0)), torch.full((n,), math.radians(12.0)))
        pose = pose.clone()
        pose[:, 0] = matrix_to_axis_angle(view @ axis_angle_to_matrix(pose[:, 0]))
        with torch.no_grad():
            verts = body(torch.zeros(n, 10), pose).vertices
            focal = torch.full((n,), 4.0 * size)
            t = frame_person(verts, focal, size, torch.full((n,), 1.15), torch.zeros(n, 2))
            cams = PerspectiveCameras(focal=focal[:, None].expand(n, 2).contiguous(), principal=torch.full((n, 2), size / 2.0), image_size=(size, size))
            colours = torch.full((1, verts.shape[1], 3), 0.75)
            lights = Lights(ambient=torch.full((1, 3), 0.45), diffuse=torch.full((1, 3), 0.6), direction=torch.tensor([[0.3, 0.5, 0.8]]))
            image = renderer.render(verts + t[:, None], body.faces, cams, vertex_colors=colours, lights=lights, background=torch.ones(n, 3, size, size)).image
        for col in range(per_family):
            ax = axes[row, col]
            ax.imshow(image[col].clamp(0, 1).permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                label = family + (" (held out)" if family in HELD_OUT_FAMILIES else "")
                ax.set_ylabel(label, fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _markdown(rows: list[dict[str, float | str | bool]], families: Tensor, rejected: float, samples: int) -> str:
    reached = sum(bool(r["reached"]) for r in rows)
    lines = [
        "# Pose coverage of the training prior",
        "",
        f"`python -m model.data.coverage --samples {samples}`: {samples} poses of the default training mix "
        f"(seed {SEED}). A joint angle is *reached* when samples come within {BIN_DEG:.0f} degrees of both limits and "
        f"fill at least 95 % of the {BIN_DEG:.0f}-degree bins between them (angles as `pose_to_euler` reads them: z within "
        "+-90 degrees, a shoulder raised past 90 degrees sideways is the other Euler solution). Histograms: `coverage.png`; "
        "poses: `montage.png`.",
        "",
        f"**{reached} of {len(rows)} joint angles reached.** Self-penetrating draws rejected and redrawn: "
        f"{100.0 * rejected:.1f} % of first draws.",
        "",
        "| family | share |",
        "|---|---|",
    ]
    counts = torch.bincount(families, minlength=len(FAMILIES)).float() / families.numel()
    for f, c in zip(FAMILIES, counts.tolist(), strict=True):
        lines.append(f"| {f}{' (held out)' if f in HELD_OUT_FAMILIES else ''} | {100 * c:.1f} % |")
    lines += ["", "| joint | angle | limits (deg) | sampled min .. max | 1-99 % | bins filled | reached |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['joint']} | {r['axis']} | {r['limit_lo']:.0f} .. {r['limit_hi']:.0f} | {r['min']:.1f} .. {r['max']:.1f} "
            f"| {r['p01']:.1f} .. {r['p99']:.1f} | {100 * float(r['bins_filled']):.0f} % | {'yes' if r['reached'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def rejection_rate(samples: int = 2000) -> float:
    """Share of first draws of the training mix that the self-penetration check rejects."""
    prior = PosePrior(PosePriorConfig(penetration_check=False))
    gen = torch.Generator().manual_seed(SEED + 1)
    euler, _, _ = prior.sample_euler(samples, gen)
    return float(PosePrior()._penetrating(euler).float().mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.data.coverage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/pose_coverage"), help="output folder")
    parser.add_argument("--samples", type=int, default=20000, help="poses drawn for the histograms")
    parser.add_argument("--per-family", type=int, default=6, help="poses per family in the montage (0: no montage)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    pose, families = sample_training_poses(args.samples)
    euler = pose_to_euler(pose.double()).numpy() * 180.0 / math.pi
    rows = coverage_table(euler)
    rejected = rejection_rate()
    _plot_histograms(euler, args.out / "coverage.png")
    (args.out / "COVERAGE.md").write_text(_markdown(rows, families, rejected, args.samples))
    (args.out / "coverage.json").write_text(json.dumps({"samples": args.samples, "seed": SEED, "rejected_first_draws": rejected, "rows": rows}, indent=1))
    if args.per_family > 0:
        render_montage(args.per_family, args.out / "montage.png")
    reached = sum(bool(r["reached"]) for r in rows)
    print(f"{reached}/{len(rows)} joint angles reached; wrote {args.out}")


if __name__ == "__main__":
    main()

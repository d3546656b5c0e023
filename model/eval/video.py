"""``python -m model.eval.video``: single-frame vs video model on held-out low-resolution clips (paper Table 3).

>>> python -m model.eval.video --video-checkpoint checkpoints/video-cpu/model.pt \\
...     --resolutions 32,52 --clips 100 --out checkpoints/video-cpu/eval

The test clips are synthetic CCTV sequences (:mod:`model.data.sequences`) of people drawn from
:data:`VIDEO_TEST_SEED`, a seed no training config uses; every clip is degraded to exactly each
evaluated person size (realistic mode: per-frame noise, blur and JPEG draws, seeded) and
brought back to the network input. Both models see the same frozen backbone features: the
single-frame model is the backbone's own regressor, the video model the temporal module.

Metrics on LSP-14 joints, pelvis-centred (mean of the hips), millimetres: MPJPE, PA-MPJPE (per
frame, then averaged), ACC (mean acceleration of the prediction, mm/frame^2) and ACC-ERR (VIBE:
mean norm of the difference of predicted and true second differences). Writes ``video_eval.md``
(table), ``video_eval.json`` and ``video_trajectory.png`` (one joint of one clip over time:
ground truth, single-frame, video).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from model.body.joint_names import HIPS, LSP14_NAMES
from model.data.degrade import DegradeConfig
from model.data.video_features import build_feature_cache
from model.eval.metrics import (
    acceleration,
    acceleration_error,
    mpjpe,
    pa_mpjpe,
    pelvis_center,
)
from model.inference.sequence import SequencePredictor
from model.runtime import atomic_save

__all__ = ["VIDEO_TEST_SEED", "evaluate_video", "main"]

#: Seed of the evaluation people and clips (training configs use 0 by default).
VIDEO_TEST_SEED = 31_337
DEFAULT_RESOLUTIONS = (32, 52)


@dataclass(frozen=True)
class ModelErrors:
    """Errors of one model at one resolution (mm; ACC in mm/frame^2)."""

    mpjpe: float
    pa_mpjpe: float
    acc: float
    acc_err: float

    def to_dict(self) -> dict[str, float]:
        return {"mpjpe": self.mpjpe, "pa_mpjpe": self.pa_mpjpe, "acc": self.acc, "acc_err": self.acc_err}


def sequence_errors(pred: Tensor, gt: Tensor) -> ModelErrors:
    """Errors of ``(N, T, 14, 3)`` LSP-14 trajectories (metres) against the ground truth."""
    hips = HIPS["lsp14"]
    n, t = pred.shape[:2]
    p = pelvis_center(pred.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
    g = pelvis_center(gt.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
    return ModelErrors(
        mpjpe=float(mpjpe(p.reshape(n * t, 14, 3), g.reshape(n * t, 14, 3)).mean()),
        pa_mpjpe=float(pa_mpjpe(pred.reshape(n * t, 14, 3), gt.reshape(n * t, 14, 3)).mean()),
        acc=float(torch.stack([acceleration(p[i]).mean() for i in range(n)]).mean()),
        acc_err=float(torch.stack([acceleration_error(p[i], g[i]).mean() for i in range(n)]).mean()),
    )


@torch.inference_mode()
def predict_lsp14(seq: SequencePredictor, phi: Tensor, temporal: bool) -> Tensor:
    """``(N, T, C)`` features -> ``(N, T, 14, 3)`` LSP-14 joints of the single-frame or video model."""
    n, t = phi.shape[:2]
    out = seq.predict_features(phi, temporal=temporal)
    return out.lsp14.reshape(n, t, 14, 3).cpu()


def evaluate_video(seq: SequencePredictor, data: dict[str, Tensor], resolutions: list[int]) -> dict[int, dict[str, ModelErrors]]:
    """``{resolution: {"single-frame": errors, "video": errors}}`` on a feature cache."""
    results: dict[int, dict[str, ModelErrors]] = {}
    gt = data["joints3d_lsp14"]
    for k, res in enumerate(resolutions):
        phi = data["phi"][:, k].float()
        results[res] = {
            "single-frame": sequence_errors(predict_lsp14(seq, phi, temporal=False), gt),
            "video": sequence_errors(predict_lsp14(seq, phi, temporal=True), gt),
        }
    return results


def markdown_table(results: dict[int, dict[str, ModelErrors]], title: str) -> str:
    lines = [f"### {title}", "", "| person size | model | MPJPE (mm) | PA-MPJPE (mm) | ACC (mm/f²) | ACC-ERR (mm/f²) |", "|---|---|---|---|---|---|"]
    for res, models in results.items():
        for name, e in models.items():
            lines.append(f"| {res} px | {name} | {e.mpjpe:.1f} | {e.pa_mpjpe:.1f} | {e.acc:.1f} | {e.acc_err:.1f} |")
        single, video = models["single-frame"], models["video"]
        lines.append(
            f"| {res} px | video vs single | {100 * (video.mpjpe / single.mpjpe - 1):+.1f} % | "
            f"{100 * (video.pa_mpjpe / single.pa_mpjpe - 1):+.1f} % | {100 * (video.acc / single.acc - 1):+.1f} % | "
            f"{100 * (video.acc_err / single.acc_err - 1):+.1f} % |"
        )
    return "\n".join(lines) + "\n"


def plot_trajectory(
    seq: SequencePredictor, data: dict[str, Tensor], res_index: int, resolution: int, path: Path, clip: int | None = None, joint: str = "right_ankle"
) -> None:
    """Plot one joint of one clip over time; ``clip=None`` picks the clip where that joint moves most."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    j = LSP14_NAMES.index(joint)
    hips = HIPS["lsp14"]
    if clip is None:
        gt_all = data["joints3d_lsp14"]
        n, t = gt_all.shape[:2]
        centred_all = pelvis_center(gt_all.reshape(n * t, 14, 3), *hips).reshape(n, t, 14, 3)
        clip = int(centred_all[:, :, j].std(dim=1).norm(dim=-1).argmax())
    phi = data["phi"][clip : clip + 1, res_index].float()
    gt = data["joints3d_lsp14"][clip]
    curves = {
        "ground truth": gt,
        "single-frame": predict_lsp14(seq, phi, temporal=False)[0],
        "video (GRU)": predict_lsp14(seq, phi, temporal=True)[0],
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, joints in curves.items():
        centred = pelvis_center(joints, *hips) * 1000.0
        for ax, axis, label in ((axes[0], 0, "x"), (axes[1], 1, "y")):
            ax.plot(centred[:, j, axis].numpy(), label=name, lw=1.5 if name != "ground truth" else 2.5)
            ax.set_xlabel("frame")
            ax.set_ylabel(f"{joint} {label} (mm, pelvis-centred)")
    axes[0].legend()
    fig.suptitle(f"{joint} trajectory, clip {clip}, {resolution}-px person")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.video", description="Single-frame vs video model on held-out synthetic low-resolution clips.")
    parser.add_argument("--video-checkpoint", required=True, help="video model checkpoint (kind: video)")
    parser.add_argument("--backbone", default=None, help="single-frame checkpoint (default: the one the video model names)")
    parser.add_argument("--resolutions", default=",".join(map(str, DEFAULT_RESOLUTIONS)), help="person sizes in pixels, comma-separated")
    parser.add_argument("--clips", type=int, default=100, help="test clips")
    parser.add_argument("--frames", type=int, default=48, help="frames per test clip")
    parser.add_argument("--out", default="reports/video", help="folder for the table, JSON and plot")
    parser.add_argument("--cache", default=None, help="feature cache file (reused when it matches)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    seq = SequencePredictor.from_checkpoint(args.video_checkpoint, backbone=args.backbone, device=args.device)
    sizes = torch.tensor(resolutions).expand(args.clips, -1)
    key = {"backbone": seq.backbone.checkpoint_id, "clips": args.clips, "frames": args.frames, "resolutions": resolutions, "seed": VIDEO_TEST_SEED}
    cache = Path(args.cache) if args.cache else None
    data = None
    if cache is not None and cache.is_file():
        data = torch.load(cache, map_location="cpu", weights_only=True)
        if data.get("key") != json.dumps(key, sort_keys=True):
            data = None
    if data is None:
        data = build_feature_cache(seq.backbone, VIDEO_TEST_SEED, args.clips, 0, args.frames, sizes, DegradeConfig(mode="realistic"), box_jitter=0.02, desc="video test features")
        data["key"] = json.dumps(key, sort_keys=True)
        if cache is not None:
            atomic_save(data, cache)
    results = evaluate_video(seq, data, resolutions)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    title = f"Held-out synthetic CCTV clips ({args.clips} x {args.frames} frames, realistic degradation), LSP-14 joints"
    table = markdown_table(results, title)
    (out / "video_eval.md").write_text(table)
    plain = {str(r): {m: e.to_dict() for m, e in models.items()} for r, models in results.items()}
    (out / "video_eval.json").write_text(json.dumps(plain, indent=2))
    plot_trajectory(seq, data, 0, resolutions[0], out / "video_trajectory.png")
    print(json.dumps(plain, indent=2) if args.json else table)


if __name__ == "__main__":
    main()

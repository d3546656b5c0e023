"""Equal-budget learning-speed runs: which architecture or loss learns people fastest from scratch.

``python -m benchmarks.train.learning_speed --variant off:camera --variant off:body --variant aux:camera``

Each variant (``<keypoint_head>:<joints3d_frame>``, see :class:`~model.nets.config.NetConfig` and
:class:`~model.losses.basic.BasicLossConfig`) trains the same network from scratch with the same
budget: ``--steps`` steps of ``--batch`` crops on both threads, clean full-resolution crops only
(one resolution per scene, no SS/CL: the question is what the backbone and regressor learn), on
the first ``--subset`` scenes of the shards (``--shards``). Every ``--every`` steps it reports
PA-MPJPE (mm, LSP-14, eval mode) on 256 of the subset's scenes (``fit``) and on 256 scenes of the
shards' second half (``held_out``); the constant mean-parameters answer scores about 171 mm on both.
Beside it, the heading error (degrees, :mod:`model.geometry.heading`): can the network learn which
way the people it sees face? And the share of people answered closer to the truth's mirror twin
(left and right swapped, facing turned; ~50 % for a network that does not read limbs). ``--orient-weight`` sets the root-rotation term (the long run's: 1).
In 2D (people wholly in the crop): the projected keypoints' error (fraction of the crop side) and the share closer
to the left/right-swapped labels, and the same for the keypoint head's own answer (``--head-stride 8|4``,
``--head-loss coordinates|heatmap``: the stride-8 soft-argmax head or the stride-4 heatmap head, supervised
through its coordinates or its maps).
With a part head (``net.part_head=true`` in a variant, on shards rendered with ``--part-maps``): which part the head
says shows in the body's cells, whatever the side (``part``), the side right (``front/back``) and the left/right label
right (``left/right``), scored as :mod:`benchmarks.train.part_probe` scores them -- can sides be learnt from these
pictures at all, from scratch?
``--init`` starts from a trained checkpoint instead (can it still fit what it sees?), ``--lr`` sets the rate.
A variant may carry its own settings over the benchmark's (``--variant "off:body net.pooling=flatten
optim.lr=1e-4"``: any key of the training config, values read as YAML). Beside the evaluations, each
chunk reports the mean unweighted training-loss terms of its steps (2D keypoints, 3D joints, root rotation,
pose; the trainer's own log, train mode, on the augmented batches): the most sensitive sign of how fast a
variant learns, before the eval-mode scores separate.
Writes a Markdown table and a JSON file (``--out``, default ``benchmarks/train/LEARNING_SPEED.md``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from tqdm import tqdm

from benchmarks.report import publish, run_meta
from benchmarks.train.part_probe import scores as part_scores
from model.body.joint_names import COCO17_FLIP_PERMUTATION, LSP14_FLIP_PERMUTATION
from model.data.degrade import bicubic_resize
from model.data.shards import ShardDataset
from model.eval.metrics import mirror_twin, pa_mpjpe
from model.geometry.camera import crop_camera
from model.geometry.heading import heading_angle, heading_error_deg, heading_weight
from model.geometry.rotations import axis_angle_to_matrix
from model.losses.parts import part_targets
from model.train.config import load_config, merge_overrides
from model.train.trainer import Trainer

DEFAULT_OUT = Path(__file__).resolve().parent / "LEARNING_SPEED.md"
BASE_CONFIG = "configs/train/cpu.yaml"


def _probe(data: ShardDataset, ids: list[int], size: int) -> dict[str, torch.Tensor]:
    """Clean crops at the network's size, their LSP-14 joints, true root rotations and COCO-17 keypoints
    (``kp2d (N, 17, 2)`` as a fraction of the crop side; ``whole (N,)``: all 17 in the crop), and their part maps
    (``parts (N, 1, S, S)``) when the shards hold them."""
    samples = [data.clean(i) for i in ids]
    images = torch.stack([s["image"] for s in samples])
    crop = images.shape[-1]
    kp = torch.stack([s["keypoints2d_coco17"] for s in samples]).float()[..., :2] / crop
    parts = {"parts": torch.stack([s["parts"] for s in samples]).reshape(len(samples), 1, crop, crop)} if "parts" in samples[0] else {}
    return {**parts,
        "images": bicubic_resize(images, (size, size)).clamp(0, 1),
        "joints": torch.stack([s["joints3d_lsp14"] for s in samples]).float()[..., :3],
        "roots": axis_angle_to_matrix(torch.stack([s["pose"][0] for s in samples]).float()),
        "kp2d": kp,
        "whole": ((kp >= 0) & (kp < 1)).all(-1).all(-1),
    }


def _twin_share(pred: torch.Tensor, truth: torch.Tensor, swapped: torch.Tensor) -> tuple[float, float]:
    """Mean distance of 2D keypoints ``(N, 17, 2)`` to the truth, and the share closer to the swapped labels."""
    err = (pred - truth).norm(dim=-1).mean(-1)
    err_swapped = (pred - swapped).norm(dim=-1).mean(-1)
    return round(float(err.mean()), 4), round(float((err_swapped < err).float().mean()), 3)


def parse_variant(variant: str) -> tuple[str, str, dict[str, Any]]:
    """``"<head>:<frame>[ key.path=value ...]"`` -> ``(head, frame, nested overrides)``; each value is
    read as YAML (``net.pooling=flatten``, ``optim.lr=1e-3``, ``loss.basic.pose_weight=0``).

    Raises:
        ValueError: a malformed variant or setting."""
    first, *settings = variant.split()
    head, _, frame = first.partition(":")
    if head not in ("off", "aux", "feed") or frame not in ("camera", "body"):
        raise ValueError(f"a variant starts with <off|aux|feed>:<camera|body>, got {first!r}")
    overrides: dict[str, Any] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ValueError(f"a variant's setting is key.path=value, got {item!r}")
        node = overrides
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r} sets below a value set earlier in {variant!r}")
        node[leaf] = _setting_value(value)
    return head, frame, overrides


def _setting_value(text: str) -> Any:
    """A setting's value as YAML reads it, except that numbers YAML 1.1 leaves as text (``1e-3``) are numbers."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


#: Steps between the trainer's log lines, which :func:`training_losses` averages.
LOSS_LOG_EVERY = 25
#: Terms of the basic loss reported as training losses (unweighted), and their column labels.
LOSS_TERMS = {"basic/keypoints2d": "2D", "basic/joints3d": "3D joints", "basic/global_orient": "root", "basic/pose": "pose"}
#: Rows of :func:`benchmarks.train.part_probe.scores` reported for a part head: what the outline gives, and the side
#: and left/right labels only the inside of the figure gives (chance: 50 %).
PART_ROWS = ("part", "front/back", "left/right")


def training_losses(log: Path, after: int, upto: int) -> dict[str, float]:
    """Mean unweighted training-loss terms (:data:`LOSS_TERMS`) over the log lines of steps ``after < step <=
    upto``, keyed ``train_<term>`` (e.g. ``train_keypoints2d``); the training batches' own error, in train
    mode, before any evaluation. Empty when the log has no such lines."""
    if not log.is_file():
        return {}
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    lines = [r for r in lines if after < r.get("step", -1) <= upto]
    out = {}
    for key in LOSS_TERMS:
        values = [float(r[key]) for r in lines if key in r]
        if values:
            out["train_" + key.split("/")[1]] = round(sum(values) / len(values), 4)
    return out


def run_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one variant and return its learning curve."""
    head, frame, settings = parse_variant(variant)
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {
            "init": {"checkpoint": str(args.init) if args.init else None},
            "net": {"keypoint_head": head, "keypoint_head_stride": args.head_stride},
            "data": {"source": "shards", "shards": str(args.shards), "crop_size": 128},
            "resolution": {"per_sample": 1},
            "loss": {"self_supervision_weight": 0.0, "contrastive_weight": 0.0, "pose_prior_weight": 0.0,
                     "keypoint_head_weight": args.keypoint_weight if head != "off" else 0.0,
                     "keypoint_head_loss": args.head_loss, "keypoint_heatmap_sigma": args.sigma,
                     "basic": {"joints3d_frame": frame, "global_orient_weight": args.orient_weight}},
            "optim": {"lr": args.lr, "batch_size": args.batch, "warmup_steps": 20, "schedule": "constant"},
            "stages": [{"ranges": [0], "steps": 10**6}],
            "runtime": {"threads": args.threads, "workers": 0, "precision": "auto", "out_dir": tmp, "log_every": LOSS_LOG_EVERY, "checkpoint_every": 10**9,
                        "resume_file": None, "seed": args.seed},
        }
        cfg = load_config(BASE_CONFIG, merge_overrides(overrides, settings))
        trainer = Trainer(cfg, device="cpu", show_progress=False)
        trainer.dataset = ShardDataset(args.shards, trainer.dataset.transform.config, limit=args.subset)
        every_probe = ShardDataset(args.shards)
        half = len(every_probe) // 2
        fit = _probe(every_probe, list(range(0, args.subset, max(1, args.subset // 256)))[:256], cfg.net.input_size)
        held = _probe(every_probe, list(range(half, len(every_probe), max(1, half // 256)))[:256], cfg.net.input_size)

        def score(data: dict[str, torch.Tensor]) -> dict[str, float]:
            """PA-MPJPE (mm), mean heading error (degrees, people with a heading), the share of people
            answered closer to the truth's mirror twin (:func:`~model.eval.metrics.mirror_twin`), and in 2D
            (people wholly in the crop, fraction of the crop side) the projected keypoints' error and share
            closer to the left/right-swapped labels, and the keypoint head's when there is one."""
            images, gt, roots = data["images"], data["joints"], data["roots"]
            trainer.net.eval()
            with torch.no_grad():
                out = trainer.net(images, torch.zeros(len(images), dtype=torch.long))
                posed = trainer.body.keypoints_only(out.betas, out.pose_rotmat)
            trainer.net.train()
            joints = posed.keypoints("lsp14")
            gap = heading_error_deg(heading_angle(out.pose_rotmat[:, 0].float()), heading_angle(roots))
            scored = heading_weight(roots) > 0.5
            pa = pa_mpjpe(joints, gt)
            twin = pa_mpjpe(joints, mirror_twin(gt, LSP14_FLIP_PERMUTATION))
            size = images.shape[-1]
            whole = data["whole"]
            truth2d = data["kp2d"][whole]
            swapped2d = truth2d[:, list(COCO17_FLIP_PERMUTATION)]
            _, projected = crop_camera(out.camera.float(), size, posed.keypoints("coco17").float())
            row = {"pa": round(float(pa.mean()), 1), "heading": round(float(gap[scored].mean()), 1),
                   "twin": round(float((twin < pa).float().mean()), 3)}
            row["kp2d"], row["kp2d_swapped"] = _twin_share(projected[whole] / size, truth2d, swapped2d)
            if out.keypoints2d is not None:
                row["head2d"], row["head2d_swapped"] = _twin_share((out.keypoints2d[whole] + 1) / 2, truth2d, swapped2d)
            if out.part_logits is not None and "parts" in data:
                logits = out.part_logits.float()
                shares = part_scores(logits[:, 1:].argmax(1) + 1, part_targets(data["parts"], tuple(logits.shape[-2:])))
                row.update({f"parts_{k}": round(shares[k], 3) for k in PART_ROWS})
            return row

        rows, t0 = [], time.perf_counter()
        for _ in tqdm(range(args.steps // args.every), desc=variant, unit="chunk"):
            trainer.max_steps = args.every
            first = trainer.step
            trainer.train()
            f, h = score(fit), score(held)
            row = {"step": trainer.step, "fit": f.pop("pa"), "held_out": h.pop("pa")}
            row.update({f"fit_{k}": v for k, v in f.items()})
            row.update({f"held_out_{k}": v for k, v in h.items()})
            row.update(training_losses(Path(tmp) / "log.jsonl", first, trainer.step))
            rows.append({**row, "seconds": round(time.perf_counter() - t0)})
    return {"variant": variant, "rows": rows}


def render(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    steps = [r["step"] for r in results[0]["rows"]]
    lines = [
        "# Learning speed " + (f"from `{meta['init']}`" if meta.get("init") else "from scratch") + ", equal budgets",
        "",
        f"`{meta['command']}`",
        "",
        f"{meta['cpu']}, {meta['threads']} threads, {meta['date']}. Subset {meta['subset']} scenes, batch {meta['batch']}, "
        f"Adam {meta.get('lr', 5.0e-4):g} (constant), "
        + (f"keypoint head: stride {meta['head_stride']}, {meta['head_loss']} loss, weight {meta['keypoint_weight']:g}; "
           if "head_stride" in meta and any(not r["variant"].startswith("off:") for r in results) else "")
        + f"clean full-resolution crops, root-rotation weight {meta.get('orient_weight', 0.0):g}; PA-MPJPE (mm) fit / held out"
        " (mean answer: ~171), and the heading error (degrees, people whose forward axis is within 60 degrees of the"
        " horizontal; a constant answer: ~90) fit / held out, and (when measured) the share answered closer to the mirror twin of the truth (hedging: ~50 %).",
        "",
        "| variant (keypoint head : 3D joint frame) | " + " | ".join(f"step {s}" for s in steps) + " | seconds |",
        "|---|" + "---|" * (len(steps) + 1),
    ]
    for r in results:
        cells = [f"{row['fit']:.1f} / {row['held_out']:.1f}" for row in r["rows"]]
        lines.append(f"| {r['variant']} PA-MPJPE | " + " | ".join(cells) + f" | {r['rows'][-1]['seconds']} |")
        if "fit_heading" in r["rows"][0]:
            cells = [f"{row['fit_heading']:.1f} / {row['held_out_heading']:.1f}" for row in r["rows"]]
            lines.append(f"| {r['variant']} heading | " + " | ".join(cells) + " | |")
        if "fit_twin" in r["rows"][0]:
            cells = [f"{100 * row['fit_twin']:.0f} / {100 * row['held_out_twin']:.0f} %" for row in r["rows"]]
            lines.append(f"| {r['variant']} closer to the mirror twin | " + " | ".join(cells) + " | |")
        terms = [t for t in LOSS_TERMS if f"train_{t.split('/')[1]}" in r["rows"][0]]
        if terms:
            cells = [" / ".join(f"{row.get('train_' + t.split('/')[1], float('nan')):.3f}" for t in terms) for row in r["rows"]]
            label = " / ".join(LOSS_TERMS[t] for t in terms)
            lines.append(f"| {r['variant']} training loss over the chunk ({label}) | " + " | ".join(cells) + " | |")
        for key, label in (("kp2d", "projected 2D"), ("head2d", "head 2D")):
            if f"fit_{key}" in r["rows"][0]:
                cells = [f"{row[f'fit_{key}']:.3f} / {row[f'held_out_{key}']:.3f}" for row in r["rows"]]
                lines.append(f"| {r['variant']} {label} (fraction of the crop) | " + " | ".join(cells) + " | |")
                cells = [f"{100 * row[f'fit_{key}_swapped']:.0f} / {100 * row[f'held_out_{key}_swapped']:.0f} %" for row in r["rows"]]
                lines.append(f"| {r['variant']} {label} closer to L/R-swapped labels | " + " | ".join(cells) + " | |")
        for key in PART_ROWS:
            if f"fit_parts_{key}" in r["rows"][0]:
                cells = [f"{100 * row[f'fit_parts_{key}']:.0f} / {100 * row[f'held_out_parts_{key}']:.0f} %" for row in r["rows"]]
                lines.append(f"| {r['variant']} part head: {key} right | " + " | ".join(cells) + " | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.learning_speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", required=True,
                        help="'<off|aux|feed>:<camera|body>[ key.path=value ...]' (settings over the benchmark's own, e.g."
                             " 'off:body net.pooling=flatten'), repeatable")
    parser.add_argument("--shards", type=Path, default=Path("data/shards/train-300k"))
    parser.add_argument("--subset", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keypoint-weight", type=float, default=5.0, help="loss.keypoint_head_weight of head variants")
    parser.add_argument("--head-stride", type=int, choices=(8, 4), default=8, help="net.keypoint_head_stride of head variants")
    parser.add_argument("--head-loss", choices=("coordinates", "heatmap"), default="coordinates", help="loss.keypoint_head_loss of head variants")
    parser.add_argument("--sigma", type=float, default=1.0, help="loss.keypoint_heatmap_sigma (map cells) with --head-loss heatmap")
    parser.add_argument("--orient-weight", type=float, default=0.0, help="loss.basic.global_orient_weight (the long run's: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this checkpoint (strict; its network must be the base config's) instead of from scratch")
    parser.add_argument("--lr", type=float, default=5.0e-4, help="Adam's rate, constant after a 20-step warm-up (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for v in args.variant:
        try:
            parse_variant(v)
        except ValueError as exc:
            parser.error(f"--variant: {exc}")
    torch.set_num_threads(args.threads)
    results = [run_variant(v, args) for v in args.variant]
    meta = run_meta("benchmarks.train.learning_speed", argv, threads=args.threads, subset=args.subset, batch=args.batch,
                    orient_weight=args.orient_weight, lr=args.lr, head_stride=args.head_stride, head_loss=args.head_loss,
                    keypoint_weight=args.keypoint_weight, init=str(args.init) if args.init else None)
    publish(args.out, render(results, meta), {"meta": meta, "results": results})


if __name__ == "__main__":
    main()

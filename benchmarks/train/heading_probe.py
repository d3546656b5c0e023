"""Does a network's feature know which way a person faces? A probe on its frozen pooled features.

``python -m benchmarks.train.heading_probe --checkpoint C --shards data/shards/train-300k-380k [--samples 40000]``

Pooled features ``phi`` of ``--samples`` scenes of ``--shards`` (degraded like training: the
config's resolution ranges and degradations, partial views included) are extracted with the frozen
network; a linear classifier and a two-layer MLP over 12 heading bins (:mod:`model.geometry.heading`)
are trained on 90 % of them (cross-entropy, AdamW, 30 epochs) and scored on the other 10 % and on the
checks' test sets at 32 px (``data/eval/checks/{own,poses,appearance}-400.pt``, built by
``python -m model.eval.checks``), beside the heading the network's own regressor answers. Mean and
median heading error in degrees and the share more than 90 degrees off, over every person (a probe
that finds more heading than the regressor answers means a head on the frozen network could add it).
Writes a Markdown table and a JSON file beside it (``--out``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from benchmarks.report import write_report
from model.data.dataset import ResolutionConfig
from model.data.degrade import bicubic_resize
from model.data.shards import ShardDataset
from model.geometry.heading import heading_angle, heading_bin, heading_error_deg, heading_from_logits
from model.geometry.rotations import axis_angle_to_matrix
from model.inference import Predictor
from model.runtime import cpu_name
from model.train.config import load_config

BINS = 12
CHECK_SETS = ("own", "poses", "appearance")


def _errors(pred: Tensor, true: Tensor) -> dict[str, float]:
    err = heading_error_deg(pred, true)
    return {"mean": float(err.mean()), "median": float(err.median()), "wrong_way": float((err > 90).float().mean())}


def extract(predictor: Predictor, shards: Path, config: str, samples: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """``phi (N, C)``, the regressor's headings ``(N,)`` and the true headings ``(N,)`` of ``samples`` degraded scenes."""
    cfg = load_config(config)
    res = ResolutionConfig(ranges=cfg.resolution.ranges, out_size=predictor.input_size, per_sample=1,
                           degrade=cfg.resolution.degrade, partial_view=cfg.data.partial_view)
    data = ShardDataset(shards, res)
    ids = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[: min(samples, len(data))].tolist()
    phis, answered, true = [], [], []
    for start in tqdm(range(0, len(ids), 64), desc="features", unit="batch"):
        batch = [data[i] for i in ids[start : start + 64]]
        out = predictor.predict_tensor(torch.stack([s["images"][0] for s in batch]), torch.stack([s["range_index"][0] for s in batch]))
        phis.append(out.phi.float().cpu())
        answered.append(heading_angle(out.pose_rotmat[:, 0].float().cpu()))
        true.append(heading_angle(axis_angle_to_matrix(torch.stack([s["pose"][0] for s in batch]).float())))
    return torch.cat(phis), torch.cat(answered), torch.cat(true)


def train_probe(probe: nn.Module, x: Tensor, target: Tensor, epochs: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(probe.parameters(), 1e-3, weight_decay=1e-3)
    for _ in range(epochs):
        probe.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), 256):
            i = order[start : start + 256]
            loss = F.cross_entropy(probe(x[i]), target[i], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return probe.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.heading_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--shards", type=Path, required=True, help="scenes the network has not trained on")
    parser.add_argument("--config", default="configs/train/long/cpu.yaml", help="training config whose degradations the features see")
    parser.add_argument("--samples", type=int, default=40000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--checks", type=Path, default=Path("data/eval/checks"), help="folder of the checks' cached test sets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/train/HEADING_PROBE.md"))
    args = parser.parse_args(argv)
    if args.samples < 20:
        parser.error("--samples must be >= 20")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    predictor = Predictor.from_checkpoint(args.checkpoint, device="cpu")
    phi, answered, true = extract(predictor, args.shards, args.config, args.samples, args.seed)
    mu, sd = phi.mean(0), phi.std(0) + 1e-6
    x, labels = (phi - mu) / sd, heading_bin(true, BINS)
    n_fit = int(0.9 * len(x))
    c = x.shape[1]
    probes = {
        "linear": train_probe(nn.Linear(c, BINS), x[:n_fit], labels[:n_fit], args.epochs, args.seed),
        "mlp": train_probe(nn.Sequential(nn.Linear(c, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, BINS)), x[:n_fit], labels[:n_fit], args.epochs, args.seed),
    }
    rows: dict[str, dict[str, dict[str, float]]] = {"held-out scenes": {"regressor": _errors(answered[n_fit:], true[n_fit:])}}
    with torch.no_grad():
        for name, probe in probes.items():
            rows["held-out scenes"][name] = _errors(heading_from_logits(probe(x[n_fit:])), true[n_fit:])
        ri = predictor.ranges.index(32)
        for check in CHECK_SETS:
            path = args.checks / f"{check}-400.pt"
            if not path.is_file():
                continue
            test = torch.load(path, weights_only=True)
            s = predictor.input_size
            net_in = bicubic_resize(bicubic_resize(test["images"], (32, 32)), (s, s)).clamp(0, 1)
            out = predictor.predict_tensor(net_in, torch.full((len(net_in),), ri, dtype=torch.long))
            t_true = heading_angle(axis_angle_to_matrix(test["pose"][:, 0].float()))
            xt = (out.phi.float().cpu() - mu) / sd
            rows[f"{check} test, 32 px"] = {"regressor": _errors(heading_angle(out.pose_rotmat[:, 0].float().cpu()), t_true),
                                             **{name: _errors(heading_from_logits(p(xt)), t_true) for name, p in probes.items()}}
    command = "python -m benchmarks.train.heading_probe " + " ".join(argv if argv is not None else sys.argv[1:])
    md = ["# Heading probe on frozen features", "", f"`{command}`", "",
          f"{cpu_name()}, {args.threads} threads, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.perf_counter() - t0:.0f} s. "
          f"{len(x)} scenes ({n_fit} fit, {len(x) - n_fit} held out), {BINS} bins; heading error in degrees: mean / median / share more than 90 off.",
          "", "| set | regressor | linear probe | MLP probe |", "|---|---|---|---|"]
    for set_name, row in rows.items():
        md.append(f"| {set_name} | " + " | ".join(f"{row[k]['mean']:.1f} / {row[k]['median']:.1f} / {100 * row[k]['wrong_way']:.0f} %" for k in ("regressor", "linear", "mlp")) + " |")
    text = "\n".join(md)
    print(text)
    payload: dict[str, Any] = {"command": command, "samples": len(x), "fit": n_fit, "bins": BINS, "rows": rows}
    write_report(args.out, text, payload)


if __name__ == "__main__":
    main()

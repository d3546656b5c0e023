"""Training throughput: the real RSC-Net step against the network-only peak, measured in one run.

``python -m benchmarks.train.bench --config configs/train/long/cpu.yaml --splits 2:0 2:1 1:1``

Two measurements on the same machine, one after the other, nothing else running:

* **network-only peak**: the config's network (its input size, precision and memory format) on
  random images with random range rows, forward, a loss touching every output, backward and the
  Adam step, on all the threads the machine has (``--peak-threads``, default: every core);
* **the real step** for each ``threads:workers`` split: :class:`~model.train.trainer.Trainer` as
  configured (shards or on-the-fly data, resolution degradation, augmentation, ``L_b`` with the
  body model, SS, InfoNCE with its queue, the pose prior and its discriminator step, the optimiser),
  ``--warmup`` steps, then ``--steps`` timed steps (from the trainer's per-step clock).

Both count **crops** (a sample at ``K`` resolutions is ``K`` crops, each one network input). The
table gives crops/s and the ratio real / peak; the report goes to ``benchmarks/train/REPORT.md``
(and ``REPORT.json``) unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.report import write_report
from model.body import load_body_model
from model.nets import RSCNet
from model.runtime import autocast, cpu_name, resolve_precision
from model.train.config import TrainConfig, load_config
from model.train.trainer import Trainer

DEFAULT_OUT = Path(__file__).resolve().parent / "REPORT.md"


def network_peak(config: TrainConfig, threads: int, steps: int, warmup: int) -> dict[str, Any]:
    """Crops/s of forward + backward + Adam on random crops (the config's net, batch ``B*K``)."""
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    precision = resolve_precision(config.runtime.precision, device)
    body = load_body_model()
    net = RSCNet(config.net, body.mean_params)
    if config.runtime.channels_last:
        net = net.to(memory_format=torch.channels_last)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-5)
    n = config.optim.batch_size * config.resolution.per_sample
    s = config.net.input_size
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, s, s, generator=gen)
    if config.runtime.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    ranges = torch.randint(0, config.net.backbone.num_ranges, (n,), generator=gen)
    times = []
    for i in tqdm(range(warmup + steps), desc=f"network only ({threads} threads)", leave=False):
        t0 = time.perf_counter()
        with autocast(precision, device):
            out = net(images, ranges)
            proj = net.project(out.phi)
        loss = out.pose_rotmat.float().square().mean() + out.betas.float().square().mean()
        loss = loss + out.camera.float().square().mean() + proj.float().square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    per_step = statistics.median(times)
    return {"threads": threads, "precision": precision, "crops_per_step": n, "seconds_per_step": per_step,
            "crops_per_s": n / per_step}


def real_step(config: TrainConfig, threads: int, workers: int, steps: int, warmup: int) -> dict[str, Any]:
    """Crops/s of :class:`Trainer` steps with ``threads`` torch threads and ``workers`` loaders."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = {"threads": threads, "workers": workers, "out_dir": tmp, "checkpoint_every": 10**9, "resume_file": None,
                   "log_every": 10**9}
        cfg = load_config_from(config, {"runtime": runtime})
        trainer = Trainer(cfg, device="cpu", max_steps=warmup + steps, show_progress=True)
        trainer.train()
        ends = trainer.step_end_times[warmup - 1 :] if warmup > 0 else trainer.step_end_times
        seconds = ends[-1] - ends[0]
        timed = len(ends) - 1
    n = config.optim.batch_size * config.resolution.per_sample
    return {"threads": threads, "workers": workers, "precision": trainer.precision, "steps": timed,
            "seconds_per_step": seconds / timed, "crops_per_s": n * timed / seconds}


def load_config_from(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """``config`` with nested ``overrides`` (through the validated loader, as a file would be)."""
    import yaml

    from model.train.config import merge_overrides

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as fh:
        yaml.safe_dump(merge_overrides(config.to_dict(), overrides), fh)
    try:
        return load_config(fh.name)
    finally:
        os.unlink(fh.name)


def render_report(meta: dict[str, Any], peak: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Training throughput: the real step against the network-only peak",
        "",
        f"`{meta['command']}`",
        "",
        f"Machine: {meta['cpu']}, {meta['cores']} cores, torch {meta['torch']}; {meta['date']}; "
        f"load average before {meta['load_before']:.2f}, after {meta['load_after']:.2f}.",
        f"Config `{meta['config']}`: ResNet-{meta['depth']} at {meta['input']} px, batch {meta['batch']} x "
        f"{meta['per_sample']} resolutions = {peak['crops_per_step']} crops per step, precision {peak['precision']}.",
        "",
        "| step | threads | loader processes | crops/s | s/step | real / peak |",
        "|---|---|---|---|---|---|",
        f"| network only (peak) | {peak['threads']} | - | {peak['crops_per_s']:.1f} | {peak['seconds_per_step']:.3f} | 1.00 |",
    ]
    for r in rows:
        lines.append(f"| real training step | {r['threads']} | {r['workers']} | {r['crops_per_s']:.1f} | "
                     f"{r['seconds_per_step']:.3f} | {r['crops_per_s'] / peak['crops_per_s']:.2f} |")
    best = max(rows, key=lambda r: r["crops_per_s"])
    lines += ["", f"Fastest split: {best['threads']} threads + {best['workers']} loader processes, "
              f"{best['crops_per_s']:.1f} crops/s = {best['crops_per_s'] / peak['crops_per_s']:.0%} of the network-only peak.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/train/long/cpu.yaml", help="training config to measure")
    parser.add_argument("--splits", nargs="+", default=["2:0", "2:1", "1:1"], help="threads:workers pairs of the real step")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--peak-threads", type=int, default=os.cpu_count() or 1, help="threads of the network-only peak")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report (a .json beside it)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    splits = []
    for text in args.splits:
        try:
            t, w = (int(x) for x in text.split(":"))
        except ValueError:
            parser.error(f"--splits takes threads:workers pairs like 2:1, got {text!r}")
        splits.append((t, w))
    load_before = os.getloadavg()[0]
    peak = network_peak(config, args.peak_threads, args.steps, args.warmup)
    print(f"network only: {peak['crops_per_s']:.1f} crops/s ({peak['precision']}, {peak['threads']} threads)")
    rows = []
    for t, w in splits:
        row = real_step(config, t, w, args.steps, args.warmup)
        print(f"real step {t} threads + {w} loaders: {row['crops_per_s']:.1f} crops/s ({row['crops_per_s'] / peak['crops_per_s']:.2f} of peak)")
        rows.append(row)
    meta = {
        "command": "python -m benchmarks.train.bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpu": cpu_name(), "cores": os.cpu_count(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": load_before, "load_after": os.getloadavg()[0],
        "config": args.config, "depth": config.net.backbone.depth, "input": config.net.input_size,
        "batch": config.optim.batch_size, "per_sample": config.resolution.per_sample,
    }
    report = render_report(meta, peak, rows)
    print(report)
    write_report(args.out, report, {"meta": meta, "peak": peak, "real": rows})


if __name__ == "__main__":
    main()

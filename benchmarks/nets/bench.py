"""Training throughput of RSCNet: forward + backward, images per second.

One step = forward of a batch of random images with random resolution ranges, a loss touching
every output (pose, shape, camera and the projection of ``phi``), and ``backward`` (no optimizer
step). The network is in training mode (batch-norm statistics and dropout active). Each setting
gets ``--warmup`` untimed steps, then ``--iters`` timed steps; the table reports the fastest step
by default (``--stat min``: on a shared machine other processes only ever add time, so the minimum
is the best estimate of the network's own cost) or the median (``--stat median``). The 1-minute
load average is printed before and after so contention is visible.

Modes:

* ``fp32``:     float32, contiguous (NCHW) memory format.
* ``fp32-cl``:  float32, channels_last.
* ``bf16-cl``:  ``torch.autocast(dtype=torch.bfloat16)`` and channels_last (the backbone in bf16,
  the heads in float32).

Usage::

    python -m benchmarks.nets.bench --depths 18 50 --sizes 224 128 --batch 32 --threads 2
    python -m benchmarks.nets.bench --depths 18 --sizes 96 64 --output-strides 32 16 --modes bf16-cl --batch 64
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.report import write_report
from model.body.model import MeanParams
from model.nets.config import OUTPUT_STRIDES, BackboneConfig, NetConfig
from model.nets.rscnet import RSCNet
from model.runtime import autocast as runtime_autocast
from model.runtime import resolve_device

MODES = ("fp32", "fp32-cl", "bf16-cl")
#: Where the table goes by default.
DEFAULT_REPORT = Path(__file__).resolve().parent / "REPORT.md"


@dataclass(frozen=True)
class BenchResult:
    depth: int
    size: int
    mode: str
    batch: int
    step_seconds: tuple[float, ...]
    stat: str = "min"
    output_stride: int = 32

    @property
    def seconds_per_step(self) -> float:
        return min(self.step_seconds) if self.stat == "min" else statistics.median(self.step_seconds)

    @property
    def images_per_second(self) -> float:
        return self.batch / self.seconds_per_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_one(
    depth: int,
    size: int,
    mode: str,
    *,
    batch: int,
    iters: int,
    warmup: int,
    device: torch.device,
    stat: str = "min",
    output_stride: int = 32,
) -> BenchResult:
    """Time forward+backward steps of RSCNet (see module docstring)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    torch.manual_seed(0)
    cfg = NetConfig(backbone=BackboneConfig(depth=depth, output_stride=output_stride), input_size=size)
    net = RSCNet(cfg, MeanParams.default()).to(device).train()
    if mode.endswith("-cl"):
        net = net.to(memory_format=torch.channels_last)
    images = torch.rand(batch, 3, size, size, device=device)
    if mode.endswith("-cl"):
        images = images.contiguous(memory_format=torch.channels_last)
    ranges = torch.randint(0, cfg.backbone.num_ranges, (batch,), device=device)
    autocast = runtime_autocast("bf16" if mode.startswith("bf16") else "fp32", device)
    times = []
    for step in range(warmup + iters):
        net.zero_grad(set_to_none=True)
        _sync(device)
        start = time.perf_counter()
        with autocast:
            out = net(images, ranges)
            z = net.project(out.phi)
        loss = out.pose_rotmat.square().mean() + out.betas.square().mean() + out.camera.square().mean()
        loss = loss + z.square().mean()
        loss.backward()
        _sync(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return BenchResult(depth, size, mode, batch, tuple(times), stat, output_stride)


def format_table(results: list[BenchResult], modes: list[str]) -> str:
    """Markdown table: one row per (depth, output stride, size), one images/s column per mode, plus
    speed-ups vs fp32. A backbone with output stride 16 (layer4 dilated) is named so in its row."""
    table = {(r.depth, r.output_stride, r.size, r.mode): r for r in results}
    keys = sorted({(r.depth, r.output_stride, r.size) for r in results}, key=lambda k: (k[0], -k[1], -k[2]))
    head = ["backbone", "input"] + [f"{m} img/s" for m in modes]
    extra = [m for m in modes if m != "fp32"] if "fp32" in modes else []
    head += [f"{m} / fp32" for m in extra]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for depth, stride, size in keys:
        row = [f"ResNet-{depth}" + ("" if stride == 32 else f", output stride {stride}"), f"{size}x{size}"]
        row += [f"{table[(depth, stride, size, m)].images_per_second:.1f}" for m in modes]
        base = table[(depth, stride, size, "fp32")].images_per_second if extra else 0.0
        row += [f"{table[(depth, stride, size, m)].images_per_second / base:.2f}x" for m in extra]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nets.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--depths", type=int, nargs="+", default=[18, 50], choices=[18, 34, 50])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 128], help="input sides S (images S x S)")
    parser.add_argument("--modes", nargs="+", default=["fp32", "bf16-cl"], choices=MODES)
    parser.add_argument(
        "--output-strides", type=int, nargs="+", default=[32], choices=list(OUTPUT_STRIDES),
        help="backbone output strides (16: layer4 dilated, BackboneConfig.output_stride)",
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    parser.add_argument("--iters", type=int, default=3, help="timed steps per setting (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per setting")
    parser.add_argument("--stat", choices=["min", "median"], default="min", help="statistic of the timed steps")
    parser.add_argument("--device", default=None, help="default: CUDA when available, else the CPU")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="Markdown table to write (default %(default)s)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    device = resolve_device(args.device)
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch {args.batch}, "
        f"stat {args.stat} of {args.iters} steps after {args.warmup} warm-up; load average {os.getloadavg()[0]:.2f}"
    )
    results = []
    for depth in args.depths:
        for stride in args.output_strides:
            for size in args.sizes:
                for mode in args.modes:
                    kwargs = dict(batch=args.batch, iters=args.iters, warmup=args.warmup, device=device, stat=args.stat)
                    r = bench_one(depth, size, mode, output_stride=stride, **kwargs)
                    steps = ", ".join(f"{t:.3f}" for t in r.step_seconds)
                    print(
                        f"  ResNet-{depth} (output stride {stride}) {size}x{size} {mode}: steps [{steps}] s "
                        f"-> {r.images_per_second:.1f} img/s"
                    )
                    results.append(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    table = format_table(results, list(args.modes))
    print(table)
    write_report(args.report, f"Network training throughput (python -m benchmarks.nets.bench), device {device}, batch {args.batch}, "
                              f"threads {args.threads}, {args.stat} of {args.iters} steps.\n\n{table}")  # fmt: skip


if __name__ == "__main__":
    main()

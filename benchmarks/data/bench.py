"""Synthetic data throughput: samples/s on one thread, rendering and degradation included.

``python -m benchmarks.data.bench [--samples 128] [--batch 16] [--sizes 224,128] [--report PATH]``

Prints a table and writes it as Markdown (and JSON next to it). Target: >= 60 samples/s at 224²
on one thread.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from tqdm import tqdm

from model.data.dataset import ResolutionConfig, SyntheticDataset
from model.data.degrade import DegradeConfig
from model.data.synthetic import SyntheticConfig
from model.geometry.resolution import ResolutionRanges


def measure(size: int, samples: int, batch: int, mode: str) -> dict[str, float]:
    """Samples/s for on-the-fly generation at ``size``² (one random resolution range per sample)."""
    ranges = ResolutionRanges()
    data = SyntheticDataset(
        length=samples + batch,
        synthetic=SyntheticConfig(crop_size=size),
        resolution=ResolutionConfig(ranges=ranges, out_size=size, per_sample=1, degrade=DegradeConfig(mode=mode)),
    )
    data.__getitems__(list(range(batch)))  # warm-up: model load, texture masks, photo cache
    start = time.perf_counter()
    done = 0
    with tqdm(total=samples, desc=f"{size}px {mode}", unit="sample") as bar:
        while done < samples:
            idx = list(range(batch + done, batch + done + batch))
            data.__getitems__(idx)
            done += batch
            bar.update(batch)
    elapsed = time.perf_counter() - start
    return {"size": size, "mode": mode, "samples": done, "seconds": elapsed, "samples_per_s": done / elapsed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sizes", default="224,128")
    parser.add_argument("--modes", default="bicubic,realistic")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report", type=Path, default=Path(__file__).resolve().parent / "REPORT.md")
    parser.add_argument("--render-report", type=Path, default=None,
                        help="a training-set render's report (python -m model.data.shards --report) to include; default: RENDER.md beside --report")  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [
        measure(int(s), args.samples, args.batch, mode)
        for s in args.sizes.split(",")
        for mode in args.modes.split(",")
    ]
    lines = [
        f"# Synthetic data throughput ({args.threads} thread(s), batch {args.batch}, {platform.processor() or platform.machine()})",
        "",
        "| size | degradation | samples | seconds | samples/s |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['size']} | {r['mode']} | {r['samples']} | {r['seconds']:.2f} | {r['samples_per_s']:.1f} |" for r in rows]
    lines += ["", "One thread per process: the samples/s column is the speed of one core."]
    table = "\n".join(lines)
    print(table)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    render = args.render_report or args.report.with_name("RENDER.md")
    extra = f"\n{render.read_text()}" if render.is_file() and render != args.report else ""
    args.report.write_text(table + "\n" + extra)
    args.report.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()

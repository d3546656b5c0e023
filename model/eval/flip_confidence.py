"""``python -m model.eval.flip_confidence``: is the flip test's disagreement a confidence?

>>> python -m model.eval.flip_confidence --checkpoint checkpoints/rscnet-long/model.pt \\
...     --out checkpoints/rscnet-long/eval/flip_test/FLIP_CONFIDENCE.md

With the flip test (:mod:`model.inference.flip_test`) every answer comes with how far the answers
for the crop and for its mirror image were apart (``flip_disagreement``, returned by the service).
This measures whether that number tells good answers from bad ones, per crop:

* on the held-out checks of :mod:`model.eval.checks` (own test, held-out poses, held-out
  appearance; cached test sets), at each ``--resolutions`` size: the Spearman rank correlation
  between the disagreement and the MPJPE / PA-MPJPE of the merged answer, and the mean errors of the
  half of the people with the lower disagreement against the other half;
* on the real people (:mod:`model.eval.real_people`, scored crops) at each ``--heights``: the same
  with the 2D error (box heights).

A useful confidence has a clearly positive correlation and a clear gap between the halves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from model.eval.checks import check_config
from model.eval.evaluate import load_test_set, per_sample_errors
from model.eval.real_people import RealPeopleConfig, evaluate_real_people
from model.inference import Predictor

__all__ = ["halves", "main", "spearman"]

CHECK_SETS = ("own", "poses", "appearance")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation of two ``(N,)`` arrays (0 when either is constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or x.shape[0] < 2:
        raise ValueError(f"need two (N,) arrays with N >= 2, got {x.shape} and {y.shape}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(spearmanr(x, y).statistic)


def halves(confidence: np.ndarray, error: np.ndarray) -> tuple[float, float]:
    """Mean ``error`` of the half with ``confidence`` at or below its median, and of the rest."""
    confidence, error = np.asarray(confidence, float), np.asarray(error, float)
    low = confidence <= np.median(confidence)
    return float(error[low].mean()), float(error[~low].mean()) if (~low).any() else float("nan")


def check_rows(predictor: Predictor, samples: int, resolutions: list[int], cache: Path | None) -> list[dict[str, Any]]:
    rows = []
    for check in CHECK_SETS:
        data = load_test_set(samples, cache / f"{check}-{samples}.pt" if cache is not None else None, check_config(check))
        for res, e in per_sample_errors(predictor, data, resolutions).items():
            d = e["flip_disagreement_mm"].numpy()
            for metric in ("mpjpe", "pa_mpjpe"):
                err = e[metric].numpy()
                low, high = halves(d, err)
                rows.append({"set": check, "size": res, "metric": metric, "spearman": spearman(d, err), "low_half": low, "high_half": high,
                             "disagreement_mm": float(d.mean()), "n": int(len(d))})
    return rows


def real_rows(predictor: Predictor, heights: tuple[int, ...]) -> list[dict[str, Any]]:
    result = evaluate_real_people(predictor, RealPeopleConfig(heights=heights))
    rows = []
    for key, values in result["flip_disagreement_m"].items():
        d = np.asarray(values, float) * 1000.0
        err = np.asarray(result["error"]["network"][key], float)
        low, high = halves(d, err)
        rows.append({"set": "real people", "size": key, "metric": "2D error / box height", "spearman": spearman(d, err), "low_half": low,
                     "high_half": high, "disagreement_mm": float(d.mean()), "n": int(len(d))})
    return rows


def render(rows: list[dict[str, Any]], checkpoint_id: str, command: str) -> str:
    lines = ["# The flip test's disagreement as a confidence", "", f"`{command}`", "",
             f"Checkpoint `{checkpoint_id}` with the flip test. Per crop: the disagreement (mean distance between the SMPL-24 joints of the "
             "answers for the crop and its mirror image, mm) against the merged answer's error. Halves split at the median disagreement.", "",
             "| set | size | error | n | mean disagreement (mm) | Spearman | error, lower-disagreement half | error, other half |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        size = "native" if r["size"] == "native" else f"{r['size']} px"
        digits = 3 if r["set"] == "real people" else 1
        lines.append(f"| {r['set']} | {size} | {r['metric']} | {r['n']} | {r['disagreement_mm']:.1f} | {r['spearman']:.2f} | "
                     f"{r['low_half']:.{digits}f} | {r['high_half']:.{digits}f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.flip_confidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="RSC-Net checkpoint (scored with the flip test)")
    parser.add_argument("--samples", type=int, default=400, help="people per check (default: %(default)s)")
    parser.add_argument("--resolutions", default="224,32", help="check crop sizes, comma-separated (default: %(default)s)")
    parser.add_argument("--heights", default="32", help="real-people crop heights, comma-separated (default: %(default)s)")
    parser.add_argument("--cache", default="data/eval/checks", help="folder of cached test sets ('' = do not cache)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/flip_confidence/FLIP_CONFIDENCE.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint, device="cpu", flip_test=True)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    rows = check_rows(predictor, args.samples, resolutions, Path(args.cache) if args.cache else None)
    rows += real_rows(predictor, tuple(int(h) for h in args.heights.split(",") if h))
    command = "python -m model.eval.flip_confidence " + " ".join(argv if argv is not None else sys.argv[1:])
    md = render(rows, predictor.checkpoint_id, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    args.out.with_suffix(".json").write_text(json.dumps({"checkpoint_id": predictor.checkpoint_id, "command": command, "rows": rows}, indent=1) + "\n")
    print(md)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

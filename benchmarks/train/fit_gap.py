"""Does a network fit what it trained on? Its error on scenes it saw beside scenes it never saw.

``python -m benchmarks.train.fit_gap --checkpoint C [C2 ...] --seen LABEL=START:COUNT [--seen ...] [--samples 400]``

A network that memorises is much better on its training scenes than on new ones (more data is what
it lacks); one that underfits is about as good on both (capacity, optimisation or steps are). Each
``--seen`` set is ``COUNT`` scenes of the training generator (seed ``--train-seed``, the shards'
seed) from index ``START``: the very people, poses, cameras and backgrounds a run's shards hold
(``python -m model.data.shards --start START``), rendered clean at 224 px -- the training crops
had flips, rotations, colour changes and camera effects drawn on top, so this is the scene, not the
exact pixels. Beside them the own test (the same generator at the test seed, never trained on) and
the constant mean-parameters answer. PA-MPJPE (mm, LSP-14) at each ``--resolutions`` size
(bicubic down, as :mod:`model.eval.checks`), per pose family at the largest size.

Writes ``--out`` (Markdown, default ``benchmarks/train/FIT_GAP.md``) and its JSON twin.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from benchmarks.report import publish, run_meta
from model.data.poses import FAMILIES
from model.data.synthetic import SyntheticConfig
from model.eval.evaluate import (
    TEST_CROP,
    TEST_SEED,
    labelled_predictors,
    load_test_set,
    per_sample_errors,
    render_test_set,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "FIT_GAP.md"
OWN_TEST = "own test (never trained on)"


def parse_seen(text: str) -> tuple[str, int, int]:
    """``LABEL=START:COUNT`` -> ``(label, start, count)``."""
    label, sep, span = text.partition("=")
    start, colon, count = span.partition(":")
    if not sep or not colon or not label.strip() or not start.isdigit() or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"--seen takes LABEL=START:COUNT (e.g. 'stretch 8=300000:400'), got {text!r}")
    return label.strip(), int(start), int(count)


def fit_gap(
    checkpoints: list[str], seen: list[tuple[str, int, int]], samples: int, resolutions: list[int], train_seed: int = 0,
    cache: Path | None = None,
) -> dict[str, Any]:
    """``{"sets": {set: {"people": n, "results": {model: {res: PA-MPJPE}}, "families": {model: {family: PA-MPJPE}}}}}``."""
    sets: dict[str, dict[str, torch.Tensor]] = {}
    for label, start, count in seen:
        sets[label] = render_test_set(count, config=SyntheticConfig(crop_size=TEST_CROP, seed=train_seed), start=start)
    sets[OWN_TEST] = load_test_set(samples, cache, SyntheticConfig(crop_size=TEST_CROP, seed=TEST_SEED))
    predictors = labelled_predictors(checkpoints)
    top = max(resolutions)
    out: dict[str, Any] = {"sets": {}}
    for name, data in sets.items():
        entry: dict[str, Any] = {"people": int(data["images"].shape[0]), "results": {}, "families": {}}
        for model_name, predictor in predictors.items():
            errors = per_sample_errors(predictor, data, resolutions)
            entry["results"][model_name] = {str(r): round(float(errors[r]["pa_mpjpe"].mean()), 1) for r in resolutions}
            fam = {}
            for k, family in enumerate(FAMILIES):
                mask = data["family"] == k
                if bool(mask.any()):
                    fam[family] = round(float(errors[top]["pa_mpjpe"][mask].mean()), 1)
            entry["families"][model_name] = fam
        out["sets"][name] = entry
    return out


def render(result: dict[str, Any], meta: dict[str, Any]) -> str:
    resolutions = meta["resolutions"]
    lines = ["# Does the network fit what it trained on?", "", f"`{meta['command']}`", "",
             f"{meta['cpu']}, {meta['date']}. PA-MPJPE (mm, LSP-14) on scenes a run trained on (rendered clean at 224 px "
             "from the training generator, seed and indices of its shards) and on the own test it never saw.", "",
             "| set | people | model | " + " | ".join(f"{r} px" for r in resolutions) + " |",
             "|---|---|---|" + "---|" * len(resolutions)]
    for name, entry in result["sets"].items():
        for model_name, res in entry["results"].items():
            lines.append(f"| {name} | {entry['people']} | {model_name} | " + " | ".join(f"{res[str(r)]:.1f}" for r in resolutions) + " |")
    top = max(resolutions)
    for name, entry in result["sets"].items():
        families = sorted({f for fam in entry["families"].values() for f in fam}, key=FAMILIES.index)
        lines += ["", f"Per pose family at {top} px, {name}:", "", "| model | " + " | ".join(families) + " |", "|---|" + "---|" * len(families)]
        for model_name, fam in entry["families"].items():
            lines.append(f"| {model_name} | " + " | ".join(f"{fam[f]:.1f}" if f in fam else "-" for f in families) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train.fit_gap", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="one or more checkpoints")
    parser.add_argument("--seen", type=parse_seen, action="append", required=True,
                        help="LABEL=START:COUNT: COUNT training scenes from index START (repeatable)")
    parser.add_argument("--train-seed", type=int, default=SyntheticConfig.seed, help="the shards' generator seed (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=400, help="people of the own test")
    parser.add_argument("--resolutions", default="224,32", help="comma-separated crop sizes")
    parser.add_argument("--cache", default="data/eval/checks", help="folder of cached test sets ('' = do not cache)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    cache = Path(args.cache) / f"own-{args.samples}.pt" if args.cache else None
    result = fit_gap(args.checkpoint, args.seen, args.samples, resolutions, args.train_seed, cache)
    meta = run_meta("benchmarks.train.fit_gap", argv, resolutions=resolutions)
    publish(args.out, render(result, meta), {"meta": meta, **result})


if __name__ == "__main__":
    main()

"""``python -m model.eval.recipes``: judge training recipes, not runs, on every real set and framing.

>>> python -m model.eval.recipes --out checkpoints/rscnet-long/eval/recipes \\
...     --recipe "step 16 500" runs/long/step16500.pt \\
...     --recipe "tight boxes 30 %" runs/long-ablation/tight-box/last.pt runs/long/step19000.pt \\
...     --recipe "tight boxes 50 %" runs/long-ablation/tight-box-half-s1/last.pt runs/long-ablation/tight-box-half-s2/last.pt

A second training run of one recipe lands elsewhere on the real people (``checkpoints/rscnet-long/
MODEL_CARD.md``, "Stretch 8"), so a candidate is a *recipe* with two or more runs, set beside
other recipes' runs. For every checkpoint, every real set (``--sets``: folders in the format of
:mod:`model.data.real_people`) and every framing (``--framings``, :data:`~model.eval.real_people.FRAMINGS`)
this runs :func:`~model.eval.real_people.evaluate_real_people` at one crop height and keeps the
report as ``OUT/<set>/<run>_<framing>/real_people.json`` (+ ``.md``) -- the files ``python -m
model.eval.real_people --checkpoint C --root SET --heights H --framing F --out ...`` writes. A
report already there is reused when it is the same network (checkpoint id), height, framing and
crops, so adding a recipe later costs only its own runs. Then, per set and framing, the recipes'
spread (:mod:`model.eval.real_people_spread`) goes into ``OUT/RECIPES.md`` (printed too): each
run's 2D error on all and on the full-body crops, knees and seated people, and each recipe's mean,
range and standard deviation; the first recipe is the reference the differences are taken to.

A run is named by its file: ``<folder>`` for ``last.pt`` / ``model.pt``, else the file's stem;
two runs with one name are refused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.data.real_people import DEFAULT_ROOT, load_real_people
from model.eval.markdown import publish
from model.eval.real_people import FRAMINGS, RealPeopleConfig, evaluate_real_people, format_tables
from model.eval.real_people_spread import group_spread, render, run_figures
from model.inference.predictor import Predictor
from model.nets.checkpoint import file_id

__all__ = ["cached_report", "main", "report_path", "run_name", "run_recipes"]

#: The real sets scored by default: the first set and set B.
DEFAULT_SETS = (DEFAULT_ROOT, DEFAULT_ROOT.parent / "real_people_b")


def run_name(checkpoint: str | Path) -> str:
    """A run's name: its folder for ``last.pt`` / ``model.pt``, else the file's stem."""
    path = Path(checkpoint)
    return path.parent.name if path.stem in ("last", "model") else path.stem


def report_path(out: Path, root: Path, run: str, framing: str) -> Path:
    """Where the report of ``run`` on set ``root`` with ``framing`` is kept under ``out``."""
    return out / Path(root).name / f"{run}_{framing}" / "real_people.json"


def cached_report(path: Path, checkpoint_id: str, height: int, framing: str, people: list[str]) -> dict[str, Any] | None:
    """The report at ``path`` when it is the same network, framing and crops and has ``height``; else ``None``."""
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    same = (
        report.get("checkpoint_id") == checkpoint_id
        and report.get("framing", "crop") == framing
        and str(height) in report.get("error", {}).get("network", {})
        and report.get("people") == people
        and not report.get("flip_test", False)
    )
    return report if same else None


def run_recipes(
    recipes: Sequence[tuple[str, Sequence[Path]]],
    sets: Sequence[Path],
    framings: Sequence[str],
    height: int,
    out: Path,
    progress: bool = True,
) -> str:
    """Score every run on every set and framing (reusing kept reports) and return ``RECIPES.md``."""
    if not recipes or any(not runs for _, runs in recipes):
        raise ValueError("every recipe needs at least one checkpoint")
    names = [run_name(c) for _, runs in recipes for c in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"two runs share a name ({sorted(n for n in names if names.count(n) > 1)}): give them other folders or files")
    bad = [f for f in framings if f not in FRAMINGS]
    if bad or not framings:
        raise ValueError(f"framings must be among {FRAMINGS}, got {list(framings)}")
    ids = {c: file_id(c) for _, runs in recipes for c in runs}
    people = {root: [p.id for p in load_real_people(root, usable_only=True)] for root in sets}
    reports: dict[tuple[Path, str, Path], dict[str, Any]] = {}
    todo = []
    for _, runs in recipes:
        for c in runs:
            for root in sets:
                for framing in framings:
                    path = report_path(out, root, run_name(c), framing)
                    kept = cached_report(path, ids[c], height, framing, people[root])
                    if kept is None:
                        todo.append((c, root, framing, path))
                    else:
                        reports[(root, framing, c)] = kept
    bar = tqdm(todo, desc="real-people reports", disable=not progress)
    predictors: dict[Path, Predictor] = {}
    for c, root, framing, path in bar:
        if c not in predictors:
            predictors.clear()  # one network in memory at a time
            predictors[c] = Predictor.from_checkpoint(c, device="cpu", precision="fp32")  # as python -m model.eval.real_people
        config = RealPeopleConfig(heights=(height,), root=Path(root), framing=framing)
        result = evaluate_real_people(predictors[c], config, progress=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        path.with_suffix(".md").write_text(format_tables(result))
        reports[(root, framing, c)] = result
    sections = [
        f"# Recipes on the real people at {height} px",
        "",
        "Runs per recipe: " + "; ".join(f"**{label}**: " + ", ".join(f"`{run_name(c)}`" for c in runs) for label, runs in recipes) + ".",
        f"Reports: `{out}/<set>/<run>_<framing>/real_people.json`.",
        "",
    ]
    for root in sets:
        for framing in framings:
            groups = [
                group_spread(label, [run_figures(reports[(root, framing, c)], str(height), run_name(c)) for c in runs])
                for label, runs in recipes
            ]
            first = reports[(root, framing, recipes[0][1][0])]
            n_full = sum(bool(f) for f in first["full_body"])
            body = render(groups, str(height), len(first["people"]), n_full).split("\n", 2)[2]
            sections += [f"## {Path(root).name}, framing `{framing}`", "", body.rstrip(), ""]
    return "\n".join(sections) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.recipes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", nargs="+", action="append", required=True, metavar=("LABEL", "CHECKPOINT"),
                        help="a recipe's name, then the checkpoint of each of its runs (repeat per recipe; the first is the reference)")
    parser.add_argument("--sets", default=",".join(str(s) for s in DEFAULT_SETS),
                        help="real-set folders, comma-separated (default: the first set and set B)")
    parser.add_argument("--framings", default="crop,box", help="comma-separated, among " + ", ".join(FRAMINGS) + " (default: %(default)s)")
    parser.add_argument("--height", type=int, default=32, help="crop height in pixels (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the reports and RECIPES.md")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    for spec in args.recipe:
        if len(spec) < 2:
            parser.error(f"--recipe {spec[0]!r} needs at least one checkpoint after its label")
    if not 8 <= args.height <= 4096:
        parser.error(f"--height must be in [8, 4096], got {args.height}")
    torch.set_num_threads(args.threads)
    recipes = [(spec[0], [Path(c) for c in spec[1:]]) for spec in args.recipe]
    sets = [Path(s.strip()) for s in args.sets.split(",") if s.strip()]
    framings = [f.strip() for f in args.framings.split(",") if f.strip()]
    md = run_recipes(recipes, sets, framings, args.height, args.out, progress=not args.no_progress)
    publish(md, args.out / "RECIPES.md")


if __name__ == "__main__":
    main()

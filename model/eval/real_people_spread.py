"""``python -m model.eval.real_people_spread``: how far apart do networks trained alike land on the real people?

>>> python -m model.eval.real_people_spread --height 32 \\
...     --group "tight-box recipe" runs_a/real_people.json runs_b/real_people.json \\
...     --group "no tight box" runs_c/real_people.json runs_d/real_people.json runs_e/real_people.json

:mod:`model.eval.real_people_compare` asks whether two *networks* differ on the set, with an
interval from drawing the set's people again. It cannot say whether two *recipes* differ: a second
run of the same recipe (another data order, another seed) lands elsewhere too, and that training
noise is not in the bootstrap. This reads the reports :mod:`model.eval.real_people` wrote for
several runs, grouped by recipe (``--group LABEL FILE [FILE ...]``, repeated), and gives at one crop
size (``--height``; ``native`` for the saved crops):

* per run: the 2D error / box height over all scored crops and over the full-body crops, standing
  or walking people with both knees under 30 degrees, seated people with both knees over 45;
* per group: the mean, the range (min-max) and the standard deviation over its runs of the two 2D
  figures -- the run-to-run spread of the recipe;
* between each group and the first: the difference of the group means and, beside it, the larger
  of the two groups' ranges: a difference smaller than that range is within what one recipe does
  from run to run.

Every report must score the same crops in the same order (a run of the same set). Writes Markdown
(``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.eval.markdown import publish

__all__ = ["RunFigures", "GroupSpread", "group_spread", "main", "render", "run_figures"]


@dataclass(frozen=True)
class RunFigures:
    """One run's figures at one crop size.

    Attributes:
        label: the report's name (its folder).
        checkpoint_id: the network's id as the report names it.
        error_all: mean 2D error / box height over the scored crops.
        error_full_body: the same over the full-body crops (``nan`` without any).
        knees_pass: standing or walking crops with both knees under the limit.
        knees_total: standing or walking crops.
        seated_bent: sitting crops with both knees over the limit.
        seated_total: sitting crops.
    """

    label: str
    checkpoint_id: str
    error_all: float
    error_full_body: float
    knees_pass: int
    knees_total: int
    seated_bent: int
    seated_total: int


@dataclass(frozen=True)
class GroupSpread:
    """The runs of one recipe: mean, range and standard deviation of their 2D figures.

    Attributes:
        label: the recipe's name.
        runs: the runs' figures.
        mean_all, range_all, std_all: over the runs' ``error_all`` (``std`` 0 for one run).
        mean_full_body, range_full_body, std_full_body: over their ``error_full_body``.
    """

    label: str
    runs: tuple[RunFigures, ...]
    mean_all: float
    range_all: tuple[float, float]
    std_all: float
    mean_full_body: float
    range_full_body: tuple[float, float]
    std_full_body: float


def run_figures(report: dict[str, Any], height: str, label: str) -> RunFigures:
    """A report's figures at crop size ``height`` (a key of its ``error.network``: ``"32"``, ``"native"``)."""
    errors = report["error"]["network"]
    if height not in errors:
        raise ValueError(f"{label}: no crop size {height!r} in the report (it has {sorted(errors)})")
    e = np.asarray(errors[height], float)
    full = np.asarray(report["full_body"], bool)
    knees = report["knees"]["pass"].get(height, [])
    seated = report.get("seated_knees", {}).get("bent", {}).get(height, [])
    return RunFigures(
        label=label,
        checkpoint_id=str(report.get("checkpoint_id", "?")),
        error_all=float(e.mean()),
        error_full_body=float(e[full].mean()) if full.any() else float("nan"),
        knees_pass=int(sum(knees)),
        knees_total=len(knees),
        seated_bent=int(sum(seated)),
        seated_total=len(seated),
    )


def group_spread(label: str, runs: list[RunFigures]) -> GroupSpread:
    """Mean, range and (sample) standard deviation of a recipe's runs."""
    if not runs:
        raise ValueError(f"group {label!r} has no runs")
    a = np.array([r.error_all for r in runs])
    f = np.array([r.error_full_body for r in runs])

    def std(x: np.ndarray) -> float:
        return float(x.std(ddof=1)) if x.size > 1 else 0.0

    return GroupSpread(
        label=label,
        runs=tuple(runs),
        mean_all=float(a.mean()),
        range_all=(float(a.min()), float(a.max())),
        std_all=std(a),
        mean_full_body=float(f.mean()),
        range_full_body=(float(f.min()), float(f.max())),
        std_full_body=std(f),
    )


def _check_same_crops(reports: list[tuple[str, dict[str, Any]]]) -> None:
    first_label, first = reports[0]
    for label, report in reports[1:]:
        if report["people"] != first["people"]:
            raise ValueError(
                f"{label} scored other crops than {first_label} (or in another order): run both on the same set"
            )


def render(groups: list[GroupSpread], height: str, n_crops: int, n_full: int) -> str:
    """Markdown: a row per run, then the spread of each group and its distance to the first group."""
    size = "native size" if height == "native" else f"{height} px"
    lines = [
        f"# Real people at {size}: run-to-run spread of training recipes",
        "",
        f"2D error / person box height over {n_crops} scored crops ({n_full} full-body); knees: standing or walking "
        "crops with both knees < 30 degrees; seated: sitting crops with both knees > 45 degrees.",
        "",
        "| recipe | run | checkpoint | 2D, all | 2D, full body | knees straight | seated bent |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in groups:
        for r in g.runs:
            lines.append(
                f"| {g.label} | {r.label} | `{r.checkpoint_id}` | {r.error_all:.3f} | {r.error_full_body:.3f} | "
                f"{r.knees_pass}/{r.knees_total} | {r.seated_bent}/{r.seated_total} |"
            )
    lines += [
        "",
        "| recipe | runs | 2D, all: mean [min, max] (sd) | 2D, full body: mean [min, max] (sd) |",
        "|---|---|---|---|",
    ]
    for g in groups:
        lines.append(
            f"| {g.label} | {len(g.runs)} | {g.mean_all:.3f} [{g.range_all[0]:.3f}, {g.range_all[1]:.3f}] ({g.std_all:.4f}) | "
            f"{g.mean_full_body:.3f} [{g.range_full_body[0]:.3f}, {g.range_full_body[1]:.3f}] ({g.std_full_body:.4f}) |"
        )
    if len(groups) > 1:
        base = groups[0]
        lines += [
            "",
            f"Difference of the group means to **{base.label}** (negative: better), beside the wider of the two "
            "groups' ranges (a difference inside it is within one recipe's run-to-run spread):",
            "",
            "| recipe | 2D, all: difference / range | 2D, full body: difference / range |",
            "|---|---|---|",
        ]
        for g in groups[1:]:
            wide_a = max(base.range_all[1] - base.range_all[0], g.range_all[1] - g.range_all[0])
            wide_f = max(base.range_full_body[1] - base.range_full_body[0], g.range_full_body[1] - g.range_full_body[0])
            lines.append(
                f"| {g.label} | {g.mean_all - base.mean_all:+.4f} / {wide_a:.4f} | "
                f"{g.mean_full_body - base.mean_full_body:+.4f} / {wide_f:.4f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m model.eval.real_people_spread", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--group",
        nargs="+",
        action="append",
        required=True,
        metavar=("LABEL", "FILE"),
        help="a recipe's name, then the real_people.json of each of its runs (repeat per recipe)",
    )
    parser.add_argument("--height", default="32", help="crop size: pixels, or 'native' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    args = parser.parse_args(argv)
    groups_in: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = []
    for spec in args.group:
        if len(spec) < 2:
            parser.error(f"--group {spec[0]!r} needs at least one report after its label")
        groups_in.append((spec[0], [(Path(p).parent.name, json.loads(Path(p).read_text())) for p in spec[1:]]))
    every = [r for _, reports in groups_in for r in reports]
    _check_same_crops(every)
    groups = [
        group_spread(label, [run_figures(rep, args.height, name) for name, rep in reports])
        for label, reports in groups_in
    ]
    first = every[0][1]
    md = render(groups, args.height, len(first["people"]), int(np.asarray(first["full_body"], bool).sum()))
    publish(md, args.out)


if __name__ == "__main__":
    main()

"""``python -m model.eval.real_people_compare``: is one network really better than another on the real people?

>>> python -m model.eval.real_people_compare \\
...     --base checkpoints/rscnet-long/eval/real_people/real_people.json \\
...     --other checkpoints/rscnet-long/eval/stretch7/real_people/real_people.json --label "stretch 7"

The real-people set (:mod:`model.eval.real_people`) is small: 42 scored crops of 30 people, 12
full-body crops of 6. A difference of a few thousandths of the box height between two networks
may be noise. This compares the reports two runs of :mod:`model.eval.real_people` wrote, crop for
crop (paired: the same crops, in the same order), and gives for every crop size

* the mean difference of the 2D error (other minus base, in box heights; negative = other better),
* its 95 % interval from a **bootstrap over people** (people drawn with replacement, each with all
  its crops, ``--resamples`` times; crops of one person are not independent),
* how many people the other network is better / worse for (their crops averaged),

for all scored crops and for the full-body crops alone. An interval that contains 0 means the set
cannot tell the two apart. Writes Markdown (``--out``) and prints it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.eval.markdown import publish

__all__ = ["PairedDifference", "compare_reports", "main", "paired_difference", "render"]


@dataclass(frozen=True)
class PairedDifference:
    """Other minus base, mean over crops, with a bootstrap interval over people.

    Attributes:
        mean: mean over the crops of (other - base).
        low, high: the 2.5 and 97.5 percentiles of the bootstrap means.
        better, worse: people whose mean difference is below / above zero.
        people: people in the subset.
        crops: crops in the subset.
    """

    mean: float
    low: float
    high: float
    better: int
    worse: int
    people: int
    crops: int


def paired_difference(base: np.ndarray, other: np.ndarray, person_ids: list[str], resamples: int = 10_000, seed: int = 0) -> PairedDifference:
    """The paired difference ``other - base`` of per-crop errors ``(N,)``, bootstrapped over the people of ``person_ids``."""
    base, other = np.asarray(base, float), np.asarray(other, float)
    if base.shape != other.shape or base.ndim != 1 or len(person_ids) != base.shape[0]:
        raise ValueError(f"need two (N,) error arrays and N person ids, got {base.shape}, {other.shape}, {len(person_ids)}")
    if base.shape[0] == 0:
        raise ValueError("no crops to compare")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    diff = other - base
    people = sorted(set(person_ids))
    index = {p: i for i, p in enumerate(people)}
    owner = np.array([index[p] for p in person_ids])
    sums = np.bincount(owner, weights=diff, minlength=len(people))
    counts = np.bincount(owner, minlength=len(people)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(people), size=(resamples, len(people)))
    means = sums[draws].sum(1) / counts[draws].sum(1)
    per_person = sums / counts
    return PairedDifference(
        mean=float(diff.mean()), low=float(np.percentile(means, 2.5)), high=float(np.percentile(means, 97.5)),
        better=int((per_person < 0).sum()), worse=int((per_person > 0).sum()), people=len(people), crops=int(base.shape[0]),
    )


def _check_same_crops(base: dict[str, Any], other: dict[str, Any], name: str) -> None:
    if base["people"] != other["people"]:
        raise ValueError(f"{name} scored other crops than the base (or in another order): rerun both on the same set")


def compare_reports(base: dict[str, Any], other: dict[str, Any], resamples: int = 10_000, seed: int = 0,
                    name: str = "other") -> dict[str, dict[str, PairedDifference]]:
    """``{size: {"all": PairedDifference, "full body": PairedDifference}}`` for the crop sizes both reports have."""
    _check_same_crops(base, other, name)
    ids = base.get("person_ids", base["people"])
    full = np.asarray(base["full_body"], bool)
    sizes = [k for k in base["error"]["network"] if k in other["error"]["network"]]
    out: dict[str, dict[str, PairedDifference]] = {}
    for k in sizes:
        a, b = np.asarray(base["error"]["network"][k], float), np.asarray(other["error"]["network"][k], float)
        out[k] = {"all": paired_difference(a, b, ids, resamples, seed)}
        if full.any():
            out[k]["full body"] = paired_difference(a[full], b[full], [i for i, f in zip(ids, full) if f], resamples, seed)
    return out


def _knee_passes(report: dict[str, Any]) -> dict[str, int]:
    return {k: int(sum(v)) for k, v in report["knees"]["pass"].items()}


def render(base_label: str, base: dict[str, Any], others: list[tuple[str, dict[str, Any]]], resamples: int, seed: int) -> str:
    """Markdown: one table per subset, a row per other network and crop size."""
    lines = [f"# Real people: paired differences to {base_label} ({base.get('checkpoint_id', '?')})", "",
             f"2D error / person box height, other minus base (negative: the other network is better); 95 % interval "
             f"from {resamples} bootstrap draws of people (seed {seed}); people better / worse.", ""]
    results = [(label, report, compare_reports(base, report, resamples, seed, label)) for label, report in others]
    for subset in ("all", "full body"):
        if not any(subset in r for _, _, res in results for r in res.values()):
            continue
        first = next(iter(results[0][2].values()))[subset]
        lines += [f"## {'All scored crops' if subset == 'all' else 'Full-body crops'} ({first.crops} crops of {first.people} people)", "",
                  "| network | crop size | mean difference | 95 % interval | people better / worse |", "|---|---|---|---|---|"]
        for label, _, res in results:
            for size, r in res.items():
                d = r[subset]
                mark = " (cannot tell)" if d.low <= 0 <= d.high else ""
                name = "native" if size == "native" else f"{size} px"
                lines.append(f"| {label} | {name} | {d.mean:+.4f} | [{d.low:+.4f}, {d.high:+.4f}]{mark} | {d.better} / {d.worse} |")
        lines.append("")
    base_knees = _knee_passes(base)
    lines += ["## Knees of standing or walking people: crops passing (< 30 degrees), base vs other", "",
              "| network | " + " | ".join("native" if k == "native" else f"{k} px" for k in base_knees) + " |",
              "|---|" + "---|" * len(base_knees)]
    for label, report, _ in results:
        kn = _knee_passes(report)
        lines.append(f"| {label} | " + " | ".join(f"{base_knees[k]} -> {kn.get(k, '-')}" for k in base_knees) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m model.eval.real_people_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="real_people.json of the reference network")
    parser.add_argument("--base-label", default="the base", help="its name in the report")
    parser.add_argument("--other", type=Path, nargs="+", required=True, help="real_people.json of each network to compare")
    parser.add_argument("--label", nargs="*", default=None, help="a name per --other (default: the file's folder)")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap draws (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write")
    args = parser.parse_args(argv)
    labels = args.label or [p.parent.name for p in args.other]
    if len(labels) != len(args.other):
        parser.error(f"{len(args.other)} --other files but {len(labels)} labels")
    base = json.loads(args.base.read_text())
    others = [(label, json.loads(p.read_text())) for label, p in zip(labels, args.other)]
    md = render(args.base_label, base, others, args.resamples, args.seed)
    publish(md, args.out)


if __name__ == "__main__":
    main()

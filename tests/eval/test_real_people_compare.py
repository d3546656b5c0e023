"""model.eval.real_people_compare: paired differences with a bootstrap over people."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.eval.real_people_compare import compare_reports, main, paired_difference

IDS = ["a", "a", "b", "c", "c", "d"]


def report(errors: list[float], full: list[bool] | None = None, knees: list[bool] | None = None) -> dict:
    full = full or [True, True, False, True, False, True]
    return {
        "checkpoint_id": "x", "people": [f"crop{i}" for i in range(len(errors))], "person_ids": IDS, "full_body": full,
        "error": {"network": {"native": errors, "32": [e + 0.01 for e in errors]}},
        "knees": {"pass": {"native": knees or [True, False], "32": knees or [True, False]}},
    }


def test_identical_networks_differ_by_nothing() -> None:
    e = np.array([0.1, 0.2, 0.3, 0.1, 0.2, 0.3])
    d = paired_difference(e, e.copy(), IDS, resamples=200)
    assert d.mean == 0 and d.low == 0 and d.high == 0 and d.better == 0 and d.worse == 0
    assert d.people == 4 and d.crops == 6


def test_a_network_better_for_everyone_has_an_interval_below_zero() -> None:
    base = np.array([0.2, 0.25, 0.3, 0.22, 0.18, 0.4])
    other = base - np.array([0.01, 0.02, 0.015, 0.01, 0.03, 0.02])
    d = paired_difference(base, other, IDS, resamples=2000, seed=1)
    assert d.high < 0 and d.low <= d.mean <= d.high and d.better == 4 and d.worse == 0
    np.testing.assert_allclose(d.mean, (other - base).mean())


def test_bootstrap_resamples_people_not_crops() -> None:
    """One person with many crops counts as one draw: a lone large difference widens the interval."""
    ids = ["a"] * 5 + ["b", "c", "d"]
    base = np.zeros(8)
    other = np.array([-0.1] * 5 + [0.01, 0.01, 0.01])
    d = paired_difference(base, other, ids, resamples=4000, seed=0)
    assert d.low < 0 < d.high  # one person drives the mean: the set cannot tell
    assert d.better == 1 and d.worse == 3


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="person ids"):
        paired_difference(np.zeros(3), np.zeros(3), ["a"])
    with pytest.raises(ValueError, match="no crops"):
        paired_difference(np.zeros(0), np.zeros(0), [])
    with pytest.raises(ValueError, match="resamples"):
        paired_difference(np.zeros(2), np.zeros(2), ["a", "b"], resamples=0)
    other = report([0.1] * 6)
    other["people"] = other["people"][::-1]
    with pytest.raises(ValueError, match="other crops"):
        compare_reports(report([0.1] * 6), other)


def test_compare_reports_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, other = report([0.2] * 6), report([0.1] * 6, knees=[True, True])
    res = compare_reports(base, other, resamples=100)
    assert set(res) == {"native", "32"} and set(res["native"]) == {"all", "full body"}
    assert res["32"]["full body"].crops == 4 and res["32"]["all"].mean == pytest.approx(-0.1)
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps(other))
    main(["--base", str(tmp_path / "a.json"), "--other", str(tmp_path / "b.json"), "--label", "better", "--resamples", "100",
          "--out", str(tmp_path / "cmp.md")])
    md = (tmp_path / "cmp.md").read_text()
    assert "| better | 32 px | -0.1000 |" in md and "1 -> 2" in md and "(cannot tell)" not in md

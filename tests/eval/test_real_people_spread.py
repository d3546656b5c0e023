"""model.eval.real_people_spread: run-to-run spread of recipes on the real people."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from model.eval.real_people_spread import group_spread, main, run_figures


def report(errors: list[float], knees: list[bool], seated: list[bool], checkpoint_id: str = "x") -> dict:
    return {
        "checkpoint_id": checkpoint_id,
        "people": [f"crop{i}" for i in range(len(errors))],
        "full_body": [True, False, True, False],
        "error": {"network": {"native": errors, "32": [e + 0.01 for e in errors]}},
        "knees": {"pass": {"native": knees, "32": knees}},
        "seated_knees": {"bent": {"native": seated, "32": seated}},
    }


def test_run_figures_read_one_size() -> None:
    r = run_figures(report([0.1, 0.2, 0.3, 0.4], [True, False, True], [True, False]), "32", "a")
    assert math.isclose(r.error_all, 0.26) and math.isclose(r.error_full_body, 0.21)
    assert (r.knees_pass, r.knees_total, r.seated_bent, r.seated_total) == (2, 3, 1, 2)
    with pytest.raises(ValueError, match="no crop size '24'"):
        run_figures(report([0.1] * 4, [], []), "24", "a")


def test_group_spread_gives_mean_range_and_sd() -> None:
    runs = [run_figures(report([e] * 4, [], []), "native", f"r{i}") for i, e in enumerate((0.10, 0.14, 0.12))]
    g = group_spread("recipe", runs)
    assert math.isclose(g.mean_all, 0.12) and g.range_all == (0.10, 0.14)
    assert math.isclose(g.std_all, 0.02)
    assert group_spread("one", runs[:1]).std_all == 0.0
    with pytest.raises(ValueError, match="no runs"):
        group_spread("none", [])


def test_cli_writes_the_table_and_refuses_other_crops(tmp_path: Path) -> None:
    files = []
    for name, e in (("a1", 0.10), ("a2", 0.12), ("b1", 0.20)):
        (tmp_path / name).mkdir()
        f = tmp_path / name / "real_people.json"
        f.write_text(json.dumps(report([e] * 4, [True], [False], name)))
        files.append(str(f))
    out = tmp_path / "spread.md"
    main(["--group", "A", files[0], files[1], "--group", "B", files[2], "--height", "32", "--out", str(out)])
    md = out.read_text()
    assert "| A | a1 | `a1` | 0.110 |" in md and "| B | 1 | 0.210 [0.210, 0.210]" in md
    assert "| B | +0.0900 / 0.0200 |" in md  # B's mean minus A's, beside A's range (the wider)
    other = json.loads(Path(files[2]).read_text())
    other["people"] = other["people"][::-1]
    Path(files[2]).write_text(json.dumps(other))
    with pytest.raises(ValueError, match="other crops"):
        main(["--group", "A", files[0], "--group", "B", files[2]])

"""model.eval.recipes: every run on every real set and framing, kept reports reused, one spread report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_support import small_real_set, write_tiny_checkpoint

from model.data.real_people import DEFAULT_ROOT
from model.eval.recipes import main, report_path, run_name, run_recipes

SET_A = ["skv_bikes_f110", "ocv_doc_multi_red", "skv_carphone_f000"]
SET_B = ["s2d_walker_f066", "cvl_field", "p2s_man_c1_f000"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("recipes")
    a = small_real_set(tmp / "set_a", SET_A)
    b = small_real_set(tmp / "set_b", SET_B, source=DEFAULT_ROOT.parent / "real_people_b")
    ckpts = {}
    for name, seed in (("r1/last.pt", 0), ("r2/last.pt", 1), ("r2b/step7.pt", 2)):
        (tmp / name).parent.mkdir(parents=True)
        ckpts[name] = write_tiny_checkpoint(tmp / name, seed)
    return {"tmp": tmp, "a": a, "b": b, **{k: Path(v) for k, v in ckpts.items()}}


def test_run_names() -> None:
    assert run_name("runs/long-ablation/tight-box/last.pt") == "tight-box"
    assert run_name("checkpoints/rscnet-long/model.pt") == "rscnet-long"
    assert run_name("runs/long/step16500.pt") == "step16500"


def test_every_run_set_and_framing_then_reuse(setup: dict[str, Path]) -> None:
    out = setup["tmp"] / "out"
    argv = ["--recipe", "reference", str(setup["r1/last.pt"]), "--recipe", "candidate", str(setup["r2/last.pt"]), str(setup["r2b/step7.pt"]),
            "--sets", f"{setup['a']},{setup['b']}", "--framings", "crop,box", "--height", "32", "--out", str(out), "--no-progress"]  # fmt: skip
    main(argv)
    md = (out / "RECIPES.md").read_text()
    for section in ("## set_a, framing `crop`", "## set_a, framing `box`", "## set_b, framing `crop`", "## set_b, framing `box`"):
        assert section in md
    assert md.count("| candidate | step7 |") == 4 and md.count("| candidate | 2 |") == 4
    assert "Difference of the group means to **reference**" in md
    kept = report_path(out, setup["b"], "r2", "box")
    report = json.loads(kept.read_text())
    assert report["framing"] == "box" and list(report["error"]["network"]) == ["native", "32"]
    assert sorted(report["people"]) == sorted(SET_B) and kept.with_suffix(".md").is_file()
    # a second call reuses every kept report; a report of another network is redone
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("real_people.json")}
    assert len(stamps) == 12
    stale = report_path(out, setup["a"], "r1", "crop")
    stale.write_text(json.dumps(dict(json.loads(stale.read_text()), checkpoint_id="0000000000000000")))
    stamps[stale] = stale.stat().st_mtime_ns
    main(argv)
    changed = [p for p in out.rglob("real_people.json") if p.stat().st_mtime_ns != stamps[p]]
    assert changed == [stale]
    assert (out / "RECIPES.md").read_text() == md


def test_bad_recipes_are_refused(setup: dict[str, Path]) -> None:
    out = setup["tmp"] / "bad"
    with pytest.raises(ValueError, match="share a name"):
        run_recipes([("a", [setup["r1/last.pt"]]), ("b", [setup["r1/last.pt"]])], [setup["a"]], ["crop"], 32, out, progress=False)
    with pytest.raises(ValueError, match="framings"):
        run_recipes([("a", [setup["r1/last.pt"]])], [setup["a"]], ["loose"], 32, out, progress=False)
    with pytest.raises(ValueError, match="at least one"):
        run_recipes([("a", [])], [setup["a"]], ["crop"], 32, out, progress=False)
    with pytest.raises(SystemExit):
        main(["--recipe", "lonely", "--out", str(out)])

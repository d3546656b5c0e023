"""Smoke tests of the data command lines: preview grid, shard writer help."""

from __future__ import annotations

import runpy
import sys
import warnings
from pathlib import Path

import pytest
import torch


@pytest.fixture
def keep_threads():
    """The bench sets torch's thread count for the whole process; restore it afterwards."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_preview_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from model.data import preview

    out = tmp_path / "g.png"
    preview.main(["--out", str(out), "--samples", "2", "--resolutions", "64,24", "--crop-size", "64", "--real", "2", "--compare-heights", "32,24"])
    printed = capsys.readouterr().out
    for path in (out, tmp_path / "g_vs_real.png"):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 2000  # a real picture, not an empty canvas
        assert f"wrote {path}" in printed


def test_preview_draws_partial_views(tmp_path: Path) -> None:
    from model.data import preview

    full, cut = tmp_path / "full.png", tmp_path / "cut.png"
    common = ["--samples", "1", "--resolutions", "24", "--crop-size", "64", "--real", "0"]
    preview.main(["--out", str(full), *common])
    preview.main(["--out", str(cut), *common, "--partial-view", "1"])
    assert cut.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and cut.read_bytes() != full.read_bytes()


def test_preview_spreads_real_people() -> None:
    from model.data.preview import _spread

    assert _spread(list(range(10)), 3) == [0, 4, 9] and _spread([1, 2], 5) == [1, 2]  # type: ignore[arg-type]


def test_shards_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m model.data.shards --help`` exits 0 (run in-process the way ``-m`` does, to
    save a second interpreter start-up with torch)."""
    monkeypatch.setattr(sys, "argv", ["shards", "--help"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules": already imported
        with pytest.raises(SystemExit) as exc:
            runpy.run_module("model.data.shards", run_name="__main__", alter_sys=True)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m model.data.shards")
    for flag in ("--out", "--samples", "--start", "--shard-size", "--workers", "--quality"):
        assert flag in out


def test_shards_requires_arguments() -> None:
    from model.data import shards

    with pytest.raises(SystemExit) as exc:
        shards.main([])
    assert exc.value.code == 2


def test_shards_cli_writes_render_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads) -> None:
    from model.data import shards

    report = tmp_path / "RENDER.md"
    shards.main(["--out", str(tmp_path / "s"), "--samples", "3", "--crop-size", "32", "--shard-size", "2", "--workers", "0", "--report", str(report)])
    text = report.read_text()
    assert "python -m model.data.shards --out" in text and "| 3 | 0 |" in text and "GiB" in text
    assert "rendered 3 samples" in capsys.readouterr().out

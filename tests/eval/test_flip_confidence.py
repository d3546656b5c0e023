"""model.eval.flip_confidence: rank correlation and median halves."""

from __future__ import annotations

import numpy as np
import pytest

from model.eval.flip_confidence import halves, render, spearman


def test_spearman_is_a_rank_correlation() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert spearman(x, np.ones(5)) == 0.0
    with pytest.raises(ValueError, match="N >= 2"):
        spearman(x, x[:3])


def test_halves_split_at_the_median_confidence() -> None:
    conf = np.array([0.1, 0.2, 0.9, 0.8])
    err = np.array([1.0, 3.0, 10.0, 20.0])
    assert halves(conf, err) == (2.0, 15.0)


def test_render_lists_every_row() -> None:
    rows = [{"set": "own", "size": 32, "metric": "mpjpe", "spearman": 0.4, "low_half": 200.0, "high_half": 300.0, "disagreement_mm": 90.0, "n": 4},
            {"set": "real people", "size": "native", "metric": "2D error / box height", "spearman": 0.1, "low_half": 0.16, "high_half": 0.18,
             "disagreement_mm": 150.0, "n": 42}]
    md = render(rows, "abc", "python -m model.eval.flip_confidence")
    assert "| own | 32 px | mpjpe | 4 | 90.0 | 0.40 | 200.0 | 300.0 |" in md
    assert "| real people | native | 2D error / box height | 42 | 150.0 | 0.10 | 0.160 | 0.180 |" in md

"""Evidence charts: real PNGs, identical for identical inputs, bad input named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.pipeline import grade_table
from training.plots import (
    plot_calibration,
    plot_feature_importance,
    plot_grade_distribution,
    plot_roc,
    roc_points,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    p = rng.beta(0.6, 20, 3_000)
    return (rng.random(p.size) < p).astype(int), p


def _is_png(path, min_bytes: int = 10_000) -> bool:
    data = path.read_bytes()
    return data.startswith(PNG_MAGIC) and len(data) > min_bytes


def test_roc_chart_of_several_models(tmp_path, scores):
    y, p = scores
    rng = np.random.default_rng(4)
    curves = {
        "model": roc_points(y, p),
        "woe scorecard": roc_points(y, np.clip(p + rng.normal(0, 0.02, p.size), 0, 1)),
        "oracle": roc_points(y, p**0.5),
    }
    path = plot_roc(curves, tmp_path / "roc.png", "ROC of the 12-month PD")
    assert path == tmp_path / "roc.png" and _is_png(path)


def test_calibration_chart_is_deterministic(tmp_path, scores):
    y, p = scores
    first = plot_calibration(y, p, tmp_path / "a.png")
    second = plot_calibration(y, p, tmp_path / "b.png")
    assert _is_png(first)
    assert first.read_bytes() == second.read_bytes()


def test_calibration_chart_of_bins_without_events(tmp_path):
    """A small book's low-PD bins hold no default: Wilson's lower bound then sits above 0 by
    rounding, and an unclipped whisker made the whole training run fail while logging."""
    p = np.linspace(0.001, 0.05, 110)  # 10 bins of 11 rows: 0 of 11 rounds above zero
    y = np.zeros(p.size, dtype=int)
    y[-3:] = 1
    assert _is_png(plot_calibration(y, p, tmp_path / "thin.png"), min_bytes=5_000)


def test_grade_and_importance_charts(tmp_path, scores):
    y, p = scores
    grades = pd.Series(
        np.select([p > 0.1, p > 0.04, p > 0.015], ["red", "yellow", "blue"], "green")
    )
    table = grade_table(grades, y.astype(bool))  # orange is empty: drawn, not a crash
    assert _is_png(plot_grade_distribution(table, tmp_path / "grades.png"))
    importance = pd.Series(np.linspace(1, 40, 40), index=[f"feature_{i}" for i in range(40)])
    assert _is_png(plot_feature_importance(importance, tmp_path / "importance.png", top=15))


def test_mismatched_lengths_and_bad_values_are_named(tmp_path, scores):
    y, p = scores
    with pytest.raises(ValueError, match=r"lengths differ \(3000 vs 2999\)"):
        plot_calibration(y, p[:-1], tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        plot_calibration(y, p + 1, tmp_path / "c.png")
    with pytest.raises(ValueError, match="outcome must hold only 0/1"):
        plot_calibration(y * 2, p, tmp_path / "c.png")
    with pytest.raises(ValueError, match="ROC curve 'model': fpr and tpr need equal lengths"):
        plot_roc({"model": (np.array([0, 0.5, 1]), np.array([0, 1]))}, tmp_path / "r.png", "t")
    with pytest.raises(ValueError, match="single class"):
        roc_points(np.zeros(10), np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="folder for the chart does not exist"):
        plot_roc({"model": roc_points(y, p)}, tmp_path / "missing" / "r.png", "t")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_tables_with_wrong_shape_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"grade table lacks columns: \['observed_default_rate'\]"):
        plot_grade_distribution(pd.DataFrame({"loans": [1]}, index=["red"]), tmp_path / "g.png")
    bad = pd.DataFrame({"loans": [1], "observed_default_rate": [0.1]}, index=["purple"])
    with pytest.raises(ValueError, match=r"unknown grades: \['purple'\]"):
        plot_grade_distribution(bad, tmp_path / "g.png")
    with pytest.raises(ValueError, match="must be numbers with no missing values"):
        plot_feature_importance(pd.Series([1.0, None], index=["a", "b"]), tmp_path / "f.png")

"""Evidence charts logged with each retraining run: ROC, calibration, grades, feature importance.

Drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``) so no pyplot global state
leaks between runs or threads and nothing ever tries to open a window on a server. Inputs are
checked first and the same inputs give the same PNG bytes, so a chart in a run can be trusted to
show what the run's numbers say. Each ``plot_*`` function writes one PNG to ``path`` and returns
it; everything else here is pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from models.grade_policy import GRADES

#: Warning colours in the national emergency-warning order, readable on white.
GRADE_COLOURS = {
    "green": "#2e7d32",
    "blue": "#1565c0",
    "yellow": "#f9a825",
    "orange": "#ef6c00",
    "red": "#c62828",
}
_DPI = 100
#: No software version in the PNG metadata: charts from equal inputs stay byte-identical.
_PNG_METADATA = {"Software": None}


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise ValueError(f"folder for the chart does not exist: {target.parent}")
    FigureCanvasAgg(figure).print_png(target, metadata=_PNG_METADATA)
    return target


def _binary_and_probability(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = np.asarray(y), np.asarray(p, dtype=float)
    if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
        raise ValueError(f"outcome and probability lengths differ ({y_arr.size} vs {p_arr.size})")
    if y_arr.size == 0:
        raise ValueError("no rows to plot")
    if not np.isin(y_arr, (0, 1)).all():
        raise ValueError("outcome must hold only 0/1 (or booleans)")
    if np.isnan(p_arr).any() or (p_arr < 0).any() or (p_arr > 1).any():
        raise ValueError("probabilities must lie in [0, 1] with no missing values")
    return y_arr.astype(int), p_arr


def roc_points(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates of ``p`` against ``y``, the input of ``plot_roc``."""
    y_arr, p_arr = _binary_and_probability(y, p)
    if y_arr.min() == y_arr.max():
        raise ValueError("the outcome has a single class; the ROC curve is undefined")
    fpr, tpr, _ = roc_curve(y_arr, p_arr)
    return fpr, tpr


def _checked_curve(name: str, curve: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    fpr, tpr = (np.asarray(a, dtype=float) for a in curve)
    if fpr.shape != tpr.shape or fpr.ndim != 1 or fpr.size < 2:
        raise ValueError(f"ROC curve {name!r}: fpr and tpr need equal lengths of at least 2")
    inside = np.isfinite(fpr).all() and np.isfinite(tpr).all()
    if not inside or fpr.min() < 0 or fpr.max() > 1 or tpr.min() < 0 or tpr.max() > 1:
        raise ValueError(f"ROC curve {name!r}: rates must lie in [0, 1]")
    if (np.diff(fpr) < 0).any() or (np.diff(tpr) < 0).any():
        raise ValueError(f"ROC curve {name!r}: rates must not decrease along the curve")
    return fpr, tpr


def plot_roc(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    title: str,
) -> Path:
    """Several models' ROC curves of one outcome on one chart, AUC in the legend.

    Meant for the model, its two baselines and (on simulated books) the oracle on the same test
    rows, so the reader sees the gap to a simple scorecard and to the best achievable ranking.
    """
    if not curves:
        raise ValueError("no ROC curves to plot")
    checked = {name: _checked_curve(name, curve) for name, curve in curves.items()}
    figure = Figure(figsize=(6.4, 6.0), dpi=_DPI)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#9e9e9e", linestyle=":", linewidth=1, label="chance (0.500)")
    for name, (fpr, tpr) in checked.items():
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        axes.plot(fpr, tpr, linewidth=1.6, label=f"{name} (AUC {auc:.3f})")
    axes.set(xlim=(0, 1), ylim=(0, 1.01), title=title)
    axes.set_xlabel("false positive rate (non-defaulters flagged)")
    axes.set_ylabel("true positive rate (defaulters flagged)")
    axes.set_aspect("equal")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return _save(figure, path)


def _wilson(events: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson interval of a rate; unlike the normal one it is not zero-width at 0 events."""
    rate = events / n
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def plot_calibration(
    y: np.ndarray,
    p: np.ndarray,
    path: str | os.PathLike[str],
    bins: int = 10,
    title: str = "Calibration of the 12-month PD (test window)",
) -> Path:
    """Reliability diagram over equal-count bins of ``p``, with a histogram of ``p`` below.

    Equal-count bins as in ``training.metrics.compute_ece``, so the points are the gaps the ECE
    averages. The diagram's axes are linear but zoomed to the bins: PDs crowd near zero, and a
    log axis would silently drop the bins with no observed defaults. The histogram spans every
    row, with a log count axis so the thin tail of high PDs stays visible. Whiskers are 95%
    Wilson intervals, so a gap inside the noise of a thin bin is not mistaken for
    miscalibration.
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    y_arr, p_arr = _binary_and_probability(y, p)
    order = np.argsort(p_arr, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, p_arr.size)) if g.size]
    n = np.array([g.size for g in groups], dtype=float)
    predicted = np.array([p_arr[g].mean() for g in groups])
    events = np.array([y_arr[g].sum() for g in groups], dtype=float)
    observed = events / n
    low, high = _wilson(events, n)
    ece = float(np.sum(n * np.abs(predicted - observed)) / n.sum())
    upper = min(1.0, 1.1 * max(predicted.max(), high.max(), 1e-3))

    figure = Figure(figsize=(6.4, 7.2), dpi=_DPI)
    grid = figure.add_gridspec(2, 1, height_ratios=(3, 1))
    reliability = figure.add_subplot(grid[0])
    reliability.plot([0, upper], [0, upper], color="#9e9e9e", linestyle=":", label="perfect")
    reliability.errorbar(
        predicted,
        observed,
        # Wilson's bounds hold the rate up to rounding: at 0 events low can exceed 0 by 1e-18
        yerr=np.clip(np.vstack([observed - low, high - observed]), 0.0, None),
        marker="o",
        color="#1565c0",
        capsize=3,
        label=f"{len(groups)} equal-count bins (ECE {ece:.4f})",
    )
    reliability.set(xlim=(0, upper), ylim=(0, upper), title=title)
    reliability.set_xlabel("mean predicted probability in bin")
    reliability.set_ylabel("observed event rate in bin (95% interval)")
    reliability.grid(alpha=0.3)
    reliability.legend(loc="upper left", fontsize="small")

    histogram = figure.add_subplot(grid[1])
    widest = max(float(p_arr.max()), upper)  # every row, even beyond the zoomed diagram
    histogram.hist(p_arr, bins=50, range=(0, widest), color="#757575", log=True)
    histogram.set_xlim(0, widest)
    histogram.set_xlabel("predicted probability (all rows)")
    histogram.set_ylabel("rows (log scale)")
    figure.tight_layout()
    return _save(figure, path)


def plot_grade_distribution(grade_table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Loans per warning grade and the observed default rate per grade, side by side.

    Takes ``training.pipeline.grade_table`` output (index = grades, columns ``loans`` and
    ``observed_default_rate``); a grade with no loans shows an empty bar labelled "no loans"
    instead of a zero default rate it never had.
    """
    missing = [c for c in ("loans", "observed_default_rate") if c not in grade_table.columns]
    if missing:
        raise ValueError(f"grade table lacks columns: {missing}")
    unknown = [g for g in grade_table.index if g not in GRADES]
    if unknown:
        raise ValueError(f"grade table has unknown grades: {unknown}")
    table = grade_table.reindex(list(GRADES))
    loans = table["loans"].fillna(0).to_numpy(dtype=float)
    rates = table["observed_default_rate"].to_numpy(dtype=float) * 100
    colours = [GRADE_COLOURS[g] for g in GRADES]

    figure = Figure(figsize=(10.0, 4.4), dpi=_DPI)
    count_axes, rate_axes = figure.subplots(1, 2)
    bars = count_axes.bar(GRADES, loans, color=colours, edgecolor="#424242")
    count_axes.bar_label(bars, labels=[f"{int(v):,}" for v in loans], fontsize="small")
    count_axes.set(title="Loans per warning grade", xlabel="grade", ylabel="loans")
    count_axes.margins(y=0.12)
    shown = np.nan_to_num(rates, nan=0.0)
    bars = rate_axes.bar(GRADES, shown, color=colours, edgecolor="#424242")
    labels = ["no loans" if np.isnan(r) else f"{r:.2f}%" for r in rates]
    rate_axes.bar_label(bars, labels=labels, fontsize="small")
    rate_axes.set(title="Observed default rate per grade", xlabel="grade")
    rate_axes.set_ylabel("observed default rate (%)")
    rate_axes.margins(y=0.12)
    for axes in (count_axes, rate_axes):
        axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)


def plot_feature_importance(
    importance: pd.Series,
    path: str | os.PathLike[str],
    top: int = 20,
    xlabel: str = "importance",
) -> Path:
    """Horizontal bars of the ``top`` features by absolute importance, largest at the top.

    Ties are broken by feature name so the chart does not depend on the order of the input.
    ``xlabel`` names the measure (gain, split count, mean |contribution|), which a reader needs
    to compare charts from different runs.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    if importance.empty:
        raise ValueError("no feature importances to plot")
    values = pd.to_numeric(importance, errors="coerce")
    if values.isna().any():
        raise ValueError("feature importances must be numbers with no missing values")
    frame = pd.DataFrame({"feature": importance.index.astype(str), "value": values.to_numpy()})
    frame = frame.assign(size=frame["value"].abs()).sort_values(
        ["size", "feature"], ascending=[False, True], kind="stable"
    )
    shown = frame.head(top).iloc[::-1]
    figure = Figure(figsize=(7.2, 1.2 + 0.32 * len(shown)), dpi=_DPI)
    axes = figure.add_subplot()
    axes.barh(shown["feature"], shown["value"], color="#1565c0")
    axes.set_title(f"Feature importance (top {len(shown)} of {len(frame)})")
    axes.set_xlabel(xlabel)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)

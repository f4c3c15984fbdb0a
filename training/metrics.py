"""Discrimination and calibration metrics of a probability against a binary outcome.

ROC AUC, Gini (2 AUC - 1), KS (largest gap between the score distributions of defaulters and
non-defaulters), Brier score and expected calibration error (ECE: the weighted mean absolute
gap between predicted and observed rates over equal-count bins; equal-count bins because PDs
crowd near zero and equal-width bins would leave most of them empty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of one probability column against one binary outcome."""

    n: int
    events: int
    auc: float
    gini: float
    ks: float
    brier: float
    ece: float
    mean_predicted: float
    observed_rate: float


def compute_ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-count bins of ``p``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, p.size))
    return float(sum(len(g) * abs(p[g].mean() - y[g].mean()) for g in groups if len(g)) / p.size)


def compute_binary_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> BinaryMetrics:
    """All metrics of ``p`` against ``y``; raises naming the problem if ``y`` has one class."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"outcome and probability lengths differ ({y.size} vs {p.size})")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1] with no missing values")
    if y.min() == y.max():
        raise ValueError("the outcome has a single class; discrimination is undefined")
    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    return BinaryMetrics(
        n=int(y.size),
        events=int(y.sum()),
        auc=auc,
        gini=2 * auc - 1,
        ks=float(np.max(tpr - fpr)),
        brier=float(brier_score_loss(y, p)),
        ece=compute_ece(y, p, bins),
        mean_predicted=float(p.mean()),
        observed_rate=float(y.mean()),
    )

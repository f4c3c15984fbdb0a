"""Seeded test windows and calibrated metrics for the calibration, gate and model-card tests."""

from __future__ import annotations

import numpy as np

from training.metrics import BinaryMetrics


def clustered_window(
    borrowers: int = 1_000, months: int = 6, seed: int = 0, level: float = -4.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, calibrated PD and borrower of a window shaped like a retraining run's: each
    borrower at ``months`` as-of months, PDs drifting a little month to month, and one default
    event per borrower seen by every row whose PD it falls under (so rows of a borrower default
    together, as a loan's overlapping 12-month windows do). Each row's PD is its true default
    probability."""
    rng = np.random.default_rng(seed)
    borrower = np.repeat(np.arange(borrowers), months)
    risk = rng.normal(size=borrowers)[borrower] * 1.2 + rng.normal(0, 0.3, borrower.size)
    pd_true = 1 / (1 + np.exp(-(level + risk)))
    y = rng.random(borrowers)[borrower] < pd_true
    return y, pd_true, borrower


def independent_window(n: int, seed: int = 0, level: float = -3.3) -> tuple[np.ndarray, np.ndarray]:
    """Outcome and calibrated PD of ``n`` independent rows (one loan each)."""
    rng = np.random.default_rng(seed)
    pd_true = 1 / (1 + np.exp(-(level + 1.2 * rng.normal(size=n))))
    return rng.random(n) < pd_true, pd_true


def calibrated_metrics(auc: float, **fields: float) -> BinaryMetrics:
    """Metrics of a calibrated 12-month PD with the given AUC (ECE p 0.5, O/E 1 [0.8, 1.2]);
    ``fields`` override any other figure."""
    n, events = int(fields.pop("n", 10_000)), int(fields.pop("events", 100))
    values: dict[str, float] = {
        "gini": 2 * auc - 1,
        "ks": 0.4,
        "brier": 0.02,
        "ece": 0.005,
        "mean_predicted": events / n,
        "observed_rate": events / n,
        "ece_p_value": 0.5,
        "oe_ratio": 1.0,
        "oe_low": 0.8,
        "oe_high": 1.2,
        "oe_design_effect": 1.0,
        "clusters": n,
        **fields,
    }
    return BinaryMetrics(n=n, events=events, auc=auc, **values)  # type: ignore[arg-type]

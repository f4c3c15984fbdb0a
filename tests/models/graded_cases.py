"""Seeded rows for graded-classifier tests: severities rising with days past due."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.graded import GradedWarningClassifier


def graded_rows(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with severities 0-2 rising with ``dpd``, and a categorical column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "dpd": rng.gamma(1.0, 10.0, n),
            "utilisation": rng.uniform(0, 1, n),
            "sector": pd.Categorical(rng.choice(["farm", "retail", "works"], n)),
        }
    )
    score = frame["dpd"] / 10 + frame["utilisation"] + rng.normal(0, 1, n)
    return frame, np.digitize(score, [1.5, 3.0])


def prefit_and_later_slice(
    train: int, later: int
) -> tuple[GradedWarningClassifier, pd.DataFrame, np.ndarray]:
    """A graded classifier fitted on earlier rows, and a later slice to calibrate on."""
    X_train, y_train = graded_rows(train, 0)
    X_cal, y_cal = graded_rows(later, 1)
    base = GradedWarningClassifier(n_estimators=30, min_child_samples=10).fit(X_train, y_train)
    return base, X_cal, y_cal

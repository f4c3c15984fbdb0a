"""The calibration rows are scored out of fold: by trees that never saw the borrower.

A borrower's calibration rows share most of their 12-month outcome window with the same
borrower's training rows, so trees fitted on those rows score them as if they knew the outcome
(docs/training.md, calibration). The toy book makes that memory explicit: a per-borrower
``fingerprint`` column the trees can learn each borrower's outcome from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from models.calibration import CalibratedGradedClassifier
from models.graded import GradedWarningClassifier
from training.pipeline import CALIBRATION_FOLD_SALT, TrainingConfig, calibration_out_of_fold
from training.split import borrower_folds

BORROWERS, MONTHS, TRAIN_MONTHS = 900, 8, 6


def _book(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=BORROWERS)
    latent = signal + rng.normal(0, 1.5, BORROWERS)
    level = np.digitize(latent, [0.8, 1.8])  # 0, 1, 2: one outcome per borrower, every month
    fingerprint = rng.random(BORROWERS)  # tells the trees who the borrower is
    borrower = np.repeat(np.arange(BORROWERS), MONTHS)
    month = np.tile(np.arange(MONTHS), BORROWERS)
    X = pd.DataFrame(
        {
            "signal": signal[borrower] + rng.normal(0, 0.1, borrower.size),
            "fingerprint": fingerprint[borrower],
        }
    )
    ids = pd.Series([f"B{b:05d}" for b in borrower])
    return X, level[borrower], month < TRAIN_MONTHS, month >= TRAIN_MONTHS, ids


def _trees() -> GradedWarningClassifier:
    return GradedWarningClassifier(n_estimators=60, num_leaves=31, min_child_samples=5)


@pytest.fixture(scope="module")
def book():
    X, y, train, cal, ids = _book()
    folds = borrower_folds(ids, 3, CALIBRATION_FOLD_SALT)
    base = _trees().fit(X[train], y[train])
    return X, y, train, cal, ids, folds, base


def test_out_of_fold_scores_do_not_remember_the_borrowers_outcome(book):
    X, y, train, cal, _, folds, base = book
    defaulted = y[cal] >= 2
    own = roc_auc_score(defaulted, base.predict_cumulative(X[cal])[:, -1])
    oof = calibration_out_of_fold(base, X, y, train, cal, folds)
    out_of_fold = roc_auc_score(defaulted, oof[:, -1])
    # Borrowers the trees never saw at all: what the test window and the book in service get.
    X2, y2, train2, cal2, _ = _book(seed=1)
    unseen = roc_auc_score(y2[cal2] >= 2, base.predict_cumulative(X2[cal2])[:, -1])
    assert own > 0.9  # the final trees' own scores of their borrowers' later rows
    assert out_of_fold < own - 0.1
    assert abs(out_of_fold - unseen) < 0.06


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_a_map_fitted_out_of_fold_does_not_understate_unseen_borrowers_pds(book, method):
    X, y, train, cal, _, folds, base = book
    X2, y2, _, cal2, _ = _book(seed=1)
    observed = int((y2[cal2] >= 2).sum())

    def observed_over_expected(model: CalibratedGradedClassifier) -> float:
        return observed / float(model.predict_cumulative(X2[cal2])[:, -1].sum())

    own = CalibratedGradedClassifier(base, method).fit(X[cal], y[cal])
    oof = calibration_out_of_fold(base, X, y, train, cal, folds)
    cross_fitted = CalibratedGradedClassifier(base, method).fit_cumulative(oof, y[cal])
    assert cross_fitted.estimator is base  # the final trees still score
    assert observed_over_expected(own) > 1.25  # the bug: PDs a quarter too low
    assert abs(observed_over_expected(cross_fitted) - 1) < 0.15


def test_each_fold_is_scored_by_trees_fitted_on_the_other_folds_training_rows(book):
    X, y, train, cal, _, folds, base = book
    oof = calibration_out_of_fold(base, X, y, train, cal, folds)
    assert oof.shape == (cal.sum(), base.classes_.size - 1)
    assert not np.isnan(oof).any()
    for fold in (0, 2):
        rows = train & (folds != fold)
        expected = clone(base).fit(X[rows], y[rows]).predict_cumulative(X[cal & (folds == fold)])
        np.testing.assert_array_equal(oof[folds[cal] == fold], expected)


def test_trees_fitted_on_the_calibration_rows_too_still_score_them_out_of_fold(book):
    X, y, train, cal, _, folds, _ = book
    fit = train | cal  # the default: the final trees see the calibration window
    base = _trees().fit(X[fit], y[fit])
    own = roc_auc_score(y[cal] >= 2, base.predict_cumulative(X[cal])[:, -1])
    oof = calibration_out_of_fold(base, X, y, fit, cal, folds)
    X2, y2, _, cal2, _ = _book(seed=1)
    unseen = roc_auc_score(y2[cal2] >= 2, base.predict_cumulative(X2[cal2])[:, -1])
    assert own > 0.95  # the final trees know these rows' outcomes
    assert abs(roc_auc_score(y[cal] >= 2, oof[:, -1]) - unseen) < 0.06
    for fold in range(3):  # no fold's own rows among its trees' rows
        rows = fit & (folds != fold)
        expected = clone(base).fit(X[rows], y[rows]).predict_cumulative(X[cal & (folds == fold)])
        np.testing.assert_array_equal(oof[folds[cal] == fold], expected)


def test_a_fold_whose_complement_lacks_a_level_is_refused(book):
    X, y, train, cal, _, folds, base = book
    y = np.where((folds == 0) & (y == 2), 3, y)  # level 3 only in fold 0's borrowers
    base = _trees().fit(X[train], y[train])
    with pytest.raises(
        ValueError, match=r"outside calibration fold 0 lack severity level\(s\) \[3\]"
    ):
        calibration_out_of_fold(base, X, y, train, cal, folds)


def test_the_config_needs_at_least_two_calibration_folds():
    months = {"first_as_of": "2023-03", "train_until": "2024-03"}
    windows = {**months, "calibrate_until": "2024-06", "test_until": "2024-12"}
    assert TrainingConfig(**windows).calibration_folds == 3
    with pytest.raises(ValidationError, match="calibration_folds"):
        TrainingConfig(**windows, calibration_folds=1)

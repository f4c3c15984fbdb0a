"""Calibrating the graded classifier on an out-of-time slice, threshold by threshold.

The 12-month PD feeds provisions, so it must be a frequency, not only a ranking. Trees trained
on earlier months drift in level on later ones; the calibrator maps each threshold's raw
probability P(S>=k) onto observed frequencies in a later slice that training never saw, with
isotonic regression (flexible, needs more defaults) or a sigmoid on the raw logit (Platt
scaling, two parameters). The training script chooses between them by measurement. After
calibration the cumulative probabilities are made monotone across thresholds again.

``fit`` scores the slice with the estimator itself; ``fit_cumulative`` takes the slice's raw
P(S>=k) computed elsewhere. Training uses the latter with out-of-fold scores (trees of the same
settings that never saw those rows' borrowers, ``training.pipeline``): a borrower's calibration
rows share most of their 12-month outcome window with the same borrower's training rows, so the
final trees' own scores of them partly know the outcome, and a map fitted on such scores
understates the PDs of every borrower the trees never saw (docs/training.md, calibration).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from models.graded import CumulativeClassifierMixin, GradedWarningClassifier

METHODS = ("isotonic", "sigmoid")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class InterpolatedIsotonic:
    """Isotonic regression whose steps are joined: linear between the centres of its blocks.

    A plain isotonic map is a step function: every score in a block gets the same PD, so rows
    the trees ranked apart tie, and the calibrated PD ranks worse than the raw score (0.002-0.005
    AUC on the simulated books, docs/training.md). Joining the block centres keeps the block
    levels (the calibration) and the trees' order between them; only scores below the first
    centre or above the last are clipped to the end levels.
    """

    def fit(self, x: np.ndarray, y: np.ndarray) -> InterpolatedIsotonic:
        """Fit the isotonic map of ``y`` on ``x`` and keep one knot per block."""
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
        order = np.argsort(x, kind="stable")
        xs, level = np.asarray(x, dtype=float)[order], iso.predict(np.asarray(x)[order])
        starts = np.flatnonzero(np.r_[True, np.diff(level) != 0])
        self.knots_x_ = np.add.reduceat(xs, starts) / np.diff(np.r_[starts, xs.size])
        self.knots_y_ = level[starts]
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability of each score."""
        return np.interp(np.asarray(x, dtype=float), self.knots_x_, self.knots_y_)


class CalibratedGradedClassifier(CumulativeClassifierMixin, ClassifierMixin, BaseEstimator):
    """A fitted ``GradedWarningClassifier`` with per-threshold calibration.

    Parameters
    ----------
    estimator : GradedWarningClassifier
        Already fitted on the training months; ``fit`` here only learns the calibration.
    method : {"isotonic", "sigmoid"}
    """

    def __init__(self, estimator: GradedWarningClassifier, method: str = "isotonic") -> None:
        self.estimator = estimator
        self.method = method

    def fit(self, X: Any, y: Any) -> CalibratedGradedClassifier:
        """Learn the calibration from a later slice ``X, y`` the estimator never saw."""
        codes = self._check_target(y)
        return self._fit_calibrators(self.estimator.predict_cumulative(X), codes)

    def fit_cumulative(self, cumulative: Any, y: Any) -> CalibratedGradedClassifier:
        """Learn the calibration from raw P(y >= class k) of the slice's rows computed elsewhere
        (one column per threshold of the estimator, as its ``predict_cumulative`` gives), e.g.
        out of fold. The estimator is kept as the one that scores; only the map is learnt."""
        codes = self._check_target(y)
        raw = np.asarray(cumulative, dtype=float)
        expected = (codes.size, self.classes_.size - 1)
        if raw.shape != expected:
            raise ValueError(f"cumulative has shape {raw.shape}, expected {expected}")
        if np.isnan(raw).any() or (raw < 0).any() or (raw > 1).any():
            raise ValueError("cumulative probabilities must lie in [0, 1] with no missing values")
        return self._fit_calibrators(raw, codes)

    def _check_target(self, y: Any) -> np.ndarray:
        """Check the method, the estimator and ``y``; set the estimator's classes and input
        contract; return each row's class code."""
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        check_is_fitted(self.estimator, "estimators_")
        y = column_or_1d(y)
        if y.size == 0:
            raise ValueError("the calibration slice is empty (0 sample(s)); at least one row")
        check_classification_targets(y)
        self.classes_ = self.estimator.classes_
        # The input contract is the estimator's, which checks every X against it.
        self.n_features_in_ = self.estimator.n_features_in_
        if hasattr(self.estimator, "feature_names_in_"):
            self.feature_names_in_ = self.estimator.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        unknown = sorted(set(np.unique(y)) - set(self.classes_))
        if unknown:
            raise ValueError(f"calibration target has level(s) unseen in training: {unknown}")
        return np.asarray(np.searchsorted(self.classes_, y))

    def _fit_calibrators(self, raw: np.ndarray, codes: np.ndarray) -> CalibratedGradedClassifier:
        self.calibrators_ = []
        for k in range(raw.shape[1]):
            hit = (codes >= k + 1).astype(int)
            if hit.min() == hit.max():
                level = self.classes_[k + 1]
                raise ValueError(
                    f"the calibration slice has no variation at threshold >= {level!r}"
                )
            if self.method == "isotonic":
                model: Any = InterpolatedIsotonic().fit(raw[:, k], hit)
            else:
                model = LogisticRegression(C=1e6).fit(_logit(raw[:, k])[:, None], hit)
            self.calibrators_.append(model)
        return self

    def predict_cumulative(self, X: Any) -> np.ndarray:
        """Calibrated P(y >= class k), non-increasing across thresholds."""
        return self.cumulative_from_matrix(self.model_matrix(X))

    def model_matrix(self, X: Any) -> np.ndarray:
        """``X`` as the estimator's trees read it (``GradedWarningClassifier.model_matrix``)."""
        return self.estimator.model_matrix(X)

    def cumulative_from_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated ``predict_cumulative`` of rows already converted by ``model_matrix``."""
        check_is_fitted(self, "calibrators_")
        return self.calibrate_cumulative(self.estimator.cumulative_from_matrix(matrix))

    def calibrate_cumulative(self, cumulative: Any) -> np.ndarray:
        """Calibrated probabilities of raw P(y >= class k) (the estimator's, or out of fold)."""
        check_is_fitted(self, "calibrators_")
        raw = np.asarray(cumulative, dtype=float)
        columns = []
        for k, model in enumerate(self.calibrators_):
            if self.method == "isotonic":
                columns.append(model.predict(raw[:, k]))
            else:
                columns.append(model.predict_proba(_logit(raw[:, k])[:, None])[:, 1])
        return np.minimum.accumulate(np.column_stack(columns), axis=1)

"""The graded warning classifier: P(S>=1), P(S>=2), P(S>=3) from one LightGBM per threshold.

Outcome severity is ordinal (docs/domain.md, outcomes), so instead of one multiclass model the
classifier fits one binary LightGBM per threshold ``S >= k`` (the cumulative-link idea of ordinal
regression with flexible trees) and then forces the cumulative probabilities to be monotone
across thresholds (P(S>=1) >= P(S>=2) >= P(S>=3)), which separately trained models do not
guarantee. Features whose direction is known (more days past due never lowers risk) can be given
LightGBM monotone constraints by name. A binary target is the one-threshold case.

Class labels are ordered as ``numpy.unique`` sorts them; ``predict_cumulative`` returns one
column per threshold above the lowest class, ``predict_proba`` the probability of each class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)


def class_probabilities(cumulative: np.ndarray) -> np.ndarray:
    """Per-class probabilities from non-increasing cumulative ones P(y >= class k), k >= 1."""
    n = cumulative.shape[0]
    bounds = np.hstack([np.ones((n, 1)), cumulative, np.zeros((n, 1))])
    return bounds[:, :-1] - bounds[:, 1:]


class CumulativeClassifierMixin:
    """Class probabilities and predictions of a classifier defined by ``predict_cumulative``.

    Every graded model here (trees per threshold, their calibrated form, the feature-table
    model) is an ordinal classifier whose primary output is P(y >= class k); the rest of the
    scikit-learn contract follows from it in one way, kept in one place. Missing values are
    allowed: LightGBM routes them itself.
    """

    classes_: np.ndarray

    def predict_cumulative(self, X: Any) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fit_classes(self, X: Any, y: Any) -> np.ndarray:
        """Check ``y`` against the prepared ``X``, set ``classes_`` and return each row's class
        code 0..K (the thresholds are ``code >= k``)."""
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(
                f"only one class is present in the target ({self.classes_[0]!r}); "
                "at least two outcome levels are needed"
            )
        return np.asarray(codes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class (columns follow ``classes_``)."""
        return class_probabilities(self.predict_cumulative(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class."""
        proba = self.predict_proba(X)  # checks fitted before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags


class GradedWarningClassifier(CumulativeClassifierMixin, ClassifierMixin, BaseEstimator):
    """One LightGBM per severity threshold, monotone across thresholds.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda : LightGBM hyperparameters shared by every threshold model.
    monotone : dict of str to int, optional
        Feature name -> +1 (risk never falls as it rises) or -1; needs DataFrame input.
    random_state : int
        Seed of every threshold model (same data and seed give the same model).
    n_jobs : int
        LightGBM threads; 1 keeps results bit-for-bit reproducible and avoids OpenMP stalls.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        monotone: dict[str, int] | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone = monotone
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _prepare(self, X: Any, *, reset: bool) -> Any:
        if isinstance(X, pd.DataFrame):
            if reset:
                if X.shape[0] == 0 or X.shape[1] == 0:
                    raise ValueError(f"X is empty (shape {X.shape}); at least one row and column")
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
                self.n_features_in_ = X.shape[1]
                # Categories seen in fit: inputs that arrive as plain strings (JSON requests)
                # are re-encoded with the same codes LightGBM learnt.
                self.categories_ = {
                    c: list(X[c].cat.categories)
                    for c in X.columns
                    if isinstance(X[c].dtype, pd.CategoricalDtype)
                }
                return X
            if list(X.columns) != list(self.feature_names_in_):
                raise ValueError("X has different columns from those seen in fit")
            recoded = {
                c: pd.Categorical(X[c].astype(object), categories=levels)
                for c, levels in self.categories_.items()
                if not (
                    isinstance(X[c].dtype, pd.CategoricalDtype)
                    and list(X[c].cat.categories) == levels
                )
            }
            return X.assign(**recoded) if recoded else X
        return validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")

    def _booster(self, columns: list[str] | None) -> LGBMClassifier:
        constraints = None
        if self.monotone:
            if columns is None:
                raise ValueError("monotone constraints need a DataFrame with named columns")
            unknown = sorted(set(self.monotone) - set(columns))
            if unknown:
                raise ValueError(
                    f"monotone constraints name unknown feature(s): {', '.join(unknown)}"
                )
            constraints = [int(self.monotone.get(c, 0)) for c in columns]
        return LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            monotone_constraints=constraints,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def fit(self, X: Any, y: Any) -> GradedWarningClassifier:
        """Fit one model per threshold ``y >= class`` for every class above the lowest."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        X = self._prepare(X, reset=True)
        codes = self._fit_classes(X, y)
        columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
        self.estimators_ = [
            self._booster(columns).fit(X, (codes >= k).astype(np.int64))
            for k in range(1, self.classes_.size)
        ]
        return self

    def model_matrix(self, X: Any) -> np.ndarray:
        """``X`` as the numbers LightGBM reads: categories as their codes in the categories seen
        in fit (NaN for an unseen or missing label), everything else as float64.

        LightGBM converts a DataFrame itself on every ``predict`` call (about 3 ms for one row
        of this model's 76 columns); converting once serves every threshold model and the
        reason codes, with the same numbers LightGBM's own conversion gives.
        """
        check_is_fitted(self, "estimators_")
        X = self._prepare(X, reset=False)
        if not isinstance(X, pd.DataFrame):
            return np.asarray(X, dtype=np.float64)
        categorical = np.array([c in self.categories_ for c in X.columns], dtype=bool)
        matrix = np.empty(X.shape, dtype=np.float64)
        if (~categorical).any():  # one block conversion, not one per column
            numbers = X.iloc[:, np.flatnonzero(~categorical)]
            matrix[:, ~categorical] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        for j in np.flatnonzero(categorical):
            codes = X.iloc[:, j].cat.codes.to_numpy()
            matrix[:, j] = np.where(codes < 0, np.nan, codes)
        return matrix

    def predict_cumulative(self, X: Any) -> np.ndarray:
        """P(y >= class k) for k = 1..K (columns), non-increasing across columns."""
        return self.cumulative_from_matrix(self.model_matrix(X))

    def cumulative_from_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """``predict_cumulative`` of rows already converted by ``model_matrix``, so that one
        conversion serves the probabilities and the reason codes of a request."""
        check_is_fitted(self, "estimators_")
        cumulative = np.column_stack(
            [np.asarray(m.booster_.predict(matrix)) for m in self.estimators_]
        )
        return np.minimum.accumulate(cumulative, axis=1)

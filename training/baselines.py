"""Baselines every retraining run reports beside the graded model, on the same split.

A graded LightGBM earns its place only if it beats what a credit team would build without it:

* a **WoE logistic scorecard** — each variable optimally binned against the outcome (optbinning,
  monotone event rate, missing values in their own bin), replaced by its weight of evidence and
  fed to a regularised logistic regression. This is the classic, auditable application/behaviour
  scorecard; if the graded model cannot beat it, its complexity is not paying for itself.
* a **default LightGBM** — library defaults, so a gain of the tuned model over it shows what the
  tuning and the ordinal structure add rather than what gradient boosting alone gives.

Both baselines are binary: they model one outcome (in our pipeline ``severity >= 3``, the
12-month default), never the graded severities.

The scorecard bins each variable with its own ``OptimalBinning`` and assembles them with
``BinningProcess.fit_from_dict`` instead of calling ``BinningProcess.fit``: one variable that
optbinning rejects (all missing, infinite values, an unsupported dtype) would otherwise abort
the whole baseline. Such variables are dropped and the reason recorded in
``dropped_features_``; a baseline must report a number, not stop a retraining run.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from optbinning import BinningProcess, OptimalBinning
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

#: Information value below which a variable is conventionally "not predictive" (Siddiqi's
#: rule of thumb: < 0.02 useless, 0.02-0.1 weak, 0.1-0.3 medium, > 0.3 strong).
DEFAULT_MIN_IV: Final = 0.02

#: Rows the binning is fitted on when the training set is larger. Binning is the slow part of
#: the fit (on about 200k snapshot rows x 76 columns: ~10 s on all rows, ~6 s with 100k), while
#: cut points from 100k stratified rows (thousands of defaults) gave the same out-of-time AUC
#: as binning all rows; the logistic regression still sees every row.
DEFAULT_MAX_BINNING_ROWS: Final = 100_000

#: optbinning statuses of a usable binning (the CP solver may stop at a feasible one).
_USABLE_STATUS: Final = ("OPTIMAL", "FEASIBLE")

BASELINE_NAMES: Final = ("woe_scorecard", "lightgbm_default")


def _binary_codes(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Classes and 0/1 codes of a binary target; the higher class is the event."""
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"only one class is present in the target ({classes[0]!r}); "
            "a baseline needs both events and non-events"
        )
    if classes.size > 2:
        raise ValueError(
            f"Only binary classification is supported; the target has {classes.size} classes "
            "(pass one threshold of the severity, e.g. severity >= 3)"
        )
    return classes, codes.astype(np.int64)


def _variable_kind(values: pd.Series) -> str | None:
    """'categorical', 'numerical', or None for dtypes a WoE binning cannot order or group."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype):
        return "categorical"
    if pd.api.types.is_string_dtype(dtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        return "numerical"
    return None  # datetimes, timedeltas, periods, intervals, complex numbers


def _binning_input(values: pd.Series, kind: str, name: str) -> np.ndarray:
    """Plain numpy values optbinning accepts: object labels with NaN, or float64."""
    if kind == "categorical":
        return values.astype(object).to_numpy()
    try:
        return pd.to_numeric(values).to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"column {name!r} must be numeric, as it was in fit") from None


def _screen(values: np.ndarray, kind: str) -> str | None:
    """Why optbinning would fail on a variable, checked before trying (None if it should not)."""
    missing = pd.isna(values)
    if missing.all():
        return "no non-missing values"
    if kind == "numerical" and np.isinf(values[~missing]).any():
        return "contains infinite values"
    return None


class WoEScorecard(ClassifierMixin, BaseEstimator):
    """Weight-of-evidence logistic scorecard for a binary outcome.

    Every column is binned against the outcome with optbinning (categorical, object and string
    columns as categories, the rest as numbers; NaN in its own "Missing" bin whose empirical
    WoE is used), variables below ``min_iv`` are left out, and a logistic regression is fitted
    on the WoE values. Columns optbinning cannot bin are dropped, never fatal.

    Parameters
    ----------
    monotonic_trend : str or None
        Event-rate trend across bins (optbinning). "auto_asc_desc" lets each variable pick
        ascending or descending, so every variable's WoE is monotone: the property that makes a
        scorecard's points explainable ("more days past due, more risk").
    max_n_prebins, min_prebin_size : int, float
        optbinning pre-binning: at most this many pre-bins, each with at least this share of
        rows, which keeps bins large enough for a stable WoE.
    min_iv : float or None
        Keep variables whose information value reaches this (default 0.02, the usual "not
        predictive" threshold); None keeps every variable that could be binned. If none reaches
        it, the regression keeps only its intercept and predicts the observed event rate.
    C : float
        Inverse L2 strength of the logistic regression. WoE inputs share one log-odds scale, so
        one penalty suits all of them; 1.0 is the mild textbook default (cross-validation within
        a training window also picked it). Correlated WoE columns (the DPD family) can still get
        coefficients of the "wrong" sign; this baseline does not prune them.
    max_iter : int
        lbfgs iterations; 80 correlated WoE columns need more than sklearn's default 100.
    max_binning_rows : int or None
        Fit the binning on a seeded, outcome-stratified subsample of this many rows when the
        training set is larger (see ``DEFAULT_MAX_BINNING_ROWS``); None bins on all rows.
    random_state : int
        Seed of that subsample; the same data and seed give the same scorecard.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Outcome labels; ``classes_[1]`` is the event whose probability is modelled.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame.
    selected_features_ : list of str
        Variables in the scorecard, in input order.
    iv_ : pandas.Series
        Information value of every variable that was binned, highest first.
    dropped_features_ : dict of str to str
        Every input variable not in the scorecard, with the reason (binning failure,
        unsupported dtype, or IV below ``min_iv``).
    binning_process_ : optbinning.BinningProcess
        The fitted binning of the binned variables (binning tables, WoE transform).
    variable_kinds_ : dict of str to str
        "numerical" or "categorical" for every binned variable.
    logistic_ : sklearn.linear_model.LogisticRegression
        The regression on the WoE of ``selected_features_``.
    n_iter_ : ndarray
        lbfgs iterations of that regression.
    """

    def __init__(
        self,
        monotonic_trend: str | None = "auto_asc_desc",
        max_n_prebins: int = 20,
        min_prebin_size: float = 0.05,
        min_iv: float | None = DEFAULT_MIN_IV,
        C: float = 1.0,
        max_iter: int = 1000,
        max_binning_rows: int | None = DEFAULT_MAX_BINNING_ROWS,
        random_state: int = 0,
    ) -> None:
        self.monotonic_trend = monotonic_trend
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.min_iv = min_iv
        self.C = C
        self.max_iter = max_iter
        self.max_binning_rows = max_binning_rows
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    # -- input ---------------------------------------------------------------------------------

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """X as a DataFrame with the column names the binning knows (x0, x1... for arrays)."""
        if isinstance(X, pd.DataFrame):
            if X.shape[0] == 0 or X.shape[1] == 0:
                raise ValueError(f"X is empty (shape {X.shape}); at least one row and column")
            names = [str(c) for c in X.columns]
            if len(set(names)) != len(names):
                raise ValueError("X has duplicated column names")
            if reset:
                self.n_features_in_ = X.shape[1]
                self.feature_names_in_ = np.asarray(names, dtype=object)
                return X.set_axis(names, axis=1)
            if not hasattr(self, "feature_names_in_"):
                raise ValueError("X has feature names, but the scorecard was fitted without")
            if names != list(self.feature_names_in_):
                raise ValueError("X has different columns from those seen in fit")
            return X.set_axis(names, axis=1)
        if not reset and hasattr(self, "feature_names_in_"):
            # Column positions of an array say nothing about which variable is which.
            raise ValueError("the scorecard was fitted on a DataFrame; pass one with its columns")
        array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")
        return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])

    def _binning_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The selected variables (all the WoE transform reads), converted as in fit."""
        return pd.DataFrame(
            {
                name: _binning_input(frame[name], self.variable_kinds_[name], name)
                for name in self.selected_features_
            },
            index=frame.index,
        )

    # -- fit -----------------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.min_iv is not None and not self.min_iv >= 0:
            raise ValueError(f"min_iv must be None or >= 0, got {self.min_iv!r}")
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C!r}")
        if self.max_binning_rows is not None and self.max_binning_rows < 100:
            raise ValueError(
                f"max_binning_rows must be None or >= 100, got {self.max_binning_rows!r}"
            )

    def _binning_rows(self, codes: np.ndarray) -> np.ndarray:
        """Rows the binning is fitted on: all, or a stratified seeded subsample."""
        rows = np.arange(codes.size)
        if self.max_binning_rows is None or codes.size <= self.max_binning_rows:
            return rows
        # Stratified, so the subsample keeps the event rate (needs two rows of each class).
        stratify = codes if np.bincount(codes).min() >= 2 else None
        sample, _ = train_test_split(
            rows,
            train_size=self.max_binning_rows,
            stratify=stratify,
            random_state=self.random_state,
        )
        return np.sort(sample)

    def _bin_variable(
        self, name: str, values: np.ndarray, kind: str, codes: np.ndarray
    ) -> OptimalBinning | str:
        """The fitted binning of one variable, or the reason it cannot be binned."""
        reason = _screen(values, kind)
        if reason is not None:
            return reason
        binning = OptimalBinning(
            name=name,
            dtype=kind,
            monotonic_trend=self.monotonic_trend,
            max_n_prebins=self.max_n_prebins,
            min_prebin_size=self.min_prebin_size,
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optbinning warns on every tiny-bin variable
                binning.fit(values, codes)
        except Exception as exc:  # one bad variable must not stop the baseline: record it
            return f"optbinning failed: {type(exc).__name__}: {exc}".splitlines()[0]
        if binning.status not in _USABLE_STATUS:
            return f"binning status {binning.status}"
        return binning

    def fit(self, X: Any, y: Any) -> WoEScorecard:
        """Bin every variable, select by IV, fit the logistic regression on all rows' WoE."""
        self._check_params()
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        frame = self._frame(X, reset=True)
        check_consistent_length(frame, y)
        self.classes_, codes = _binary_codes(y)

        rows = self._binning_rows(codes)
        dropped: dict[str, str] = {}
        binnings: dict[str, OptimalBinning] = {}
        kinds: dict[str, str] = {}
        for name in frame.columns:
            kind = _variable_kind(frame[name])
            if kind is None:
                dropped[name] = f"unsupported dtype {frame[name].dtype}"
                continue
            values = _binning_input(frame[name], kind, name)[rows]
            result = self._bin_variable(name, values, kind, codes[rows])
            if isinstance(result, str):
                dropped[name] = result
            else:
                binnings[name], kinds[name] = result, kind
        if not binnings:
            raise ValueError(
                "no column of X could be binned: "
                + "; ".join(f"{name}: {reason}" for name, reason in dropped.items())
            )

        criteria = None if self.min_iv is None else {"iv": {"min": self.min_iv}}
        process = BinningProcess(list(binnings), selection_criteria=criteria)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            process.fit_from_dict(binnings)
        iv = process.summary().set_index("name")["iv"].astype(float)
        selected = set(process.get_support(names=True))
        for name in binnings:
            if name not in selected:
                dropped[name] = f"IV {iv[name]:.4f} below min_iv {self.min_iv}"

        self.variable_kinds_ = kinds
        self.binning_process_ = process
        self.iv_ = iv.sort_values(ascending=False, kind="stable")
        self.selected_features_ = [name for name in frame.columns if name in selected]
        self.dropped_features_ = {name: dropped[name] for name in frame.columns if name in dropped}
        self.logistic_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(
            self._woe(frame), codes
        )
        self.n_iter_ = self.logistic_.n_iter_
        return self

    # -- predict -------------------------------------------------------------------------------

    def _woe(self, frame: pd.DataFrame) -> np.ndarray:
        """WoE of the selected variables; a single zero column when none was selected, which
        leaves the regression an intercept (the observed event rate) instead of failing."""
        if not self.selected_features_:
            return np.zeros((frame.shape[0], 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(
                self.binning_process_.transform(
                    self._binning_frame(frame),
                    metric="woe",
                    metric_missing="empirical",
                    metric_special="empirical",
                ),
                dtype=np.float64,
            )

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the event ``classes_[1]``."""
        check_is_fitted(self)
        return self.logistic_.decision_function(self._woe(self._frame(X, reset=False)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, one row per row of X."""
        check_is_fitted(self)
        return self.logistic_.predict_proba(self._woe(self._frame(X, reset=False)))

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class (threshold 0.5; credit decisions use the probability)."""
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(np.int64)]


def default_lightgbm(random_state: int = 0) -> LGBMClassifier:
    """LightGBM with library defaults: one thread (shared 2-core machines, reproducible),
    silent, seeded; everything else untouched so it measures gradient boosting out of the box."""
    return LGBMClassifier(n_jobs=1, verbose=-1, random_state=random_state)


def baseline_probabilities(
    X_train: pd.DataFrame, y_train: Any, X_test: pd.DataFrame, random_state: int = 0
) -> dict[str, np.ndarray]:
    """P(event) on ``X_test`` from each baseline fitted on ``(X_train, y_train)``.

    ``y_train`` must be binary (in our pipeline ``severity >= 3``); the event is its higher
    class. X is a model input frame (``models.inputs.to_model_input``: float columns with NaN
    and pandas categoricals), which both baselines read as is. Keys are ``BASELINE_NAMES``.
    """
    _, codes = _binary_codes(y_train)
    scorecard = WoEScorecard(random_state=random_state).fit(X_train, codes)
    booster = default_lightgbm(random_state).fit(X_train, codes)
    return {
        "woe_scorecard": scorecard.predict_proba(X_test)[:, 1],
        "lightgbm_default": np.asarray(booster.predict_proba(X_test))[:, 1],
    }

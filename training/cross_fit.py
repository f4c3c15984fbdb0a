"""Fitting a bank's feature table without tuning by hand, and judging it out of fold.

Tables arrive from about 1,000 rows (a small book, mostly categorical) to a few hundred
thousand (a retail book with 100+ columns and an 8% default rate), and nobody will tune each
one. ``FeatureTableClassifier`` therefore decides what a modeller would, by measurement on an
inner, seeded, stratified validation inside the rows it is given (5-fold up to 20,000 rows, one
20% holdout above, where five fits would cost more than they tell; of whole groups when the
rows come with groups, a panel's loans or borrowers, so that nothing is validated on a borrower
whose other months were learnt):

1. **Trees**: one LightGBM per severity threshold grows until the summed validation
   log-loss of all thresholds stops improving, for three depths (``candidate_settings``:
   4 leaves, the size-aware base of ``booster_settings``, which learns slower and is more
   regularised on small books, and twice its leaves); the depth with the lowest loss wins,
   and the final ``GradedWarningClassifier`` is refit on all rows with its tree count (10%
   more, for the 25% more rows it now sees).
2. **Scorecard blend**: a WoE logistic scorecard (``training.baselines.WoEScorecard``) is
   fitted on the same inner splits and blended into a threshold's score only with a positive
   weight that pays for itself by Akaike's criterion on the inner predictions (small, mostly
   additive books: usually; large ones with interactions: usually not).
3. **Calibration**: P(S>=k) is a logistic function of the (blended) logits fitted on the inner
   predictions, i.e. Platt scaling with the blend weights. A strictly increasing map of a
   single score cannot change its ranking (the monotone fix across thresholds, or a blend,
   can).

``cross_fit`` trains one such model per fold of the table's fold column (or on a seeded
stratified 75/25 holdout when there is none, of whole groups if the table has a group column)
and returns the out-of-fold predictions that other tools can be compared with on the same
folds; ``fit_final`` fits the model on every row.
Same table, seed and ``n_jobs`` give the same predictions and the same model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from features.io import atomic_write
from models.graded import CumulativeClassifierMixin, GradedWarningClassifier
from training.baselines import WoEScorecard
from training.feature_table import FeatureTable
from training.metrics import BinaryMetrics, compute_binary_metrics

#: Up to this many rows the inner validation is 5-fold; above it, a single 20% holdout.
INNER_CV_MAX_ROWS: Final = 20_000
INNER_FOLDS: Final = 5
INNER_HOLDOUT: Final = 0.2
#: Refit on all rows grows the tree count found on 80% of them by this factor.
REFIT_GROWTH: Final = 1.1
#: Tree count when the rows are too few for any inner validation.
FALLBACK_TREES: Final = 100
#: Akaike's criterion: the scorecard's weight must raise 2 x inner log-likelihood by more than 2.
BLEND_MIN_GAIN: Final = 2.0
#: Share of rows held out for evaluation when the table has no fold column.
EVALUATION_HOLDOUT: Final = 0.25
_EPS: Final = 1e-6


@dataclass(frozen=True)
class BoosterSettings:
    """LightGBM settings for one table size; the tree count is found by early stopping."""

    learning_rate: float
    num_leaves: int
    min_child_samples: int
    colsample_bytree: float
    subsample: float
    reg_lambda: float
    max_trees: int
    patience: int


def booster_settings(
    n_rows: int, n_features: int, learning_rate: float | None = None
) -> BoosterSettings:
    """Size-aware settings: small books get small, slow, regularised trees; large ones more.

    On 1,000 loans a 31-leaf tree memorises; on 300,000 a 7-leaf one underfits. Column
    sampling falls with width so that 100+ correlated bureau columns do not crowd out the few
    strong ones in every tree. A given ``learning_rate`` replaces the size-aware one (a faster
    fit for a first look at a large table); the tree budget and patience scale with it.
    """
    if n_rows < 5_000:
        rate, leaves, min_child, reg = 0.02, 7, max(10, n_rows // 50), 5.0
    elif n_rows < 50_000:
        rate, leaves, min_child, reg = 0.03, 15, 50, 2.0
    elif n_rows < 200_000:
        rate, leaves, min_child, reg = 0.05, 31, 100, 1.0
    else:
        rate, leaves, min_child, reg = 0.05, 63, 200, 1.0
    colsample = 0.8 if n_features <= 20 else 0.5 if n_features <= 100 else 0.3
    rate = rate if learning_rate is None else learning_rate
    return BoosterSettings(
        learning_rate=rate,
        num_leaves=leaves,
        min_child_samples=min_child,
        colsample_bytree=colsample,
        subsample=0.8,
        reg_lambda=reg,
        max_trees=int(60 / rate),
        patience=int(4 / rate),
    )


def candidate_settings(
    n_rows: int, n_features: int, learning_rate: float | None = None
) -> tuple[BoosterSettings, ...]:
    """Three depths around the size-aware settings: 4-leaf trees (a nearly additive model, what
    most credit tables reward), the base, and trees with twice its leaves (for tables with
    interactions). Which one a table rewards is measured on the inner validation, not guessed."""
    base = booster_settings(n_rows, n_features, learning_rate)
    return (
        replace(base, num_leaves=4),
        base,
        replace(base, num_leaves=2 * base.num_leaves + 1),
    )


def _graded_params(settings: BoosterSettings, random_state: int, n_jobs: int) -> dict[str, Any]:
    return {
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.num_leaves,
        "min_child_samples": settings.min_child_samples,
        "subsample": settings.subsample,
        "colsample_bytree": settings.colsample_bytree,
        "reg_lambda": settings.reg_lambda,
        "random_state": random_state,
        "n_jobs": n_jobs,
    }


def _inner_booster(settings: BoosterSettings, random_state: int, n_jobs: int) -> LGBMClassifier:
    """The booster ``GradedWarningClassifier`` builds for one threshold, up to ``max_trees``."""
    return LGBMClassifier(
        n_estimators=settings.max_trees,
        subsample_freq=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        **_graded_params(settings, random_state, n_jobs),
    )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _scorecard_probability(
    X_train: pd.DataFrame, hit: np.ndarray, X_score: pd.DataFrame, random_state: int
) -> np.ndarray:
    """P(hit) on ``X_score`` from a WoE logistic scorecard fitted on ``X_train``."""
    card = WoEScorecard(random_state=random_state).fit(X_train, hit)
    return np.asarray(card.predict_proba(X_score))[:, 1]


@dataclass(frozen=True)
class ThresholdBlend:
    """Calibrated P(S>=k) = sigmoid(intercept + w_trees * logit(trees) + w_card * logit(card))."""

    intercept: float = 0.0
    trees_weight: float = 1.0
    scorecard_weight: float = 0.0
    inner_auc: dict[str, float] = field(default_factory=dict)

    def apply(self, trees: np.ndarray, card: np.ndarray | None) -> np.ndarray:
        z = self.intercept + self.trees_weight * _logit(trees)
        if self.scorecard_weight and card is not None:
            z = z + self.scorecard_weight * _logit(card)
        return np.asarray(expit(z))


def _fit_blend(hit: np.ndarray, trees: np.ndarray, card: np.ndarray | None) -> ThresholdBlend:
    """Platt scaling of the trees, plus the scorecard if its weight is positive and pays for
    itself by Akaike's criterion on the inner predictions."""
    auc = {"trees": float(roc_auc_score(hit, trees))}

    def fit(columns: list[np.ndarray]) -> tuple[LogisticRegression, float]:
        Z = np.column_stack([_logit(c) for c in columns])
        model = LogisticRegression(C=1e6, max_iter=1000).fit(Z, hit)
        q = np.clip(model.predict_proba(Z)[:, 1], _EPS, 1 - _EPS)
        return model, float(np.sum(hit * np.log(q) + (1 - hit) * np.log(1 - q)))

    single, single_ll = fit([trees])
    if single.coef_[0, 0] <= 0:  # uninformative trees: keep the raw probability
        return ThresholdBlend(inner_auc=auc)
    chosen = ThresholdBlend(float(single.intercept_[0]), float(single.coef_[0, 0]), 0.0, auc)
    if card is not None:
        auc["scorecard"] = float(roc_auc_score(hit, card))
        both, both_ll = fit([trees, card])
        w_trees, w_card = (float(w) for w in both.coef_[0])
        if w_trees > 0 and w_card > 0 and 2 * (both_ll - single_ll) > BLEND_MIN_GAIN:
            chosen = ThresholdBlend(float(both.intercept_[0]), w_trees, w_card, auc)
    return chosen


def inner_splits(
    y: np.ndarray, random_state: int, groups: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded stratified inner splits (5-fold up to ``INNER_CV_MAX_ROWS`` rows, else one
    ``INNER_HOLDOUT``); none when a severity level has fewer than 2 rows.

    With ``groups`` (a loan or borrower per row) no group is on both sides of a split: a
    borrower's other months know its outcome, so validating on them would grow too many trees
    and calibrate PDs too low for the borrowers the model has never seen.
    """
    fewest = int(np.bincount(y).min())
    if fewest < 2:
        return []
    if groups is not None:
        return _group_splits(y, groups, random_state)
    if y.size <= INNER_CV_MAX_ROWS:
        folds = StratifiedKFold(min(INNER_FOLDS, fewest), shuffle=True, random_state=random_state)
        return list(folds.split(np.zeros(y.size), y))
    index = np.arange(y.size)
    train, valid = train_test_split(
        index, test_size=INNER_HOLDOUT, stratify=y, random_state=random_state
    )
    return [(np.sort(train), np.sort(valid))]


def _group_splits(
    y: np.ndarray, groups: np.ndarray, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``inner_splits`` by group: stratified group 5-fold, or its first fold as the holdout;
    a split whose training side lacks a severity level is left out."""
    n_groups = np.unique(groups).size
    if n_groups < 2:
        return []
    splits = group_kfold(y, groups, min(INNER_FOLDS, n_groups), random_state)
    if y.size > INNER_CV_MAX_ROWS:
        splits = splits[:1]  # 1 / INNER_FOLDS of the groups = INNER_HOLDOUT
    levels = np.unique(y).size
    return [(t, v) for t, v in splits if np.unique(y[t]).size == levels and v.size]


def group_kfold(
    y: np.ndarray, groups: np.ndarray, n_splits: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded ``StratifiedGroupKFold``: every group in one part, severity shares as even as
    whole groups allow (sklearn warns when a level has fewer groups than parts; the level
    check is the caller's)."""
    splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return [(t, v) for t, v in splitter.split(np.zeros(y.size), y, groups)]


@dataclass(frozen=True)
class _Trial:
    """One candidate's boosters (per inner split, per threshold) and its best tree count."""

    settings: BoosterSettings
    boosters: list[list[LGBMClassifier]]
    best_trees: int
    loss: float  # mean inner log-loss at ``best_trees``, summed over thresholds


def _grow(
    settings: BoosterSettings,
    frame: pd.DataFrame,
    codes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    random_state: int,
    n_jobs: int,
) -> _Trial:
    """Early-stopped boosters of every threshold on every inner split; the tree count that
    minimises the summed validation log-loss averaged over splits."""
    boosters, losses = [], []
    for train, valid in splits:
        per_threshold, total = [], np.zeros(settings.max_trees)
        for k in range(1, int(codes.max()) + 1):
            booster = _inner_booster(settings, random_state, n_jobs).fit(
                frame.iloc[train],
                (codes[train] >= k).astype(int),
                eval_X=(frame.iloc[valid],),
                eval_y=((codes[valid] >= k).astype(int),),
                callbacks=[lgb.early_stopping(settings.patience, verbose=False)],
            )
            curve = np.asarray(booster.evals_result_["valid_0"]["binary_logloss"])
            # After early stopping the loss only rises; holding its last value is conservative.
            total += np.concatenate([curve, np.full(settings.max_trees - curve.size, curve[-1])])
            per_threshold.append(booster)
        boosters.append(per_threshold)
        losses.append(total)
    mean = np.mean(losses, axis=0)
    best = int(np.argmin(mean))
    return _Trial(settings, boosters, best + 1, float(mean[best]))


class FeatureTableClassifier(CumulativeClassifierMixin, ClassifierMixin, BaseEstimator):
    """Graded LightGBM with self-chosen tree count, optional scorecard blend, Platt calibration.

    Parameters
    ----------
    scorecard : bool
        Consider blending a WoE scorecard (kept only where the inner test says it helps).
    learning_rate : float, optional
        Replaces the size-aware learning rate (e.g. 0.1 for a quick first look at a large
        table); the tree count is still found by early stopping.
    random_state : int
        Seed of the inner splits and every model.
    n_jobs : int
        LightGBM threads; results are reproducible for a given value.

    Attributes
    ----------
    classes_ : ndarray
        Severity levels, lowest first; ``predict_cumulative`` has one column per level above.
    settings_ : BoosterSettings
        The chosen depth and its learning rate; ``n_trees_`` its refit tree count.
    candidate_losses_ : dict of int to float
        Inner validation log-loss (summed over thresholds) of each candidate depth, by leaves.
    blends_ : list of ThresholdBlend
        Per threshold: Platt intercept and weights of trees and scorecard, inner AUCs.
    graded_ : GradedWarningClassifier
        The trees, refit on all rows; ``scorecards_`` the refit scorecards (None where unused).
    """

    def __init__(
        self,
        scorecard: bool = True,
        learning_rate: float | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.scorecard = scorecard
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """X with columns renamed by position: LightGBM refuses names with JSON characters,
        and a bank's column names are arbitrary. Text and categorical columns need a
        DataFrame; arrays are validated as numbers."""
        if not isinstance(X, pd.DataFrame):
            array = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")
            frame = pd.DataFrame(array)
        else:
            if X.shape[0] == 0 or X.shape[1] == 0:
                raise ValueError(f"X is empty (shape {X.shape}); at least one row and column")
            names = [str(c) for c in X.columns]
            if reset:
                self.feature_names_in_ = np.asarray(names, dtype=object)
                self.n_features_in_ = X.shape[1]
            elif hasattr(self, "feature_names_in_") and names != list(self.feature_names_in_):
                raise ValueError("X has different columns from those seen in fit")
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but FeatureTableClassifier is expecting "
                    f"{self.n_features_in_} features as input"
                )
            frame = X
        return frame.set_axis([f"f{i}" for i in range(frame.shape[1])], axis=1)

    def fit(self, X: Any, y: Any, groups: Any = None) -> FeatureTableClassifier:
        """Choose trees and blend on inner splits of ``X, y``, then refit on all of it.

        ``groups`` (the loan or borrower of each row, of a panel) keeps each group on one side
        of every inner split (``inner_splits_``, positions in ``X``)."""
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        frame = self._frame(X, reset=True)
        codes = self._fit_classes(frame, y)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (codes.size,):
                raise ValueError(
                    f"groups has shape {groups.shape}; expected one group per row ({codes.size})"
                )
            if pd.isna(groups).any():
                raise ValueError("groups has missing values; every row needs its loan or borrower")
        self.n_rows_ = int(codes.size)
        # Without inner splits (a level on a single row) the base settings are kept.
        self.settings_ = booster_settings(codes.size, frame.shape[1], self.learning_rate)
        splits = inner_splits(codes, self.random_state, groups)
        self.inner_splits_ = splits
        if splits:
            trees, card = self._inner_predictions(frame, codes, splits)
            valid = np.concatenate([v for _, v in splits])
            self.blends_ = [
                _fit_blend(
                    (codes[valid] >= k + 1).astype(int),
                    trees[:, k],
                    None if card is None else card[:, k],
                )
                for k in range(trees.shape[1])
            ]
        else:
            self.n_trees_ = FALLBACK_TREES
            self.blends_ = [ThresholdBlend() for _ in range(self.classes_.size - 1)]
        self.graded_ = GradedWarningClassifier(
            n_estimators=self.n_trees_,
            **_graded_params(self.settings_, self.random_state, self.n_jobs),
        ).fit(frame, codes)
        self.scorecards_ = [
            WoEScorecard(random_state=self.random_state).fit(frame, (codes >= k + 1).astype(int))
            if blend.scorecard_weight
            else None
            for k, blend in enumerate(self.blends_)
        ]
        return self

    def _inner_predictions(
        self, frame: pd.DataFrame, codes: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Sets ``settings_`` and ``n_trees_`` to the best candidate's; returns its
        inner-validation P(S>=k), and the scorecard's, stacked in the order of the validation
        parts."""
        thresholds = range(1, self.classes_.size)
        trials = [
            _grow(settings, frame, codes, splits, self.random_state, self.n_jobs)
            for settings in candidate_settings(codes.size, frame.shape[1], self.learning_rate)
        ]
        self.candidate_losses_ = {t.settings.num_leaves: t.loss for t in trials}
        trial = min(trials, key=lambda t: t.loss)
        self.settings_, best = trial.settings, trial.best_trees
        self.n_trees_ = max(10, int(round(best * REFIT_GROWTH)))
        trees_parts, card_parts = [], []
        for (train, valid), boosters in zip(splits, trial.boosters, strict=True):
            raw = np.column_stack(
                [
                    np.asarray(b.predict_proba(frame.iloc[valid], num_iteration=best))[:, 1]
                    for b in boosters
                ]
            )
            trees_parts.append(np.minimum.accumulate(raw, axis=1))
            if self.scorecard:
                card_parts.append(
                    np.column_stack(
                        [
                            _scorecard_probability(
                                frame.iloc[train],
                                (codes[train] >= k).astype(int),
                                frame.iloc[valid],
                                self.random_state,
                            )
                            for k in thresholds
                        ]
                    )
                )
        card = np.vstack(card_parts) if card_parts else None
        return np.vstack(trees_parts), card

    def predict_cumulative(self, X: Any) -> np.ndarray:
        """Calibrated P(y >= class k) for k = 1..K, non-increasing across columns."""
        check_is_fitted(self, "graded_")
        frame = self._frame(X, reset=False)
        trees = self.graded_.predict_cumulative(frame)
        columns = [
            blend.apply(trees[:, k], None if card is None else card.predict_proba(frame)[:, 1])
            for k, (blend, card) in enumerate(zip(self.blends_, self.scorecards_, strict=True))
        ]
        return np.minimum.accumulate(np.column_stack(columns), axis=1)


@dataclass(frozen=True)
class FoldResult:
    """One fold: how many rows its model saw and scored, and how it did on the worst level."""

    label: Any
    train_rows: int
    test_rows: int
    settings: BoosterSettings  # the depth the inner validation chose, and its learning rate
    n_trees: int
    scorecard_weight: float
    metrics: BinaryMetrics | None  # None when the fold has a single class at the top level


@dataclass(frozen=True)
class CrossFitResult:
    """Out-of-fold predictions and their quality on the highest severity.

    ``oof`` has one row per predicted row, sorted by ``row`` (the 0-based file position):
    ``p`` = P(S >= K) and ``p_s1`` .. ``p_sK`` = P(S >= k). ``scheme`` is ``"folds"`` (every
    usable row predicted once) or ``"holdout"`` (no fold column: only the holdout rows).
    """

    oof: pd.DataFrame
    folds: tuple[FoldResult, ...]
    metrics: BinaryMetrics
    scheme: str


def fold_plan(
    table: FeatureTable, random_state: int = 0
) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(label, training positions, scored positions) of every fold; a seeded stratified
    holdout labelled ``"holdout"`` when the table has no fold column (of whole groups when it
    has a group column)."""
    if table.folds is None and table.groups is not None:
        parts = round(1 / EVALUATION_HOLDOUT)
        levels = np.unique(table.y).size
        for train, test in group_kfold(table.y, table.groups, parts, random_state):
            if np.unique(table.y[train]).size == levels:
                return [("holdout", train, test)]
        raise ValueError(
            f"{table.source}: no holdout of whole groups of {table.group_column!r} leaves every "
            "severity level in the training part; give a fold column"
        )
    if table.folds is None:
        train, test = train_test_split(
            np.arange(table.y.size),
            test_size=EVALUATION_HOLDOUT,
            stratify=table.y,
            random_state=random_state,
        )
        return [("holdout", np.sort(train), np.sort(test))]
    return [
        (label, np.flatnonzero(table.folds != label), np.flatnonzero(table.folds == label))
        for label in table.fold_labels
    ]


def _unfitted(estimator: FeatureTableClassifier | None, random_state: int) -> Any:
    return clone(estimator or FeatureTableClassifier()).set_params(random_state=random_state)


def cross_fit(
    table: FeatureTable,
    random_state: int = 0,
    *,
    estimator: FeatureTableClassifier | None = None,
) -> CrossFitResult:
    """One model per fold, each scoring only the fold it never saw (see module docstring).

    ``estimator`` is an unfitted template (default ``FeatureTableClassifier()``), cloned for
    every fold with ``random_state``.
    """
    K = table.max_severity
    frames, results = [], []
    for label, train, test in fold_plan(table, random_state):
        model = _unfitted(estimator, random_state).fit(
            table.features.iloc[train],
            table.y[train],
            groups=None if table.groups is None else table.groups[train],
        )
        cumulative = model.predict_cumulative(table.features.iloc[test])
        frame = pd.DataFrame({"row": table.rows[test], "p": cumulative[:, -1]})
        for k in range(1, K + 1):
            frame[f"p_s{k}"] = cumulative[:, k - 1]
        frames.append(frame)
        hit = table.y[test] >= K
        results.append(
            FoldResult(
                label=label,
                train_rows=model.n_rows_,
                test_rows=int(test.size),
                settings=model.settings_,
                n_trees=model.n_trees_,
                scorecard_weight=model.blends_[-1].scorecard_weight,
                metrics=compute_binary_metrics(hit, frame["p"].to_numpy())
                if 0 < hit.sum() < hit.size
                else None,
            )
        )
    oof = pd.concat(frames, ignore_index=True).sort_values("row", ignore_index=True)
    position = np.searchsorted(table.rows, oof["row"].to_numpy())
    overall = compute_binary_metrics(table.y[position] >= K, oof["p"].to_numpy())
    scheme = "holdout" if table.folds is None else "folds"
    return CrossFitResult(oof=oof, folds=tuple(results), metrics=overall, scheme=scheme)


def fit_final(
    table: FeatureTable,
    random_state: int = 0,
    *,
    estimator: FeatureTableClassifier | None = None,
) -> FeatureTableClassifier:
    """The model to deploy: ``estimator`` (as in ``cross_fit``) fitted on every usable row."""
    model: FeatureTableClassifier = _unfitted(estimator, random_state)
    return model.fit(table.features, table.y, groups=table.groups)


def check_oof_path(path: Path | str) -> Path:
    """The out-of-fold file's path if it can be written (.csv or .parquet, existing folder);
    checked before hours of fitting as well as at the write."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"{path.name}: out-of-fold file must end in .csv or .parquet")
    if not path.parent.is_dir():
        raise ValueError(f"{path.parent}: no such folder for the out-of-fold file")
    return path


def write_oof(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write out-of-fold predictions as CSV or Parquet (by suffix), atomically: a reader never
    sees a half-written file, and a failed write leaves any earlier file in place."""
    path = check_oof_path(path)
    if path.suffix.lower() == ".csv":
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))

"""Retraining, without IO: validated tables in, a calibrated graded model and its evidence out.

features -> out-of-time split -> fit -> calibrate (on out-of-fold scores, method chosen by
measurement) -> evaluate on the held-out test window. Tracking and registry live in
``training.tracking``; this module only computes, so it can be tested on small books and reused
by the command line and notebooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import clone

from features.catalog import MONOTONE
from features.partitioned import Mapper, build_snapshots_partitioned
from features.party_index import PartyIndexUnifier, fit_party_index
from features.severity import DEFAULT_DPD
from features.snapshots import build_snapshots
from models.calibration import METHODS, CalibratedGradedClassifier
from models.grade_policy import (
    GRADES,
    GradePolicy,
    derive_policy,
)
from models.graded import GradedWarningClassifier
from models.inputs import to_model_input
from models.scoring import probability_frame, score_inputs
from training.baselines import baseline_probabilities
from training.metrics import BinaryMetrics, compute_binary_metrics
from training.reference import build_reference, with_early_outcomes
from training.segments import DEFAULT_SEGMENTS, pilot_segment, segment_metrics
from training.split import SplitPlan, assign_roles, borrower_folds, held_out_borrowers

#: Features whose direction is known: more days past due never lowers risk.
#: Monotone constraints by name, from the feature catalogue (days past due never lower risk).
MONOTONE_FEATURES = MONOTONE
#: Stages reported to ``on_stage``, in order.
STAGES = (
    *("features", "split", "fit", "calibrate"),
    *("score test window", "baselines", "evaluate", "reference"),
)
#: Salt of the borrower folds of the cross-fitted calibration (``calibration_out_of_fold``).
CALIBRATION_FOLD_SALT = "ews-calibration-folds-v1"
#: Loans at least this many days past due at the as-of month are in default, not predicted.
PERFORMING_DPD = DEFAULT_DPD
#: Snapshot columns kept beside each test row's PDs: keys, outcome, backstop and segments.
TEST_COLUMNS = (
    *("loan_id", "borrower_id", "as_of", "severity", "dpd_now"),
    *("borrower_type", "area", "bank"),
)


class TrainingConfig(BaseModel):
    """What a retraining run does; every field is logged with the run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_as_of: str
    train_until: str
    calibrate_until: str
    test_until: str
    horizon: int = 12
    test_borrower_share: float = 0.3
    # Small, regularised trees: training and calibration windows share borrowers whose 12-month
    # outcomes overlap, so deeper or more trees memorise borrowers and lose out of time; a fifth
    # of the columns per tree decorrelates the trees (measured in docs/training.md).
    n_estimators: int = 200
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_child_samples: int = 300
    subsample: float = 0.8
    colsample_bytree: float = 0.2
    reg_lambda: float = 5.0
    random_state: int = 0
    n_jobs: int = 1
    # Borrower folds of the cross-fitted calibration: the calibration map is fitted on scores
    # from trees that never saw the borrower (docs/training.md, calibration). 3, not 5: the
    # same gain on the simulated books for three fits on 2/3 of the rows (two fits' time).
    calibration_folds: int = Field(3, ge=2)
    # The trees are fitted on the calibration window's rows too: the calibration map needs only
    # out-of-fold scores of them (``calibration_out_of_fold``), so the final trees can learn
    # from the months nearest the test window (docs/training.md, model quality).
    fit_calibration_window: bool = True

    @classmethod
    def for_book(
        cls, tables: dict[str, pd.DataFrame], horizon: int = 12, **overrides: object
    ) -> TrainingConfig:
        """Default windows from the data: test on the last 6 matured months, calibrate on the 3
        before, train on everything earlier (from the third month of the book)."""
        due = tables["repayments"]["due_date"].dt.to_period("M")
        first, last = due.min(), due.max()
        test_until = last - horizon
        calibrate_until = test_until - 6
        train_until = calibrate_until - 3
        if train_until <= first + 2:
            raise ValueError(
                f"the book covers {first} to {last}: too short for a {horizon}-month outcome "
                "window plus train, calibration and test months"
            )
        values: dict[str, object] = {
            "first_as_of": str(first + 2),
            "train_until": str(train_until),
            "calibrate_until": str(calibrate_until),
            "test_until": str(test_until),
            "horizon": horizon,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class SplitRows:
    """Which snapshot rows play which part in a run (boolean masks over the snapshots).

    ``fit`` are the rows the trees are fitted on: the training window and, when
    ``TrainingConfig.fit_calibration_window``, the calibration window too (its calibration
    map is then fitted on out-of-fold scores only, ``calibration_out_of_fold``).
    """

    train: np.ndarray
    calibrate: np.ndarray
    test: np.ndarray
    fit: np.ndarray


def split_rows(snapshots: pd.DataFrame, config: TrainingConfig) -> SplitRows:
    """The out-of-time split of ``snapshots`` by ``config``'s months (``training.split``)."""
    plan = SplitPlan(
        config.train_until, config.calibrate_until, config.test_until, config.test_borrower_share
    )
    role = assign_roles(snapshots, plan).to_numpy()
    train, cal, test = (role == r for r in ("train", "calibrate", "test"))
    return SplitRows(train, cal, test, train | cal if config.fit_calibration_window else train)


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on the test window (held-out borrowers, last matured months).

    Discrimination and calibration are measured on loans performing at the as-of month
    (``dpd_now`` < 90): a loan already in default is not a prediction.
    """

    metrics: dict[str, BinaryMetrics]  # per severity threshold, "s1".."s3"
    grade_table: pd.DataFrame
    segments: pd.DataFrame  # training.segments.segment_metrics of the 12-month PD
    baselines: dict[str, BinaryMetrics]  # same rows, same outcome as metrics[top]
    oracle: dict[str, BinaryMetrics]  # simulator ground truth on the same rows, when known
    curves: dict[str, np.ndarray]  # 12-month PD of model, baselines and oracles, judged rows
    judged_outcome: np.ndarray  # the outcome those curves are judged against

    @property
    def top(self) -> str:
        """Key of the highest severity threshold (the PD)."""
        return max(self.metrics, key=lambda k: int(k[1:]))

    @property
    def oracle_ratio(self) -> dict[str, float]:
        """Model AUC / oracle AUC of the PD, per oracle."""
        return {k: self.metrics[self.top].auc / m.auc for k, m in self.oracle.items()}


@dataclass(frozen=True)
class TrainingResult:
    """The trained model and everything a reviewer needs to judge it."""

    config: TrainingConfig
    model: CalibratedGradedClassifier
    calibration_method: str
    unifier: PartyIndexUnifier
    policy: GradePolicy
    evaluation: Evaluation
    test: pd.DataFrame  # keys, labels, segments, PDs and grade of every test row
    test_inputs: pd.DataFrame  # model inputs of those rows: the window champions are re-scored on
    reference: pd.DataFrame  # training.reference: the calibration window as scored, for monitoring
    importance: pd.Series  # gain of each feature in the PD model
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, BinaryMetrics]:
        """Test metrics per severity threshold."""
        return self.evaluation.metrics

    @property
    def grade_table(self) -> pd.DataFrame:
        """Count, observed default rate and capture per grade on the test window."""
        return self.evaluation.grade_table


#: ``fit_trees(unfitted_estimator, X, y) -> the estimator, fitted``: where the trees grow.
TreeFitter = Callable[[GradedWarningClassifier, pd.DataFrame, np.ndarray], GradedWarningClassifier]


def fit_in_process(
    estimator: GradedWarningClassifier, X: pd.DataFrame, y: np.ndarray
) -> GradedWarningClassifier:
    """The tree fitter of one machine: ``estimator.fit(X, y)``."""
    return estimator.fit(X, y)


@dataclass(frozen=True)
class Compute:
    """Where a retraining runs: this process (the default) or a Dask cluster
    (``training.distributed.on_cluster``). The code is the same; only these two seams change:
    how the trees are fitted and how snapshots are built (``features.partitioned``)."""

    fit_trees: TreeFitter = fit_in_process
    snapshot_mapper: Mapper | None = None
    snapshot_partitions: int = 1


def calibration_out_of_fold(
    base: GradedWarningClassifier,
    X: pd.DataFrame,
    y: np.ndarray,
    fit_rows: np.ndarray,
    scored_rows: np.ndarray,
    folds: np.ndarray,
    fit_trees: TreeFitter = fit_in_process,
) -> np.ndarray:
    """Raw P(S>=k) of the ``scored_rows`` (calibration rows), each from trees of ``base``'s
    settings fitted on the ``fit_rows`` (the final trees' rows: training, and calibration when
    those are fitted too) of the other borrower folds only.

    The final trees were fitted on the same borrowers' training rows, whose 12-month outcome
    windows mostly cover the calibration rows' own: scored by them, a borrower who defaults is
    already high, and a calibration map fitted on those scores is too low for every borrower
    the trees never saw (docs/training.md, calibration). Out of fold, the calibration rows are
    scored as the test window and the book in service are.
    """
    raw = np.full((int(scored_rows.sum()), base.classes_.size - 1), np.nan)
    scored = np.flatnonzero(scored_rows)
    for fold in np.unique(folds[scored]):
        rows = fit_rows & (folds != fold)
        model = fit_trees(clone(base), X[rows], y[rows])
        if not np.array_equal(model.classes_, base.classes_):
            raise ValueError(
                f"the training rows outside calibration fold {fold} lack severity level(s) "
                f"{np.setdiff1d(base.classes_, model.classes_).tolist()}: too few rows for a "
                "cross-fitted calibration"
            )
        in_fold = folds[scored] == fold
        raw[in_fold] = model.predict_cumulative(X.iloc[scored[in_fold]])
    return raw


def _choose_calibration(
    model: GradedWarningClassifier, raw: np.ndarray, y: np.ndarray, borrower_ids: pd.Series
) -> str:
    """Pick isotonic or sigmoid by Brier score of P(S>=top) on borrowers held out of fitting,
    from the calibration rows' out-of-fold scores ``raw``."""
    half = held_out_borrowers(borrower_ids, 0.5, "ews-calibration-v1")
    scores = {}
    for method in METHODS:
        fitted = CalibratedGradedClassifier(model, method).fit_cumulative(raw[~half], y[~half])
        top = fitted.calibrate_cumulative(raw[half])[:, -1]
        scores[method] = float(np.mean((top - (y[half] >= model.classes_[-1])) ** 2))
    return min(scores, key=lambda m: (scores[m], m))


def performing_outcomes(frame: pd.DataFrame, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are judged (loans not yet in default at the as-of month: a loan already
    90+ DPD is not a prediction) and whether each row reached severity ``top``. One definition
    for training, evaluation and promotion."""
    performing = frame["dpd_now"].to_numpy(dtype=float) < PERFORMING_DPD
    defaulted = frame["severity"].to_numpy(dtype=float) >= top
    return performing, defaulted


def grade_table(grades: pd.Series, defaulted: np.ndarray) -> pd.DataFrame:
    """Count, observed default rate and share of all defaults captured, per grade."""
    frame = pd.DataFrame({"grade": grades.to_numpy(), "default": defaulted})
    table = frame.groupby("grade", observed=False)["default"].agg(["size", "mean", "sum"])
    table = table.reindex(list(GRADES))
    total = max(int(frame["default"].sum()), 1)
    return pd.DataFrame(
        {
            "loans": table["size"].fillna(0).astype(int),
            "observed_default_rate": table["mean"],
            "default_capture": table["sum"].fillna(0) / total,
        }
    )


def train_warning_model(
    tables: dict[str, pd.DataFrame],
    config: TrainingConfig,
    policy: GradePolicy | None = None,
    oracle: pd.DataFrame | None = None,
    on_stage: Callable[[str], None] | None = None,
    compute: Compute | None = None,
) -> TrainingResult:
    """Build features, split out of time, fit, calibrate and evaluate (see module docstring).

    ``oracle`` (simulated books only): ground-truth ``<name>_p_ge<k>`` columns keyed by
    ``loan_id`` and ``as_of`` (``features.simulator.report.read_ground_truth``: ``path`` knows
    the future capacity path, ``pit`` only the latent state at as-of), reported beside the model
    as ``oracle_<name>`` on the same rows. ``compute``: where it runs (this process by default).
    """
    compute = compute or Compute()
    if on_stage is not None:
        on_stage("features")
    fit_until = pd.Period(config.train_until, "M").end_time.normalize()
    unifier = fit_party_index(tables["party_ratings"], fit_until)
    months = f"{config.first_as_of}:{config.test_until}"
    if compute.snapshot_mapper is None:
        snapshots = build_snapshots(tables, months, unifier, horizon=config.horizon)
    else:
        snapshots = build_snapshots_partitioned(
            tables,
            months,
            unifier,
            horizon=config.horizon,
            n_partitions=compute.snapshot_partitions,
            mapper=compute.snapshot_mapper,
        )
    result = fit_on_snapshots(
        snapshots, config, unifier, policy, oracle, on_stage, compute.fit_trees
    )
    reference = with_early_outcomes(result.reference, tables)
    return replace(result, reference=reference)


def fit_on_snapshots(
    snapshots: pd.DataFrame,
    config: TrainingConfig,
    unifier: PartyIndexUnifier,
    policy: GradePolicy | None = None,
    oracle: pd.DataFrame | None = None,
    on_stage: Callable[[str], None] | None = None,
    fit_trees: TreeFitter = fit_in_process,
) -> TrainingResult:
    """Split, fit, calibrate and evaluate on ready snapshots (also what the benchmark times).

    ``on_stage`` is told the name of each stage as it starts (``STAGES``), for progress display
    and stage timings. ``fit_trees`` grows every set of trees (the final ones and each
    calibration fold's): in this process, or on a cluster.
    """
    step = on_stage or (lambda _stage: None)
    step("split")
    split = split_rows(snapshots, config)
    X = to_model_input(snapshots)
    y = snapshots["severity"].fillna(-1).astype(int).to_numpy()
    parts = {"train": split.train, "calibrate": split.calibrate, "test": split.test}
    for name, rows in parts.items():
        if not rows.any():
            raise ValueError(f"the {name} window has no labeled rows; check the split months")
    if np.unique(y[parts["train"]]).size < 2:
        raise ValueError("the training window has a single outcome level; nothing to learn")

    cal, test, fit = split.calibrate, split.test, split.fit
    step("fit")
    unfitted = GradedWarningClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        subsample=config.subsample,
        colsample_bytree=config.colsample_bytree,
        reg_lambda=config.reg_lambda,
        monotone={k: v for k, v in MONOTONE_FEATURES.items() if k in X.columns},
        random_state=config.random_state,
        n_jobs=config.n_jobs,
    )
    base = fit_trees(unfitted, X[fit], y[fit])
    step("calibrate")
    folds = borrower_folds(
        snapshots["borrower_id"], config.calibration_folds, CALIBRATION_FOLD_SALT
    )
    raw = calibration_out_of_fold(base, X, y, fit, cal, folds, fit_trees)
    method = _choose_calibration(base, raw, y[cal], snapshots.loc[cal, "borrower_id"])
    model = CalibratedGradedClassifier(base, method).fit_cumulative(raw, y[cal])
    if policy is None:  # cut-offs from the validation (calibration) window, master scale
        performing, defaulted = performing_outcomes(snapshots[cal], model.classes_[-1])
        policy = derive_policy(  # on the out-of-fold PDs: as the book in service is scored
            probability_frame(model.classes_, model.calibrate_cumulative(raw[performing])),
            defaulted[performing],
            version=f"derived-{config.calibrate_until}",
        )

    step("score test window")
    keys = snapshots.loc[test, [*TEST_COLUMNS]].reset_index(drop=True)
    scores = score_inputs(model, X[test].reset_index(drop=True), policy, top_reasons=0)
    proba, grades = scores.proba, scores.grades
    cumulative = proba[[f"p_s{int(k)}" for k in model.classes_[1:]]].to_numpy()
    test_frame = pd.concat([keys, proba], axis=1).assign(
        pilot=pilot_segment(keys["area"]), grade=grades.to_numpy()
    )
    top = int(model.classes_[-1])
    step("baselines")
    baseline_pd = baseline_probabilities(  # on the model's own fitting rows
        X[fit], y[fit] >= top, X[test], random_state=config.random_state
    )
    step("evaluate")
    evaluation = evaluate(test_frame, cumulative, top, baseline_pd, oracle)
    importance = pd.Series(
        base.estimators_[-1].booster_.feature_importance("gain"), index=X.columns, name="gain"
    ).sort_values(ascending=False)
    step("reference")
    reference_proba = probability_frame(model.classes_, model.calibrate_cumulative(raw))
    reference = build_reference(snapshots, X, cal, reference_proba, policy)
    return TrainingResult(
        config=config,
        model=model,
        calibration_method=method,
        unifier=unifier,
        policy=policy,
        evaluation=evaluation,
        test=test_frame,
        test_inputs=X[test].reset_index(drop=True),
        reference=reference,
        importance=importance,
        row_counts={name: int(rows.sum()) for name, rows in parts.items()},
    )


def evaluate(
    test: pd.DataFrame,
    cumulative: np.ndarray,
    top: int,
    baseline_pd: dict[str, np.ndarray],
    oracle: pd.DataFrame | None = None,
) -> Evaluation:
    """Metrics per threshold, grades, segments, baselines and oracles on the test window."""
    severity = test["severity"].to_numpy()
    judged, defaulted = performing_outcomes(test, top)
    # A borrower's monthly rows are one cluster for the calibration tests (training.metrics).
    groups = test["borrower_id"].to_numpy()[judged] if "borrower_id" in test else None
    thresholds = [int(c[3:]) for c in test.columns if c.startswith("p_s")][: cumulative.shape[1]]
    metrics = {
        f"s{k}": compute_binary_metrics(severity[judged] >= k, cumulative[judged, i], groups=groups)
        for i, k in enumerate(thresholds)
    }
    outcome = defaulted[judged]
    pd_12m = cumulative[judged, -1]
    scored = test[judged].assign(outcome=outcome.astype(int), pd_12m=pd_12m)
    curves = {"model": pd_12m, **{k: v[judged] for k, v in baseline_pd.items()}}
    oracles: dict[str, BinaryMetrics] = {}
    if oracle is not None:
        truth = test[["loan_id", "as_of"]].merge(oracle, on=["loan_id", "as_of"], how="left")
        for column in sorted(c for c in truth.columns if c.endswith(f"_p_ge{top}")):
            values = truth[column].to_numpy(dtype=float)[judged]
            if np.isnan(values).any():
                raise ValueError(f"the ground truth lacks {column} for some test rows")
            name = "oracle_" + column.removesuffix(f"_p_ge{top}")
            oracles[name] = compute_binary_metrics(outcome, values, groups=groups)
            curves[name] = values
    return Evaluation(
        metrics=metrics,
        grade_table=grade_table(test["grade"][judged], outcome),
        segments=segment_metrics(scored, "outcome", "pd_12m", DEFAULT_SEGMENTS),
        baselines={
            k: compute_binary_metrics(outcome, v[judged], groups=groups)
            for k, v in baseline_pd.items()
        },
        oracle=oracles,
        curves=curves,
        judged_outcome=outcome,
    )

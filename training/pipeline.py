"""Retraining, without IO: validated tables in, a calibrated graded model and its evidence out.

features -> out-of-time split -> fit -> calibrate (method chosen by measurement) -> evaluate on
the held-out test window. Tracking and registry live in ``training.tracking``; this module only
computes, so it can be tested on small books and reused by the command line and notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from features.party_index import PartyIndexUnifier, fit_party_index
from features.snapshots import build_snapshots
from models.calibration import METHODS, CalibratedGradedClassifier
from models.grade_policy import GRADES, GradePolicy, assign_grades
from models.graded import GradedWarningClassifier
from models.inputs import to_model_input
from training.metrics import BinaryMetrics, compute_binary_metrics
from training.split import SplitPlan, assign_roles, held_out_borrowers

#: Features whose direction is known: more days past due never lowers risk.
MONOTONE_FEATURES = {"dpd_now": 1, "worst_dpd_3m": 1, "worst_dpd_6m": 1, "worst_dpd_12m": 1}


class TrainingConfig(BaseModel):
    """What a retraining run does; every field is logged with the run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_as_of: str
    train_until: str
    calibrate_until: str
    test_until: str
    horizon: int = 12
    test_borrower_share: float = 0.3
    n_estimators: int = 400
    learning_rate: float = 0.03
    num_leaves: int = 31
    min_child_samples: int = 100
    random_state: int = 0

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
class TrainingResult:
    """The trained model and everything a reviewer needs to judge it."""

    config: TrainingConfig
    model: CalibratedGradedClassifier
    calibration_method: str
    unifier: PartyIndexUnifier
    policy: GradePolicy
    metrics: dict[str, BinaryMetrics]
    grade_table: pd.DataFrame
    test: pd.DataFrame  # keys, labels, PD and grade of every test row
    test_inputs: (
        pd.DataFrame
    )  # model inputs of the same rows: the window a champion is re-scored on
    reference: pd.DataFrame  # model inputs of a training sample, for drift monitoring
    row_counts: dict[str, int] = field(default_factory=dict)


def _choose_calibration(
    model: GradedWarningClassifier, X: pd.DataFrame, y: np.ndarray, borrower_ids: pd.Series
) -> str:
    """Pick isotonic or sigmoid by Brier score of P(S>=top) on borrowers held out of fitting."""
    half = held_out_borrowers(borrower_ids, 0.5, "ews-calibration-v1")
    scores = {}
    for method in METHODS:
        fitted = CalibratedGradedClassifier(model, method).fit(X[~half], y[~half])
        top = fitted.predict_cumulative(X[half])[:, -1]
        scores[method] = float(np.mean((top - (y[half] >= model.classes_[-1])) ** 2))
    return min(scores, key=lambda m: (scores[m], m))


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
    tables: dict[str, pd.DataFrame], config: TrainingConfig, policy: GradePolicy | None = None
) -> TrainingResult:
    """Build features, split out of time, fit, calibrate and evaluate (see module docstring)."""
    policy = policy or GradePolicy()
    fit_until = pd.Period(config.train_until, "M").end_time.normalize()
    unifier = fit_party_index(tables["party_ratings"], fit_until)
    snapshots = build_snapshots(
        tables, f"{config.first_as_of}:{config.test_until}", unifier, horizon=config.horizon
    )
    plan = SplitPlan(
        config.train_until, config.calibrate_until, config.test_until, config.test_borrower_share
    )
    role = assign_roles(snapshots, plan).to_numpy()
    X = to_model_input(snapshots)
    y = snapshots["severity"].fillna(-1).astype(int).to_numpy()
    parts = {r: role == r for r in ("train", "calibrate", "test")}
    for name, rows in parts.items():
        if not rows.any():
            raise ValueError(f"the {name} window has no labeled rows; check the split months")
    if np.unique(y[parts["train"]]).size < 2:
        raise ValueError("the training window has a single outcome level; nothing to learn")

    base = GradedWarningClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        monotone={k: v for k, v in MONOTONE_FEATURES.items() if k in X.columns},
        random_state=config.random_state,
    ).fit(X[parts["train"]], y[parts["train"]])
    cal = parts["calibrate"]
    method = _choose_calibration(base, X[cal], y[cal], snapshots.loc[cal, "borrower_id"])
    model = CalibratedGradedClassifier(base, method).fit(X[cal], y[cal])

    test = parts["test"]
    cumulative = model.predict_cumulative(X[test])
    proba = pd.DataFrame(cumulative, columns=[f"p_s{k}" for k in model.classes_[1:]])
    for column in ("p_s1", "p_s2", "p_s3"):
        if column not in proba:
            proba[column] = 0.0
    dpd = snapshots.loc[test, "dpd_now"].to_numpy()
    grades = assign_grades(proba, dpd, policy)
    y_test = y[test]
    performing = dpd < 90
    metrics = {
        f"s{k}": compute_binary_metrics(y_test[performing] >= k, cumulative[performing, i])
        for i, k in enumerate(model.classes_[1:])
    }
    test_frame = snapshots.loc[test, ["loan_id", "borrower_id", "as_of", "severity"]].reset_index(
        drop=True
    )
    test_frame = pd.concat([test_frame, proba.reset_index(drop=True)], axis=1).assign(
        grade=grades.to_numpy()
    )
    reference = X[parts["train"]].sample(n=min(5_000, int(parts["train"].sum())), random_state=0)
    return TrainingResult(
        config=config,
        model=model,
        calibration_method=method,
        unifier=unifier,
        policy=policy,
        metrics=metrics,
        grade_table=grade_table(grades, y_test >= model.classes_[-1]),
        test=test_frame,
        test_inputs=X[test].reset_index(drop=True),
        reference=reference,
        row_counts={name: int(rows.sum()) for name, rows in parts.items()},
    )

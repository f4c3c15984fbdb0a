"""The evidence folder of a retraining run: what a reviewer opens before trusting a model.

Written into one folder that ``training.tracking`` logs as the run's ``evidence/`` artifacts:
the grade policy that travels with the model, the Party-building cross-walk, metrics (per
threshold, per segment, baselines, oracles), the grade table, feature importance, plots (ROC of
model, baselines and oracles; calibration; grades; importance), the model card, the test window
(for re-scoring a champion on the same rows; borrowers numbered, not named, for the calibration
tests) and a reference sample (for drift monitoring).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from training.model_card import ModelCard, render_model_card
from training.pipeline import TrainingResult
from training.plots import (
    plot_calibration,
    plot_feature_importance,
    plot_grade_distribution,
    plot_roc,
    roc_points,
)
from training.reference import REFERENCE_FILE, anonymise

#: Column of ``test_window.parquet`` numbering its borrowers (no ids): the calibration tests'
#: clusters when promotion re-scores the window.
BORROWER_GROUP = "borrower_group"
#: The oracle quoted as "the" oracle on the card: the fair, point-in-time one when present.
CARD_ORACLE_PREFERENCE = ("oracle_pit", "oracle_path")


def card_oracle(result: TrainingResult) -> tuple[str, float] | None:
    """Name and AUC of the oracle the model card compares with, if the book is simulated."""
    oracles = result.evaluation.oracle
    for name in (*CARD_ORACLE_PREFERENCE, *sorted(oracles)):
        if name in oracles:
            return name, oracles[name].auc
    return None


def model_card(result: TrainingResult, fingerprint: str, model_name: str) -> ModelCard:
    """The card's facts, all taken from the result (nothing measured anew)."""
    config, evaluation = result.config, result.evaluation
    oracle = card_oracle(result)
    limitations = []
    if oracle is not None:
        limitations.append(
            f"The oracle ({oracle[0]}) is the simulator's ground truth: it sees the borrower's "
            "latent state exactly, which no bank can, so it bounds what any model could rank."
        )
    return ModelCard(
        model_name=model_name,
        first_as_of=config.first_as_of,
        train_until=config.train_until,
        calibrate_until=config.calibrate_until,
        test_until=config.test_until,
        horizon=config.horizon,
        data_fingerprint=fingerprint,
        row_counts=result.row_counts,
        calibration_method=result.calibration_method,
        metrics=evaluation.metrics,
        grade_table=evaluation.grade_table,
        grade_policy_version=result.policy.version,
        data_source="simulated book" if oracle is not None else "bank portfolio tables",
        baselines=evaluation.baselines,
        oracle_auc=oracle[1] if oracle is not None else None,
        segments=evaluation.segments,
        limitations=limitations,
        pd_threshold=evaluation.top,
    )


def write_evidence(
    result: TrainingResult, folder: Path, fingerprint: str, model_name: str
) -> list[Path]:
    """Write every evidence file of ``result`` into ``folder``; returns the paths written."""
    evaluation = result.evaluation
    folder.mkdir(parents=True, exist_ok=True)
    result.policy.save(folder / "grade_policy.json")
    result.unifier.crosswalk_.to_csv(folder / "party_crosswalk.csv", index=False)
    evaluation.grade_table.to_csv(folder / "grade_table.csv")
    evaluation.segments.to_csv(folder / "segment_metrics.csv", index=False)
    result.importance.to_csv(folder / "feature_importance.csv")
    anonymise(result.reference).to_parquet(folder / REFERENCE_FILE, index=False)
    # Borrowers are numbered, never named: the calibration tests need only who repeats.
    borrower_group = pd.factorize(result.test["borrower_id"].astype(str))[0]
    result.test_inputs.assign(
        severity=result.test["severity"].to_numpy(), **{BORROWER_GROUP: borrower_group}
    ).to_parquet(folder / "test_window.parquet")
    summary = {
        "metrics": {k: asdict(v) for k, v in evaluation.metrics.items()},
        "baselines": {k: asdict(v) for k, v in evaluation.baselines.items()},
        "oracle": {k: asdict(v) for k, v in evaluation.oracle.items()},
        "oracle_ratio": evaluation.oracle_ratio,
    }
    (folder / "metrics.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")

    y = evaluation.judged_outcome
    curves = {name: roc_points(y, p) for name, p in evaluation.curves.items()}
    plot_roc(curves, folder / "roc.png", f"ROC of the {result.config.horizon}-month PD (test)")
    plot_calibration(y, evaluation.curves["model"], folder / "calibration.png")
    plot_grade_distribution(evaluation.grade_table, folder / "grade_distribution.png")
    plot_feature_importance(result.importance, folder / "feature_importance.png", xlabel="gain")
    card = render_model_card(model_card(result, fingerprint, model_name))
    (folder / "model_card.md").write_text(card, encoding="utf-8")
    return sorted(folder.iterdir())

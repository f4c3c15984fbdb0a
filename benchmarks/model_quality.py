"""Model quality on simulated books: the graded model against refitted LightGBM references,
both oracles and a ceiling proxy.

For each book (borrowers, seed; 36 months, default simulator configuration) the project's
retraining pipeline runs with its default windows and configuration. Then, on exactly the rows
the model's trees were fitted on (``training.pipeline.split_rows``: the same features, the same
P(S>=3) target), two references are refitted:

* ``lightgbm_default``: LightGBM with library defaults (``training.baselines.default_lightgbm``);
* ``lightgbm_tuned``: a random search over LightGBM settings (``--search`` configurations), each
  judged by borrower-grouped cross-validation on the fitting rows (``--cv-folds`` folds of
  borrowers, early stopping on the held-out borrowers' rows), the best refitted on all fitting
  rows with the mean best tree count and bagged over ``--bags`` seeds. It is what a careful
  modeller with the same rows and a few minutes of search gets out of plain LightGBM.

Everything is judged on the same performing test rows (held-out borrowers, last six matured
as-of months, loans under 90 DPD at the as-of month): AUC of P(S>=3) for the model, both
references, the point-in-time oracle (the simulator's true PD given the borrower's latent state
at the as-of month) and the path oracle (which also knows the future capacity path). The
point-in-time oracle is the ceiling proxy: no model of the bank's observations can know the
latent state better than the simulator does, so its AUC bounds what the features allow (the
path oracle's does not: it knows the future). Also the model's ECE of P(S>=3) and the times.

Targets (printed as met / not met): model AUC >= tuned reference - 0.005 on average over the
books; model AUC >= default LightGBM + 0.005 on every book; model ECE <= 0.01 on every book.

    python benchmarks/model_quality.py                      # 30,000 x 36, seeds 20261127, 7, 31
    python benchmarks/model_quality.py --book 12000:7 --search 4 --json /tmp/quality.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Default books: BORROWERS:SEED, 36 months each.
DEFAULT_BOOKS = ("30000:20261127", "30000:7", "30000:31")
#: The targets of the summary.
TUNED_MARGIN = 0.005  # model AUC >= tuned - this, on average over the books
DEFAULT_MARGIN = 0.005  # model AUC >= default LightGBM + this, on every book
MAX_ECE = 0.01
#: Salt of the tuning folds (not the calibration folds': a different partition of borrowers).
TUNING_FOLD_SALT = "ews-benchmark-tuning-v1"
#: Search space of the tuned reference (learning rate fixed; trees by early stopping).
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "num_leaves": (7, 15, 31, 63),
    "min_child_samples": (50, 100, 300, 500, 1000),
    "colsample_bytree": (0.2, 0.35, 0.5, 0.8),
    "subsample": (0.6, 0.8, 1.0),
    "reg_lambda": (0.0, 1.0, 5.0, 20.0),
}
LEARNING_RATE = 0.05
MAX_TREES = 1500
EARLY_STOPPING = 50


@dataclass(frozen=True)
class TunedReference:
    """The chosen configuration, its cross-validated AUC and what the search cost."""

    params: dict[str, Any]
    n_estimators: int
    cv_auc: float
    configurations: int
    search_seconds: float
    fit_seconds: float


def _parse_book(text: str) -> tuple[int, int]:
    try:
        borrowers, seed = (int(part) for part in text.split(":"))
    except ValueError:
        raise SystemExit(
            f"error: --book must be BORROWERS:SEED, e.g. 30000:7; got {text!r}"
        ) from None
    if borrowers < 1000:
        raise SystemExit(f"error: --book {text}: at least 1,000 borrowers are needed")
    return borrowers, seed


def _configurations(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` distinct random draws from ``SEARCH_SPACE`` (seeded)."""
    rng = np.random.default_rng(seed)
    grid_size = int(np.prod([len(v) for v in SEARCH_SPACE.values()]))
    chosen: list[dict[str, Any]] = []
    while len(chosen) < min(count, grid_size):
        draw = {k: v[rng.integers(len(v))] for k, v in SEARCH_SPACE.items()}
        if draw not in chosen:
            chosen.append(draw)
    return chosen


def _lightgbm(params: dict[str, Any], n_estimators: int, seed: int) -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        **params,
        learning_rate=LEARNING_RATE,
        n_estimators=n_estimators,
        subsample_freq=1 if params["subsample"] < 1 else 0,
        random_state=seed,
        n_jobs=1,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def tuned_lightgbm(
    X: pd.DataFrame,
    y: np.ndarray,
    borrower_ids: pd.Series,
    X_test: pd.DataFrame,
    *,
    configurations: int,
    folds: int,
    bags: int,
    seed: int = 0,
) -> tuple[np.ndarray, TunedReference]:
    """P(y) on ``X_test`` from the best of a random search judged by borrower-grouped CV."""
    import lightgbm
    from sklearn.metrics import roc_auc_score

    from training.split import borrower_folds

    fold = borrower_folds(borrower_ids, folds, TUNING_FOLD_SALT)
    began = time.perf_counter()
    best: tuple[float, dict[str, Any], int] | None = None
    for params in _configurations(configurations, seed):
        aucs, trees = [], []
        for k in range(folds):
            fit, held = fold != k, fold == k
            model = _lightgbm(params, MAX_TREES, seed).fit(
                X[fit],
                y[fit],
                eval_X=(X[held],),
                eval_y=(y[held],),
                eval_metric="auc",
                callbacks=[lightgbm.early_stopping(EARLY_STOPPING, verbose=False)],
            )
            trees.append(int(model.best_iteration_ or MAX_TREES))
            aucs.append(roc_auc_score(y[held], model.predict_proba(X[held])[:, 1]))
        score = float(np.mean(aucs))
        if best is None or score > best[0]:
            best = (score, params, int(np.mean(trees)))
    assert best is not None
    search_seconds = time.perf_counter() - began
    cv_auc, params, n_estimators = best
    began = time.perf_counter()
    proba = np.mean(
        [
            _lightgbm(params, n_estimators, seed + bag).fit(X, y).predict_proba(X_test)[:, 1]
            for bag in range(bags)
        ],
        axis=0,
    )
    reference = TunedReference(
        params=params,
        n_estimators=n_estimators,
        cv_auc=cv_auc,
        configurations=configurations,
        search_seconds=search_seconds,
        fit_seconds=time.perf_counter() - began,
    )
    return proba, reference


def measure_book(borrowers: int, seed: int, months: int, args: argparse.Namespace) -> dict:
    """Run the pipeline and the references on one simulated book; every figure of one row."""
    from sklearn.metrics import roc_auc_score

    from features.party_index import fit_party_index
    from features.simulator import simulate_portfolio
    from features.simulator.report import ground_truth_frame
    from features.snapshots import build_snapshots
    from models.inputs import to_model_input
    from training.baselines import default_lightgbm
    from training.pipeline import (
        TrainingConfig,
        fit_on_snapshots,
        performing_outcomes,
        split_rows,
    )

    began = time.perf_counter()
    simulation = simulate_portfolio(borrowers, months, seed)
    tables = simulation.tables
    config = TrainingConfig.for_book(tables)
    unifier = fit_party_index(
        tables["party_ratings"], pd.Period(config.train_until, "M").end_time.normalize()
    )
    snapshots = build_snapshots(
        tables, f"{config.first_as_of}:{config.test_until}", unifier, horizon=config.horizon
    )
    data_seconds = time.perf_counter() - began

    began = time.perf_counter()
    result = fit_on_snapshots(
        snapshots, config, unifier, oracle=ground_truth_frame(simulation.truth)
    )
    pipeline_seconds = time.perf_counter() - began
    evaluation = result.evaluation
    top = int(result.model.classes_[-1])
    model_pd = evaluation.metrics[evaluation.top]

    rows = split_rows(snapshots, config)
    X = to_model_input(snapshots)
    target = (snapshots["severity"].fillna(-1).to_numpy() >= top).astype(np.int64)
    fit = rows.fit
    X_fit, y_fit, X_test = X[fit], target[fit], X[rows.test]
    judged, defaulted = performing_outcomes(snapshots[rows.test], top)
    outcome = defaulted[judged]
    if not np.array_equal(outcome, evaluation.judged_outcome):
        raise RuntimeError("the benchmark's test rows differ from the pipeline's")

    began = time.perf_counter()
    default_pd = default_lightgbm(0).fit(X_fit, y_fit).predict_proba(X_test)[:, 1]
    default_seconds = time.perf_counter() - began
    tuned_pd, tuned = tuned_lightgbm(
        X_fit,
        y_fit,
        snapshots.loc[fit, "borrower_id"],
        X_test,
        configurations=args.search,
        folds=args.cv_folds,
        bags=args.bags,
    )
    oracle = {k: m.auc for k, m in evaluation.oracle.items()}
    return {
        "borrowers": borrowers,
        "seed": seed,
        "months": months,
        "test_months": f"{pd.Period(config.calibrate_until, 'M') + 1}..{config.test_until}",
        "fit_rows": int(fit.sum()),
        "test_rows": int(judged.sum()),
        "test_defaults": int(outcome.sum()),
        "calibration": result.calibration_method,
        "auc": {
            "model": model_pd.auc,
            "lightgbm_default": float(roc_auc_score(outcome, default_pd[judged])),
            "lightgbm_tuned": float(roc_auc_score(outcome, tuned_pd[judged])),
            **oracle,
        },
        "ceiling_proxy": oracle.get("oracle_pit"),
        "model_ece": model_pd.ece,
        "model_oe": model_pd.oe_ratio,
        "tuned": asdict(tuned),
        "seconds": {
            "data": data_seconds,
            "pipeline": pipeline_seconds,
            "lightgbm_default": default_seconds,
            "lightgbm_tuned_search": tuned.search_seconds,
            "lightgbm_tuned_fit": tuned.fit_seconds,
        },
    }


def summarise(books: list[dict]) -> dict[str, Any]:
    """The three targets, each with its figure and whether it is met."""
    gaps_tuned = [b["auc"]["model"] - b["auc"]["lightgbm_tuned"] for b in books]
    gaps_default = [b["auc"]["model"] - b["auc"]["lightgbm_default"] for b in books]
    eces = [b["model_ece"] for b in books]
    return {
        "model_minus_tuned_mean": float(np.mean(gaps_tuned)),
        "model_vs_tuned_met": bool(np.mean(gaps_tuned) >= -TUNED_MARGIN),
        "model_minus_default_min": float(min(gaps_default)),
        "model_vs_default_met": bool(min(gaps_default) >= DEFAULT_MARGIN),
        "ece_max": float(max(eces)),
        "ece_met": bool(max(eces) <= MAX_ECE),
    }


def _print_book(b: dict) -> None:
    auc, s = b["auc"], b["seconds"]
    print(
        f"\nbook {b['borrowers']:,} borrowers x {b['months']} months, seed {b['seed']}: test "
        f"{b['test_months']}, {b['test_rows']:,} performing rows, {b['test_defaults']:,} "
        f"defaults; {b['fit_rows']:,} fitting rows; calibration {b['calibration']}"
    )
    for name, value in auc.items():
        print(f"  AUC {name:18s} {value:.4f}")
    print(f"  model ECE {b['model_ece']:.4f}, O/E {b['model_oe']:.2f}")
    tuned = b["tuned"]
    print(
        f"  tuned: {tuned['params']}, {tuned['n_estimators']} trees, CV AUC {tuned['cv_auc']:.4f}"
    )
    print(
        f"  seconds: data {s['data']:.0f}, pipeline {s['pipeline']:.0f}, default LightGBM "
        f"{s['lightgbm_default']:.0f}, tuned search {s['lightgbm_tuned_search']:.0f} + fit "
        f"{s['lightgbm_tuned_fit']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--book",
        action="append",
        help=f"BORROWERS:SEED (repeatable; default {', '.join(DEFAULT_BOOKS)})",
    )
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--search", type=int, default=8, help="configurations tried (8)")
    parser.add_argument("--cv-folds", type=int, default=3, help="borrower folds of the search")
    parser.add_argument("--bags", type=int, default=3, help="seeds the tuned reference averages")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args()
    for name in ("search", "cv_folds", "bags"):
        if getattr(args, name) < (2 if name == "cv_folds" else 1):
            raise SystemExit(f"error: --{name.replace('_', '-')} is too small")
    books = [_parse_book(text) for text in (args.book or DEFAULT_BOOKS)]

    machine = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(f"machine: {machine}")
    measured = []
    for borrowers, seed in books:
        measured.append(measure_book(borrowers, seed, args.months, args))
        _print_book(measured[-1])
    summary = summarise(measured)
    print("\ntargets:")
    print(
        f"  model - tuned AUC, mean {summary['model_minus_tuned_mean']:+.4f} "
        f"(>= -{TUNED_MARGIN}): {'met' if summary['model_vs_tuned_met'] else 'NOT met'}"
    )
    print(
        f"  model - default LightGBM AUC, worst book {summary['model_minus_default_min']:+.4f} "
        f"(>= +{DEFAULT_MARGIN}): {'met' if summary['model_vs_default_met'] else 'NOT met'}"
    )
    print(
        f"  model ECE, worst book {summary['ece_max']:.4f} (<= {MAX_ECE}): "
        f"{'met' if summary['ece_met'] else 'NOT met'}"
    )
    if args.json:
        payload = {**machine, "books": measured, "summary": summary, "args": vars(args)}
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, default=float)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

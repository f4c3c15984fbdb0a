"""Feature-table mode against a tuned LightGBM and a WoE scorecard, on the same folds.

Feature-table mode has to be at least as good as a well-tuned LightGBM and a WoE logistic
scorecard on the same folds (docs/training.md, bring your own feature table). This machine
reaches package registries only, so real public credit files cannot be downloaded; the tables
here are synthetic imitations of their shape and difficulty, written to disk and read back
through ``load_feature_table`` exactly as a bank's file would be:

* ``german``: 1,000 x 20, 13 text columns, 30% bad, target ``class`` = good/bad (German credit)
* ``taiwan``: 30,000 x 23 + an ``ID`` column, 22% default, repayment-status histories and
  correlated bill amounts (Taiwan default of credit card clients)
* ``gmsc``: 150,000 x 10 + the pandas index column, 6.7% default, heavy tails, 96/98 codes,
  20% missing income (Give Me Some Credit)
* ``generic``: 20,000 x 30 make_classification with clusters, 6 text columns, missing values,
  8% events (Parquet)
* ``simulator``: performing labelled loan-months of a simulated Red Financial Credit book,
  76 features, ordinal severity 0..3, folds by borrower (Parquet)
* ``panel``: the same kind of table as a bank would bring it: 12,000 simulated borrowers, as-of
  months 2024-01..07, with its ``borrower_id`` column given as the group column
  (``--group-column borrower_id``), folds by borrower (Parquet)

Every method gets the same 5 folds (stratified, or by borrower for ``simulator``) and scores
P(worst severity):

* ``ours``: ``training.cross_fit.cross_fit`` (the model ``ews-train fit --features-table`` fits)
* ``lgbm_tuned``: per outer fold, a seeded random search of ``--configs`` LightGBM settings, each
  scored by inner validation AUC (3-fold CV up to 20,000 training rows, a 25% holdout above;
  of whole groups when the table has a group column) with early stopping on AUC, the best
  refit on the whole training fold with 1.1 x its mean best tree count: honest (the scored
  fold never takes part)
* ``lgbm_default``: ``training.baselines.default_lightgbm`` (library defaults)
* ``woe_scorecard``: ``training.baselines.WoEScorecard`` (optbinning WoE + logistic regression)

AUC is pooled over all out-of-fold rows; ``mean fold`` is the mean of the five per-fold AUCs;
``PD/obs`` is the mean out-of-fold P(worst severity) over the observed rate (1 = calibrated in
the large); ``detail`` shows each fold's choice as leaves @ learning rate x trees (+ scorecard
weight).

    python benchmarks/feature_table_quality.py                       # all data sets
    python benchmarks/feature_table_quality.py --datasets german taiwan --configs 8
    python benchmarks/feature_table_quality.py --datasets panel --methods ours --out ours.csv

One run (seed 0, 12 configs, n_jobs 1, 2 shared cores; synthetic data, not the real files),
pooled out-of-fold AUC:

    data       ours    lgbm_tuned  lgbm_default  woe_scorecard   ours' seconds
    german     0.7452  0.7322      0.6909        0.7446           53
    taiwan     0.8094  0.8093      0.8056        0.8067           48
    generic    0.8897  0.8897      0.8838        0.7230          231
    gmsc       0.8062  0.8065      0.8025        0.8029           39
    simulator  0.7964  0.7709      0.7694        0.7607          494

Differences of a few 0.0001 are within what another seed would move; real public files may
rank the methods differently.

The ``panel`` table (2026-12-03, seed 0, 52,435 rows of 8,807 borrowers, group column
``borrower_id``; ``--methods ours``, ``baselines`` and ``tuned_row_inner`` run separately on a
busy machine): pooled AUC / mean PD over observed

    ours 0.8073 / 1.00 (210 s CPU)   lgbm_tuned 0.7956 / 0.93   lgbm_tuned_row_inner 0.7552 / 0.18
    lgbm_default 0.7835 / 0.53       woe_scorecard 0.7969 / 0.95
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from training.baselines import WoEScorecard, default_lightgbm
from training.cross_fit import FeatureTableClassifier, cross_fit, group_kfold
from training.feature_table import FeatureTable, load_feature_table
from training.metrics import compute_ece

console = Console(width=150)


# -- synthetic credit tables ----------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _draw_target(logit: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli outcomes with the intercept shifted so the event rate is about ``rate``."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if _sigmoid(logit + mid).mean() < rate else (low, mid)
    return (rng.random(logit.size) < _sigmoid(logit + low)).astype(int)


def _stratified_folds(y: np.ndarray, seed: int) -> np.ndarray:
    folds = np.zeros(y.size, dtype=int)
    splitter = StratifiedKFold(5, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(y.size), y), start=1):
        folds[test] = k
    return folds


def german_like(seed: int) -> pd.DataFrame:
    """1,000 applicants, 13 coded text columns and 7 numbers, additive effects, 30% bad."""
    rng = np.random.default_rng(seed)
    n = 1_000
    spec = [  # (column, levels, strength of the level effects)
        ("checking_status", 4, 0.9), ("credit_history", 5, 0.55), ("purpose", 10, 0.35),
        ("savings_status", 5, 0.45), ("employment", 5, 0.3), ("personal_status", 4, 0.2),
        ("other_parties", 3, 0.25), ("property_magnitude", 4, 0.3),
        ("other_payment_plans", 3, 0.3), ("housing", 3, 0.25), ("job", 4, 0.1),
        ("own_telephone", 2, 0.1), ("foreign_worker", 2, 0.3),
    ]  # fmt: skip
    frame: dict[str, Any] = {}
    logit = np.zeros(n)
    for i, (name, levels, strength) in enumerate(spec, start=1):
        codes = rng.choice(levels, n, p=rng.dirichlet(np.full(levels, 2.0)))
        logit += rng.normal(0, strength, levels)[codes]
        frame[name] = np.array([f"A{i}{c + 1}" for c in range(levels)])[codes]
    duration = np.clip(np.round(rng.gamma(3.0, 7.0, n)), 4, 72)
    amount = np.round(np.exp(6.9 + 0.03 * duration + rng.normal(0, 0.6, n)))
    installment = rng.integers(1, 5, n)
    age = np.clip(np.round(19 + rng.gamma(2.5, 7.0, n)), 19, 75)
    frame.update(
        duration=duration,
        credit_amount=amount,
        installment_commitment=installment,
        residence_since=rng.integers(1, 5, n),
        age=age,
        existing_credits=rng.choice([1, 2, 3, 4], n, p=[0.63, 0.33, 0.03, 0.01]),
        num_dependents=rng.choice([1, 2], n, p=[0.85, 0.15]),
    )
    logit += 0.03 * (duration - 20) + 0.15 * (installment - 2.5) - 0.025 * (age - 35)
    logit += 0.4 * np.maximum(np.log(amount) - 8.5, 0) + rng.normal(0, 0.3, n)
    y = _draw_target(logit, 0.30, rng)
    out = pd.DataFrame(frame)
    out["class"] = np.where(y == 1, "bad", "good")
    out["fold"] = _stratified_folds(y, seed)
    return out


def taiwan_like(seed: int) -> pd.DataFrame:
    """30,000 card holders: six months of repayment status, bills and payments; 22% default."""
    rng = np.random.default_rng(seed)
    n = 30_000
    risk = rng.normal(size=n)
    limit = np.clip(np.round(np.exp(11.6 + 0.7 * rng.normal(size=n) - 0.25 * risk), -4), 1e4, 1e6)
    frame: dict[str, Any] = {
        "ID": np.arange(1, n + 1),
        "LIMIT_BAL": limit,
        "SEX": rng.choice([1, 2], n, p=[0.4, 0.6]),
        "EDUCATION": rng.choice(
            [1, 2, 3, 4, 5, 6, 0], n, p=[0.35, 0.47, 0.16, 0.004, 0.01, 0.004, 0.002]
        ),
        "MARRIAGE": rng.choice([1, 2, 3, 0], n, p=[0.45, 0.53, 0.01, 0.01]),
        "AGE": np.clip(np.round(21 + rng.gamma(3.0, 5.0, n)), 21, 79),
    }  # fmt: skip
    delay_rate = _sigmoid(-2.3 + 1.1 * risk)
    status = np.where(rng.random(n) < 0.15, -2, np.where(rng.random(n) < 0.4, -1, 0))
    util = np.clip(rng.beta(2, 3, n) + 0.15 * risk, -0.05, 1.2)
    statuses, bills, payments = [], [], []
    for _ in range(6):  # oldest month first
        late = status > 0
        worsen = late & (rng.random(n) < 0.55)
        fresh = ~late & (rng.random(n) < delay_rate)
        calm = np.where(rng.random(n) < 0.15, -2, np.where(rng.random(n) < 0.45, -1, 0))
        stay = late & ~worsen & (rng.random(n) < 0.5)
        status = np.where(
            worsen, np.minimum(status + 1, 8), np.where(stay, status, np.where(fresh, 1, calm))
        )
        util = np.clip(0.8 * util + 0.2 * rng.beta(2, 3, n) + 0.05 * (status > 0), -0.05, 1.3)
        bill = np.where(status == -2, 0.0, np.round(limit * util * rng.lognormal(0, 0.2, n)))
        paid_share = np.where(status > 0, 0.02, rng.beta(0.8, 3.0, n))
        pay = np.round(np.maximum(bill, 0) * paid_share * rng.lognormal(0, 0.5, n))
        statuses.append(status)
        bills.append(bill)
        payments.append(pay)
    for month, label in enumerate(["PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0"]):
        frame[label] = statuses[month]
    for k in range(6):
        frame[f"BILL_AMT{k + 1}"] = bills[5 - k]
    for k in range(6):
        frame[f"PAY_AMT{k + 1}"] = payments[5 - k]
    latest, previous = statuses[5], statuses[4]
    ratio = payments[5] / np.maximum(bills[5], 1.0)
    logit = (
        0.9 * (latest > 0)
        + 0.3 * np.clip(latest, 0, 4)
        + 0.35 * (previous > 0)
        + 0.6 * risk
        + 0.5 * np.clip(bills[5] / limit, 0, 1.2)
        - 0.5 * (ratio > 0.1)
        + 0.25 * (frame["AGE"] < 25)
        + rng.normal(0, 0.3, n)
    )
    y = _draw_target(logit, 0.22, rng)
    out = pd.DataFrame(frame)
    out["default payment next month"] = y
    out["fold"] = _stratified_folds(y, seed)
    return out


def gmsc_like(seed: int) -> pd.DataFrame:
    """150,000 borrowers with heavy-tailed ratios, 96/98 codes and missing income; 6.7% bad."""
    rng = np.random.default_rng(seed)
    n = 150_000
    risk = rng.normal(size=n)
    util = np.clip(rng.beta(0.7, 1.8, n) + 0.12 * risk, 0, None)
    junk = rng.random(n) < 0.003
    util[junk] = rng.lognormal(7, 2, junk.sum())
    age = np.clip(np.round(52 + 15 * rng.normal(size=n) - 3 * risk), 21, 103)
    age[rng.integers(n)] = 0
    late30 = rng.poisson(np.exp(-1.8 + 0.9 * risk))
    late60 = rng.poisson(np.exp(-3.0 + 1.0 * risk))
    late90 = rng.poisson(np.exp(-3.0 + 1.1 * risk))
    coded = rng.random(n) < 0.0018
    code = rng.choice([96, 98], n)
    for counts in (late30, late60, late90):
        counts[coded] = code[coded]
    income = np.round(np.exp(8.5 + 0.6 * rng.normal(size=n) - 0.1 * risk))
    no_income = rng.random(n) < _sigmoid(-1.5 + 0.2 * risk)
    debt_ratio = np.where(
        no_income, np.round(rng.lognormal(6, 2, n)), rng.gamma(1.2, 0.3, n) * (1 + 0.1 * risk)
    )
    dependents = rng.poisson(0.75, n).astype(float)
    dependents[rng.random(n) < 0.026] = np.nan
    logit = (
        1.1 * risk
        + 1.4 * np.minimum(util, 1.2)
        + 0.6 * np.log1p(np.where(coded, 0, late90))
        + 0.45 * np.log1p(np.where(coded, 0, late30))
        + 0.35 * np.log1p(np.where(coded, 0, late60))
        + 1.5 * coded
        - 0.015 * (age - 50)
        + 0.1 * np.nan_to_num(dependents)
        + 0.2 * no_income
        + rng.normal(0, 0.3, n)
    )
    y = _draw_target(logit, 0.067, rng)
    out = pd.DataFrame(
        {
            "SeriousDlqin2yrs": y,
            "RevolvingUtilizationOfUnsecuredLines": util,
            "age": age,
            "NumberOfTime30-59DaysPastDueNotWorse": late30,
            "DebtRatio": debt_ratio,
            "MonthlyIncome": np.where(no_income, np.nan, income),
            "NumberOfOpenCreditLinesAndLoans": rng.poisson(np.exp(2.0 + 0.1 * risk)),
            "NumberOfTimes90DaysLate": late90,
            "NumberRealEstateLoansOrLines": rng.poisson(np.exp(-0.1 - 0.1 * risk)),
            "NumberOfTime60-89DaysPastDueNotWorse": late60,
            "NumberOfDependents": dependents,
        }
    )
    out.index = out.index + 1  # written as the unnamed first column, as in the Kaggle file
    out["fold"] = _stratified_folds(y, seed)
    return out


def generic_like(seed: int) -> pd.DataFrame:
    """make_classification with clusters: 30 columns (6 as text), missing values, 8% events."""
    rng = np.random.default_rng(seed)
    X, y = make_classification(
        20_000, 30, n_informative=10, n_redundant=5, n_clusters_per_class=3,
        weights=[0.92], flip_y=0.03, class_sep=0.8, random_state=seed,
    )  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"v{i:02d}" for i in range(30)])
    for i in range(6):
        column = f"v{i:02d}"
        levels = 4 + 2 * i
        bins = pd.qcut(frame[column], levels, labels=False).to_numpy()
        names = np.array([f"L{code}" for code in rng.permutation(levels)])
        frame[column] = names[bins]
    for i in range(10, 18):
        frame.loc[rng.random(len(frame)) < 0.12, f"v{i:02d}"] = np.nan
    frame["target"] = y
    frame["fold"] = _stratified_folds(y, seed)
    return frame


def simulator_snapshots(
    seed: int,
    borrowers: int = 4_000,
    as_of: str = "2024-01:2024-12",
    keep_borrower: bool = False,
) -> pd.DataFrame:
    """Performing, labelled loan-months of a simulated book; ordinal severity; borrower folds;
    with ``keep_borrower`` the ``borrower_id`` column stays, as in a bank's panel table."""
    from features.party_index import fit_party_index
    from features.simulator import simulate_portfolio
    from features.snapshots import build_snapshots
    from models.inputs import to_model_input

    tables = simulate_portfolio(borrowers, 36, seed).tables
    unifier = fit_party_index(tables["party_ratings"], "2023-12-31")
    snap = build_snapshots(tables, as_of, unifier)
    snap = snap[snap["labeled"] & (snap["dpd_now"] < 90)].reset_index(drop=True)
    frame = to_model_input(snap)
    if keep_borrower:
        frame.insert(0, "borrower_id", snap["borrower_id"].astype(str).to_numpy())
    frame["severity"] = snap["severity"].astype(int).to_numpy()
    borrower_rank = pd.factorize(snap["borrower_id"], sort=True)[0]
    frame["fold"] = (
        np.random.default_rng(seed).permutation(borrower_rank.max() + 1)[borrower_rank] % 5 + 1
    )
    return frame


def panel_snapshots(seed: int) -> pd.DataFrame:
    """12,000 borrowers, as-of months 2024-01..07 (about 52,000 rows), with ``borrower_id``."""
    return simulator_snapshots(seed, 12_000, "2024-01:2024-07", keep_borrower=True)


#: name -> (builder, target column, file suffix, whether the index is written as a column,
#: group column)
DATASETS: dict[str, tuple[Callable[[int], pd.DataFrame], str, str, bool, str | None]] = {
    "german": (german_like, "class", ".csv", False, None),
    "taiwan": (taiwan_like, "default payment next month", ".csv", False, None),
    "gmsc": (gmsc_like, "SeriousDlqin2yrs", ".csv", True, None),
    "generic": (generic_like, "target", ".parquet", False, None),
    "simulator": (simulator_snapshots, "severity", ".parquet", False, None),
    "panel": (panel_snapshots, "severity", ".parquet", False, "borrower_id"),
}


# -- the baselines ------------------------------------------------------------------------------


def sample_configs(n: int, seed: int) -> list[dict[str, Any]]:
    """A seeded random sample of LightGBM settings (the tuned baseline's search space)."""
    rng = np.random.default_rng(seed)
    return [
        {
            "learning_rate": float(rng.choice([0.02, 0.05, 0.1])),
            "num_leaves": int(rng.choice([4, 8, 16, 31, 63, 127])),
            "min_child_samples": int(rng.choice([5, 10, 20, 50, 100, 200, 500])),
            "colsample_bytree": float(rng.choice([0.3, 0.5, 0.7, 0.9, 1.0])),
            "subsample": float(rng.choice([0.6, 0.8, 1.0])),
            "reg_lambda": float(rng.choice([0.0, 0.1, 1.0, 5.0, 10.0, 30.0])),
            "reg_alpha": float(rng.choice([0.0, 0.1, 1.0])),
        }
        for _ in range(n)
    ]


def _lgbm(config: dict[str, Any], trees: int, seed: int, n_jobs: int) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        n_estimators=trees,
        subsample_freq=1,
        metric="auc",
        random_state=seed,
        n_jobs=n_jobs,
        verbose=-1,
        **config,
    )


def tuned_lightgbm(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_test: pd.DataFrame,
    configs: list[dict[str, Any]],
    seed: int,
    n_jobs: int,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Random search scored by inner validation AUC (early stopping on AUC), best refit.

    The inner validation is 3-fold CV up to 20,000 training rows and one stratified 25%
    holdout above, the same economy ``FeatureTableClassifier`` makes; with ``groups``, of whole
    groups (the first of 4 stratified group folds is the holdout).
    """
    if groups is not None:
        inner = group_kfold(y_train, groups, 3 if y_train.size <= 20_000 else 4, seed)
        inner = inner if y_train.size <= 20_000 else inner[:1]
    elif y_train.size <= 20_000:
        inner = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(X_train, y_train))
    else:
        index = np.arange(y_train.size)
        train, valid = train_test_split(index, test_size=0.25, stratify=y_train, random_state=seed)
        inner = [(train, valid)]
    best: tuple[float, dict[str, Any], int] = (-1.0, configs[0], 100)
    for config in configs:
        aucs, iterations = [], []
        for train, valid in inner:
            model = _lgbm(config, 3_000, seed, n_jobs).fit(
                X_train.iloc[train],
                y_train[train],
                eval_X=(X_train.iloc[valid],),
                eval_y=(y_train[valid],),
                callbacks=[lgb.early_stopping(100, verbose=False)],
            )
            aucs.append(model.best_score_["valid_0"]["auc"])
            iterations.append(model.best_iteration_)
        score = float(np.mean(aucs))
        if score > best[0]:
            best = (score, config, int(np.mean(iterations)))
    _, config, trees = best
    model = _lgbm(config, max(10, int(round(1.1 * trees))), seed, n_jobs).fit(X_train, y_train)
    chosen = f"{config['num_leaves']}L@{config['learning_rate']}x{trees}"
    return np.asarray(model.predict_proba(X_test))[:, 1], chosen


def baselines_oof(
    table: FeatureTable,
    configs: list[dict[str, Any]],
    seed: int,
    n_jobs: int,
    row_inner: bool = False,
) -> tuple[dict[str, np.ndarray], str]:
    """Out-of-fold P(worst severity) of every baseline on the table's own folds, and the
    tuned LightGBM's choice per fold (leaves @ learning rate x trees). ``row_inner``: only the
    tuned LightGBM, its inner validation splitting rows even when the table has groups (what
    one gets without a group column)."""
    assert table.folds is not None
    hit = (table.y >= table.max_severity).astype(int)
    names = (
        ("lgbm_tuned_row_inner",) if row_inner else ("lgbm_tuned", "lgbm_default", "woe_scorecard")
    )
    out = {name: np.zeros(hit.size) for name in names}
    chosen = []
    for label in table.fold_labels:
        test = table.folds == label
        X_train, X_test = table.features[~test], table.features[test]
        groups = None if table.groups is None or row_inner else table.groups[~test]
        out[names[0]][test], choice = tuned_lightgbm(
            X_train, hit[~test], X_test, configs, seed, n_jobs, groups
        )
        chosen.append(choice)
        if row_inner:
            continue
        default = default_lightgbm(seed).set_params(n_jobs=n_jobs).fit(X_train, hit[~test])
        out["lgbm_default"][test] = np.asarray(default.predict_proba(X_test))[:, 1]
        card = WoEScorecard(random_state=seed).fit(X_train, hit[~test])
        out["woe_scorecard"][test] = np.asarray(card.predict_proba(X_test))[:, 1]
    return out, " ".join(chosen)


# -- the comparison -----------------------------------------------------------------------------


def _fold_auc(hit: np.ndarray, p: np.ndarray, folds: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(hit[folds == f], p[folds == f]) for f in np.unique(folds)]))


def compare(
    name: str,
    seed: int,
    configs: int,
    n_jobs: int,
    folder: Path,
    methods: tuple[str, ...] = ("ours", "baselines"),
) -> list[dict[str, Any]]:
    """Write one data set to disk, load it as a feature table, score every method."""
    builder, target, suffix, with_index, group = DATASETS[name]
    frame = builder(seed)
    path = folder / f"{name}{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=with_index)
    else:
        frame.to_parquet(path, index=False)
    table = load_feature_table(path, target, "fold", group)
    assert table.folds is not None
    hit = (table.y >= table.max_severity).astype(int)
    console.print(
        f"[bold]{name}[/bold]: {table.y.size:,} rows x {table.features.shape[1]} features, "
        f"events {hit.mean():.1%}, severities 0..{table.max_severity}; "
        + ("; ".join(table.notes) or "no notes")
    )
    rows: list[dict[str, Any]] = []
    if "ours" in methods:
        began, cpu = time.perf_counter(), time.process_time()
        estimator = FeatureTableClassifier(n_jobs=n_jobs)
        ours = cross_fit(table, random_state=seed, estimator=estimator)
        p_ours = ours.oof["p"].to_numpy()  # sorted by row, like the table
        detail = " ".join(
            f"{f.settings.num_leaves}L@{f.settings.learning_rate}x{f.n_trees}"
            f"+{f.scorecard_weight:.2f}card"
            for f in ours.folds
        )
        rows.append(_row(name, "ours", hit, p_ours, table.folds, time.perf_counter() - began))
        rows[-1]["detail"] = detail
        rows[-1]["cpu_seconds"] = time.process_time() - cpu  # wall inflates on a shared machine
    for kind in ("baselines", "tuned_row_inner"):
        if kind not in methods:
            continue
        began = time.perf_counter()
        others, chosen = baselines_oof(
            table, sample_configs(configs, seed), seed, n_jobs, kind == "tuned_row_inner"
        )
        spent = time.perf_counter() - began
        for method, p in others.items():
            tuned = method.startswith("lgbm_tuned")
            rows.append(_row(name, method, hit, p, table.folds, spent if tuned else None))
            rows[-1]["detail"] = chosen if tuned else ""
    return rows


def _row(
    name: str,
    method: str,
    hit: np.ndarray,
    p: np.ndarray,
    folds: np.ndarray,
    seconds: float | None,
) -> dict[str, Any]:
    return {
        "data": name,
        "method": method,
        "auc": roc_auc_score(hit, p),
        "fold_auc": _fold_auc(hit, p, folds),
        "ece": compute_ece(hit, p),
        "pd_over_observed": float(p.mean() / hit.mean()),
        "seconds": float("nan") if seconds is None else seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--configs", type=int, default=12, help="tuned LightGBM search size")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=["ours", "baselines", "tuned_row_inner"],
        default=["ours", "baselines"],
        help="tuned_row_inner: the tuned LightGBM with row-wise inner splits (a panel's leak)",
    )
    parser.add_argument("--out", type=Path, help="also write the results as CSV here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.datasets:
            results.extend(
                compare(
                    name, args.seed, args.configs, args.n_jobs, Path(folder), tuple(args.methods)
                )
            )
            _print(results)
            if args.out:
                pd.DataFrame(results).to_csv(args.out, index=False)


def _print(results: list[dict[str, Any]]) -> None:
    table = Table(title="out-of-fold AUC of P(worst severity), same 5 folds (one run)")
    columns = ("data", "method", "AUC", "mean fold AUC", "ECE", "PD/obs", "seconds", "detail")
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("data", "method", "detail") else "right"
        )
    for r in results:
        best = max(x["auc"] for x in results if x["data"] == r["data"])
        auc = f"{r['auc']:.4f}"
        table.add_row(
            r["data"],
            r["method"],
            f"[bold]{auc}[/bold]" if r["auc"] == best else auc,
            f"{r['fold_auc']:.4f}",
            f"{r['ece']:.4f}",
            f"{r['pd_over_observed']:.2f}",
            "" if np.isnan(r["seconds"]) else f"{r['seconds']:.0f}",
            r["detail"],
        )
    console.print(table)


if __name__ == "__main__":
    main()

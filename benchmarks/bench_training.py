"""Benchmark: retraining on 1,000,000 snapshot rows (target: within 5 minutes on 2 cores).

In a fresh process: read and validate a simulated book, build the point-in-time snapshots of
the default out-of-time windows, keep ``--train-rows`` rows of the training window (a seeded
sample if there are more), then time ``training.pipeline.fit_on_snapshots`` stage by stage:
fit of the graded classifier, choice and fit of calibration, scoring the test window, the two
baselines and the evaluation. Reading and snapshots are timed separately (docs/features.md
has their figures); the figure the target is about is the training time.

    ews-data simulate -n 130000 -m 48 --out .ews/data/book130k48
    python benchmarks/bench_training.py --book .ews/data/book130k48 --train-rows 1000000

One LightGBM thread is the default: on a machine whose cores are busy with other work, two
OpenMP threads spin-wait and ran 3x slower than one (measured in docs/training.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

from fresh_process import run_child

_CHILD = r"""
import json, resource, sys, time
import numpy as np
import pandas as pd
from features.party_index import fit_party_index
from features.snapshots import build_snapshots
from features.validation import load_validated_portfolio
from models.inputs import to_model_input
from training.pipeline import TrainingConfig, fit_on_snapshots
from training.split import SplitPlan, assign_roles

book = sys.argv[1]
train_rows, n_jobs, n_estimators = (int(a) for a in sys.argv[2:5])
t0 = time.perf_counter()
tables = load_validated_portfolio(book)
config = TrainingConfig.for_book(tables, n_jobs=n_jobs, n_estimators=n_estimators)
t1 = time.perf_counter()
fit_until = pd.Period(config.train_until, "M").end_time.normalize()
unifier = fit_party_index(tables["party_ratings"], fit_until)
snap = build_snapshots(tables, f"{config.first_as_of}:{config.test_until}", unifier)
del tables
t2 = time.perf_counter()
plan = SplitPlan(config.train_until, config.calibrate_until, config.test_until,
                 config.test_borrower_share)
role = assign_roles(snap, plan).to_numpy()
train = np.flatnonzero(role == "train")
available = int(train.size)
if available > train_rows:
    drop = np.random.default_rng(0).choice(train, available - train_rows, replace=False)
    snap = snap.drop(index=snap.index[drop]).reset_index(drop=True)
features = to_model_input(snap.head(1)).shape[1]
stages, marks = [], []
def on_stage(name):
    stages.append(name); marks.append(time.perf_counter())
t3 = time.perf_counter()
result = fit_on_snapshots(snap, config, unifier, on_stage=on_stage)
t4 = time.perf_counter()
marks.append(t4)
print(json.dumps({
    "load_validate_s": t1 - t0, "snapshots_s": t2 - t1, "training_s": t4 - t3,
    "stages": {s: marks[i + 1] - marks[i] for i, s in enumerate(stages)},
    "rows": result.row_counts, "train_available": available, "features": features,
    "s3_auc": result.metrics["s3"].auc, "s3_ece": result.metrics["s3"].ece,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default=".ews/data/book130k48")
    parser.add_argument("--train-rows", type=int, default=1_000_000)
    parser.add_argument("--n-jobs", type=int, default=1, help="LightGBM threads (the default 1)")
    parser.add_argument("--n-estimators", type=int, default=None, help="default: the config's")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not Path(args.book).is_dir():
        sys.exit(
            f"{args.book} not found: run `ews-data simulate -n 130000 -m 48 --out {args.book}`"
        )
    from training.pipeline import TrainingConfig

    trees = args.n_estimators or TrainingConfig.model_fields["n_estimators"].default
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    seconds = []
    for i in range(args.repeat):
        run = run_child(_CHILD, args.book, str(args.train_rows), str(args.n_jobs), str(trees))
        rows = run["rows"]
        print(
            f"run {i + 1}: training {run['training_s']:.1f} s on {rows['train']:,} train rows "
            f"x {run['features']} features ({rows['calibrate']:,} calibrate, {rows['test']:,} "
            f"test; {run['train_available']:,} train rows available), {trees} trees x "
            f"thresholds, {args.n_jobs} threads; peak RSS {run['peak_rss_mib']:.0f} MiB; "
            f"load + validate {run['load_validate_s']:.1f} s, snapshots {run['snapshots_s']:.1f} s",
            flush=True,
        )
        print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in run["stages"].items()))
        print(f"  test: S3 AUC {run['s3_auc']:.4f}, ECE {run['s3_ece']:.4f}")
        seconds.append(run["training_s"])
    if len(seconds) > 1:
        print(f"median training time over {len(seconds)} runs: {statistics.median(seconds):.1f} s")


if __name__ == "__main__":
    main()

"""Model quality on simulated books: the graded model against baselines and both oracles.

For each book (borrowers, seed; 36 months, default configuration) the full retraining pipeline
runs with its default windows: train on earlier as-of months, calibrate on the next three, test
on the last six matured months with borrowers held out of training. Printed per book, on the
same performing test rows: the model's AUC and ECE per severity threshold, the two baselines'
AUC, both oracles' AUC and the ratio model / point-in-time oracle, and the training time.

    python benchmarks/model_quality.py --book 5000:20261127 --book 30000:20261127 --book 30000:7
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--book",
        action="append",
        help="BORROWERS:SEED (repeatable; default 5000:20261127, 30000:20261127, 30000:7)",
    )
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    books = args.book or ["5000:20261127", "30000:20261127", "30000:7"]

    from features.simulator import simulate_portfolio
    from features.simulator.report import ground_truth_frame
    from training.pipeline import TrainingConfig, train_warning_model

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for book in books:
        borrowers, seed = (int(part) for part in book.split(":"))
        simulation = simulate_portfolio(borrowers, args.months, seed)
        tables = simulation.tables
        config = TrainingConfig.for_book(tables)
        began = time.perf_counter()
        result = train_warning_model(tables, config, oracle=ground_truth_frame(simulation.truth))
        seconds = time.perf_counter() - began
        evaluation = result.evaluation
        pd_metrics = evaluation.metrics[evaluation.top]
        print(
            f"\nbook {borrowers:,} borrowers x {args.months} months, seed {seed}: "
            f"test as-of months after {config.calibrate_until} to {config.test_until}, "
            f"{pd_metrics.n:,} performing test rows, {pd_metrics.events:,} defaults; "
            f"training {seconds:.0f} s, calibration {result.calibration_method}"
        )
        for name, m in evaluation.metrics.items():
            print(f"  model S>={name[1:]}: AUC {m.auc:.4f}  ECE {m.ece:.4f}  KS {m.ks:.3f}")
        for name, m in {**evaluation.baselines, **evaluation.oracle}.items():
            print(f"  {name}: AUC {m.auc:.4f}  ECE {m.ece:.4f}")
        for name, ratio in evaluation.oracle_ratio.items():
            print(f"  model / {name} AUC: {ratio:.3f}")
        print(
            f"  mean PD {pd_metrics.mean_predicted:.4f} vs observed {pd_metrics.observed_rate:.4f}"
        )


if __name__ == "__main__":
    main()

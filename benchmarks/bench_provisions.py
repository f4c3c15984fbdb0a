"""Benchmark: one month's provisions on a 1,000,000-loan book (target 60 s).

Synthetic exposures, seeded (``--seed``): the provision contract's columns
(``provisions.allowance.EXPOSURE_COLUMNS``) drawn from simple laws: about 2 % of loans 90+
days past due, 3 % at 31-90, PDs log-normal around 2 %, a third of loans without an
origination PD, both products. Measured: ``provide`` (stage, category, EAD, ECL under every
scenario, every reason in words), the totals by stage, category and the three segment
dimensions, both ratios, and the movement table against a previous month (the same book with
2 % of loans replaced and PDs moved). Peak memory is the process's ``VmHWM`` after the mark was
reset once the data were in memory (``/proc/self/clear_refs``), so it is the peak of the
measured work with its inputs resident.

    python benchmarks/bench_provisions.py                  # 1,000,000 loans, 3 repeats
    python benchmarks/bench_provisions.py --loans 100000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features import vocab
from provisions.allowance import TOTAL_DIMENSIONS, provide, ratios, totals
from provisions.movement import movement_table
from provisions.policy import load_policy


def make_exposures(loans: int, seed: int) -> pd.DataFrame:
    """A synthetic month of the provision contract."""
    rng = np.random.default_rng(seed)
    dpd = np.where(
        rng.random(loans) < 0.02,
        rng.integers(91, 700, loans),
        np.where(rng.random(loans) < 0.03, rng.integers(31, 91, loans), rng.integers(0, 3, loans)),
    )
    pd_12m = np.clip(np.exp(rng.normal(np.log(0.02), 0.9, loans)), 0.0005, 0.99)
    pd_12m = np.where(dpd > 90, 0.99, pd_12m)
    origin = np.where(rng.random(loans) < 0.33, np.nan, pd_12m * np.exp(rng.normal(0, 0.5, loans)))
    amount = np.round(np.exp(rng.normal(np.log(500_000), 1.0, loans)).clip(10_000, 9_000_000), -2)
    grades = np.select(
        [pd_12m >= 0.25, pd_12m >= 0.10, pd_12m >= 0.05, pd_12m >= 0.02],
        ["red", "orange", "yellow", "blue"],
        "green",
    )
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:08d}" for i in range(loans)],
            "borrower_type": rng.choice(vocab.BORROWER_TYPES, loans),
            "area": rng.choice(vocab.AREAS, loans),
            "industry": rng.choice(vocab.INDUSTRIES, loans),
            "product": rng.choice(vocab.PRODUCTS, loans),
            "balance": amount * rng.uniform(0.1, 1.0, loans),
            "amount": amount,
            "annual_rate": rng.uniform(0.03, 0.08, loans),
            "remaining_months": rng.integers(-3, 60, loans),
            "dpd": dpd,
            "pd_12m": pd_12m,
            "grade": grades,
            "pd_origination": np.clip(origin, 0.0001, 0.99),
            "impaired_event": rng.random(loans) < 0.002,
        }
    )


def previous_month(current: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Last month's results: 2 % of the loans different, every PD moved a little."""
    rng = np.random.default_rng(seed + 1)
    keep = rng.random(len(current)) >= 0.02
    earlier = current[keep].assign(
        pd_12m=np.clip(current["pd_12m"][keep] * rng.uniform(0.8, 1.2, keep.sum()), 0, 1)
    )
    return earlier


def peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    policy = load_policy()
    exposures = make_exposures(args.loans, args.seed)
    previous = provide(previous_month(exposures, args.seed), policy)
    runs = []
    for _ in range(args.repeats):
        peak_reset()
        start = time.perf_counter()
        loans = provide(exposures, policy)
        provided = time.perf_counter()
        for dimension in TOTAL_DIMENSIONS:
            totals(loans, dimension)
        allowance = float(loans["ecl"].sum())
        ratios(loans, allowance, policy)
        movement_table(previous, loans)
        runs.append(
            {
                "seconds": time.perf_counter() - start,
                "provide_seconds": provided - start,
                "peak_mib": peak_mib(),
            }
        )
        del loans
    record = {
        "benchmark": "provisions",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()}",
        "loans": args.loans,
        "repeats": args.repeats,
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "median_provide_seconds": statistics.median(r["provide_seconds"] for r in runs),
        "max_peak_mib": max(r["peak_mib"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

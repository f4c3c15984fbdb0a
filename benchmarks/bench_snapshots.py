"""Benchmark: point-in-time snapshots of a 100,000-borrower book, batch and online.

Batch: snapshots for the last 24 as-of months of a simulated 100,000 x 36 book, from validated
tables already in memory (reading and validating are timed separately), each repetition in a
fresh process so peak RSS is its own. Online: one borrower's snapshot for one as-of month
through the same ``build_snapshots`` path, median over many borrowers.

    python benchmarks/bench_snapshots.py --book .ews/data/book100k --repeat 3
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
import json, resource, statistics, sys, time
import numpy as np
from features.party_index import fit_party_index
from features.snapshots import borrower_tables, build_snapshots
from features.validation import load_validated_portfolio
book, months, online = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
tables = load_validated_portfolio(book)
t1 = time.perf_counter()
unifier = fit_party_index(tables["party_ratings"], "2024-01-31")
snap = build_snapshots(tables, months, unifier)
t2 = time.perf_counter()
result = {"load_validate_s": t1 - t0, "snapshots_s": t2 - t1, "rows": len(snap),
          "columns": snap.shape[1],
          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if online:
    rng = np.random.default_rng(0)
    borrowers = rng.choice(snap["borrower_id"].unique(), size=online, replace=False)
    last = months.split(":")[-1]
    own = [borrower_tables(tables, b) for b in borrowers]
    for o in own[:20]:
        build_snapshots(o, last, unifier, with_labels=False)
    times = []
    for o in own:
        start = time.perf_counter()
        build_snapshots(o, last, unifier, with_labels=False)
        times.append((time.perf_counter() - start) * 1000)
    result["online_ms_median"] = statistics.median(times)
    result["online_ms_p90"] = float(np.percentile(times, 90))
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", default=".ews/data/book100k")
    parser.add_argument("--as-of", default="2024-01:2025-12")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--online", type=int, default=500, help="borrowers timed online")
    args = parser.parse_args()
    if not Path(args.book).is_dir():
        sys.exit(
            f"{args.book} not found: run `ews-data simulate -n 100000 -m 36 --out {args.book}`"
        )
    runs = []
    for i in range(args.repeat):
        run = run_child(_CHILD, args.book, args.as_of, args.online if i == 0 else 0)
        runs.append(run)
        print(
            f"run {i + 1}: snapshots {run['snapshots_s']:.1f} s for {run['rows']:,} rows x "
            f"{run['columns']} columns (load + validate {run['load_validate_s']:.1f} s), "
            f"peak RSS {run['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
        if "online_ms_median" in run:
            print(
                f"  online, one borrower one month: median {run['online_ms_median']:.2f} ms, "
                f"p90 {run['online_ms_p90']:.2f} ms over {args.online} borrowers"
            )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for key in ("snapshots_s", "load_validate_s", "peak_rss_mib"):
        print(f"median {key}: {statistics.median(r[key] for r in runs):.1f}")


if __name__ == "__main__":
    main()

"""Benchmark: simulate and write a book, reporting wall time and peak memory.

Each repetition runs in a fresh process (``python -m features.cli simulate`` semantics, via
``simulate_portfolio`` + ``write_simulation``) so peak RSS is that run's own. Prints one line per
repetition and the medians; record them in docs/simulator.md with date and machine.

    python benchmarks/bench_simulator.py --borrowers 100000 --months 36 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

from fresh_process import run_child

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from features.simulator import BASELINE, simulate_portfolio
from features.simulator.report import write_simulation
n, months, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
t1 = time.perf_counter()
p = simulate_portfolio(n, months, seed)
t2 = time.perf_counter()
manifest = write_simulation(p, out, {"borrowers": n, "months": months, "seed": seed}, BASELINE)
t3 = time.perf_counter()
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
size_mib = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
print(json.dumps({"import_s": t1 - t0, "simulate_s": t2 - t1, "write_s": t3 - t2,
                  "total_s": t3 - t0, "peak_rss_mib": peak_mib, "disk_mib": size_mib,
                  "rows": manifest["row_counts"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            run = run_child(_CHILD, args.borrowers, args.months, args.seed, Path(tmp) / "book")
        runs.append(run)
        print(
            f"run {i + 1}: total {run['total_s']:.1f} s (simulate {run['simulate_s']:.1f}, "
            f"write {run['write_s']:.1f}, import {run['import_s']:.1f}), "
            f"peak RSS {run['peak_rss_mib']:.0f} MiB, on disk {run['disk_mib']:.0f} MiB",
            flush=True,
        )
    med = {
        k: statistics.median(r[k] for r in runs)
        for k in ("total_s", "simulate_s", "write_s", "peak_rss_mib")
    }
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"rows: {runs[0]['rows']}")
    print(
        f"median of {len(runs)}: total {med['total_s']:.1f} s, simulate {med['simulate_s']:.1f} s, "
        f"write {med['write_s']:.1f} s, peak RSS {med['peak_rss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()

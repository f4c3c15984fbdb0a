"""Benchmark: the whole pipeline on a partitioned book, end to end, with the real commands.

simulate (``--partitions``) -> features (``--cluster``) -> train (``--cluster``, on at most
``--train-borrowers`` borrowers of whole partitions), made champion -> score one month of the
whole book (``--cluster``, through the ledger) -> drift of that month (``--cluster``) ->
provisions of that month (``--cluster``). Each step is its command in its own process, under a
fresh ``EWS_HOME``; its wall time and the peak memory of the whole process tree (the command
and every Dask worker it starts: RSS summed, sampled every 0.2 s) are recorded. Run it at
several sizes for the cost curve:

    python benchmarks/bench_scale_out.py --borrowers 100000 --out bench-100k.json
    python benchmarks/bench_scale_out.py --borrowers 1000000 --out bench-1m.json

``--steps provisions`` (say) re-runs only those steps on an earlier run's folder (a
re-scored month is recorded ``--again``), to measure a step again after a change to it.

The training sample is the same at every size, so the training step stays flat and the rest
shows how the pipeline grows with the book.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from features.settings import TELEMETRY_OFF

BIN = Path(sys.executable).parent
#: The month scored, monitored and provided for (the simulated window runs 2023-01..2025-12).
MONTH = "2025-06"
#: Borrowers per stored partition.
PARTITION_BORROWERS = 25_000
#: Make the newest registered version champion, without the gates (EWS_HOME from the env).
CHAMPION_BY_HAND = """
from mlflow import MlflowClient
from features.settings import default_tracking_uri, get_settings
from models.names import CHAMPION, MODEL_NAME
client = MlflowClient(default_tracking_uri(get_settings().home))
latest = max(client.search_model_versions(f"name='{MODEL_NAME}'"), key=lambda v: int(v.version))
client.set_registered_model_alias(MODEL_NAME, CHAMPION, latest.version)
"""


def tree_rss(process: psutil.Process) -> int:
    """RSS of a process and all its descendants, in bytes (0 for those already gone)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def measured(command: list[str], environment: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``command``; its wall time, exit code and the peak RSS of its process tree."""
    began = time.perf_counter()
    peak = 0
    with log.open("w") as out:
        process = psutil.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            peak = max(peak, tree_rss(process))
            time.sleep(0.2)
    return {
        "wall_s": round(time.perf_counter() - began, 1),
        "peak_rss_mib": round(peak / 2**20),
        "exit_code": process.returncode,
    }


def steps(book: Path, work: Path, partitions: int, args: argparse.Namespace) -> list[tuple]:
    """(name, command, accepted exit codes) of every step."""
    cluster = ["--cluster", args.cluster]
    reports = work / "reports"
    return [
        (
            "simulate",
            [
                BIN / "ews-data",
                "simulate",
                "-n",
                str(args.borrowers),
                "-m",
                str(args.months),
                "--seed",
                str(args.seed),
                "--partitions",
                str(partitions),
                "--out",
                str(book),
            ],
            (0,),
        ),
        (
            "features",
            [
                BIN / "ews-data",
                "features",
                "--data",
                str(book),
                "--as-of",
                "2024-01:2025-12",
                "--out",
                str(work / "snapshots"),
                *cluster,
            ],
            (0,),
        ),
        (
            "train",
            [
                BIN / "ews-train",
                "fit",
                "--data",
                str(book),
                "--max-borrowers",
                str(args.train_borrowers),
                *cluster,
            ],
            (0,),
        ),
        (
            # The benchmark measures the pipeline, not the model: the version it trained is made
            # champion directly (the promotion gates judge models; docs/training.md).
            "champion",
            [sys.executable, "-c", CHAMPION_BY_HAND],
            (0,),
        ),
        (
            "score",
            [
                BIN / "ews-serve",
                "score-portfolio",
                "--data",
                str(book),
                "--as-of",
                MONTH,
                "--out",
                str(reports / f"assessment-{MONTH}"),
                *cluster,
            ],
            (0,),
        ),
        (
            "drift",
            [
                BIN / "ews-monitor",
                "drift",
                "--as-of",
                MONTH,
                "--no-dashboard",
                *([] if args.evidently else ["--no-evidently-reports"]),
                *cluster,
            ],
            (0, 1),  # 1: a segment breached, which is a finding, not a failure
        ),
        (
            "provisions",
            [
                BIN / "ews-provision",
                "run",
                "--as-of",
                MONTH,
                "--data",
                str(book),
                "--no-dashboard",
                *cluster,
            ],
            (0,),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--train-borrowers", type=int, default=60_000)
    parser.add_argument("--cluster", default="local")
    parser.add_argument("--no-evidently", dest="evidently", action="store_false")
    parser.add_argument("--work", type=Path, default=Path(".ews/bench-scale"))
    parser.add_argument("--out", type=Path, help="Write the figures here as JSON.")
    parser.add_argument(
        "--steps",
        type=lambda text: text.split(","),
        help="Re-run only these steps (e.g. provisions) on the folder of an earlier run.",
    )
    args = parser.parse_args()

    work = args.work / f"{args.borrowers}"
    if args.steps is None:  # the whole pipeline from a fresh folder
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    elif not (work / "book").is_dir():
        sys.exit(f"--steps runs on a finished run's folder; {work} holds none")
    book = work / "book"
    partitions = max(2, -(-args.borrowers // PARTITION_BORROWERS))
    environment = {**os.environ, **TELEMETRY_OFF, "EWS_HOME": str(work / "home")}
    figures: dict[str, dict[str, float]] = {}
    for name, command, accepted in steps(book, work, partitions, args):
        if args.steps is not None and name not in args.steps:
            continue
        if args.steps is not None and name == "score":
            command = [*command, "--again"]  # the month is in the ledger already
        result = measured([str(c) for c in command], environment, work / f"{name}.log")
        figures[name] = result
        print(
            f"{name:>10}: {result['wall_s']:8.1f} s  peak {result['peak_rss_mib']:6,} MiB",
            flush=True,
        )
        if result["exit_code"] not in accepted:
            tail = (work / f"{name}.log").read_text(errors="replace")[-3000:]
            sys.exit(f"{name} failed (exit {result['exit_code']}):\n{tail}")
    total = round(sum(f["wall_s"] for f in figures.values()), 1)
    peak = max(f["peak_rss_mib"] for f in figures.values())
    print(f"{'total':>10}: {total:8.1f} s  peak {peak:6,} MiB (largest step)")
    record = {
        "benchmark": "bench_scale_out",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "borrowers": args.borrowers,
        "months": args.months,
        "partitions": partitions,
        "train_borrowers": args.train_borrowers,
        "cluster": args.cluster,
        "steps": figures,
        "total_wall_s": total,
        "peak_rss_mib": peak,
    }
    if args.out:
        args.out.write_text(json.dumps(record, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

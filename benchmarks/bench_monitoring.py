"""Benchmark: drift monitoring of a 100,000-loan book, one month and a 12-month series.

Synthetic data, seeded (``--seed``): a book of loans whose model inputs are real catalogue
features (``features.catalog``) drawn from simple laws: the segment labels ``area``,
``borrower_type`` and ``industry`` and three more categories (4-9 levels), numbers with missing
values where the catalogue allows them, mostly-zero counts, flags; ``dpd_now`` puts about 2 % of
the loans 90+ days past due (left out by the drift). The reference is three month ends of
loans with no drift, as the champion's calibration window would hold; the current months are
the same kind of book with a mild drift (a few inputs and the PD move a little each month).
Every measurement runs in a fresh process (``fresh_process.run_child``) that first generates
its data. The peak RSS is the process's ``VmHWM`` (``/proc/self/status``) after the high-water
mark was reset (``/proc/self/clear_refs``) once the data were in memory: the peak of the
measured call with its inputs resident (``data MiB`` is the RSS before the call). Not
``ru_maxrss``: a child started by ``subprocess`` (vfork + exec) starts with its parent's peak
in ``ru_maxrss``, and ``clear_refs`` does not clear that part.

1. One month: ``compute_drift`` on ``--rows`` current rows against 3 x ``--rows / 3`` reference
   rows, every segment, crossed included (target 30 s); one Evidently HTML report
   (``build_drift_report`` + ``save_report_html``); ``run_drift`` with and without the reports.
2. The series: ``--months`` months of the same ``--rows`` loans against 3 x ``--rows`` reference
   rows; reading those months back from portfolio-run folders (``read_run_folders``) and one
   month from a SQLite warning ledger (``read_ledger_months``).

    python benchmarks/bench_monitoring.py                         # 100,000 rows x 60 inputs
    python benchmarks/bench_monitoring.py --rows 20000 --months 3 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fresh_process import run_child

HERE = Path(__file__).resolve().parent
#: The child imports this module and runs one measurement: ``measure name config.json``.
_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from bench_monitoring import measure
print(json.dumps(measure(sys.argv[2], json.loads(sys.argv[3]))))
"""
SEGMENT_INPUTS = ("area", "borrower_type", "industry")
#: Categorical inputs besides the segment labels (4-7 levels each).
OTHER_CATEGORIES = ("bank", "party_issuing_area", "party_list_level")
#: Counts spread over many values (ages, terms, staleness); other counts are mostly zero.
SPREAD_COUNTS = ("months_on_book", "term", "statements_so_far", "party_members", "stale", "age")
MODEL_VERSION = "1"
FIRST_MONTH = pd.Timestamp("2025-01-31")
LEDGER_KEY = bytes(range(32))
DRIFT_TARGET_S = 30.0


# ----------------------------------------------------------------------------- the data


def input_names(n: int) -> list[str]:
    """``n`` catalogue features: the segment labels, ``dpd_now``, three more categories, then
    numbers, counts and flags in catalogue order (``party_native_level``, 112 levels, left out)."""
    from features.catalog import FEATURES

    first = [*SEGMENT_INPUTS, "dpd_now", *OTHER_CATEGORIES]
    rest = [f.name for f in FEATURES if f.kind != "category" and f.name not in first]
    if not len(first) <= n <= len(first) + len(rest):
        raise SystemExit(f"--inputs must lie in {len(first)}..{len(first) + len(rest)}, got {n}")
    return (first + rest)[:n]


@dataclass(frozen=True)
class Book:
    """The loans of a synthetic book: what stays put from month to month."""

    loan_ids: np.ndarray
    inputs: list[str]
    categories: dict[str, pd.Categorical]
    latent: np.ndarray  # (loans, numeric inputs): each loan's level of each input
    risk: np.ndarray  # each loan's own risk (logit scale)
    seed: int


def make_book(loans: int, inputs: list[str], seed: int, prefix: str = "L") -> Book:
    """A book of ``loans`` loans with the categorical labels and latent levels of ``inputs``."""
    from features.catalog import CATEGORY_LEVELS

    rng = np.random.default_rng(seed)
    categories = {}
    for name in inputs:
        if name in CATEGORY_LEVELS:
            levels = CATEGORY_LEVELS[name]
            share = rng.dirichlet(np.full(len(levels), 2.0))
            codes = rng.choice(len(levels), size=loans, p=share)
            categories[name] = pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(list(levels))
            )
    numeric = [c for c in inputs if c not in categories]
    latent = rng.standard_normal((loans, len(numeric)))
    area_risk = rng.normal(0, 0.3, size=len(categories["area"].categories))
    risk = 0.8 * latent[:, 0] + 0.4 * latent[:, 1] + area_risk[categories["area"].codes]
    loan_ids = np.array([f"{prefix}{i:07d}" for i in range(loans)], dtype=object)
    return Book(loan_ids, inputs, categories, latent, risk, seed)


def month_frame(book: Book, month: int, drift: float) -> pd.DataFrame:
    """The scored frame of ``book`` at month ``month`` (0 = 2025-01; negative: the reference's
    months), its inputs and PD shifted by ``drift`` per month."""
    from features.catalog import FEATURE_BY_NAME

    rng = np.random.default_rng([book.seed, month + 1000])
    n = book.loan_ids.size
    shift = drift * max(month + 1, 0)
    out: dict[str, Any] = {
        "as_of": np.full(n, (FIRST_MONTH + pd.offsets.MonthEnd(month)).to_datetime64()),
        "loan_key": book.loan_ids,
    }
    numeric = [c for c in book.inputs if c not in book.categories]
    for j, name in enumerate(numeric):
        feature = FEATURE_BY_NAME[name]
        z = book.latent[:, j] + 0.3 * rng.standard_normal(n) + (shift if j < 10 else 0.0)
        if name == "dpd_now":
            u = rng.random(n)
            x = np.where(u < 0.93, 0.0, np.where(u < 0.98, rng.integers(1, 90, n), 90.0))
            x = x + np.where(x >= 90, rng.integers(0, 200, n), 0)
        elif feature.kind == "flag":
            x = (z > 0.8 + 0.1 * (j % 7)).astype(np.float64)
        elif feature.kind == "count" and any(s in name for s in SPREAD_COUNTS):
            x = np.floor(np.clip(40 + 25 * z, 0, 599))
        elif feature.kind == "count":
            x = np.where(z > 1.0 + 0.05 * (j % 10), np.floor(np.exp(z - 1.0) * 3), 0.0)
        elif feature.low >= 0 and feature.high <= 1.000001:
            x = 1.0 / (1.0 + np.exp(-z))
        elif feature.low >= 0:
            x = np.exp(10 + 1.5 * z)
        else:
            x = 0.1 * z
        if feature.nullable:
            x = np.where(rng.random(n) < 0.02 + 0.03 * (j % 5), np.nan, x)
        out[name] = x.astype(np.float64)
    for name, labels in book.categories.items():
        out[name] = labels
    logit = -4.0 + book.risk + 0.2 * rng.standard_normal(n) + 0.5 * shift
    p_s3 = 1.0 / (1.0 + np.exp(-logit))
    p_s2 = 1.0 / (1.0 + np.exp(-(logit + 0.7)))
    p_s1 = 1.0 / (1.0 + np.exp(-(logit + 1.4)))
    grade = np.array(["green", "blue", "yellow", "orange", "red"], dtype=object)[
        np.searchsorted([0.01, 0.03, 0.08, 0.2], p_s3, side="right")
    ]
    grade = np.where(out["dpd_now"] >= 90, "red", grade)
    scores = {"p_s1": p_s1, "p_s2": p_s2, "p_s3": p_s3, "pd_12m": p_s3, "grade": grade}
    frame = pd.DataFrame({**{k: out.pop(k) for k in ("as_of", "loan_key")}, **scores, **out})
    return frame[["as_of", "loan_key", *scores, *book.inputs]]


def reference_frame(loans: int, inputs: list[str], seed: int) -> pd.DataFrame:
    """Three month ends (2024-10..12) of ``loans`` loans, no drift; ``loan_key`` a number."""
    book = make_book(loans, inputs, seed, prefix="R")
    frame = pd.concat([month_frame(book, m, 0.0) for m in (-3, -2, -1)], ignore_index=True)
    return frame.assign(loan_key=pd.factorize(frame["loan_key"])[0])


def current_frame(book: Book, months: int, drift: float) -> pd.DataFrame:
    """``months`` months of ``book`` from 2025-01, the inputs drifting by ``drift`` a month."""
    return pd.concat([month_frame(book, m, drift) for m in range(months)], ignore_index=True)


def month_label(month: int) -> str:
    return (FIRST_MONTH + pd.offsets.MonthEnd(month)).strftime("%Y-%m")


# ----------------------------------------------------------------------------- measurements


def _status_mib(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux ``clear_refs``); False where it cannot be reset."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


Setup = Callable[[dict[str, Any]], Callable[[], dict[str, Any] | None]]


def _one_month(cfg: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    inputs = input_names(cfg["inputs"])
    reference = reference_frame(cfg["rows"] // 3, inputs, cfg["seed"])
    current = month_frame(make_book(cfg["rows"], inputs, cfg["seed"] + 1), 0, cfg["drift"])
    return reference, current, inputs


def _column_kinds(frame: pd.DataFrame, inputs: list[str]) -> tuple[list[str], list[str]]:
    from monitoring.psi import is_categorical

    categorical = [c for c in inputs if is_categorical(frame[c])]
    numerical = [c for c in inputs if c not in categorical]
    return [*numerical, "pd_12m"], [*categorical, "grade"]


def _drift(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    from monitoring.drift import compute_drift

    reference, current, inputs = _one_month(cfg)

    def call() -> dict[str, Any]:
        result = compute_drift(reference, current, inputs)
        return {"segments": int(len(result.segments)), "psi_rows": int(len(result.psi))}

    return call


def _evidently(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    from monitoring.evidently_report import build_drift_report, save_report_html

    reference, current, inputs = _one_month(cfg)
    numerical, categorical = _column_kinds(reference, inputs)
    path = Path(cfg["workdir"]) / f"report-{os.getpid()}.html"

    def call() -> dict[str, Any]:
        start = time.perf_counter()
        snapshot = build_drift_report(reference, current, numerical, categorical)
        built = time.perf_counter() - start
        save_report_html(snapshot, path)
        size = path.stat().st_size / 2**20
        path.unlink()
        return {"build_s": built, "html_mib": size}

    return call


def _run_drift(reports: bool) -> Setup:
    def setup(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        from monitoring.drift_run import run_drift
        from monitoring.reference import Reference

        reference, current, _ = _one_month(cfg)
        ref = Reference(reference, "bench-synthetic", MODEL_VERSION, "synthetic")
        out = Path(cfg["workdir"]) / f"drift-run-{os.getpid()}"

        def call() -> dict[str, Any]:
            run = run_drift(
                ref,
                current,
                [month_label(0)],
                out,
                source="synthetic",
                evidently_reports=reports,
                log_run=None,
                publish=None,
            )
            files = len(run.files)
            shutil.rmtree(out)
            return {"files": files}

        return call

    return setup


def _series(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    from monitoring.drift import compute_drift

    inputs = input_names(cfg["inputs"])
    book = make_book(cfg["rows"], inputs, cfg["seed"] + 2)
    reference = pd.concat([month_frame(book, m, 0.0) for m in (-3, -2, -1)], ignore_index=True)
    current = current_frame(book, cfg["months"], cfg["drift"])

    def call() -> dict[str, Any]:
        result = compute_drift(reference, current, inputs)
        return {"segments": int(len(result.segments)), "current_rows": int(len(current))}

    return call


def _folders(cfg: dict[str, Any]) -> list[Path]:
    root = Path(cfg["workdir"]) / "runs"
    return [root / month_label(m) for m in range(cfg["months"])]


def _write_folders(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    inputs = input_names(cfg["inputs"])
    book = make_book(cfg["rows"], inputs, cfg["seed"] + 2)

    def call() -> dict[str, Any]:
        size = 0
        for month, folder in enumerate(_folders(cfg)):
            frame = month_frame(book, month, cfg["drift"]).rename(columns={"loan_key": "loan_id"})
            folder.mkdir(parents=True, exist_ok=True)
            scored = ["loan_id", "as_of", "p_s1", "p_s2", "p_s3", "pd_12m", "grade"]
            frame[scored].to_parquet(folder / "scored_book.parquet", index=False)
            frame[["loan_id", "as_of", *inputs]].to_parquet(
                folder / "model_inputs.parquet", index=False
            )
            (folder / "run.json").write_text(json.dumps({"model_version": MODEL_VERSION}))
            size += sum(p.stat().st_size for p in folder.iterdir())
        return {"folders_mib": size / 2**20}

    return call


def _read_folders(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    from monitoring.current import read_run_folders

    folders = _folders(cfg)

    def call() -> dict[str, Any]:
        frame = read_run_folders(folders, MODEL_VERSION)
        return {"rows_read": int(len(frame)), "columns": int(frame.shape[1])}

    return call


def _ledger_url(cfg: dict[str, Any]) -> str:
    return f"sqlite:///{Path(cfg['workdir']) / 'ledger.db'}"


def _write_ledger(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """One month of the book as ``portfolio`` records, three reasons each, as a run writes."""
    from serving.ledger import WarningLedger, WarningRecord

    inputs = input_names(cfg["inputs"])
    book = make_book(cfg["rows"], inputs, cfg["seed"] + 2)
    frame = month_frame(book, 0, cfg["drift"])
    start = time.perf_counter()
    columns: dict[str, list[Any]] = {}
    for name in inputs:
        values = frame[name]
        if name in book.categories:
            columns[name] = values.astype(object).where(values.notna(), None).tolist()
        elif np.isin(values.dropna().unique(), (0.0, 1.0)).all() and name.startswith(
            ("in_", "has_", "is_", "delinquent_", "renewed_", "party_unrated", "party_recent")
        ):
            columns[name] = [None if v != v else bool(v) for v in values.tolist()]
        else:
            columns[name] = [None if v != v else v for v in values.tolist()]
    features = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    as_of = FIRST_MONTH.date()
    scored_at = datetime(2025, 2, 3, 6, 0, tzinfo=UTC)
    grades = frame["grade"].tolist()
    p1, p2, p3 = (frame[c].tolist() for c in ("p_s1", "p_s2", "p_s3"))
    stages = [3 if g == "red" else 2 if g == "orange" else 1 for g in grades]
    records = [
        WarningRecord(
            request_id="portfolio-2025-01-bench",
            scored_at=scored_at,
            as_of=as_of,
            loan_id=book.loan_ids[i],
            borrower_id="B" + book.loan_ids[i][1:],
            source="portfolio",
            model_name="bench-synthetic",
            model_version=MODEL_VERSION,
            policy_version="policy-bench",
            p_s1=p1[i],
            p_s2=p2[i],
            p_s3=p3[i],
            grade=grades[i],
            stage_hint=stages[i],
            features=features[i],
            reasons=[
                {
                    "feature": inputs[k],
                    "value": features[i][inputs[k]],
                    "contribution": 0.1 * (3 - k),
                    "text_en": f"{inputs[k]} moved",
                    "text_zh": "指标变化",
                }
                for k in (3, 7, 8)
            ],
            notes=[],
        )
        for i in range(len(frame))
    ]
    built = time.perf_counter() - start
    del frame, features, columns

    def call() -> dict[str, Any]:
        ledger = WarningLedger(_ledger_url(cfg), LEDGER_KEY)
        written = ledger.record(records)
        ledger.dispose()
        db = Path(cfg["workdir"]) / "ledger.db"
        return {
            "records": written,
            "build_records_s": built,
            "ledger_mib": db.stat().st_size / 2**20,
        }

    return call


def _read_ledger(cfg: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    from monitoring.current import read_ledger_months
    from serving.ledger import WarningLedger

    ledger = WarningLedger(_ledger_url(cfg), LEDGER_KEY)
    ledger.check()

    def call() -> dict[str, Any]:
        frame = read_ledger_months(ledger, [month_label(0)], MODEL_VERSION)
        return {"rows_read": int(len(frame)), "columns": int(frame.shape[1])}

    return call


SETUPS: dict[str, Setup] = {
    "drift": _drift,
    "evidently": _evidently,
    "run_drift": _run_drift(False),
    "run_drift_reports": _run_drift(True),
    "series": _series,
    "write_folders": _write_folders,
    "read_folders": _read_folders,
    "write_ledger": _write_ledger,
    "read_ledger": _read_ledger,
}


def measure(name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Set up measurement ``name`` (its data generated here), then time its call once."""
    call = SETUPS[name](cfg)
    gc.collect()
    reset = _reset_peak()
    data = _status_mib("VmRSS")
    if cfg.get("profile"):
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    extra = call() or {}
    seconds = time.perf_counter() - start
    if cfg.get("profile"):
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        extra["profile"] = text.getvalue()
    return {
        "seconds": seconds,
        "peak_rss_mib": _status_mib("VmHWM"),
        "data_rss_mib": data,
        "peak_reset": reset,
        # ru_maxrss also keeps the parent's peak from before exec (subprocess uses vfork):
        "ru_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


# ----------------------------------------------------------------------------- the report


def machine() -> dict[str, Any]:
    """Where the figures were measured (the cores are shared: the load average says how busy)."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) / 2**20
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        float("nan"),
    )
    from importlib.metadata import version

    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "evidently": version("evidently"),
    }


#: What each measurement is, as the table prints it, and its target in seconds.
PLAN: tuple[tuple[str, str, float | None], ...] = (
    ("drift", "compute_drift, 1 month", DRIFT_TARGET_S),
    ("evidently", "Evidently report (build + save HTML), 1 month", None),
    ("run_drift", "run_drift, 1 month, evidently_reports=False", None),
    ("run_drift_reports", "run_drift, 1 month, evidently_reports=True", None),
    ("series", "compute_drift, monthly series", None),
    ("write_folders", "write portfolio-run folders (setup, once)", None),
    ("read_folders", "read_run_folders, all months", None),
    ("write_ledger", "WarningLedger.record, 1 month (setup, once)", None),
    ("read_ledger", "read_ledger_months, per month", None),
)
ONCE = ("write_folders", "write_ledger")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="current loans a month")
    parser.add_argument("--inputs", type=int, default=60, help="model inputs (catalogue names)")
    parser.add_argument("--months", type=int, default=12, help="months of the series")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--drift", type=float, default=0.01, help="latent shift a month")
    parser.add_argument("--seed", type=int, default=20251203)
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument(
        "--only", help="comma-separated measurements (default all): " + ", ".join(SETUPS)
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile compute_drift (1 month, cProfile)"
    )
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else list(SETUPS)
    unknown = [w for w in wanted if w not in SETUPS]
    if unknown:
        sys.exit(f"unknown measurements: {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    if "read_folders" in wanted and "write_folders" not in wanted:
        wanted.append("write_folders")
    if "read_ledger" in wanted and "write_ledger" not in wanted:
        wanted.append("write_ledger")
    inputs = input_names(args.inputs)
    where = machine()
    print(
        f"{where['date_utc']}; {where['cpu']}, {where['cores']} cores (shared; load average "
        f"{', '.join(map(str, where['load_average']))}), {where['memory_gib']} GiB; Python "
        f"{where['python']}, numpy {where['numpy']}, pandas {where['pandas']}, evidently "
        f"{where['evidently']}",
        flush=True,
    )
    print(
        f"synthetic data (seeded numpy generator, seed {args.seed}): {len(inputs)} catalogue "
        f"inputs ({sum(c in (*SEGMENT_INPUTS, *OTHER_CATEGORIES) for c in inputs)} categorical); "
        f"1 month: {args.rows:,} current rows vs 3 x {args.rows // 3:,} reference rows; series: "
        f"{args.months} x {args.rows:,} current rows vs 3 x {args.rows:,} reference rows; drift "
        f"{args.drift} a month",
        flush=True,
    )
    print(
        "peak MiB: VmHWM of a fresh process, reset (clear_refs) once its data were generated: "
        "the call's peak RSS with its inputs resident; data MiB: RSS before the call",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    cfg = {
        "rows": args.rows,
        "inputs": args.inputs,
        "months": args.months,
        "drift": args.drift,
        "seed": args.seed,
        "workdir": str(workdir),
    }
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        for name, what, _ in PLAN:
            if name not in wanted:
                continue
            for i in range(1 if name in ONCE else args.repeats):
                run = run_child(_CHILD, HERE, name, json.dumps(cfg))
                results.setdefault(name, []).append(run)
                extra = {
                    k: round(v, 2) if isinstance(v, float) else v
                    for k, v in run.items()
                    if k not in ("seconds", "peak_rss_mib", "data_rss_mib", "peak_reset")
                }
                print(
                    f"  {what} [{i + 1}]: {run['seconds']:.2f} s, peak {run['peak_rss_mib']:.0f} "
                    f"MiB (data {run['data_rss_mib']:.0f} MiB) {extra}",
                    flush=True,
                )
        profile = None
        if args.profile:
            profile = run_child(_CHILD, HERE, "drift", json.dumps({**cfg, "profile": True}))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = []
    for name, what, target in PLAN:
        runs = results.get(name)
        if not runs:
            continue
        seconds = [r["seconds"] for r in runs]
        table.append(
            {
                "name": name,
                "what": what,
                "runs": len(runs),
                "median_s": statistics.median(seconds),
                "min_s": min(seconds),
                "max_s": max(seconds),
                "peak_mib": statistics.median(r["peak_rss_mib"] for r in runs),
                "data_mib": statistics.median(r["data_rss_mib"] for r in runs),
                "target_s": target,
            }
        )
    print()
    print(
        f"{'what':<48} {'runs':>4} {'median s':>9} {'min-max s':>13} {'peak MiB':>9} "
        f"{'data MiB':>9}  target"
    )
    for row in table:
        target = row["target_s"]
        verdict = (
            f"<= {target:.0f} s ({'met' if row['median_s'] <= target else 'MISSED'})"
            if target
            else ""
        )
        print(
            f"{row['what']:<48} {row['runs']:>4} {row['median_s']:>9.2f} "
            f"{row['min_s']:>6.2f}-{row['max_s']:<6.2f} {row['peak_mib']:>9.0f} "
            f"{row['data_mib']:>9.0f}  {verdict}"
        )
    if profile is not None:
        print(f"\ncProfile of compute_drift, 1 month ({profile['seconds']:.1f} s profiled):")
        print(profile["profile"])
    if args.json:
        document = {
            "machine": where,
            "config": {k: v for k, v in cfg.items() if k != "workdir"},
            "inputs": inputs,
            "synthetic": True,
            "memory": "VmHWM of /proc/self/status after /proc/self/clear_refs (5)",
            "table": table,
            "runs": results,
            "profile": profile["profile"] if profile else None,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()

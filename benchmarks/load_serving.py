"""Helpers of the serving load run and benchmark: a served home, request bodies, locust, results.

Used by ``tests/serving/test_load_and_fuzz.py`` and ``benchmarks/bench_serving.py``. Nothing here
imports locust: locust hangs when imported in a process where dask has run (docs/stack.md,
pitfalls), so it always runs in its own process (:func:`run_locust`).

The locust user (``benchmarks/locustfile.py``) is configured through environment variables:

* ``EWS_LOAD_BODIES``: JSON-lines file of ``/score`` bodies (one request body a line);
* ``EWS_LOAD_API_KEY``: the ``X-API-Key`` it sends;
* ``EWS_LOAD_RESULTS``: file it appends ``request_id<TAB>number_of_scores`` to for every 200.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.settings import TELEMETRY_OFF
from tests.serving.http_server import home_environment

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"


# A served home --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServedHome:
    """An ``EWS_HOME`` with a registered champion, and the book it was trained on."""

    home: Path
    tables: dict[str, pd.DataFrame]
    version: str
    api_key: str

    def environment(self, **extra: str) -> dict[str, str]:
        """Variables a service process on this home needs."""
        return home_environment(self.home, self.api_key, **extra)


def build_served_home(
    home: Path,
    n_borrowers: int,
    n_months: int,
    seed: int,
    n_estimators: int,
    api_key: str = "bench-key",
) -> ServedHome:
    """Simulate a book, train, register and make the version champion, as the ``served``
    test fixture does (SQLite tracking store under ``home``)."""
    from mlflow import MlflowClient

    from features.io import write_tables
    from features.settings import default_tracking_uri
    from features.simulator import simulate_portfolio
    from models.names import CHAMPION, MODEL_NAME
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import data_fingerprint, log_training

    home.mkdir(parents=True, exist_ok=True)
    tables = simulate_portfolio(n_borrowers, n_months, seed).tables
    write_tables(tables, home / "data" / "portfolio")
    config = TrainingConfig.for_book(tables, n_estimators=n_estimators)
    result = train_warning_model(tables, config)
    uri = default_tracking_uri(home)
    run = log_training(result, uri, home / "artifacts", data_fingerprint(tables))
    MlflowClient(uri).set_registered_model_alias(MODEL_NAME, CHAMPION, run.version)
    return ServedHome(home, tables, str(run.version), api_key)


def open_served_home(home: Path, api_key: str = "bench-key") -> ServedHome:
    """An existing home (champion registered, book under ``data/portfolio``)."""
    from mlflow import MlflowClient

    from features.settings import default_tracking_uri
    from features.validation import load_validated_portfolio
    from models.names import CHAMPION, MODEL_NAME

    tables = load_validated_portfolio(home / "data" / "portfolio")
    version = MlflowClient(default_tracking_uri(home)).get_model_version_by_alias(
        MODEL_NAME, CHAMPION
    )
    return ServedHome(home, tables, str(version.version), api_key)


# Request bodies ------------------------------------------------------------------------------


def open_loans(tables: Mapping[str, pd.DataFrame], month: str) -> pd.DataFrame:
    """Borrowers with loans open at the end of ``month`` ("YYYY-MM"): ``borrower_id``,
    ``open_loans`` and ``history_months`` (months since the borrower's first origination,
    up to and including ``month``), ordered by borrower id."""
    from features.party_index import fit_party_index
    from features.snapshots import build_snapshots, recent_history

    period = pd.Period(month, freq="M")
    recent = recent_history(dict(tables), period)
    unifier = fit_party_index(recent["party_ratings"], period.end_time.normalize())
    snapshots = build_snapshots(recent, [period], unifier, with_labels=False)
    counts = snapshots["borrower_id"].astype(str).value_counts().sort_index()
    loans = recent["loans"]
    first = (
        loans.assign(borrower_id=loans["borrower_id"].astype(str))
        .groupby("borrower_id")["origination_date"]
        .min()
        .dt.to_period("M")
    )
    age = [(period - first[b]).n + 1 for b in counts.index]
    return pd.DataFrame(
        {"borrower_id": counts.index, "open_loans": counts.to_numpy(), "history_months": age}
    )


def typical_borrower(open_at: pd.DataFrame, min_history_months: int = 24) -> str:
    """A borrower of median open-loan count among those with at least ``min_history_months``
    of history (the full request window), for single-borrower latency."""
    seasoned = open_at[open_at["history_months"] >= min_history_months]
    if seasoned.empty:
        seasoned = open_at
    median = int(seasoned["open_loans"].median())
    return str(seasoned[seasoned["open_loans"] == median]["borrower_id"].iloc[0])


def write_bodies(
    tables: Mapping[str, pd.DataFrame],
    borrower_ids: Sequence[str],
    month: str,
    path: Path,
    n_bodies: int,
    seed: int,
) -> list[int]:
    """Write ``n_bodies`` ``/score`` bodies of 1-3 borrowers each (drawn from ``borrower_ids``
    with a seeded generator, language alternating zh/en) as JSON lines; returns the borrowers
    of each body. Built with :func:`serving.client.score_request` on the month's recent
    history (cut once: ``score_request`` cuts it again, which changes nothing)."""
    from features.snapshots import recent_history
    from serving.client import score_request

    rng = np.random.default_rng(seed)
    recent = recent_history(dict(tables), pd.Period(month, freq="M"))
    sizes = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(n_bodies):
            size = int(rng.integers(1, 4))
            chosen = rng.choice(len(borrower_ids), size=size, replace=False)
            ids = [borrower_ids[j] for j in chosen]
            body = score_request(recent, ids, month, "zh" if i % 2 == 0 else "en")
            out.write(json.dumps(body, separators=(",", ":")) + "\n")
            sizes.append(size)
    return sizes


# Locust ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRun:
    """What one headless locust run reported: its final totals (written by the locustfile at
    exit) and the ``Aggregated`` row of its stats CSV."""

    returncode: int
    requests: int
    failures: int
    rps: float
    median_ms: float
    p99_ms: float
    seconds: float
    errors: list[str]
    csv_requests: int
    csv_failures: int
    csv_failure_lines: list[str]
    output_tail: str

    def summary(self) -> str:
        return (
            f"{self.requests:,} requests in {self.seconds:.0f} s, {self.failures:,} failures, "
            f"{self.rps:.1f} req/s, median {self.median_ms:.0f} ms, p99 {self.p99_ms:.0f} ms"
        )


def run_locust(
    url: str,
    bodies: Path,
    results: Path,
    csv_prefix: Path,
    api_key: str,
    users: int = 30,
    spawn_rate: int = 10,
    run_time: str = "60s",
    stop_timeout_s: int = 60,
    timeout_s: float = 600.0,
) -> LoadRun:
    """Run ``locust --headless`` against ``url`` in its own process; read its figures.

    ``--stop-timeout`` lets every user finish the request in flight when the time is up, so no
    request is cut after the server committed it (which would leave ledger rows nobody was
    told about, and make reconciliation meaningless).
    """
    command = [
        str(Path(sys.executable).with_name("locust")),
        *("-f", str(LOCUSTFILE), "--headless", "--host", url),
        *("-u", str(users), "-r", str(spawn_rate), "-t", run_time),
        *("--stop-timeout", str(stop_timeout_s), "--csv", str(csv_prefix), "--only-summary"),
        *("--exit-code-on-error", "1", "--loglevel", "WARNING"),
    ]
    summary = Path(f"{csv_prefix}_final.json")
    environment = {
        **os.environ,
        **TELEMETRY_OFF,
        "EWS_LOAD_BODIES": str(bodies),
        "EWS_LOAD_API_KEY": api_key,
        "EWS_LOAD_RESULTS": str(results),
        "EWS_LOAD_SUMMARY": str(summary),
    }
    done = subprocess.run(
        command,
        env=environment,
        cwd=csv_prefix.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    output = (done.stdout + done.stderr).splitlines()
    final = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else {}
    stats = _aggregated(Path(f"{csv_prefix}_stats.csv"))
    failures_csv = Path(f"{csv_prefix}_failures.csv")
    failure_lines = (
        failures_csv.read_text(encoding="utf-8").splitlines()[1:] if failures_csv.exists() else []
    )
    return LoadRun(
        returncode=done.returncode,
        requests=int(final.get("requests", 0)),
        failures=int(final.get("failures", 0)),
        rps=float(final.get("rps", 0.0)),
        median_ms=float(final.get("median_ms", 0.0)),
        p99_ms=float(final.get("p99_ms", 0.0)),
        seconds=float(final.get("seconds", 0.0)),
        errors=list(final.get("errors", [])),
        csv_requests=int(stats.get("Request Count", 0)),
        csv_failures=int(stats.get("Failure Count", 0)),
        csv_failure_lines=failure_lines,
        output_tail="\n".join(output[-40:]),
    )


def _aggregated(stats_csv: Path) -> dict[str, float]:
    """The ``Aggregated`` row of locust's ``*_stats.csv`` (empty if locust wrote none)."""
    if not stats_csv.exists():
        return {}
    with stats_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                return {k: float(v) for k, v in row.items() if _number(v)}
    return {}


def _number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def acknowledged(results: Path) -> dict[str, int]:
    """``request_id -> number of scores`` of every 200 the locust user recorded."""
    out: dict[str, int] = {}
    if not results.exists():
        return out
    for line in results.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        request_id, _, count = line.partition("\t")
        if request_id in out:
            raise ValueError(f"{results}: request_id {request_id} acknowledged twice")
        out[request_id] = int(count)
    return out

"""The monthly assessment run: score the book, append to the ledger, write the outputs.

Order matters for "nothing lost or half-written": the scored loans are committed to the ledger
in one transaction first; only then are the files written, each to a temporary name and renamed
into place. A month already assessed with the same model version is refused unless asked
again, so a repeated command does not silently double the ledger.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from serving.answers import ledger_records
from serving.bundle import ScoringBundle
from serving.portfolio import migration_matrix, score_book, watchlist, with_previous
from serving.settings import ServingSettings
from serving.stores import open_ledger


class PortfolioRunError(ValueError):
    """The run cannot proceed as asked; the message says why."""


@dataclass(frozen=True)
class PortfolioRun:
    """What one assessment did."""

    request_id: str
    as_of: date
    loans: int
    grades: dict[str, int]
    watchlist_rows: int
    files: list[Path] = field(default_factory=list)


def previous_run(latest: pd.DataFrame) -> pd.DataFrame:
    """The loans of the most recent earlier assessment only: a loan graded in some older run
    and absent from the last one is not "closed" again every month."""
    if latest.empty:
        return latest
    return latest[latest["as_of"] == latest["as_of"].max()].reset_index(drop=True)


def _atomic(path: Path, write: object) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)  # type: ignore[operator]
    tmp.replace(path)
    return path


def run_portfolio(
    bundle: ScoringBundle,
    tables: dict[str, pd.DataFrame],
    as_of: str,
    out: Path,
    settings: ServingSettings,
    *,
    again: bool = False,
) -> PortfolioRun:
    """Assess the book at month ``as_of``; see the module docstring for the order of writes."""
    scored = score_book(bundle, tables, as_of)
    month_end = pd.Period(as_of, freq="M").end_time.date()
    ledger = open_ledger(settings)
    try:
        done = ledger.read(as_of=month_end, source="portfolio")
        same_model = done[done["model_version"] == bundle.info.model_version]
        if len(same_model) and not again:
            raise PortfolioRunError(
                f"{as_of} was already assessed with version {bundle.info.model_version} "
                f"(run {same_model['request_id'].iloc[0]}); pass --again to record another run"
            )
        previous = previous_run(ledger.latest_grades(month_end))
        request_id = f"portfolio-{as_of}-{uuid.uuid4().hex[:12]}"
        records = ledger_records(
            scored,
            bundle,
            request_id,
            "portfolio",
            datetime.now(UTC),
            [month_end] * len(scored),
            [[] for _ in range(len(scored))],
        )
        ledger.record(records)
    finally:
        ledger.dispose()

    book = with_previous(scored.frame(), previous)
    watch = watchlist(book, bundle.policy)
    matrix = migration_matrix(book, previous)
    out.mkdir(parents=True, exist_ok=True)
    grades = book["grade"].astype(str).value_counts()
    summary = {
        "request_id": request_id,
        "as_of": month_end.isoformat(),
        "model_name": bundle.info.model_name,
        "model_version": bundle.info.model_version,
        "policy_version": bundle.policy.version,
        "loans": len(book),
        "grades": {g: int(grades.get(g, 0)) for g in bundle.policy.rules},
        "watchlist": len(watch),
        "previous_run_as_of": (
            pd.Timestamp(previous["as_of"].iloc[0]).date().isoformat() if len(previous) else None
        ),
        "previous_run_loans": len(previous),
    }
    files = [
        _atomic(out / "scored_book.parquet", lambda p: book.to_parquet(p, index=False)),
        _atomic(
            out / "watchlist.csv", lambda p: watch.to_csv(p, index=False, encoding="utf-8-sig")
        ),
        _atomic(out / "migration_matrix.csv", lambda p: matrix.to_csv(p)),
        _atomic(
            out / "run.json",
            lambda p: p.write_text(json.dumps(summary, indent=2, ensure_ascii=False)),
        ),
    ]
    return PortfolioRun(
        request_id=request_id,
        as_of=month_end,
        loans=len(book),
        grades=summary["grades"],
        watchlist_rows=len(watch),
        files=files,
    )

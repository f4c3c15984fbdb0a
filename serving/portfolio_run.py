"""The monthly assessment run: score the book, append to the ledger, write the outputs.

Order matters for "nothing lost or half-written": the output folder is checked first, then
every file is written to a temporary name beside its place, then the scored loans are committed
to the ledger in one transaction, and only then are the files renamed into place. A run that
cannot write its reports (``--out`` names a file, a folder it may not write) records nothing,
so it can simply be run again. A month already assessed with the same model version is refused
unless asked again, so a repeated command does not silently double the ledger.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from features.io import stage_file
from features.partitioned import Mapper, PartitionedBook
from serving.answers import ledger_records
from serving.bundle import ScoringBundle
from serving.portfolio import migration_matrix, score_book, watchlist, with_previous
from serving.scoring import ScoredLoans
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


#: Loans turned into ledger records at a time: a province-scale month (a million loans) as
#: records at once would take gigabytes; the ledger still commits the run in one transaction.
RECORD_BATCH = 20_000

#: The files of a run, in the order they are written.
RUN_FILES = (
    *("scored_book.parquet", "model_inputs.parquet"),
    *("watchlist.csv", "migration_matrix.csv", "run.json"),
)


def check_output_folder(out: Path) -> None:
    """``PortfolioRunError`` unless ``out`` is (or can be made) a writable folder whose run
    files are not folders: checked before anything is recorded, because a run that records
    its loans and then cannot write its reports cannot be re-run without doubling them."""
    if out.exists() and not out.is_dir():
        raise PortfolioRunError(f"--out {out} is a file, not a folder: name a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PortfolioRunError(f"--out {out} cannot be created ({exc.strerror})") from None
    for name in RUN_FILES:
        if (out / name).is_dir():
            raise PortfolioRunError(f"--out {out}: {name} is a folder; move it away")
    try:
        stage_file(out / "scored_book.parquet", lambda tmp: tmp.write_bytes(b"")).unlink()
    except OSError as exc:
        raise PortfolioRunError(f"--out {out} is not writable ({exc.strerror})") from None


def run_portfolio(
    bundle: ScoringBundle,
    tables: dict[str, pd.DataFrame] | PartitionedBook,
    as_of: str,
    out: Path,
    settings: ServingSettings,
    *,
    again: bool = False,
    mapper: Mapper | None = None,
    n_partitions: int = 1,
) -> PortfolioRun:
    """Assess the book at month ``as_of``; see the module docstring for the order of writes.
    ``mapper``: score partition by partition on a cluster (``serving.portfolio.score_book``);
    the ledger and the reports are still written here, once."""
    scored = score_book(bundle, tables, as_of, mapper, n_partitions)
    month_end = pd.Period(as_of, freq="M").end_time.date()
    request_id = f"portfolio-{as_of}-{uuid.uuid4().hex[:12]}"
    ledger = open_ledger(settings)
    staged: dict[str, Path] = {}
    try:
        done = ledger.read(as_of=month_end, source="portfolio")
        same_model = done[done["model_version"] == bundle.info.model_version]
        if len(same_model) and not again:
            raise PortfolioRunError(
                f"{as_of} was already assessed with version {bundle.info.model_version} "
                f"(run {same_model['request_id'].iloc[0]}); pass --again to record another run"
            )
        check_output_folder(out)
        previous = previous_run(ledger.latest_grades(month_end))  # loans by pseudonym
        book = with_previous(scored.frame(), previous, ledger.pseudonym_of_loan)
        watch = watchlist(book, bundle.policy)
        summary = _summary(bundle, book, watch, previous, request_id, month_end)
        writers = {
            "scored_book.parquet": lambda p: book.to_parquet(p, index=False),
            # What drift monitoring compares with the reference (``ews-monitor drift --book``).
            "model_inputs.parquet": lambda p: model_inputs(scored).to_parquet(p, index=False),
            "watchlist.csv": lambda p: watch.to_csv(p, index=False, encoding="utf-8-sig"),
            "migration_matrix.csv": lambda p: migration_matrix(
                book, previous, ledger.pseudonym_of_loan
            ).to_csv(p),
            "run.json": lambda p: p.write_text(json.dumps(summary, indent=2, ensure_ascii=False)),
        }
        for name in RUN_FILES:  # every file is written before anything is recorded
            staged[name] = stage_file(out / name, writers[name])
        scored_at = datetime.now(UTC)
        ledger.record_batches(  # one transaction, records made a batch at a time
            ledger_records(
                part,
                bundle,
                request_id,
                "portfolio",
                scored_at,
                [month_end] * len(part),
                [[] for _ in range(len(part))],
            )
            for part in scored.batches(RECORD_BATCH)
        )
    except BaseException:
        for path in staged.values():
            path.unlink(missing_ok=True)
        raise
    finally:
        ledger.dispose()
    files = []
    for name in RUN_FILES:  # renames in one folder: what is left once the loans are recorded
        os.replace(staged[name], out / name)
        files.append(out / name)
    return PortfolioRun(
        request_id=request_id,
        as_of=month_end,
        loans=len(book),
        grades=dict(summary["grades"]),  # type: ignore[call-overload]
        watchlist_rows=len(watch),
        files=files,
    )


def model_inputs(scored: ScoredLoans) -> pd.DataFrame:
    """The loans' keys (``loan_id``, ``as_of``) and the model inputs they were scored on."""
    keys = scored.keys[["loan_id", "as_of"]].reset_index(drop=True)
    return pd.concat([keys, scored.inputs.reset_index(drop=True)], axis=1)


def _summary(
    bundle: ScoringBundle,
    book: pd.DataFrame,
    watch: pd.DataFrame,
    previous: pd.DataFrame,
    request_id: str,
    month_end: date,
) -> dict[str, object]:
    """``run.json``: what the run assessed, with which model, against which previous run."""
    grades = book["grade"].astype(str).value_counts()
    return {
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

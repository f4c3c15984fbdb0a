"""Building ``/score`` requests from raw tables: what a bank's integration sends.

A request carries each borrower's recent history (``features.snapshots.recent_history``: the
last 24 months of statements and signals, all ratings, loans and events known at ``as_of``) in
the raw-table shapes. The README's example, the tests, the load run and the benchmarks build
their requests here, from a simulated book.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.io import RAW_TABLES
from features.schemas import schema_for
from features.snapshots import borrower_tables, recent_history


def _record_columns(table: str) -> tuple[str, ...]:
    """The contract's columns of ``table`` as a request carries them: without ``borrower_id``,
    which the enclosing borrower implies (the profile keeps it)."""
    columns = tuple(schema_for(table).columns)
    return columns if table == "borrowers" else tuple(c for c in columns if c != "borrower_id")


def _json(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value if isinstance(value, int | float) else str(value)


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    values = {c: frame[c].astype(object).to_numpy() for c in columns}
    return [{c: _json(values[c][i]) for c in columns} for i in range(len(frame))]


def borrower_history(tables: dict[str, pd.DataFrame], borrower_id: str) -> dict[str, Any]:
    """One borrower's request entry from (already cut) tables."""
    own = borrower_tables(tables, borrower_id)
    profile = _records(own["borrowers"], _record_columns("borrowers"))
    if not profile:
        raise KeyError(f"borrower {borrower_id} is not in the book")
    entry: dict[str, Any] = {"borrower": profile[0]}
    for table in (t for t in RAW_TABLES if t != "borrowers"):
        frame = own[table]
        columns = _record_columns(table)
        if table == "repayments":
            frame = frame.sort_values(["loan_id", "instalment_no"], kind="stable")
        entry[table] = _records(frame, columns)
    return entry


def score_request(
    tables: dict[str, pd.DataFrame],
    borrower_ids: Sequence[str],
    as_of: str,
    language: str = "zh",
) -> dict[str, Any]:
    """A ``/score`` body for ``borrower_ids`` scored at the last day of month ``as_of``."""
    month = pd.Period(as_of, freq="M")
    recent = recent_history(tables, month)
    return {
        "as_of": month.end_time.date().isoformat(),
        "language": language,
        "borrowers": [borrower_history(recent, b) for b in borrower_ids],
    }

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

from features.snapshots import borrower_tables, recent_history

_RECORD_COLUMNS = {
    "party_ratings": (
        "rating_id",
        "issuing_area",
        "native_standard",
        "native_level",
        "award_date",
        "list_level",
    ),
    "loans": (
        "loan_id",
        "bank",
        "product",
        "origination_date",
        "amount",
        "annual_rate",
        "term_months",
        "maturity_date",
        "renewal_of",
    ),
    "repayments": (
        "loan_id",
        "instalment_no",
        "due_date",
        "amount_due",
        "amount_paid",
        "dpd",
        "outstanding_balance",
        "status",
    ),
    "operating_signals": ("period", "signal", "value", "available_at"),
    "events": ("event_id", "event_type", "event_date", "available_at", "amount"),
}
_PROFILE = (
    "borrower_id",
    "borrower_type",
    "area",
    "industry",
    "founding_date",
    "size",
    "has_party_org",
    "party_members",
)


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
    profile = _records(own["borrowers"], _PROFILE)
    if not profile:
        raise KeyError(f"borrower {borrower_id} is not in the book")
    entry: dict[str, Any] = {"borrower": profile[0]}
    for table, columns in _RECORD_COLUMNS.items():
        frame = own[table]
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

"""Event features: counts and recency of court cases, enforcement, penalties and changes.

An event counts from the day it became known (``available_at``), not the day it happened:
a judgment published next month was not known to the bank this month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families import Columns
from features.months import day_number, month_end, month_index
from features.vocab import EVENT_TYPES


def events_features(
    grid: pd.DataFrame, events: pd.DataFrame, borrower_codes: np.ndarray, n_borrowers: int
) -> Columns:
    """Per event type: count known in the last 12 months and months since the last known one."""
    kind = pd.Categorical(events["event_type"].astype(str), categories=list(EVENT_TYPES)).codes
    known_day = day_number(events["available_at"])
    event_month = month_index(events["event_date"])
    months = grid["as_of_month"].to_numpy()
    borrowers = grid["borrower_code"].to_numpy()
    counts = np.zeros((len(grid), len(EVENT_TYPES)))
    since = np.full((len(grid), len(EVENT_TYPES)), np.nan)
    for as_of_month in np.unique(months):
        rows = np.flatnonzero(months == as_of_month)
        cutoff = day_number(month_end(np.array([as_of_month])))[0]
        known = known_day <= cutoff
        n12 = np.zeros((n_borrowers, len(EVENT_TYPES)))
        recent = known & (event_month > as_of_month - 12)
        np.add.at(n12, (borrower_codes[recent], kind[recent]), 1)
        latest = np.full((n_borrowers, len(EVENT_TYPES)), np.iinfo(np.int64).min)
        np.maximum.at(latest, (borrower_codes[known], kind[known]), event_month[known])
        b = borrowers[rows]
        counts[rows] = n12[b]
        seen = latest[b] > np.iinfo(np.int64).min
        since[rows] = np.where(seen, as_of_month - latest[b], np.nan)
    columns = {f"{k}_12m": counts[:, i] for i, k in enumerate(EVENT_TYPES)}
    columns |= {f"months_since_{k}": since[:, i] for i, k in enumerate(EVENT_TYPES)}
    return columns

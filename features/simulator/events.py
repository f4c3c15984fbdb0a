"""Dated events from public registries: court cases, enforcement, penalties, management changes.

Each event type has a monthly hazard ``sigmoid(a - b * c[m])`` in the borrower's
creditworthiness of that month, so court cases and enforcement cluster before and during
distress while executive changes are only weakly informative. Each event becomes known
``available_at`` some days after it happens (publication lag).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulator.calendar import Calendar, days_to_datetime
from features.simulator.config import EventParams
from features.simulator.latent import LatentPaths
from features.vocab import EVENT_TYPES

_AMOUNT_MEDIAN = {
    "court_case": 3.0e5,
    "enforcement": 2.0e5,
    "administrative_penalty": 2.0e4,
}


def draw_events(
    latent: LatentPaths, calendar: Calendar, params: EventParams, rng: np.random.Generator
) -> pd.DataFrame:
    """All events within the window, sorted by borrower and date (borrower codes, not ids)."""
    months = calendar.n_months
    credit = latent.credit[:, calendar.col(0) : calendar.col(months)].astype(np.float64)
    start = calendar.month_start_day[calendar.col(0) : calendar.col(months) + 1]
    frames = []
    for code, kind in enumerate(EVENT_TYPES):
        hazard = 1 / (1 + np.exp(-(params.intercept[kind] - params.slope[kind] * credit)))
        hit = rng.random(credit.shape) < hazard
        # Day, lag and amount are drawn for every (borrower, month) cell, used or not: drawn
        # per event instead, one borrower's extra event would shift every later borrower's
        # draws, and a shock to one segment would rewrite the events of the whole book.
        day_share = rng.random(credit.shape, dtype=np.float32)
        lo, hi = params.lag_days[kind]
        lag = rng.integers(lo, hi + 1, size=credit.shape, dtype=np.int16)
        median = _AMOUNT_MEDIAN.get(kind)
        size = rng.standard_normal(credit.shape, dtype=np.float32) if median is not None else None
        b_idx, m_idx = np.nonzero(hit)
        length = start[m_idx + 1] - start[m_idx]
        day = start[m_idx] + np.floor(day_share[b_idx, m_idx] * length).astype(np.int64)
        available = day + lag[b_idx, m_idx]
        amount = (
            np.round(median * np.exp(0.8 * size[b_idx, m_idx].astype(np.float64)), 2)
            if size is not None
            else np.full(b_idx.size, np.nan)
        )
        frames.append(
            pd.DataFrame(
                {
                    "borrower_idx": b_idx,
                    "event_type": np.full(b_idx.size, code, dtype=np.int8),
                    "event_day": day,
                    "available_day": available,
                    "amount": amount,
                }
            )
        )
    events = pd.concat(frames, ignore_index=True)
    events = events.sort_values(["borrower_idx", "event_day", "event_type"], kind="stable")
    events = events.reset_index(drop=True)
    return pd.DataFrame(
        {
            "borrower_idx": events["borrower_idx"].to_numpy(),
            "event_type": pd.Categorical.from_codes(
                events["event_type"], categories=list(EVENT_TYPES)
            ),
            "event_date": days_to_datetime(events["event_day"].to_numpy()),
            "available_at": days_to_datetime(events["available_day"].to_numpy()),
            "amount": events["amount"].to_numpy(),
        }
    )

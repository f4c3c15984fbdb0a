"""Operating-signal features: trends, arrears and staleness of government-platform data.

Signals are laid out once as dense (borrower x month x signal) arrays of values and of the day
each value became known. For an ``as_of`` month M only cells whose ``available_at`` is on or
before M's last day are read, so a late report counts only once it has arrived, and a report
that has not arrived is visible as staleness ("months since the last known value"), which is
itself a warning sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.families import Columns
from features.months import day_number, month_end, month_index
from features.vocab import SIGNALS

_ARREARS = ("wage_arrears", "utility_arrears")
_LOOKBACK = 15  # months of history any feature reads


@dataclass(frozen=True)
class SignalCube:
    """Values and known-on days as (borrower, month, signal) arrays; NaN / max where absent."""

    first_month: int
    value: np.ndarray
    known_day: np.ndarray

    @classmethod
    def build(
        cls, signals: pd.DataFrame, borrower_codes: np.ndarray, n_borrowers: int
    ) -> SignalCube:
        month = month_index(signals["period"])
        first = int(month.min()) if month.size else 0
        span = int(month.max()) - first + 1 if month.size else 1
        s_code = pd.Categorical(signals["signal"].astype(str), categories=list(SIGNALS)).codes
        shape = (n_borrowers, span, len(SIGNALS))
        value = np.full(shape, np.nan, dtype=np.float64)
        known = np.full(shape, np.iinfo(np.int64).max, dtype=np.int64)
        cell = (borrower_codes, month - first, s_code)
        value[cell] = signals["value"].to_numpy()
        known[cell] = day_number(signals["available_at"])
        return cls(first_month=first, value=value, known_day=known)

    def window(self, borrowers: np.ndarray, as_of_month: int) -> np.ndarray:
        """Values known by the end of ``as_of_month`` for the ``_LOOKBACK`` months before it.

        Returns (borrowers, _LOOKBACK, signals); column ``j`` is month ``as_of_month - 15 + j``.
        """
        cutoff = day_number(month_end(np.array([as_of_month])))[0]
        out = np.full((borrowers.size, _LOOKBACK, len(SIGNALS)), np.nan)
        lo = as_of_month - _LOOKBACK - self.first_month
        cols = np.arange(lo, lo + _LOOKBACK)
        inside = (cols >= 0) & (cols < self.value.shape[1])
        if inside.any():
            sub_v = self.value[borrowers][:, cols[inside]]
            sub_k = self.known_day[borrowers][:, cols[inside]]
            out[:, inside] = np.where(sub_k <= cutoff, sub_v, np.nan)
        return out


def _mean(block: np.ndarray) -> np.ndarray:
    counts = np.sum(~np.isnan(block), axis=1)
    sums = np.nansum(block, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def operating_features(grid: pd.DataFrame, cube: SignalCube) -> Columns:
    """Operating family for every snapshot row (``grid`` has ``borrower_code``, ``as_of_month``)."""
    names: list[str] = []
    for signal in SIGNALS:
        if signal in _ARREARS:
            names += [f"{signal}_6m", f"{signal}_months"]
        else:
            names += [f"{signal}_last", f"{signal}_trend_yoy", f"{signal}_trend_3v12"]
        names += [f"{signal}_months_stale", f"{signal}_missing_12m"]
    out = np.full((len(grid), len(names)), np.nan)
    months = grid["as_of_month"].to_numpy()
    borrowers = grid["borrower_code"].to_numpy()
    for as_of_month in np.unique(months):
        rows = np.flatnonzero(months == as_of_month)
        w = cube.window(borrowers[rows], int(as_of_month))  # column 14 = the month before as_of
        logs = np.log1p(w)
        recent, last_year = _mean(logs[:, 12:15]), _mean(logs[:, 0:3])
        year = _mean(logs[:, 3:15])
        present = ~np.isnan(w)
        last_col = np.where(
            present.any(axis=1), _LOOKBACK - 1 - np.argmax(present[:, ::-1], axis=1), -1
        )
        stale = np.where(last_col >= 0, _LOOKBACK - last_col, np.nan)
        last_value = np.take_along_axis(w, np.maximum(last_col, 0)[:, None, :], axis=1)[:, 0, :]
        last_value = np.where(last_col >= 0, last_value, np.nan)
        missing = 12 - present[:, 3:15].sum(axis=1)
        col = 0
        for s, signal in enumerate(SIGNALS):
            if signal in _ARREARS:
                recent6 = w[:, 9:15, s]
                any_known = ~np.isnan(recent6).all(axis=1)
                out[rows, col] = np.where(any_known, np.nansum(recent6, axis=1), np.nan)
                out[rows, col + 1] = np.where(any_known, np.sum(recent6 > 0, axis=1), np.nan)
                col += 2
            else:
                out[rows, col] = last_value[:, s]
                out[rows, col + 1] = recent[:, s] - last_year[:, s]
                out[rows, col + 2] = recent[:, s] - year[:, s]
                col += 3
            out[rows, col] = stale[:, s]
            out[rows, col + 1] = missing[:, s]
            col += 2
    return {name: out[:, i] for i, name in enumerate(names)}

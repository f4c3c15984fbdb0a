"""Month arithmetic of a simulation window, as plain integer day numbers.

Month ``m`` is an index into the window (0 is its first month). The simulator also needs a few
months before the window (capacity uses lagged creditworthiness) and ``H`` months after it (the
ground truth looks ahead), so the calendar spans ``-lead .. n_months + horizon``. Dates are int64
days since 1970-01-01 so that whole columns are computed with numpy, not per-row datetime calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEAD_MONTHS = 3


@dataclass(frozen=True)
class Calendar:
    """The months of one simulation."""

    start: pd.Period
    n_months: int
    horizon: int

    @property
    def first(self) -> int:
        """Smallest month index covered (before the window)."""
        return -LEAD_MONTHS

    @property
    def span(self) -> int:
        """Number of months covered, lead and look-ahead included."""
        return LEAD_MONTHS + self.n_months + self.horizon

    def col(self, month: np.ndarray | int) -> np.ndarray | int:
        """Column of month index ``month`` in arrays that span the calendar."""
        return month + LEAD_MONTHS

    def _starts(self) -> np.ndarray:
        periods = pd.period_range(self.start - LEAD_MONTHS, periods=self.span + 1, freq="M")
        return periods.to_timestamp().values.astype("datetime64[D]").astype(np.int64)

    @property
    def month_start_day(self) -> np.ndarray:
        """Day number of the first day of each covered month (one extra at the end)."""
        return self._starts()

    @property
    def month_end_day(self) -> np.ndarray:
        """Day number of the last day of each covered month."""
        return self._starts()[1:] - 1

    @property
    def month_of_year(self) -> np.ndarray:
        """Calendar month 1..12 of each covered month."""
        first = (self.start - LEAD_MONTHS).month
        return (np.arange(self.span) + first - 1) % 12 + 1

    def year_of(self, month: int) -> int:
        """Calendar year of month index ``month``."""
        return int((self.start + month).year)


def days_to_datetime(days: np.ndarray) -> np.ndarray:
    """Int day numbers to ``datetime64[ns]``."""
    return days.astype("datetime64[D]").astype("datetime64[ns]")

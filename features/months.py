"""Calendar months as integers, the unit of every point-in-time window.

``month_index(date) = year * 12 + month - 1``; an ``as_of`` is the last day of its month, and a
record dated in month m is "within the last k months of as_of month M" when ``M - k < m <= M``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Months of repayment statements and operating signals a snapshot reads: as_of month M and the
#: 23 before it (statement or signal month m with ``M - HISTORY_MONTHS < m <= M``). An online
#: request carries only this much history, so no feature may look further back; the one
#: exception is the renewal flag (``features.families.repayment``), documented there.
HISTORY_MONTHS = 24


def month_index(dates: pd.Series | np.ndarray | pd.DatetimeIndex) -> np.ndarray:
    """Integer month of each date (NaT gives a very negative number)."""
    values = np.asarray(dates, dtype="datetime64[M]").astype(np.int64)
    return values + 1970 * 12


def month_end(index: np.ndarray) -> np.ndarray:
    """Last day (``datetime64[ns]``) of each integer month."""
    start_next = (np.asarray(index) - 1970 * 12 + 1).astype("datetime64[M]")
    return (start_next.astype("datetime64[D]") - np.timedelta64(1, "D")).astype("datetime64[ns]")


def day_number(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Days since 1970-01-01."""
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)

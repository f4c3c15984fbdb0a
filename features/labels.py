"""Outcome labels: the worst severity a loan reaches over the next H months (DOMAIN.md §4).

For each monthly statement of a loan (``as_of`` = the end of the statement's month) the label is
the worst month-end severity in ``(as_of, as_of + H]``: S0 nothing missed, S1 1-29 DPD,
S2 30-89 DPD, S3 90+ DPD or charged off / restructured for distress. A label is *matured* only
when its whole window lies inside the data, even if the loan ended earlier: counting early
endings of recent loans as matured would over-sample charge-offs (which end loans) over
survivors (which do not) and bias default rates upwards. Immature labels must not be used for
training or for measured performance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.vocab import OPEN_STATUSES

DEFAULT_HORIZON = 12
_DEFAULTED_STATUSES = ("charged_off", "restructured")


def severity_from_dpd(dpd: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Month-end severity of statement rows (0..3)."""
    sev = np.select([dpd >= 90, dpd >= 30, dpd >= 1], [3, 2, 1], 0).astype(np.int8)
    return np.where(np.isin(status, _DEFAULTED_STATUSES), np.int8(3), sev)


def build_outcomes(repayments: pd.DataFrame, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Label every open statement month of every loan.

    Parameters
    ----------
    repayments : DataFrame
        Validated ``repayments`` table (rows contiguous per loan, as the contract guarantees).
    horizon : int
        Outcome window H in months.

    Returns
    -------
    DataFrame
        ``loan_id``, ``as_of`` (month end), ``dpd`` at as_of, ``severity`` (worst in the
        window, observed part) and ``matured``. Only months where the loan is still open at
        ``as_of`` are returned.
    """
    rep = repayments.sort_values(["loan_id", "instalment_no"], kind="stable")
    loan = rep["loan_id"].astype("category").cat.codes.to_numpy()
    status = rep["status"].astype(str).to_numpy()
    dpd = rep["dpd"].to_numpy()
    as_of = (rep["due_date"] + pd.offsets.MonthEnd(0)).to_numpy()
    sev = severity_from_dpd(dpd, status)
    n = sev.size

    worst = np.zeros(n, dtype=np.int8)
    for step in range(1, horizon + 1):
        if step >= n:
            break
        same = np.zeros(n, dtype=bool)
        same[:-step] = loan[step:] == loan[:-step]
        ahead = np.zeros(n, dtype=np.int8)
        ahead[:-step] = sev[step:]
        worst = np.maximum(worst, np.where(same, ahead, 0))

    data_end = as_of.max() if n else np.datetime64("NaT")
    window_end = (pd.DatetimeIndex(as_of) + pd.offsets.MonthEnd(horizon)).to_numpy()
    matured = window_end <= data_end

    open_now = np.isin(status, OPEN_STATUSES)
    return pd.DataFrame(
        {
            "loan_id": rep["loan_id"].to_numpy()[open_now],
            "as_of": as_of[open_now],
            "dpd": dpd[open_now],
            "severity": worst[open_now],
            "matured": matured[open_now],
        }
    )

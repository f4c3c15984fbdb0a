"""Outcome labels: a loan's worst severity over the next H months (docs/domain.md, outcomes).

For a loan open at the end of month ``as_of`` the label is the worst month-end severity of its
statements due in ``(as_of, as_of + H]``: S0 nothing missed, S1 1-29 DPD, S2 30-89 DPD,
S3 90+ DPD or charged off / restructured for distress. A label is *matured* only when its whole
window lies inside the data, even if the loan ended earlier: counting early endings of recent
loans as matured would over-sample charge-offs (which end loans) over survivors (which do not)
and bias default rates upwards. Immature labels are never used for training or for measured
performance; snapshots keep them as unlabeled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.months import month_end
from features.statements import StatementIndex
from features.vocab import OPEN_STATUSES

DEFAULT_HORIZON = 12


def label_rows(
    statements: StatementIndex,
    loan: np.ndarray,
    as_of_month: np.ndarray,
    horizon: int,
    data_end_month: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Worst severity ahead and whether the window has matured, for (loan, as_of) rows."""
    severity = statements.worst_ahead(loan, as_of_month, horizon)
    return severity, as_of_month + horizon <= data_end_month


def build_outcomes(repayments: pd.DataFrame, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Label every month in which a loan is still open after its statement.

    Returns ``loan_id``, ``as_of`` (month end), ``dpd`` at as_of, ``severity`` (worst in the
    window, observed part) and ``matured``.
    """
    loan_id = repayments["loan_id"].astype("category")
    index = StatementIndex.build(repayments, loan_id.cat.codes.to_numpy().astype(np.int64))
    open_now = np.isin(index.status, OPEN_STATUSES)
    loan, month = index.loan[open_now], index.month[open_now]
    data_end = int(index.month.max()) if index.month.size else 0
    severity, matured = label_rows(index, loan, month, horizon, data_end)
    return pd.DataFrame(
        {
            "loan_id": pd.Categorical.from_codes(loan, categories=loan_id.cat.categories),
            "as_of": month_end(month),
            "dpd": index.dpd[open_now],
            "severity": severity,
            "matured": matured,
        }
    )

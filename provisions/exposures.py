"""The month's exposures: the scored book joined to the raw book, in the provision contract.

Single responsibility: from the raw tables (loans, repayments, borrowers, events) and the
month's scores (one row per loan: ``loan_id``, ``pd_12m``, ``grade``) to the exposure rows
``provisions.allowance`` provides for. Balance and days past due come from the loan's
statement of the as-of month (the same statement the snapshot read), the remaining term from
the contractual maturity, the segment labels from the borrower, and an impairment event is one
of the policy's event types published (``available_at``) by the as-of date and dated within
the policy's window. Point in time: nothing after the as-of month end is read.

The PD at origination is passed in (``pd_origination``, by loan id): the provision run takes
the first score the ledger holds for each loan. A loan scored but without a statement of the
month (closed in it) is left out and counted, never provided for from stale figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.months import month_index
from features.vocab import OPEN_STATUSES
from provisions.allowance import EXPOSURE_COLUMNS
from provisions.policy import StagingPolicy


class MonthError(ValueError):
    """The month cannot be provided for; the message names the month and why."""


@dataclass(frozen=True)
class Exposures:
    """The exposure rows and the scored loans left out (no open statement in the month)."""

    frame: pd.DataFrame
    left_out: list[str]


def build_exposures(
    tables: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: StagingPolicy,
) -> Exposures:
    """Exposure rows of month ``as_of`` (``YYYY-MM``) for every scored loan open at its end.

    Raises
    ------
    MonthError
        As :func:`check_month`.
    """
    check_month(tables, scores, as_of)
    return exposure_rows(tables, scores, as_of, pd_origination, policy)


def check_month(tables: Mapping[str, pd.DataFrame], scores: pd.DataFrame, as_of: str) -> None:
    """Refuse a month whose ``scores`` are empty or repeat a loan, or that the book holds no
    statement of: checks of the whole book, made before it is provided for in parts.

    Raises
    ------
    MonthError
        Naming the month and why.
    """
    if scores.empty:
        raise MonthError(f"{as_of}: no scores (run ews-serve score-portfolio --as-of {as_of})")
    repeated = scores["loan_id"][scores["loan_id"].duplicated()]
    if not repeated.empty:
        raise MonthError(f"{as_of}: loan {repeated.iloc[0]} is scored twice")
    repayments = tables["repayments"]
    if not (month_index(repayments["due_date"]) == _month(as_of)).any():
        raise MonthError(f"{as_of}: the book holds no repayment statement in that month")


def _month(as_of: str) -> int:
    return int(month_index(np.array([np.datetime64(as_of, "M")]))[0])


def exposure_rows(
    tables: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: StagingPolicy,
) -> Exposures:
    """``build_exposures`` without the month's checks: of a book, or of whole borrowers of
    it (a partition, whose loans may all have closed in the month)."""
    month = _month(as_of)
    end = pd.Period(as_of, freq="M").end_time.normalize()
    repayments = tables["repayments"]
    statements = repayments[month_index(repayments["due_date"]) == month]
    statements = statements[statements["status"].isin(OPEN_STATUSES)]
    statements = statements.sort_values("instalment_no").drop_duplicates("loan_id", keep="last")
    loans = tables["loans"].set_index("loan_id")
    borrowers = tables["borrowers"].set_index("borrower_id")
    keyed = scores[["loan_id", "pd_12m", "grade"]].merge(
        statements[["loan_id", "outstanding_balance", "dpd"]], on="loan_id", how="left"
    )
    left_out = keyed.loc[keyed["dpd"].isna(), "loan_id"].astype(str).tolist()
    keyed = keyed[keyed["dpd"].notna()].reset_index(drop=True)
    loan = loans.loc[keyed["loan_id"]]
    borrower = borrowers.loc[loan["borrower_id"]]
    remaining = month_index(loan["maturity_date"]) - month
    frame = pd.DataFrame(
        {
            "loan_id": keyed["loan_id"].astype(str).to_numpy(),
            "borrower_type": borrower["borrower_type"].astype(str).to_numpy(),
            "area": borrower["area"].astype(str).to_numpy(),
            "industry": borrower["industry"].astype(str).to_numpy(),
            "product": loan["product"].astype(str).to_numpy(),
            "balance": keyed["outstanding_balance"].to_numpy(float),
            "amount": loan["amount"].to_numpy(float),
            "annual_rate": loan["annual_rate"].to_numpy(float),
            "remaining_months": np.asarray(remaining, dtype=np.int64),
            "dpd": keyed["dpd"].to_numpy(np.int64),
            "pd_12m": keyed["pd_12m"].to_numpy(float),
            "grade": keyed["grade"].astype(str).to_numpy(),
            "pd_origination": keyed["loan_id"].map(pd_origination).to_numpy(float),
            "impaired_event": _impaired(
                tables["events"], loan["borrower_id"].to_numpy(), month, end, policy
            ),
        }
    )
    return Exposures(frame.loc[:, list(EXPOSURE_COLUMNS)], left_out)


def _impaired(
    events: pd.DataFrame,
    borrower_ids: np.ndarray,
    month: int,
    end: pd.Timestamp,
    policy: StagingPolicy,
) -> np.ndarray:
    """Whether each borrower has an impairment event known by ``end`` and dated in the last
    ``impaired_event_months`` months."""
    dated = month_index(events["event_date"])
    known = (
        events["event_type"].isin(policy.impaired_events).to_numpy()
        & (pd.to_datetime(events["available_at"]) <= end).to_numpy()
        & (dated > month - policy.impaired_event_months)
        & (dated <= month)
    )
    flagged = set(events.loc[known, "borrower_id"].astype(str))
    return np.fromiter(
        (str(b) in flagged for b in borrower_ids), dtype=bool, count=len(borrower_ids)
    )

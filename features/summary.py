"""Book-level summary figures computed from the raw tables alone.

Two figures a risk team checks first about a book, and what the simulator's documented base
rates refer to:

* the default **flow**: realised 12-month default rates by segment, the share of performing
  loan-months (open, under 90 DPD at ``as_of``) with a matured outcome window that reach S3
  within it;
* the non-performing **stock**: the share of open loans 90+ DPD at month end, by count and by
  balance, as published NPL ratios measure it. A bad loan is counted in the flow once, the
  month it defaults, but in the stock for every month it stays on the books.
"""

from __future__ import annotations

import pandas as pd

from features.labels import DEFAULT_HORIZON, build_outcomes
from features.severity import DEFAULT_DPD
from features.vocab import OPEN_STATUSES

SEGMENTS = ("borrower_type", "area", "product", "size")


def performing_outcomes(
    tables: dict[str, pd.DataFrame], horizon: int = DEFAULT_HORIZON
) -> pd.DataFrame:
    """Matured outcomes of performing loan-months, joined to loan and borrower segments."""
    out = build_outcomes(tables["repayments"], horizon)
    out = out[out["matured"] & (out["dpd"] < DEFAULT_DPD)]
    loans = tables["loans"][["loan_id", "borrower_id", "product"]]
    borrowers = tables["borrowers"][["borrower_id", "borrower_type", "area", "size"]]
    out = out.assign(loan_id=out["loan_id"].astype(str))
    loans = loans.assign(
        loan_id=loans["loan_id"].astype(str), borrower_id=loans["borrower_id"].astype(str)
    )
    borrowers = borrowers.assign(borrower_id=borrowers["borrower_id"].astype(str))
    return out.merge(loans, on="loan_id", how="left").merge(borrowers, on="borrower_id", how="left")


def compute_default_rates(outcomes: pd.DataFrame, segment: str | None = None) -> pd.DataFrame:
    """Loan-months, S>=1 and S3 (default) rates, overall or by ``segment``."""
    frame = outcomes.assign(default=outcomes["severity"] >= 3, missed=outcomes["severity"] >= 1)
    if segment is None:
        grouped = frame.assign(book="all").groupby("book")
    else:
        grouped = frame.groupby(frame[segment].astype(str))
    return grouped.agg(
        n_months=("default", "size"),
        missed_rate=("missed", "mean"),
        default_rate=("default", "mean"),
    )


#: Month ends over which the non-performing stock is measured by default: the last year of the
#: data, when a book's early vintages have had time to default and stay on the books.
SEASONED_MONTHS = 12


def month_end_book(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every loan open at a month end: ``loan_id``, ``month_end``, ``dpd``, ``balance``.

    A loan is open at the end of a month with a statement of an open status (current or
    delinquent: a terminal statement closes it) and at the end of its origination month,
    before its first statement (DPD 0, the whole amount outstanding).
    """
    rep = tables["repayments"]
    open_rows = rep["status"].astype(str).isin(OPEN_STATUSES).to_numpy()
    statements = pd.DataFrame(
        {
            "loan_id": rep["loan_id"].astype(str).to_numpy()[open_rows],
            "month_end": rep["due_date"].dt.to_period("M").to_numpy()[open_rows],
            "dpd": rep["dpd"].to_numpy()[open_rows],
            "balance": rep["outstanding_balance"].to_numpy()[open_rows],
        }
    )
    loans = tables["loans"]
    granted = pd.DataFrame(
        {
            "loan_id": loans["loan_id"].astype(str).to_numpy(),
            "month_end": loans["origination_date"].dt.to_period("M").to_numpy(),
            "dpd": 0,
            "balance": loans["amount"].to_numpy(),
        }
    )
    return pd.concat([statements, granted], ignore_index=True)


def compute_npl_stock(
    tables: dict[str, pd.DataFrame],
    segment: str | None = None,
    seasoned_months: int = SEASONED_MONTHS,
) -> pd.DataFrame:
    """Non-performing stock: the share of open loans 90+ DPD at month end, overall or by segment.

    Pooled over the month ends of the last ``seasoned_months`` months of the data (a young book
    has had no time to build a stock, so its first months understate it). ``open_loans`` counts
    open loans summed over those month ends, ``npl_count_ratio`` is the share of them 90+ DPD
    and ``npl_balance_ratio`` the share of their outstanding balance, as published NPL ratios
    weigh them. Unlike the default *flow* (``compute_default_rates``), a bad loan counts here
    for as long as it stays on the books in arrears, until it is cured, restructured or
    written off.
    """
    stock = month_end_book(tables)
    last = stock["month_end"].max()
    stock = stock[stock["month_end"] > last - seasoned_months]
    stock = stock.assign(npl=stock["dpd"] >= DEFAULT_DPD)
    stock = stock.assign(npl_balance=stock["balance"].where(stock["npl"], 0.0))
    if segment is None:
        grouped = stock.assign(book="all").groupby("book")
    else:
        loans = tables["loans"][["loan_id", "borrower_id", "product"]].astype(str)
        borrowers = tables["borrowers"][["borrower_id", "borrower_type", "area", "size"]]
        seg = loans.merge(borrowers.astype(str), on="borrower_id", how="left")
        stock = stock.merge(seg[["loan_id", segment]], on="loan_id", how="left")
        grouped = stock.groupby(stock[segment].astype(str))
    out = grouped.agg(
        open_loans=("npl", "size"),
        npl_count_ratio=("npl", "mean"),
        npl_balance=("npl_balance", "sum"),
        balance=("balance", "sum"),
    )
    out["npl_balance_ratio"] = out["npl_balance"] / out["balance"]
    return out[["open_loans", "npl_count_ratio", "npl_balance_ratio"]]

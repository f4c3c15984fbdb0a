"""Book-level summary figures computed from the raw tables alone.

Realised 12-month default rates by segment are what a risk team checks first about a book and
what the simulator's documented base rates refer to: the share of performing loan-months
(open, under 90 DPD at ``as_of``) with a matured outcome window that reach S3 within it.
"""

from __future__ import annotations

import pandas as pd

from features.labels import DEFAULT_HORIZON, build_outcomes
from features.severity import DEFAULT_DPD

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

"""The month's exposures from a simulated raw book and a scored month: balance and days past
due from the month's statement, the remaining term, the impairment events known by then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.months import month_index
from provisions.allowance import provide
from provisions.exposures import MonthError, build_exposures
from provisions.policy import load_policy
from tests.features.portfolio_factory import simulate_long_history_book

POLICY = load_policy()
AS_OF = "2025-06"


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return simulate_long_history_book(300, seed=11)


def scores_of(book: dict[str, pd.DataFrame], month: str = AS_OF) -> pd.DataFrame:
    """Every loan with a statement in the month, scored 0.03, plus one loan closed before."""
    repayments = book["repayments"]
    month_no = month_index(np.array([np.datetime64(month, "M")]))[0]
    ids = repayments.loc[month_index(repayments["due_date"]) == month_no, "loan_id"].unique()
    closed = repayments.loc[month_index(repayments["due_date"]) < month_no - 6, "loan_id"]
    closed = sorted(
        set(closed)
        - set(repayments.loc[month_index(repayments["due_date"]) >= month_no, "loan_id"])
    )[:1]
    ids = [*ids, *closed]
    return pd.DataFrame({"loan_id": ids, "pd_12m": 0.03, "grade": "blue"})


def test_rows_come_from_the_months_statement(book) -> None:
    scores = scores_of(book)
    built = build_exposures(book, scores, AS_OF, {}, POLICY.staging)
    frame = built.frame
    month_no = month_index(np.array([np.datetime64(AS_OF, "M")]))[0]
    repayments = book["repayments"]
    this_month = repayments[month_index(repayments["due_date"]) == month_no]
    ended = set(this_month.loc[~this_month["status"].isin(["current", "delinquent"]), "loan_id"])
    assert set(built.left_out) == ended | {scores["loan_id"].iloc[-1]}
    assert not set(built.left_out) & set(frame["loan_id"])
    row = frame.iloc[0]
    this = this_month[this_month["loan_id"] == row["loan_id"]]
    assert row["balance"] == this["outstanding_balance"].iloc[-1]
    assert row["dpd"] == this["dpd"].iloc[-1]
    maturity = book["loans"].set_index("loan_id").loc[row["loan_id"], "maturity_date"]
    assert row["remaining_months"] == (maturity.year - 2025) * 12 + maturity.month - 6
    assert frame["pd_origination"].isna().all()
    assert provide(frame, POLICY)["ecl"].gt(0).all()


def test_an_impairment_event_counts_only_once_published(book) -> None:
    june = set(build_exposures(book, scores_of(book), AS_OF, {}, POLICY.staging).frame["loan_id"])
    july = build_exposures(book, scores_of(book, "2025-07"), "2025-07", {}, POLICY.staging).frame
    clean = july[~july["impaired_event"] & july["loan_id"].isin(june)]
    loan = clean["loan_id"].iloc[0]
    borrower = book["loans"].set_index("loan_id").loc[loan, "borrower_id"]
    event = {
        "event_id": "E-test",
        "borrower_id": borrower,
        "event_type": "enforcement",
        "event_date": pd.Timestamp("2025-05-20"),
        "available_at": pd.Timestamp("2025-07-03"),
        "amount": np.nan,
    }
    late = dict(book, events=pd.concat([book["events"], pd.DataFrame([event])], ignore_index=True))
    june_row = build_exposures(late, scores_of(book), AS_OF, {}, POLICY.staging).frame
    july_row = build_exposures(
        late, scores_of(book, "2025-07"), "2025-07", {}, POLICY.staging
    ).frame
    assert not june_row.set_index("loan_id").loc[loan, "impaired_event"]  # published in July
    assert july_row.set_index("loan_id").loc[loan, "impaired_event"]
    assert provide(july_row, POLICY).set_index("loan_id").loc[loan, "stage"] == 3


def test_origination_pd_is_taken_by_loan(book) -> None:
    scores = scores_of(book)
    first = scores["loan_id"].iloc[0]
    frame = build_exposures(book, scores, AS_OF, {first: 0.01}, POLICY.staging).frame.set_index(
        "loan_id"
    )
    assert frame.loc[first, "pd_origination"] == 0.01
    assert frame["pd_origination"].isna().sum() == len(frame) - 1


def test_a_month_without_scores_or_statements_is_refused(book) -> None:
    with pytest.raises(MonthError, match="2025-06: no scores"):
        build_exposures(book, scores_of(book).iloc[:0], AS_OF, {}, POLICY.staging)
    with pytest.raises(MonthError, match="2031-01: the book holds no repayment statement"):
        build_exposures(book, scores_of(book), "2031-01", {}, POLICY.staging)
    twice = pd.concat([scores_of(book).iloc[:1]] * 2)
    with pytest.raises(MonthError, match="scored twice"):
        build_exposures(book, twice, AS_OF, {}, POLICY.staging)

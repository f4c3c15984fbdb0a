"""Realized outcomes: hand-checked flags on a tiny book, and agreement with features.labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.labels import build_outcomes
from features.simulator import simulate_portfolio
from monitoring.outcomes import (
    OutcomeError,
    build_realized,
    data_end,
    join_outcomes,
    outcome_columns,
)
from tests.features.portfolio_factory import make_statements


def _tiny_book() -> dict[str, pd.DataFrame]:
    """Three loans, data to 2024-06.

    A: originated 2023-01, 90 DPD with the 2023-06 statement, charged off 2023-09.
    B: originated 2023-06, current until restructured (40 DPD) with the 2024-02 statement.
    C: originated 2023-12, current to the data end 2024-06.
    """
    loans = pd.DataFrame(
        {
            "loan_id": ["A", "B", "C"],
            "borrower_id": ["X", "Y", "X"],
            "bank": "bank_1",
            "product": "ordinary",
            "origination_date": pd.to_datetime(["2023-01-15", "2023-06-10", "2023-12-05"]),
            "amount": 1000.0,
            "annual_rate": 0.04,
            "term_months": 12,
            "renewal_of": [None, None, None],
        }
    )
    repayments = pd.concat(
        [
            make_statements("A", "2023-02-01", [0, 0, 30, 60, 90, 120, 150, 180], "charged_off"),
            make_statements("B", "2023-07-01", [0, 0, 0, 0, 0, 0, 0, 40], "restructured"),
            make_statements("C", "2024-01-01", [0] * 6),
        ],
        ignore_index=True,
    )
    return {"loans": loans, "repayments": repayments}


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return build_realized(_tiny_book()).set_index(["loan_id", "as_of"])


def _row(table: pd.DataFrame, loan: str, month: str) -> pd.Series:
    return table.loc[(loan, pd.Timestamp(month) + pd.offsets.MonthEnd(0))]


def test_rows_are_the_open_months_including_the_origination_month(tiny):
    months = {loan: [f"{m:%Y-%m}" for m in tiny.loc[loan].index] for loan in ("A", "B", "C")}
    # A is scored from its origination month until the charge-off ends it (2023-09).
    assert months["A"] == [f"2023-{m:02d}" for m in range(1, 9)]
    assert months["B"] == [f"2023-{m:02d}" for m in range(6, 13)] + ["2024-01"]
    assert months["C"] == ["2023-12"] + [f"2024-{m:02d}" for m in range(1, 7)]
    assert list(tiny.columns) == ["borrower_id", "vintage", *outcome_columns()]


def test_default_flags_by_window_hand_checked(tiny):
    # A as of 2023-01: Feb-Apr statements are 0, 0, 30 DPD: no 3m default; 90 DPD in Jun.
    assert not _row(tiny, "A", "2023-01")["defaulted_3m"]
    assert _row(tiny, "A", "2023-01")["defaulted_6m"]
    assert _row(tiny, "A", "2023-01")["defaulted_12m"]
    # As of 2023-02 the 3 months are Mar-May (0, 30, 60): still no default; 2023-03: Jun's 90.
    assert not _row(tiny, "A", "2023-02")["defaulted_3m"]
    assert _row(tiny, "A", "2023-03")["defaulted_3m"]
    # B: restructuring (only 40 DPD) is a default; as of 2023-11 it is 3 statements ahead.
    assert not _row(tiny, "B", "2023-10")["defaulted_3m"]
    assert _row(tiny, "B", "2023-11")["defaulted_3m"]
    assert not _row(tiny, "B", "2023-07")["defaulted_6m"]
    assert _row(tiny, "B", "2023-08")["defaulted_6m"]
    assert not tiny.loc["C"][["defaulted_3m", "defaulted_6m", "defaulted_12m"]].any().any()


def test_maturity_is_the_window_inside_the_data_even_after_the_loan_ended(tiny):
    assert data_end(_tiny_book()) == pd.Timestamp("2024-06-30")
    # 12m windows mature for as-of months up to 2023-06; A ended in 2023-09 but its 2023-07
    # row is still unmatured, while its observed part already shows the default.
    assert _row(tiny, "A", "2023-06")["matured_12m"]
    assert not _row(tiny, "A", "2023-07")["matured_12m"]
    assert _row(tiny, "A", "2023-07")["defaulted_12m"]
    assert _row(tiny, "C", "2024-03")["matured_3m"]
    assert not _row(tiny, "C", "2024-04")["matured_3m"]
    assert not _row(tiny, "C", "2024-01")["matured_6m"]
    assert _row(tiny, "C", "2023-12")["matured_6m"]


def test_vintage_is_the_origination_quarter(tiny):
    assert _row(tiny, "A", "2023-05")["vintage"] == "2023Q1"
    assert _row(tiny, "B", "2023-06")["vintage"] == "2023Q2"
    assert _row(tiny, "C", "2024-02")["vintage"] == "2023Q4"
    assert _row(tiny, "C", "2024-02")["borrower_id"] == "X"


@pytest.fixture(scope="module")
def simulated() -> dict[str, pd.DataFrame]:
    return simulate_portfolio(n_borrowers=300, n_months=24, seed=1).tables


def test_agrees_with_features_labels_on_a_simulated_book(simulated):
    realized = build_realized(simulated, windows=(12,))
    labels = build_outcomes(simulated["repayments"], horizon=12)
    labels["loan_id"] = labels["loan_id"].astype(str)
    joined = labels.merge(realized, on=["loan_id", "as_of"], how="left", indicator=True)
    assert (joined["_merge"] == "both").all()  # every labelled loan-month is a realized row
    assert len(labels) > 2000 and joined["defaulted_12m"].sum() > 20
    np.testing.assert_array_equal(joined["defaulted_12m"], joined["severity"] >= 3)
    np.testing.assert_array_equal(joined["matured_12m"], joined["matured"])
    # The realized rows add only months without a statement (e.g. origination months).
    assert len(realized) >= len(labels)


def test_join_maps_pseudonyms_and_marks_unknown_loans(simulated):
    realized = build_realized(simulated)
    picked = realized.sample(50, random_state=3)
    pseudonym = {loan: f"p{i}" for i, loan in enumerate(picked["loan_id"].unique())}
    frame = pd.DataFrame(
        {
            "loan_key": [pseudonym[v] for v in picked["loan_id"]] + ["unknown"],
            "as_of": [*picked["as_of"], picked["as_of"].iloc[0]],
            "pd_12m": 0.05,
        },
        index=range(100, 151),
    )
    to_loan = {v: k for k, v in pseudonym.items()}
    joined = join_outcomes(frame, realized, loan_ids=to_loan)
    assert list(joined.index) == list(frame.index)
    assert joined["outcome_found"].tolist() == [True] * 50 + [False]
    for column in ("defaulted_12m", "matured_6m"):
        assert joined[column].tolist()[:50] == picked[column].tolist()
    assert not joined.iloc[-1][["defaulted_12m", "matured_12m"]].any()
    assert joined["vintage"].tolist()[:50] == picked["vintage"].tolist()
    with pytest.raises(OutcomeError, match="defaulted_12m"):
        join_outcomes(joined.drop(columns="outcome_found"), realized, loan_ids=to_loan)


def test_bad_windows_and_empty_books_are_named():
    with pytest.raises(OutcomeError, match="windows"):
        build_realized(_tiny_book(), windows=(3, 3))
    empty = _tiny_book()
    empty["repayments"] = empty["repayments"].iloc[:0]
    with pytest.raises(OutcomeError, match="no statements"):
        data_end(empty)

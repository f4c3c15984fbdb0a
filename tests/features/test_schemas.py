"""The raw-table contract itself: column sets, keys, pandera agreement, dtype conformance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.io import RAW_TABLES
from features.schemas import KEYS, add_months, conform_dtypes, row_rules, schema_for
from tests.features.portfolio_factory import make_valid_portfolio

COLUMNS = {
    "borrowers": [
        "borrower_id",
        "borrower_type",
        "area",
        "industry",
        "founding_date",
        "size",
        "has_party_org",
        "party_members",
    ],
    "party_ratings": [
        "rating_id",
        "borrower_id",
        "issuing_area",
        "native_standard",
        "native_level",
        "award_date",
        "list_level",
    ],
    "loans": [
        "loan_id",
        "borrower_id",
        "bank",
        "product",
        "origination_date",
        "amount",
        "annual_rate",
        "term_months",
        "maturity_date",
        "renewal_of",
    ],
    "repayments": [
        "loan_id",
        "instalment_no",
        "due_date",
        "amount_due",
        "amount_paid",
        "dpd",
        "outstanding_balance",
        "status",
    ],
    "operating_signals": ["borrower_id", "period", "signal", "value", "available_at"],
    "events": ["event_id", "borrower_id", "event_type", "event_date", "available_at", "amount"],
}


@pytest.mark.parametrize("table", RAW_TABLES)
def test_each_table_has_a_strict_schema_with_the_contract_columns(table):
    schema = schema_for(table)
    assert list(schema.columns) == COLUMNS[table]
    assert schema.strict is True
    assert set(KEYS[table]) <= set(schema.columns)
    for rule in row_rules(table):
        assert set(rule.columns) <= set(schema.columns) and rule.column in rule.columns


def test_only_the_documented_columns_may_be_empty():
    nullable = {
        (table, name)
        for table in RAW_TABLES
        for name, column in schema_for(table).columns.items()
        if column.nullable
    }
    assert nullable == {("loans", "renewal_of"), ("events", "amount")}


def test_an_unknown_table_names_the_raw_tables():
    with pytest.raises(KeyError, match="unknown table 'payments'"):
        schema_for("payments")


@pytest.mark.parametrize("table", RAW_TABLES)
def test_pandera_itself_accepts_the_valid_conformed_tables(table):
    frame, unreadable = conform_dtypes(table, make_valid_portfolio()[table])
    assert unreadable == {}
    schema_for(table).validate(frame, lazy=True)


def test_pandera_itself_rejects_a_broken_row_rule():
    frame, _ = conform_dtypes("repayments", make_valid_portfolio()["repayments"])
    frame.loc[0, "dpd"] = 4  # status current with days past due
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        schema_for("repayments").validate(frame, lazy=True)
    assert "dpd_zero_when_current" in set(caught.value.failure_cases["check"])


def test_conform_converts_losslessly():
    frame = pd.DataFrame(
        {
            "rating_id": [1, 2],  # ids and levels read as numbers by a CSV reader
            "borrower_id": ["B1", None],
            "issuing_area": pd.Series(["wuxing", "anji"], dtype="string"),
            "native_standard": ["star5", "star5"],
            "native_level": [4.0, 5.0],
            "award_date": ["2022-07-01", "2022-07-02T00:00:00"],
            "list_level": ["city", "none"],
        }
    )
    out, unreadable = conform_dtypes("party_ratings", frame)
    assert unreadable == {}
    assert all(isinstance(out[c].dtype, pd.CategoricalDtype) for c in COLUMNS["party_ratings"][:5])
    assert list(out["native_level"]) == ["4", "5"]
    assert list(out["rating_id"]) == ["1", "2"]
    assert out["borrower_id"].isna().tolist() == [False, True]
    assert out["award_date"].dtype == "datetime64[ns]"
    assert frame["rating_id"].dtype == np.int64  # the caller's frame is left alone


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("party_members", np.array([1, 2], dtype=np.int32), "int64"),
        ("party_members", [3.0, 7.0], "int64"),
        ("party_members", pd.array([3, 7], dtype="Int64"), "int64"),
        ("has_party_org", pd.Series([True, False], dtype=object), "bool"),
        ("founding_date", pd.to_datetime(["2001-01-01", "2002-01-01"]).as_unit("s"), "M8[ns]"),
        (
            "founding_date",
            pd.to_datetime(["2001-01-01", "2002-01-01"]).tz_localize("UTC"),
            "M8[ns]",
        ),
    ],
)
def test_conform_accepts_other_encodings_of_the_same_values(column, values, expected):
    frame = make_valid_portfolio()["borrowers"].iloc[:2].copy()
    frame[column] = values
    out, unreadable = conform_dtypes("borrowers", frame)
    assert unreadable == {}
    assert out[column].dtype == np.dtype(expected)


@pytest.mark.parametrize(
    ("column", "values", "bad_rows"),
    [
        ("party_members", [3.5, 7.0], [True, False]),
        ("party_members", [3.0, None], [False, True]),
        ("party_members", ["3", "many"], [False, True]),
        ("has_party_org", [True, None], [False, True]),
        ("has_party_org", ["yes", True], [True, False]),
        ("founding_date", ["2001-01-01", "last year"], [False, True]),
    ],
)
def test_conform_marks_values_that_cannot_be_read(column, values, bad_rows):
    frame = make_valid_portfolio()["borrowers"].iloc[:2].copy()
    frame[column] = pd.Series(values, dtype=object if isinstance(values[0], str) else None)
    out, unreadable = conform_dtypes("borrowers", frame)
    assert unreadable[column].tolist() == bad_rows


def test_numbers_stored_as_text_are_not_numbers():
    frame = make_valid_portfolio()["loans"]
    frame["amount"] = frame["amount"].astype(str)
    _, unreadable = conform_dtypes("loans", frame)
    assert not unreadable["amount"].any()  # readable, yet the column is the wrong type


@given(
    start=st.datetimes(min_value=pd.Timestamp("1950-01-01"), max_value=pd.Timestamp("2090-12-31")),
    months=st.integers(min_value=-120, max_value=120),
)
def test_add_months_matches_pandas_date_offset(start, months):
    got = add_months(pd.Series([pd.Timestamp(start)]), pd.Series([months]))
    assert pd.Timestamp(got[0]) == pd.Timestamp(start) + pd.DateOffset(months=months)

"""Validation of whole portfolios: every rule, every offending key, files that cannot be read."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from features.io import RAW_TABLES, write_tables
from features.schemas import RowRule, conform_dtypes, schema_for
from features.validation import (
    PortfolioValidationError,
    ValidationReport,
    Violation,
    load_validated_portfolio,
    validate_portfolio,
    validate_tables,
)
from tests.features.portfolio_factory import make_valid_portfolio

Portfolio = dict[str, pd.DataFrame]
Mutation = Callable[[Portfolio], None]

CROSS_TABLE_RULES = {
    "borrower_exists",
    "loan_exists",
    "after_founding",
    "renewal_of_exists",
    "renewal_of_same_borrower",
    "renewal_of_earlier",
    "due_after_origination",
    "balance_within_amount",
}


def _set(table: str, row: int, column: str, value: object) -> Mutation:
    def mutate(portfolio: Portfolio) -> None:
        frame = portfolio[table]
        if isinstance(value, str) and frame[column].dtype.kind == "M":
            frame.loc[row, column] = pd.Timestamp(value)
        elif value is None and frame[column].dtype == bool:
            portfolio[table] = frame.assign(**{column: frame[column].astype(object)})
            portfolio[table].loc[row, column] = None
        else:
            frame.loc[row, column] = value

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(portfolio: Portfolio) -> None:
        for m in mutations:
            m(portfolio)

    return mutate


def _case(mutation: Mutation, table: str, column: str | None, rule: str, key: str, id: str):
    return pytest.param(mutation, table, column, rule, key, id=id)


CASES = [
    # borrowers
    _case(_set("borrowers", 1, "borrower_id", "B0000001"), "borrowers", "borrower_id", "unique",
          "B0000001", "borrower-id-repeated"),
    _case(_set("borrowers", 2, "borrower_id", None), "borrowers", "borrower_id", "not_null",
          "row 3", "borrower-id-empty"),
    _case(_set("borrowers", 1, "borrower_type", "bank"), "borrowers", "borrower_type", "enum",
          "B0000002", "borrower-type"),
    _case(_set("borrowers", 1, "area", "hangzhou"), "borrowers", "area", "enum", "B0000002",
          "area"),
    _case(_set("borrowers", 0, "industry", "mining"), "borrowers", "industry", "enum", "B0000001",
          "industry"),
    _case(_set("borrowers", 3, "founding_date", "1949-09-30"), "borrowers", "founding_date",
          "min", "B0000004", "founded-before-prc"),
    _case(_set("borrowers", 0, "size", "large"), "borrowers", "size", "enum", "B0000001",
          "size-large"),
    _case(_set("borrowers", 3, "party_members", -1), "borrowers", "party_members", "range",
          "B0000004", "party-members-negative"),
    _case(_set("borrowers", 1, "party_members", 2), "borrowers", "party_members",
          "party_org_min_members", "B0000002", "party-org-too-small"),
    _case(_set("borrowers", 1, "has_party_org", None), "borrowers", "has_party_org", "dtype",
          "B0000002", "has-party-org-empty"),
    # party_ratings
    _case(_set("party_ratings", 1, "rating_id", "R000001"), "party_ratings", "rating_id",
          "unique", "R000001", "rating-id-repeated"),
    _case(_set("party_ratings", 0, "borrower_id", "B0000099"), "party_ratings", "borrower_id",
          "borrower_exists", "R000001", "rating-of-unknown-borrower"),
    _case(_set("party_ratings", 0, "issuing_area", "suzhou"), "party_ratings", "issuing_area",
          "enum", "R000001", "issuing-area"),
    _case(_set("party_ratings", 0, "native_standard", "stars"), "party_ratings",
          "native_standard", "enum", "R000001", "standard-unknown"),
    _case(_both(_set("party_ratings", 0, "native_standard", "letter4"),
                _set("party_ratings", 0, "native_level", "A")), "party_ratings",
          "native_standard", "standard_matches_area", "R000001", "standard-of-other-area"),
    _case(_set("party_ratings", 0, "native_level", "6"), "party_ratings", "native_level",
          "level_on_scale", "R000001", "level-off-scale"),
    _case(_set("party_ratings", 1, "native_level", "87.5"), "party_ratings", "native_level",
          "level_on_scale", "R000002", "score-not-integer"),
    _case(_set("party_ratings", 2, "list_level", "national"), "party_ratings", "list_level",
          "enum", "R000003", "list-level"),
    _case(_set("party_ratings", 2, "award_date", "1990-01-01"), "party_ratings", "award_date",
          "after_founding", "R000003", "award-before-founding"),
    # loans
    _case(_set("loans", 3, "loan_id", "L00000002"), "loans", "loan_id", "unique", "L00000002",
          "loan-id-repeated"),
    _case(_set("loans", 3, "borrower_id", "B0000099"), "loans", "borrower_id", "borrower_exists",
          "L00000004", "loan-of-unknown-borrower"),
    _case(_set("loans", 1, "bank", "bank_9"), "loans", "bank", "enum", "L00000002", "bank"),
    _case(_set("loans", 1, "product", "mortgage"), "loans", "product", "enum", "L00000002",
          "product"),
    _case(_set("loans", 1, "origination_date", None), "loans", "origination_date", "not_null",
          "L00000002", "origination-empty"),
    _case(_set("loans", 1, "amount", 0.0), "loans", "amount", "min", "L00000002", "amount-zero"),
    _case(_set("loans", 3, "amount", 12_000_000.0), "loans", "amount", "max", "L00000004",
          "amount-above-ceiling"),
    _case(_set("loans", 1, "annual_rate", 4.35), "loans", "annual_rate", "range", "L00000002",
          "rate-as-percent"),
    _case(_set("loans", 1, "term_months", 61), "loans", "term_months", "range", "L00000002",
          "term-too-long"),
    _case(_set("loans", 1, "maturity_date", "2024-02-28"), "loans", "maturity_date",
          "maturity_matches_term", "L00000002", "maturity-not-term"),
    _case(_set("loans", 1, "origination_date", "2011-03-31"), "loans", "origination_date",
          "after_founding", "L00000002", "loan-before-founding"),
    _case(_set("loans", 2, "renewal_of", "L00000099"), "loans", "renewal_of",
          "renewal_of_exists", "L00000003", "renews-unknown-loan"),
    _case(_set("loans", 2, "renewal_of", "L00000002"), "loans", "renewal_of",
          "renewal_of_same_borrower", "L00000003", "renews-other-borrowers-loan"),
    _case(_set("loans", 0, "renewal_of", "L00000003"), "loans", "renewal_of",
          "renewal_of_earlier", "L00000001", "renews-later-loan"),
    _case(_set("loans", 2, "renewal_of", "L00000003"), "loans", "renewal_of",
          "renewal_of_earlier", "L00000003", "renews-itself"),
    # repayments
    _case(_set("repayments", 2, "instalment_no", 2), "repayments", None, "unique",
          "L00000001|2", "instalment-repeated"),
    _case(_set("repayments", 0, "instalment_no", 0), "repayments", "instalment_no", "min",
          "L00000001|0", "instalment-zero"),
    _case(_set("repayments", 2, "instalment_no", 4), "repayments", "instalment_no",
          "instalments_contiguous", "L00000001|4", "instalment-gap"),
    _case(_set("repayments", 1, "due_date", "2023-02-10"), "repayments", "due_date",
          "due_dates_increasing", "L00000001|2", "due-date-goes-back"),
    _case(_set("repayments", 1, "amount_due", -1.0), "repayments", "amount_due", "min",
          "L00000001|2", "amount-due-negative"),
    _case(_set("repayments", 1, "amount_paid", -1.0), "repayments", "amount_paid", "min",
          "L00000001|2", "amount-paid-negative"),
    _case(_set("repayments", 3, "dpd", -2), "repayments", "dpd", "min", "L00000002|1",
          "dpd-negative"),
    _case(_set("repayments", 4, "outstanding_balance", -5.0), "repayments",
          "outstanding_balance", "min", "L00000002|2", "balance-negative"),
    _case(_set("repayments", 4, "status", "closed"), "repayments", "status", "enum",
          "L00000002|2", "status"),
    _case(_set("repayments", 3, "dpd", 3), "repayments", "dpd", "dpd_zero_when_current",
          "L00000002|1", "current-with-dpd"),
    _case(_set("repayments", 1, "dpd", 0), "repayments", "dpd", "dpd_positive_when_delinquent",
          "L00000001|2", "delinquent-without-dpd"),
    _case(_set("repayments", 5, "status", "repaid"), "repayments", "status",
          "terminal_status_last", "L00000003|1", "terminal-before-last"),
    _case(_set("repayments", 7, "loan_id", "L00000099"), "repayments", "loan_id", "loan_exists",
          "L00000099|1", "repayment-of-unknown-loan"),
    _case(_set("repayments", 7, "due_date", "2023-02-01"), "repayments", "due_date",
          "due_after_origination", "L00000004|1", "due-on-origination"),
    _case(_set("repayments", 3, "outstanding_balance", 80_001.0), "repayments",
          "outstanding_balance", "balance_within_amount", "L00000002|1", "balance-above-amount"),
    # operating_signals
    _case(_set("operating_signals", 1, "period", "2023-01-01"), "operating_signals", None,
          "unique", "B0000001|2023-01-01|vat_revenue", "signal-key-repeated"),
    _case(_set("operating_signals", 3, "borrower_id", "B0000099"), "operating_signals",
          "borrower_id", "borrower_exists", "B0000099|2023-01-01|tax_paid",
          "signal-of-unknown-borrower"),
    _case(_set("operating_signals", 3, "signal", "profit"), "operating_signals", "signal", "enum",
          "B0000002|2023-01-01|profit", "signal-unknown"),
    _case(_set("operating_signals", 3, "value", -1.0), "operating_signals", "value", "min",
          "B0000002|2023-01-01|tax_paid", "value-negative"),
    _case(_set("operating_signals", 3, "value", np.nan), "operating_signals", "value",
          "not_null", "B0000002|2023-01-01|tax_paid", "value-empty"),
    _case(_set("operating_signals", 3, "period", "2023-01-15"), "operating_signals", "period",
          "period_month_start", "B0000002|2023-01-15|tax_paid", "period-mid-month"),
    _case(_set("operating_signals", 3, "available_at", "2023-01-31"), "operating_signals",
          "available_at", "available_after_period", "B0000002|2023-01-01|tax_paid",
          "known-before-month-end"),
    # events
    _case(_set("events", 1, "event_id", "E000001"), "events", "event_id", "unique", "E000001",
          "event-id-repeated"),
    _case(_set("events", 1, "borrower_id", "B0000099"), "events", "borrower_id",
          "borrower_exists", "E000002", "event-of-unknown-borrower"),
    _case(_set("events", 1, "event_type", "bankruptcy"), "events", "event_type", "enum",
          "E000002", "event-type"),
    _case(_set("events", 0, "amount", -10.0), "events", "amount", "min", "E000001",
          "event-amount-negative"),
    _case(_set("events", 0, "available_at", "2023-05-09"), "events", "available_at",
          "available_after_event", "E000001", "known-before-event"),
]  # fmt: skip


def _find(report: ValidationReport, table: str, column: str | None, rule: str) -> Violation:
    found = [v for v in report.violations if (v.table, v.column, v.rule) == (table, column, rule)]
    assert len(found) == 1, report.summary()
    return found[0]


def test_the_hand_made_portfolio_is_valid():
    report = validate_tables(make_valid_portfolio())
    assert report.ok, report.summary()
    assert report.row_counts == {
        "borrowers": 4,
        "party_ratings": 3,
        "loans": 4,
        "repayments": 8,
        "operating_signals": 5,
        "events": 2,
    }


@pytest.mark.parametrize(("mutate", "table", "column", "rule", "key"), CASES)
def test_each_broken_rule_is_reported_with_its_key(mutate, table, column, rule, key):
    portfolio = make_valid_portfolio()
    mutate(portfolio)
    report = validate_tables(portfolio)
    violation = _find(report, table, column, rule)
    assert key in violation.keys
    assert violation.n_rows >= 1
    assert violation.message.startswith(f"{table}.{column}: " if column else f"{table}: ")
    assert key in violation.message and "\n" not in violation.message
    assert "check_error" not in {v.rule for v in report.violations}, report.summary()
    if rule not in CROSS_TABLE_RULES and rule != "dtype":  # pandera agrees on its own
        frame, _ = conform_dtypes(table, portfolio[table])
        with pytest.raises(pa.errors.SchemaErrors):
            schema_for(table).validate(frame, lazy=True)


def test_every_offending_row_is_reported():
    portfolio = make_valid_portfolio()
    portfolio["loans"].loc[[0, 3], "amount"] = [10_000_001.0, 25_000_000.0]
    violation = _find(validate_tables(portfolio), "loans", "amount", "max")
    assert violation.keys == ("L00000001", "L00000004")
    assert violation.n_rows == 2
    assert violation.message == (
        "loans.amount: 2 rows above the inclusive-loan ceiling 10,000,000 "
        "(loan_id L00000001, L00000004)"
    )


def test_all_keys_are_kept_when_the_message_shows_only_the_first():
    portfolio = make_valid_portfolio()
    months = pd.date_range("2021-01-01", periods=25, freq="MS")
    portfolio["operating_signals"] = pd.DataFrame(
        {
            "borrower_id": "B0000003",
            "period": months,
            "signal": "electricity_kwh",
            "value": -1.0,
            "available_at": months + pd.DateOffset(months=1, days=9),
        }
    )
    violation = _find(validate_tables(portfolio), "operating_signals", "value", "min")
    assert violation.n_rows == len(violation.keys) == 25
    assert violation.keys[-1] == "B0000003|2023-01-01|electricity_kwh"
    assert violation.message.endswith("and 15 more)")


def test_a_missing_or_extra_column_is_named():
    portfolio = make_valid_portfolio()
    del portfolio["loans"]["annual_rate"]
    portfolio["events"]["severity"] = 3
    report = validate_tables(portfolio)
    missing = _find(report, "loans", "annual_rate", "missing_column")
    assert missing.message == "loans.annual_rate: column missing (required by the contract)"
    extra = _find(report, "events", "severity", "unexpected_column")
    assert extra.message == "events.severity: unexpected column (not in the contract)"
    assert len(report.violations) == 2  # the rest of both tables is still checked, and valid


def test_a_wrong_type_is_one_clear_violation_and_its_rules_are_skipped():
    portfolio = make_valid_portfolio()
    portfolio["loans"]["amount"] = ["500000", "80000", "a lot", "2000000"]
    portfolio["repayments"].loc[0, "dpd"] = 3  # still found: other columns are checked
    report = validate_tables(portfolio)
    wrong = _find(report, "loans", "amount", "dtype")
    assert wrong.message == (
        "loans.amount: expected float64, found object "
        "(1 row not readable as float64: loan_id L00000003)"
    )
    assert wrong.keys == ("L00000003",)
    _find(report, "repayments", "dpd", "dpd_zero_when_current")
    assert {v.rule for v in report.violations} == {"dtype", "dpd_zero_when_current"}


def test_frames_given_with_a_custom_index_report_keys_by_row():
    portfolio = make_valid_portfolio()
    portfolio["loans"].index = [10, 20, 30, 40]
    portfolio["loans"].loc[40, "bank"] = "bank_0"
    assert _find(validate_tables(portfolio), "loans", "bank", "enum").keys == ("L00000004",)


def test_a_table_not_given_and_an_unknown_table_are_reported():
    portfolio: dict = make_valid_portfolio()
    del portfolio["events"]
    portfolio["collateral"] = pd.DataFrame({"x": [1]})
    portfolio["loans"] = "not a frame"
    report = validate_tables(portfolio)
    rules = {(v.table, v.rule) for v in report.violations}
    assert rules == {
        ("events", "missing_table"),
        ("collateral", "unexpected_table"),
        ("loans", "unreadable"),
    }, report.summary()


def test_a_rule_that_cannot_run_is_a_violation_not_a_crash(monkeypatch):
    def explode(frame):
        raise TypeError("unsupported operand")

    rule = RowRule("explodes", "dpd", ("dpd",), "never", explode)
    monkeypatch.setattr("features.validation.row_rules", lambda table: (rule,))
    report = validate_tables(make_valid_portfolio())
    failed = [v for v in report.violations if v.rule == "check_error"]
    assert len(failed) == 1 and not report.ok
    assert failed[0].message == (
        "repayments: rule explodes could not be evaluated (TypeError: unsupported operand)"
    )


def test_report_is_json_serialisable():
    portfolio = make_valid_portfolio()
    portfolio["repayments"].loc[3, "dpd"] = 3
    data = json.loads(json.dumps(validate_tables(portfolio).to_dict()))
    assert data["ok"] is False
    assert data["violations"][0]["keys"] == ["L00000002|1"]
    assert data["row_counts"]["repayments"] == 8


# --- files


def _write_csv(portfolio: Portfolio, directory) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in portfolio.items():
        frame.to_csv(directory / f"{name}.csv", index=False)


def test_parquet_portfolio_loads_only_when_valid(tmp_path):
    write_tables(make_valid_portfolio(), tmp_path / "ok")
    tables = load_validated_portfolio(tmp_path / "ok")
    assert list(tables) == list(RAW_TABLES)
    assert isinstance(tables["loans"]["loan_id"].dtype, pd.CategoricalDtype)
    assert tables["repayments"]["due_date"].dtype == "datetime64[ns]"

    broken = make_valid_portfolio()
    broken["loans"].loc[1, "annual_rate"] = 4.35
    write_tables(broken, tmp_path / "bad")
    with pytest.raises(PortfolioValidationError) as caught:
        load_validated_portfolio(tmp_path / "bad")
    assert [v.rule for v in caught.value.report.violations] == ["range"]
    assert "loans.annual_rate: 1 row outside 0.005..0.24" in str(caught.value)


def test_csv_portfolio_is_valid_with_numeric_levels(tmp_path):
    portfolio = make_valid_portfolio()
    portfolio["party_ratings"] = portfolio["party_ratings"].iloc[:2]  # levels "4" and "87"
    portfolio["loans"] = portfolio["loans"].assign(renewal_of=None)  # read back as float NaN
    _write_csv(portfolio, tmp_path)
    report = validate_portfolio(tmp_path)
    assert report.ok, report.summary()


def test_csv_and_parquet_report_the_same_violations(tmp_path):
    portfolio = make_valid_portfolio()
    for mutate in (
        _set("loans", 1, "annual_rate", 4.35),
        _set("repayments", 3, "dpd", 3),
        _set("repayments", 7, "loan_id", "L00000099"),
        _set("operating_signals", 3, "available_at", "2023-01-31"),
        _set("party_ratings", 0, "native_level", "6"),
        _set("events", 0, "amount", -10.0),
    ):
        mutate(portfolio)
    write_tables(portfolio, tmp_path / "parquet")
    _write_csv(portfolio, tmp_path / "csv")

    def summary(directory) -> list[tuple]:
        return [
            (v.table, v.column, v.rule, v.keys) for v in validate_portfolio(directory).violations
        ]

    assert summary(tmp_path / "parquet") == summary(tmp_path / "csv")
    assert len(summary(tmp_path / "csv")) == 6


def test_text_in_a_csv_number_column_names_the_row(tmp_path):
    portfolio = make_valid_portfolio()
    portfolio["loans"]["amount"] = ["500000", "n.a.", "500000", "2000000"]
    _write_csv(portfolio, tmp_path)
    violation = _find(validate_portfolio(tmp_path), "loans", "amount", "dtype")
    assert violation.message == (
        "loans.amount: expected float64, found category "
        "(1 row not readable as float64: loan_id L00000002)"
    )


@pytest.mark.parametrize(
    ("table", "filename", "content", "rule", "reason"),
    [
        ("events", None, None, "missing_table", "missing table"),
        ("loans", "loans.parquet", b"PAR1 this is not parquet", "unreadable", "unreadable Parquet"),
        ("loans", "loans.csv", b"\xff\xfe\x00garbage", "unreadable", "unreadable CSV"),
        ("loans", "loans.csv", b'loan_id,bank\nL1,"open', "unreadable", "unreadable CSV"),
        ("loans", "loans.csv", b"", "unreadable", "unreadable CSV"),
    ],
)
def test_a_table_that_cannot_be_read_is_one_line_and_the_rest_is_checked(
    tmp_path, table, filename, content, rule, reason
):
    portfolio = make_valid_portfolio()
    portfolio["repayments"].loc[3, "dpd"] = 3  # another table's fault must still be found
    write_tables(portfolio, tmp_path)
    (tmp_path / f"{table}.parquet").unlink()
    if filename:
        (tmp_path / filename).write_bytes(content)
    report = validate_portfolio(tmp_path)
    failed = _find(report, table, None, rule)
    assert failed.message.startswith(f"{table}: {reason}") and "\n" not in failed.message
    _find(report, "repayments", "dpd", "dpd_zero_when_current")
    assert len(report.violations) == 2, report.summary()  # rules needing the table are skipped
    assert report.row_counts.get(table) is None


def test_a_folder_that_does_not_exist(tmp_path):
    report = validate_portfolio(tmp_path / "nowhere")
    assert [(v.table, v.rule) for v in report.violations] == [("portfolio", "missing_table")]
    with pytest.raises(PortfolioValidationError):
        load_validated_portfolio(tmp_path / "nowhere")

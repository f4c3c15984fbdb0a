"""Requests a hostile or careless caller sends: each must be refused, naming what is wrong.

Every case here was once answered wrongly: a loan 140 days past due sent with only its first
statements was graded green, a loan sent without statements vanished from the answer and the
ledger, contract rules that ``ews-data validate`` applies were not applied to requests, numbers
sent as text were converted, blank ids crashed the service, and bodies that are not JSON were
scored. The answer to each is a 400 (or 415) that names the field and the contract rule, never
the borrower's ids, and writes nothing to the ledger.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pandas as pd
import pytest

from serving.client import score_request
from tests.serving.conftest import API_KEYS, AS_OF_MONTH, Served
from tests.serving.test_service_app import ledger_of

KEY = {"X-API-Key": API_KEYS[0]}


@pytest.fixture(scope="module")
def in_arrears(served: Served, book) -> dict[str, Any]:
    """A one-borrower request whose only loan is 90+ days past due at the test month, with a
    history long enough to cut (the loan was originated at least 8 months before)."""
    loans = served.tables["loans"].set_index("loan_id")
    owners = served.tables["loans"].groupby("borrower_id", observed=True)["loan_id"].count()
    single = set(owners[owners == 1].index.astype(str))
    month_end = pd.Period(AS_OF_MONTH, freq="M").end_time
    for row in book.sort_values("dpd_now", ascending=False).itertuples():
        borrower = str(row.borrower_id)
        started = loans.loc[row.loan_id, "origination_date"]
        if borrower in single and row.dpd_now >= 90 and (month_end - started).days > 240:
            request = score_request(served.tables, [borrower], AS_OF_MONTH, "en")
            assert book.set_index("loan_id").loc[row.loan_id, "grade"] == "red"
            return request
    raise AssertionError("the test book has no single-loan borrower 90+ DPD at the test month")


@pytest.fixture(scope="module")
def current(served: Served, book) -> dict[str, Any]:
    """A one-borrower request whose only loan is current, with Party-building ratings."""
    owners = served.tables["loans"].groupby("borrower_id", observed=True)["loan_id"].count()
    rated = set(served.tables["party_ratings"]["borrower_id"].astype(str))
    for row in book.sort_values("pd_12m").itertuples():
        borrower = str(row.borrower_id)
        if owners.get(borrower) == 1 and borrower in rated and row.dpd_now == 0:
            return score_request(served.tables, [borrower], AS_OF_MONTH, "en")
    raise AssertionError("the test book has no current, rated single-loan borrower")


def _mutate(request: dict[str, Any], change) -> dict[str, Any]:
    bad = copy.deepcopy(request)
    change(bad)
    return bad


def _refused(app_client, served, body: dict[str, Any], *named: str, status: int = 400) -> str:
    ledger = ledger_of(served)
    before = ledger.count()
    response = app_client.post("/score", json=body, headers=KEY)
    assert response.status_code == status, response.text
    for text in named:
        assert text in response.text, response.text
    ids = [b["borrower"]["borrower_id"] for b in body["borrowers"]]
    ids += [loan["loan_id"] for b in body["borrowers"] for loan in b["loans"]]
    assert not [i for i in ids if i.strip() and i in response.text], "a refusal echoed an id"
    assert ledger.count() == before
    ledger.dispose()
    return response.text


def _statements(request: dict[str, Any]) -> list[dict[str, Any]]:
    return request["borrowers"][0]["repayments"]


# Truncated history --------------------------------------------------------------------------


def test_the_arrears_case_is_red_with_its_whole_history(app_client, in_arrears):
    response = app_client.post("/score", json=in_arrears, headers=KEY)
    assert response.status_code == 200, response.text
    assert [s["grade"] for s in response.json()["scores"]] == ["red"]


def test_a_loan_sent_with_only_its_first_statements_is_refused(app_client, served, in_arrears):
    """It was graded green: the arrears were in the statements left out."""
    bad = _mutate(in_arrears, lambda r: r["borrowers"][0].update(repayments=_statements(r)[:3]))
    text = _refused(app_client, served, bad, "borrowers.0.loans.0", "statements", "missing")
    assert AS_OF_MONTH in text  # the months missing are named


def test_a_loan_sent_without_statements_is_refused_not_dropped(app_client, served, in_arrears):
    bad = _mutate(in_arrears, lambda r: r["borrowers"][0].update(repayments=[]))
    _refused(app_client, served, bad, "borrowers.0.loans.0", "statements")


def test_a_gap_in_the_statements_is_refused(app_client, served, in_arrears):
    def drop_middle(r):
        del _statements(r)[len(_statements(r)) // 2]

    _refused(app_client, served, _mutate(in_arrears, drop_middle), "borrowers.0.loans.0")


def test_statements_years_before_origination_are_refused(app_client, served, in_arrears):
    def shift(r):
        for s in _statements(r):
            s["due_date"] = str(pd.Timestamp(s["due_date"]) - pd.DateOffset(years=5))[:10]

    _refused(app_client, served, _mutate(in_arrears, shift), "due_after_origination")


def test_a_loan_originated_this_month_needs_no_statement(app_client, served, current):
    """The first instalment falls due the month after origination: nothing is missing yet."""

    def new_loan(r):
        loan = r["borrowers"][0]["loans"][0]
        loan.update(
            origination_date=f"{AS_OF_MONTH}-03", maturity_date=_months_after(AS_OF_MONTH, 12)
        )
        loan.update(term_months=12, renewal_of=None)
        r["borrowers"][0]["repayments"] = []

    response = app_client.post("/score", json=_mutate(current, new_loan), headers=KEY)
    assert response.status_code == 200, response.text
    assert len(response.json()["scores"]) == 1


def _months_after(month: str, months: int) -> str:
    return str((pd.Period(month, freq="M") + months).start_time.date().replace(day=3))


# The contract's own rules -------------------------------------------------------------------


def _last_statement(r: dict[str, Any]) -> dict[str, Any]:
    return _statements(r)[-1]


CONTRACT_CASES = {
    "delinquent with dpd 0": (
        lambda r: _last_statement(r).update(status="delinquent", dpd=0),
        "dpd_positive_when_delinquent",
    ),
    "balance far above the amount": (
        lambda r: _last_statement(r).update(
            outstanding_balance=r["borrowers"][0]["loans"][0]["amount"] * 50
        ),
        "balance_within_amount",
    ),
    "maturity not matching the term": (
        lambda r: r["borrowers"][0]["loans"][0].update(
            term_months=r["borrowers"][0]["loans"][0]["term_months"] + 7
        ),
        "maturity_matches_term",
    ),
    "founded after origination": (
        lambda r: r["borrowers"][0]["borrower"].update(founding_date=f"{AS_OF_MONTH}-28"),
        "after_founding",
    ),
    "decreasing instalment numbers": (
        lambda r: [s.update(instalment_no=600 - s["instalment_no"]) for s in _statements(r)],
        "due_dates_increasing",
    ),
    "current with dpd": (
        lambda r: _last_statement(r).update(status="current", dpd=45),
        "dpd_zero_when_current",
    ),
}


@pytest.mark.parametrize("case", sorted(CONTRACT_CASES))
def test_score_applies_the_contracts_rules_by_name(app_client, served, in_arrears, case):
    change, rule = CONTRACT_CASES[case]
    _refused(app_client, served, _mutate(in_arrears, change), rule)


def test_the_request_rules_are_the_validators_rules():
    """One rule set: what a request is exempt from, or only noted for, names rules that
    ``ews-data validate`` runs, so a renamed rule cannot silently start refusing requests."""
    from features.io import RAW_TABLES
    from features.schemas import row_rules, schema_for
    from serving.request_contract import NOTED_NOT_REFUSED, WINDOW_EXEMPT_RULES

    assert {r.name for t in RAW_TABLES for r in row_rules(t)} >= WINDOW_EXEMPT_RULES
    for table, column, rule in NOTED_NOT_REFUSED:
        checks = {str(c.name) for c in schema_for(table).columns[column].checks}
        checks |= {r.name for r in row_rules(table) if r.column == column}
        assert rule in checks, (table, column, rule)


# Strict types -------------------------------------------------------------------------------


STRICT_CASES = {
    "dpd as text": (lambda r: _last_statement(r).update(dpd="140"), "dpd"),
    "flag as text": (
        lambda r: r["borrowers"][0]["borrower"].update(has_party_org="false"),
        "has_party_org",
    ),
    "as_of as a number": (lambda r: r.update(as_of=20250630), "as_of"),
    "amount as text": (lambda r: _last_statement(r).update(amount_paid="12.5"), "amount_paid"),
    "members as a float": (
        lambda r: r["borrowers"][0]["borrower"].update(party_members=3.0),
        "party_members",
    ),
    "flag as a number": (
        lambda r: r["borrowers"][0]["borrower"].update(has_party_org=1),
        "has_party_org",
    ),
    "date as a number": (lambda r: _last_statement(r).update(due_date=20250620), "due_date"),
}


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_values_of_the_wrong_json_type_are_refused_not_converted(app_client, served, current, case):
    change, named = STRICT_CASES[case]
    _refused(app_client, served, _mutate(current, change), named)


# Ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["   ", "\t", " L1", "L1 ", "L\x001", "L\u202e1", "L\n1", "L\u200b1"]
)
def test_blank_padded_or_control_ids_are_a_400_that_does_not_echo_them(
    app_client, served, current, bad_id
):
    def rename(r):
        old = r["borrowers"][0]["loans"][0]["loan_id"]
        r["borrowers"][0]["loans"][0]["loan_id"] = bad_id
        for s in _statements(r):
            if s["loan_id"] == old:
                s["loan_id"] = bad_id

    text = _refused(app_client, served, _mutate(current, rename), "loan_id")
    assert bad_id not in text
    other = _mutate(current, lambda r: r["borrowers"][0]["borrower"].update(borrower_id=bad_id))
    assert bad_id not in _refused(app_client, served, other, "borrower_id")


# Media type and duplicate keys -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/octet-stream", None]
)
def test_only_json_is_scored(app_client, current, content_type):
    headers = dict(KEY)
    if content_type:
        headers["Content-Type"] = content_type
    response = app_client.post("/score", content=json.dumps(current).encode(), headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["error"]


def test_json_with_a_charset_is_scored(app_client, current):
    headers = {**KEY, "Content-Type": "application/json; charset=utf-8"}
    response = app_client.post("/score", content=json.dumps(current).encode(), headers=headers)
    assert response.status_code == 200, response.text


def test_duplicate_json_keys_are_refused(app_client, served, current):
    ledger = ledger_of(served)
    before = ledger.count()
    body = json.dumps(current)
    twice = '{"as_of": "2020-01-31", ' + body[1:]  # two as_of: which one counts is undefined
    response = app_client.post(
        "/score", content=twice.encode(), headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "as_of" in response.json()["error"] and "more than once" in response.json()["error"]
    assert ledger.count() == before
    ledger.dispose()


@pytest.mark.parametrize("day", ["end", "mid"])
@pytest.mark.parametrize("month", ["2023-02", "2024-01", "2025-06", "2025-12"])
def test_a_whole_book_cut_as_requests_breaks_no_rule(served, month, day):
    """No false refusals: every borrower of the book, cut as a request carries it, passes."""
    from features.snapshots import recent_history
    from serving.request_contract import request_problems

    period = pd.Period(month, freq="M")
    as_of = period.end_time if day == "end" else period.start_time + pd.Timedelta(days=14)
    cut = recent_history(served.tables, as_of.to_period("M"))
    paths = {table: [f"{table}.{i}" for i in range(len(frame))] for table, frame in cut.items()}
    assert request_problems(cut, lambda: paths, as_of.date()) == []

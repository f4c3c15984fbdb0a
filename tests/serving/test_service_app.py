"""The scoring service in-process (``to_asgi``): answers, refusals, auth, ledger, consistency.

The app is the real BentoML service with the real champion of a small simulated book and a
real SQLite ledger; only the HTTP hop is in-process. ``tests/serving/test_http_server.py``
repeats the essentials against a real ``bentoml serve`` process.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from serving.client import score_request
from tests.serving.conftest import API_KEYS, AS_OF_MONTH, Served, environment

KEY = {"X-API-Key": API_KEYS[0]}


@pytest.fixture(scope="module")
def watched_ids(book) -> list[str]:
    """Two borrowers with open loans: the riskiest and a median one."""
    ordered = book.sort_values("pd_12m", ascending=False)["borrower_id"].astype(str).unique()
    return [ordered[0], ordered[len(ordered) // 2]]


@pytest.fixture(scope="module")
def good_request(served: Served, watched_ids) -> dict[str, Any]:
    return score_request(served.tables, watched_ids, AS_OF_MONTH, "en")


def ledger_of(served: Served):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    with environment(served.environment()):
        return open_ledger(get_serving_settings())


def test_a_good_request_is_scored_explained_and_recorded(
    app_client, served, good_request, watched_ids
):
    response = app_client.post("/score", json=good_request, headers=KEY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "red-credit-warning" and body["model_version"] == served.version
    assert body["policy_version"].startswith("derived-")
    assert {s["borrower_id"] for s in body["scores"]} == set(watched_ids)
    for score in body["scores"]:
        p = score["p_severity"]
        assert 1 >= p["s1"] >= p["s2"] >= p["s3"] == score["pd_12m"] >= 0
        assert score["grade"] in {"green", "blue", "yellow", "orange", "red"}
        assert score["actions"] and score["stage_hint"]["stage"] in (1, 2, 3)
        assert all(r["contribution"] > 0 and r["text"] for r in score["reasons"])
    ledger = ledger_of(served)
    rows = ledger.read(request_id=body["request_id"])
    loans = [s["loan_id"] for s in body["scores"]]
    assert sorted(rows["loan_pseudonym"]) == sorted(map(ledger.pseudonym_of_loan, loans))
    assert set(rows["source"]) == {"score"}
    assert not set(rows["borrower_pseudonym"]) & set(watched_ids)  # never in clear
    assert not set(rows["loan_pseudonym"]) & set(loans)
    first = rows.set_index("loan_pseudonym").loc[ledger.pseudonym_of_loan(loans[0])]
    assert first["p_s3"] == body["scores"][0]["pd_12m"]
    assert first["features"]["dpd_now"] is not None and len(first["reasons"]) >= 1


def test_the_answer_speaks_the_language_asked_for(app_client, good_request):
    english = app_client.post("/score", json=good_request, headers=KEY).json()
    chinese = app_client.post("/score", json={**good_request, "language": "zh"}, headers=KEY).json()
    riskiest_en, riskiest_zh = english["scores"][0], chinese["scores"][0]
    assert riskiest_en["pd_12m"] == riskiest_zh["pd_12m"]
    assert riskiest_en["actions"] != riskiest_zh["actions"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in riskiest_zh["actions"])
    if riskiest_zh["reasons"]:
        assert riskiest_en["reasons"][0]["text"] != riskiest_zh["reasons"][0]["text"]


def test_every_scoring_path_gives_the_same_warning(app_client, good_request, book, bundle):
    """/score, /score_features and the portfolio run agree for the same loan and as_of."""
    scored = app_client.post("/score", json=good_request, headers=KEY).json()["scores"]
    by_loan = book.set_index("loan_id")
    for score in scored:
        portfolio = by_loan.loc[score["loan_id"]]
        assert score["pd_12m"] == portfolio["pd_12m"]
        assert score["p_severity"]["s1"] == portfolio["p_s1"]
        assert score["grade"] == portfolio["grade"]
    rows = [
        {
            "loan_id": s["loan_id"],
            "borrower_id": s["borrower_id"],
            "as_of": s["as_of"],
            "features": features,
        }
        for s, features in zip(scored, _features_of(bundle, good_request), strict=True)
    ]
    response = app_client.post("/score_features", json={"rows": rows}, headers=KEY)
    assert response.status_code == 200, response.text
    again = {s["loan_id"]: s for s in response.json()["scores"]}
    for score in scored:
        assert again[score["loan_id"]]["pd_12m"] == score["pd_12m"]
        assert again[score["loan_id"]]["grade"] == score["grade"]


def _features_of(bundle, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The model inputs of a request's loans, as a feature warehouse would export them."""
    from serving.schemas import ScoreRequest
    from serving.scoring import score_snapshots, snapshots_from_history

    parsed = ScoreRequest.model_validate(request)
    scored = score_snapshots(bundle, snapshots_from_history(bundle, parsed.borrowers, parsed.as_of))
    return json.loads(json.dumps(scored.feature_dicts()))


def test_the_api_key_is_required_on_scoring_but_not_on_probes(app_client, good_request):
    assert app_client.post("/score", json=good_request).status_code == 401
    assert (
        app_client.post("/score", json=good_request, headers={"X-API-Key": "no"}).status_code == 401
    )
    assert app_client.get("/model").status_code == 401
    assert (
        app_client.post("/score", json=good_request, headers={"X-API-Key": API_KEYS[1]}).status_code
        == 200
    )
    assert app_client.get("/readyz").status_code == 200
    assert app_client.get("/livez").status_code == 200
    assert app_client.get("/docs.json").status_code == 200


def test_model_describes_the_served_version(app_client, served, bundle):
    body = app_client.get("/model", headers=KEY).json()
    assert body["model_version"] == served.version
    assert body["features"] == bundle.features and "dpd_now" in body["features"]
    assert set(body["training_window"]) >= {"train_until", "calibrate_until", "test_until"}
    assert body["metrics"]["s3_auc"] > 0.6
    assert body["policy"]["version"] == body["policy_version"]
    assert body["source"].startswith("registry champion")
    assert str(served.home) not in json.dumps(body)  # no folder of the server is shown
    assert body["tracking_uri"] == "sqlite:///.../mlflow.db"


def _mutate(request: dict[str, Any], change) -> dict[str, Any]:
    bad = copy.deepcopy(request)
    change(bad)
    return bad


def _first_statement(r):
    return r["borrowers"][0]["repayments"][0]


BAD_REQUESTS = {
    "wrong type": (lambda r: r.update(as_of="last month"), "as_of"),
    "missing field": (lambda r: r["borrowers"][0]["borrower"].pop("area"), "area"),
    "negative amount": (lambda r: _first_statement(r).update(amount_paid=-5.0), "amount_paid"),
    "date after as_of": (
        lambda r: _first_statement(r).update(due_date="2099-01-31"),
        "repayments.0.due_date",
    ),
    "duplicated month": (
        lambda r: r["borrowers"][0]["repayments"].append(
            {**_first_statement(r), "instalment_no": 599}
        ),
        "repeats the loan and statement month",
    ),
    "unknown field": (lambda r: r["borrowers"][0]["borrower"].update(name="Zhang San"), "name"),
    "empty batch": (lambda r: r.update(borrowers=[]), "borrowers"),
    "unknown loan": (
        lambda r: _first_statement(r).update(loan_id="L-not-sent"),
        "is not among this borrower's loans",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_is_a_400_naming_the_field_and_writes_nothing(
    app_client, served, good_request, case
):
    change, named = BAD_REQUESTS[case]
    ledger = ledger_of(served)
    before = ledger.count()
    response = app_client.post("/score", json=_mutate(good_request, change), headers=KEY)
    assert response.status_code == 400, response.text
    assert named in response.text
    assert ledger.count() == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_amounts_are_refused(app_client, served, good_request, literal):
    body = copy.deepcopy(good_request)
    body["borrowers"][0]["repayments"][0]["amount_paid"] = float(literal.replace("Infinity", "inf"))
    raw = json.dumps(body, allow_nan=True)
    ledger = ledger_of(served)
    before = ledger.count()
    response = app_client.post(
        "/score", content=raw, headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "amount_paid" in response.text
    assert ledger.count() == before


def test_more_borrowers_than_the_batch_limit_is_refused(app_client, good_request):
    from serving.settings import MAX_BATCH

    one = good_request["borrowers"][0]
    many = []
    for i in range(MAX_BATCH + 1):
        entry = copy.deepcopy(one)
        entry["borrower"]["borrower_id"] = f"B-copy-{i}"
        many.append(entry)
    response = app_client.post("/score", json={**good_request, "borrowers": many}, headers=KEY)
    assert response.status_code == 400
    assert "borrowers" in response.text and str(MAX_BATCH) in response.text


def test_unknown_area_industry_and_standard_are_scored_as_other(app_client, good_request):
    def change(r):
        entry = r["borrowers"][0]
        entry["borrower"].update(area="xihu", industry="space_mining")
        if entry["party_ratings"]:
            entry["party_ratings"][0]["native_standard"] = "moon5"

    response = app_client.post("/score", json=_mutate(good_request, change), headers=KEY)
    assert response.status_code == 200, response.text
    notes = [n for s in response.json()["scores"] for n in s["notes"]]
    assert any("area 'xihu'" in n for n in notes)
    assert any("industry 'space_mining'" in n for n in notes)


def test_score_features_refuses_unknown_missing_and_mistyped_features(app_client, bundle):
    row = {"loan_id": "L1", "borrower_id": "B1", "as_of": "2025-06-30", "features": {}}
    row["features"] = _valid_features(bundle)
    good = app_client.post("/score_features", json={"rows": [row]}, headers=KEY)
    assert good.status_code == 200, good.text
    cases = {
        "unknown": ({**row["features"], "shoe_size": 42.0}, "unknown shoe_size"),
        "missing": ({k: v for k, v in row["features"].items() if k != "dpd_now"}, "dpd_now"),
        "mistyped": ({**row["features"], "dpd_now": "thirty"}, "expected a number"),
        "a flag for a count": ({**row["features"], "dpd_now": True}, "dpd_now: expected a number"),
        "null backstop": ({**row["features"], "dpd_now": None}, "dpd_now: required"),
        "negative months": ({**row["features"], "months_on_book": -3}, "months_on_book: outside"),
        "negative share": ({**row["features"], "utilisation": -0.2}, "utilisation: outside"),
        "fractional count": ({**row["features"], "dpd_now": 2.5}, "expected a whole number"),
        "a number for a flag": ({**row["features"], "is_renewal": 1}, "expected true or false"),
        "a number for a label": ({**row["features"], "area": 3}, "expected a text label"),
    }
    for features, named in cases.values():
        response = app_client.post(
            "/score_features", json={"rows": [{**row, "features": features}]}, headers=KEY
        )
        assert response.status_code == 400, response.text
        assert named in response.text


def _valid_features(bundle) -> dict[str, Any]:
    """A valid value of every model feature, by its kind in the feature catalogue."""
    from features.catalog import FEATURE_BY_NAME

    values: dict[str, Any] = {}
    for name in bundle.features:
        feature = FEATURE_BY_NAME[name]
        if feature.kind == "category":
            values[name] = feature.levels[0]
        elif feature.kind == "flag":
            values[name] = False
        else:
            values[name] = max(0, feature.low) if feature.low > -np.inf else 0
    return values


@pytest.mark.parametrize("as_of", ["1900-01-31", "1999-12-31", 20250630])
def test_score_features_refuses_an_as_of_outside_the_scoring_dates(app_client, bundle, as_of):
    row = {"loan_id": "L1", "borrower_id": "B1", "as_of": as_of}
    body = {"rows": [{**row, "features": _valid_features(bundle)}]}
    response = app_client.post("/score_features", json=body, headers=KEY)
    assert response.status_code == 400, response.text
    assert "as_of" in response.text


def test_scores_do_not_depend_on_the_loan_id(app_client, good_request):
    renamed = copy.deepcopy(good_request)
    for entry in renamed["borrowers"]:
        mapping = {
            loan["loan_id"]: f"X{i}-{loan['loan_id']}" for i, loan in enumerate(entry["loans"])
        }
        for loan in entry["loans"]:
            loan["loan_id"] = mapping[loan["loan_id"]]
            if loan["renewal_of"] is not None:
                loan["renewal_of"] = mapping[loan["renewal_of"]]
        for statement in entry["repayments"]:
            statement["loan_id"] = mapping[statement["loan_id"]]
    first = app_client.post("/score", json=good_request, headers=KEY).json()["scores"]
    second = app_client.post("/score", json=renamed, headers=KEY).json()["scores"]
    np.testing.assert_array_equal(
        sorted(s["pd_12m"] for s in first), sorted(s["pd_12m"] for s in second)
    )
    assert (
        pd.Series([s["grade"] for s in first]).sort_values().tolist()
        == pd.Series([s["grade"] for s in second]).sort_values().tolist()
    )


def test_the_example_request_of_the_readme_is_valid_and_scored(app_client):
    from pathlib import Path

    body = json.loads(Path("serving/examples/score_request.json").read_text(encoding="utf-8"))
    assert len(body["borrowers"]) == 2
    response = app_client.post("/score", json=body, headers=KEY)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {s["borrower_id"] for s in answer["scores"]} == {
        b["borrower"]["borrower_id"] for b in body["borrowers"]
    }
    assert answer["language"] == "zh"


def test_a_refusal_does_not_echo_the_borrowers_records(app_client, good_request):
    """The framework logs the validation error's text: it must not carry the records."""
    from pydantic import ValidationError

    from serving.schemas import ScoreRequest

    bad = _mutate(good_request, lambda r: _first_statement(r).update(amount_paid=-5.0))
    with pytest.raises(ValidationError) as refused:
        ScoreRequest.model_validate(bad)
    borrower_id = good_request["borrowers"][0]["borrower"]["borrower_id"]
    assert "amount_paid" in str(refused.value)
    assert borrower_id not in str(refused.value) and "input_value" not in str(refused.value)
    response = app_client.post("/score", json=bad, headers=KEY)
    assert response.status_code == 400 and borrower_id not in response.text


def test_one_loan_id_under_two_borrowers_is_refused_without_naming_it(app_client, good_request):
    """Statements name their loan by id only: two borrowers sharing one would mix histories."""

    def clash(r):
        first, second = r["borrowers"][0], r["borrowers"][1]
        old, new = second["loans"][0]["loan_id"], first["loans"][0]["loan_id"]
        for loan in second["loans"]:
            if loan["loan_id"] == old:
                loan["loan_id"] = new
        for statement in second["repayments"]:
            if statement["loan_id"] == old:
                statement["loan_id"] = new

    bad = _mutate(good_request, clash)
    response = app_client.post("/score", json=bad, headers=KEY)
    assert response.status_code == 400, response.text
    assert "borrowers.1.loans.0 repeats the loan_id of borrowers.0.loans.0" in response.text
    assert good_request["borrowers"][0]["loans"][0]["loan_id"] not in response.text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda r: _first_statement(r).update(instalment_no=10**20), "instalment_no"),
        (
            lambda r: r["borrowers"][0]["operating_signals"][0].update(value=1e308),
            "operating_signals",
        ),
        (lambda r: r["borrowers"][0]["loans"][0].update(amount=1e-300), "amount"),
    ],
)
def test_absurd_numbers_are_a_400_not_a_500(app_client, good_request, change, named):
    response = app_client.post("/score", json=_mutate(good_request, change), headers=KEY)
    assert response.status_code == 400, response.text
    assert named in response.text


def test_score_features_notes_unknown_labels(app_client, good_request, bundle):
    features = _features_of(bundle, good_request)[0]
    row = {"loan_id": "L-x", "borrower_id": "B-x", "as_of": "2025-06-30", "features": features}
    row["features"] = {**features, "area": "xihu"}
    response = app_client.post("/score_features", json={"rows": [row]}, headers=KEY)
    assert response.status_code == 200, response.text
    assert response.json()["scores"][0]["notes"] == [
        "area 'xihu' is unknown to the model: scored as other"
    ]


def test_a_model_reading_features_this_code_does_not_build_is_refused(bundle):
    from dataclasses import replace

    from serving.scoring import RequestError, check_compatible

    check_compatible(bundle)
    stale = replace(
        bundle,
        info=bundle.info.model_copy(update={"features": [*bundle.features, "ever_delinquent"]}),
    )
    with pytest.raises(RequestError, match="ever_delinquent"):
        check_compatible(stale)


def test_registry_uris_never_show_a_password():
    from serving.registry import masked

    assert (
        masked("postgresql://risk:s3cret@db:5432/mlflow") == "postgresql://risk:***@db:5432/mlflow"
    )
    assert masked("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def _renewal_request(served: Served, book) -> tuple[dict[str, Any], str]:
    """A request at the test month of a borrower with an open renewal, and the renewed id."""
    loans = served.tables["loans"]
    renewals = loans[loans["renewal_of"].notna() & loans["loan_id"].isin(book["loan_id"])]
    renewal = renewals.iloc[0]
    body = score_request(served.tables, [str(renewal["borrower_id"])], AS_OF_MONTH, "en")
    return body, str(renewal["renewal_of"])


def test_a_renewal_sent_without_the_renewed_loans_statements_is_noted(served, book):
    """Without the renewed loan's statements up to the renewal, whether it was past due (the
    renewal flag) is unknown: the answer says so."""
    from serving.schemas import BorrowerHistory, history_notes

    body, renewed = _renewal_request(served, book)
    entry = body["borrowers"][0]
    assert not any("renews a loan" in n for n in history_notes(BorrowerHistory(**entry)))
    entry["repayments"] = [s for s in entry["repayments"] if s["loan_id"] != renewed]
    notes = history_notes(BorrowerHistory.model_validate(entry))
    assert any("renews a loan sent without statements up to the renewal" in n for n in notes)


def test_a_renewed_loans_statements_inside_the_window_are_required(app_client, served, book):
    """They are history like any other: leaving them out is a 400, not a guess. (Only a
    renewal older than the window may come without them, scored with the note above.)"""
    body, renewed = _renewal_request(served, book)
    entry = body["borrowers"][0]
    entry["repayments"] = [s for s in entry["repayments"] if s["loan_id"] != renewed]
    answer = app_client.post("/score", json=body, headers=KEY)
    assert answer.status_code == 400, answer.text
    assert "statements for" in answer.text and "are missing" in answer.text


def test_the_openapi_document_states_the_key_and_every_answer_the_service_gives(app_client):
    """Generated clients learn the X-API-Key scheme, the 401/415/503 answers, required bodies
    and GET /model from the served document; the framework's own parts are kept."""
    document = app_client.get("/docs.json").json()  # open, like the probes
    scheme = document["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    paths = document["paths"]
    assert {"/score", "/score_features", "/ping", "/model", "/readyz"} <= set(paths)
    for path in ("/score", "/score_features"):
        post = paths[path]["post"]
        assert post["security"] == [{"ApiKey": []}]
        assert {"200", "400", "401", "409", "415", "503"} <= set(post["responses"])
        assert post["requestBody"]["required"] is True
    assert {"401", "415"} <= set(paths["/ping"]["post"]["responses"])
    assert "503" not in paths["/ping"]["post"]["responses"]
    assert paths["/model"]["get"]["security"] == [{"ApiKey": []}]
    assert "security" not in paths["/readyz"]["get"]
    assert "ScoreRequestIODescriptor" in document["components"]["schemas"]
    # What the document says is what the service does.
    assert app_client.get("/model").status_code == 401
    assert app_client.get("/model", headers=KEY).status_code == 200
    form = {"Content-Type": "application/x-www-form-urlencoded", **KEY}
    assert app_client.post("/score", content=b"a=1", headers=form).status_code == 415


def test_completing_the_document_keeps_what_the_framework_wrote():
    from serving.openapi import complete_document

    framework = {
        "openapi": "3.0.2",
        "paths": {
            "/livez": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/score": {
                "post": {
                    "requestBody": {"content": {"application/json": {}}},
                    "responses": {"400": {"description": "framework's own"}},
                }
            },
        },
    }
    before = copy.deepcopy(framework)
    done = complete_document(framework)
    assert framework == before  # the framework's document is not modified in place
    assert done["paths"]["/score"]["post"]["responses"]["400"] == {"description": "framework's own"}
    assert done["paths"]["/livez"] == before["paths"]["/livez"]
    assert done["paths"]["/model"]["get"]["security"] == [{"ApiKey": []}]


def test_the_stage_basis_speaks_the_language_asked_for(app_client, good_request):
    answers = {
        language: app_client.post(
            "/score", json={**good_request, "language": language}, headers=KEY
        ).json()["scores"]
        for language in ("zh", "en")
    }
    for zh, en in zip(answers["zh"], answers["en"], strict=True):
        assert zh["stage_hint"]["stage"] == en["stage_hint"]["stage"]
        assert "违约" in zh["stage_hint"]["basis"] or "逾期" in zh["stage_hint"]["basis"]
        assert "PD" in en["stage_hint"]["basis"] or "days past due" in en["stage_hint"]["basis"]


def test_a_named_request_is_recorded_once_and_its_retry_refused(app_client, served, good_request):
    """A client's request_id makes a retry safe: the first call is scored and recorded under
    that id, a second call with it gets 409 and writes nothing."""
    ledger = ledger_of(served)
    named = {**good_request, "request_id": "bank-7:2025-06:0001"}
    first = app_client.post("/score", json=named, headers=KEY)
    assert first.status_code == 200, first.text
    assert first.json()["request_id"] == "bank-7:2025-06:0001"
    recorded = ledger.count(request_id="bank-7:2025-06:0001")
    assert recorded == len(first.json()["scores"]) > 0
    total = ledger.count()
    again = app_client.post("/score", json=named, headers=KEY)
    assert again.status_code == 409, again.text
    message = again.json()["error"]  # one object, as the OpenAPI document says
    assert "bank-7:2025-06:0001" in message and "already recorded" in message
    assert ledger.count() == total
    # The same name on the feature-row endpoint is refused too: ids are the ledger's.
    rows = {"request_id": "bank-7:2025-06:0001", "rows": _feature_rows(ledger, first.json())}
    assert app_client.post("/score_features", json=rows, headers=KEY).status_code == 409
    assert ledger.count() == total
    # Unnamed requests are never refused as retries.
    for _ in range(2):
        assert app_client.post("/score", json=good_request, headers=KEY).status_code == 200


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "naïve", "a/b"])
def test_a_request_id_outside_the_alphabet_is_a_400(app_client, good_request, name):
    answer = app_client.post("/score", json={**good_request, "request_id": name}, headers=KEY)
    assert answer.status_code == 400 and "request_id" in answer.text, answer.text


def _feature_rows(ledger, answer):
    features = ledger.read_features(request_id=answer["request_id"])
    return [
        {
            "loan_id": score["loan_id"],
            "borrower_id": score["borrower_id"],
            "as_of": score["as_of"],
            "features": {"dpd_now": 0.0},
        }
        for score in answer["scores"][: len(features)]
    ]


def test_every_refusal_is_one_error_object(app_client, bundle):
    """The framework wraps its own refusals in a list; callers get {"error": ...} always."""
    row = {"loan_id": "L1", "borrower_id": "B1", "as_of": "2025-06-30", "features": {}}
    refused = app_client.post("/score_features", json={"rows": [row]}, headers=KEY)
    assert refused.status_code == 400
    assert isinstance(refused.json(), dict) and "missing" in refused.json()["error"]
    for answer in (
        app_client.post("/score", json={"as_of": "2025-06-30"}, headers=KEY),  # pydantic's 400
        app_client.post("/score", json={}),  # 401 from our middleware
    ):
        assert answer.status_code in (400, 401) and isinstance(answer.json()["error"], str)

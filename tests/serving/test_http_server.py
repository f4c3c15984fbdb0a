"""The scoring service as a real ``ews-serve start`` (``bentoml serve``) process, over HTTP.

``test_service_app.py`` covers the behaviours in-process; here the essentials cross a real
process boundary: a good request is scored and recorded once per loan, API keys, refusals that
write nothing, ``GET /model``, the OpenAPI and the probes (one server for the module, SQLite
ledger under the served home); serving the bundled copy when the registry is unreachable;
a PostgreSQL ledger; and a home with nothing to serve refusing to start. Every server started
here is stopped (SIGTERM to its process group) at the end of its fixture or test, also on
failure.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import create_engine

from serving.client import score_request
from tests.integration.servers import ServerError, free_port, stop_process_group
from tests.serving.conftest import API_KEYS, AS_OF_MONTH, Served, environment
from tests.serving.http_server import ScoringServer, home_environment, start_scoring_server

KEY = {"X-API-Key": API_KEYS[0]}
#: Nothing listens on the discard port of the loopback: connections are refused at once.
UNREACHABLE_REGISTRY = "http://127.0.0.1:9"
#: Generous for a 2-core box: the first request also warms the model.
HTTP_TIMEOUT_S = 120.0


@contextmanager
def running_server(env: dict[str, str], workdir: Path) -> Iterator[ScoringServer]:
    """A scoring server for the block; a start failure fails the test with the log tail."""
    problem: str | None = None
    try:
        server = start_scoring_server(env, workdir)
    except ServerError as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: one message, no chained copy
        pytest.fail(problem, pytrace=False)
    try:
        yield server
    finally:
        stop_process_group(server.process)


@contextmanager
def http(server: ScoringServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=HTTP_TIMEOUT_S) as client:
        yield client


def open_ledger_of(env: dict[str, str]) -> Any:
    """The ledger a server with this environment writes to (same URL, same pseudonym key)."""
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    with environment(env):
        return open_ledger(get_serving_settings())


def open_loan_borrowers(tables: dict[str, pd.DataFrame], month: str) -> list[str]:
    """Two borrowers with a loan open at the end of ``month``: statements due in that month and
    the next (so nothing ended it by then); the first and the median id, for determinism."""
    repayments = tables["repayments"]
    due = pd.to_datetime(repayments["due_date"]).dt.to_period("M")
    this = pd.Period(month, "M")
    running = set(repayments.loc[due == this, "loan_id"]) & set(
        repayments.loc[due == this + 1, "loan_id"]
    )
    loans = tables["loans"]
    ids = sorted(loans.loc[loans["loan_id"].isin(running), "borrower_id"].astype(str).unique())
    assert len(ids) >= 2, f"the simulated book has no two borrowers open at {month}"
    return [ids[0], ids[len(ids) // 2]]


# The module's server: the served champion, SQLite ledger under the served home ---------------


@pytest.fixture(scope="module")
def server(served: Served, tmp_path_factory) -> Iterator[ScoringServer]:
    with running_server(served.environment(), tmp_path_factory.mktemp("http_server")) as started:
        yield started


@pytest.fixture(scope="module")
def client(server: ScoringServer) -> Iterator[httpx.Client]:
    with http(server) as started:
        yield started


@pytest.fixture(scope="module")
def ledger(served: Served) -> Iterator[Any]:
    opened = open_ledger_of(served.environment())
    yield opened
    opened.dispose()


@pytest.fixture(scope="module")
def watched_ids(served: Served) -> list[str]:
    return open_loan_borrowers(served.tables, AS_OF_MONTH)


@pytest.fixture(scope="module")
def good_request(served: Served, watched_ids: list[str]) -> dict[str, Any]:
    return score_request(served.tables, watched_ids, AS_OF_MONTH, "en")


def test_a_good_request_is_scored_and_recorded_once_per_loan(
    client, served, ledger, good_request, watched_ids
):
    response = client.post("/score", json=good_request, headers=KEY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["model_version"] == served.version and body["not_scored"] == []
    assert {s["borrower_id"] for s in body["scores"]} == set(watched_ids)
    for score in body["scores"]:
        assert 0 <= score["pd_12m"] <= 1 and score["as_of"] == good_request["as_of"]
        assert score["grade"] in {"green", "blue", "yellow", "orange", "red"}
    loans = [s["loan_id"] for s in body["scores"]]
    assert len(set(loans)) == len(loans)
    rows = ledger.read(request_id=body["request_id"])
    assert sorted(rows["loan_pseudonym"]) == sorted(map(ledger.pseudonym_of_loan, loans))
    assert set(rows["source"]) == {"score"}
    recorded = rows.set_index("loan_pseudonym")["pd_12m"]
    assert all(
        recorded[ledger.pseudonym_of_loan(s["loan_id"])] == s["pd_12m"] for s in body["scores"]
    )


def test_scoring_needs_a_valid_api_key(client, ledger, good_request):
    before = ledger.count()
    for headers in ({}, {"X-API-Key": "not-a-key"}, {"X-API-Key": ""}):
        response = client.post("/score", json=good_request, headers=headers)
        assert response.status_code == 401, response.text
        assert "X-API-Key" in response.headers["www-authenticate"]
        assert client.get("/model", headers=headers).status_code == 401
    assert ledger.count() == before
    assert client.get("/model", headers={"X-API-Key": API_KEYS[1]}).status_code == 200


def _first_statement(request: dict[str, Any]) -> dict[str, Any]:
    return request["borrowers"][0]["repayments"][0]


BAD_REQUESTS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "date after as_of": (
        lambda r: _first_statement(r).update(due_date="2099-01-31"),
        "repayments.0.due_date",
    ),
    "negative amount": (lambda r: _first_statement(r).update(amount_paid=-5.0), "amount_paid"),
    "missing field": (lambda r: r["borrowers"][0]["borrower"].pop("area"), "area"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_is_a_400_naming_the_field_and_writes_nothing(
    client, ledger, good_request, case
):
    change, named = BAD_REQUESTS[case]
    bad = copy.deepcopy(good_request)
    change(bad)
    before = ledger.count()
    response = client.post("/score", json=bad, headers=KEY)
    assert response.status_code == 400, response.text
    assert named in response.text
    assert ledger.count() == before


def test_model_names_the_served_registry_champion(client, served):
    response = client.get("/model", headers=KEY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == served.version
    assert body["source"].startswith("registry champion")
    assert f"version {served.version}" in body["source"]
    assert "dpd_now" in body["features"] and body["policy"]["version"]


def test_the_openapi_document_is_open_and_lists_the_endpoints(client):
    response = client.get("/docs.json")
    assert response.status_code == 200, response.text
    document = response.json()
    paths = document["paths"]
    assert {"/score", "/score_features", "/model"} <= set(paths)
    assert "post" in paths["/score"] and "post" in paths["/score_features"]
    assert "get" in paths["/model"]  # the mounted FastAPI app's route is merged in
    schemas = set(document["components"]["schemas"])
    assert {"BorrowerHistory", "Repayment", "LoanScore", "FeatureRow"} <= schemas


def test_the_probes_need_no_key(client):
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


# Other servers, one per test, each stopped at its end -----------------------------------------


def test_with_the_registry_unreachable_the_bundled_copy_is_served(
    server, client, served, ledger, good_request, tmp_path
):
    """The module's server has bundled the champion; then its registry goes away (the SQLite
    store's file is moved aside) and a second server starts on the same registry URI."""
    store = served.home / "mlflow.db"
    aside = served.home / "mlflow.db.away"
    store.rename(aside)
    try:
        with running_server(served.environment(), tmp_path) as fallback, http(fallback) as other:
            model = other.get("/model", headers=KEY)
            assert model.status_code == 200, model.text
            source = model.json()["source"]
            assert source.startswith(f"bundled copy of version {served.version}"), source
            assert "registry unreachable" in source and "does not exist" in source
            assert model.json()["model_version"] == served.version
            response = other.post("/score", json=good_request, headers=KEY)
    finally:
        aside.rename(store)
    assert response.status_code == 200, response.text
    body = response.json()
    assert ledger.count(request_id=body["request_id"]) == len(body["scores"]) > 0
    champion = client.post("/score", json=good_request, headers=KEY).json()["scores"]
    assert {s["loan_id"]: s["pd_12m"] for s in body["scores"]} == {
        s["loan_id"]: s["pd_12m"] for s in champion
    }


def test_a_copy_bundled_from_another_registry_is_not_served(served, tmp_path):
    """An unreachable registry that never had a champion here has nothing to fall back to,
    even though a copy from another registry sits in the store: exit 3, one line."""
    env = {**os.environ, **served.environment(EWS_TRACKING_URI=UNREACHABLE_REGISTRY)}
    command = [str(Path(sys.executable).with_name("ews-serve")), "start", "--port", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "no bundled copy" in done.stderr


@pytest.fixture
def postgres_ledger_url(ledger_postgres_url: str) -> Iterator[str]:
    """The session's PostgreSQL database with no ledger tables before or after the test (the
    ledger tests expect an empty database, keyed with their own pseudonym key)."""
    from serving.ledger import metadata

    def drop() -> None:
        engine = create_engine(ledger_postgres_url)
        try:
            metadata.drop_all(engine)
        finally:
            engine.dispose()

    drop()
    try:
        yield ledger_postgres_url
    finally:
        drop()


def test_a_postgresql_ledger_receives_every_scored_loan(
    client, served, ledger, good_request, postgres_ledger_url, tmp_path
):
    env = served.environment(EWS_LEDGER_URL=postgres_ledger_url)
    postgres = open_ledger_of(env)
    try:
        with running_server(env, tmp_path) as started, http(started) as other:
            response = other.post("/score", json=good_request, headers=KEY)
        assert response.status_code == 200, response.text
        body = response.json()
        assert postgres.count(request_id=body["request_id"]) == len(body["scores"]) > 0
        rows = postgres.read(request_id=body["request_id"])
        loans = [s["loan_id"] for s in body["scores"]]
        assert sorted(rows["loan_pseudonym"]) == sorted(map(postgres.pseudonym_of_loan, loans))
        # the same pseudonym key as the SQLite ledger: one loan, one borrower, one pseudonym
        # each everywhere
        on_sqlite = client.post("/score", json=good_request, headers=KEY).json()["request_id"]
        sqlite_rows = ledger.read(request_id=on_sqlite).set_index("loan_pseudonym")
        assert sorted(sqlite_rows.index) == sorted(rows["loan_pseudonym"])
        assert (
            rows.set_index("loan_pseudonym")["borrower_pseudonym"]
            .sort_index()
            .equals(sqlite_rows["borrower_pseudonym"].sort_index())
        )
    finally:
        postgres.dispose()


def test_a_home_with_nothing_to_serve_refuses_to_start(tmp_path):
    """No registry store and nothing bundled: exit 3 with a one-line reason, never a server."""
    home = tmp_path / "empty_home"
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("EWS_") and k != "BENTOML_HOME"
    }
    env = {**inherited, **home_environment(home, API_KEYS[0])}
    command = [str(Path(sys.executable).with_name("ews-serve")), "start"]
    process = subprocess.Popen(
        [*command, "--port", str(free_port())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        stop_process_group(process)
    assert process.returncode == 3, f"exit {process.returncode}\n{out}\n{err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "no bundled copy" in lines[0]
    assert not (home / "mlflow.db").exists()  # looking did not create an empty store


def test_one_named_request_sent_many_times_at_once_is_recorded_once(server, ledger, good_request):
    """Concurrent retries of one request_id: exactly one is scored and recorded, every other
    gets 409 (the ledger's check or, in a race, its unique key), none a 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    named = {**good_request, "request_id": "retry-storm-1"}

    def send(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=120) as one:
            return one.post("/score", json=named, headers=KEY).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(send, range(6)))
    assert statuses == [200] + [409] * 5, statuses
    rows = ledger.read(request_id="retry-storm-1")
    assert len(rows) == rows["loan_pseudonym"].nunique() > 0

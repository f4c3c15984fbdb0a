"""Fixtures of the serving tests: ledgers on SQLite and a fresh PostgreSQL database; a served model.

The PostgreSQL database is real: one uniquely named ``ews_ledger_<pid>_<hex>`` database is
created on the session's server (``postgres_admin_url``, tests/conftest.py: the one named by
``EWS_TEST_POSTGRES_URL``, else an embedded server the session starts) and dropped at the end
of the session, with the helpers the MLflow integration tests use. Without a PostgreSQL the
tests that need it fail, never skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine

from serving.ledger import WarningLedger, metadata
from tests.postgres import ServerError, create_database, drop_database
from tests.serving.http_server import environment, home_environment

#: Key of the test pseudonyms (fixed: tests are deterministic).
TEST_KEY = bytes(range(32))

LedgerFactory = Callable[..., WarningLedger]


@pytest.fixture(scope="session")
def ledger_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh database on the session's PostgreSQL, dropped at its end."""
    problem: str | None = None
    try:
        name, url = create_database(prefix="ews_ledger")
    except ServerError as exc:
        problem = str(exc)
    if problem is not None:  # failed outside the except block: one message, no chained copy
        pytest.fail(problem, pytrace=False)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_factory(request, tmp_path: Path) -> Iterator[LedgerFactory]:
    """Make ledgers on one empty database of each backend; all disposed (and, on PostgreSQL,
    the tables dropped) after the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}"
    else:
        url = request.getfixturevalue("ledger_postgres_url")
    made: list[WarningLedger] = []

    def make(key: bytes = TEST_KEY) -> WarningLedger:
        ledger = WarningLedger(url, key)
        made.append(ledger)
        return ledger

    yield make
    for ledger in made:
        ledger.dispose()
    if request.param == "postgresql":
        engine = create_engine(url)
        try:
            metadata.drop_all(engine)
        finally:
            engine.dispose()


@pytest.fixture
def any_ledger(ledger_factory: LedgerFactory) -> WarningLedger:
    """An empty ledger on SQLite, then on PostgreSQL."""
    return ledger_factory()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[WarningLedger]:
    """An empty ledger on a SQLite file in ``tmp_path``."""
    ledger = WarningLedger(f"sqlite:///{tmp_path / 'ledger.db'}", TEST_KEY)
    yield ledger
    ledger.dispose()


# A served model --------------------------------------------------------------------------

#: API keys of the test services.
API_KEYS = ("test-key-alpha", "test-key-beta")
#: The month the tests score at (the simulated book runs 2023-01 to 2025-12).
AS_OF_MONTH = "2025-06"


@dataclass(frozen=True)
class Served:
    """An ``EWS_HOME`` holding a registered champion trained on a simulated book."""

    home: Path
    portfolio: Path
    tables: dict[str, pd.DataFrame]
    tracking_uri: str
    version: str

    def environment(self, **extra: str) -> dict[str, str]:
        """Variables a service process on this home needs."""
        return home_environment(self.home, ",".join(API_KEYS), **extra)


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Served:
    """Simulate a small book, train, register and make version 1 the champion (SQLite store)."""
    from mlflow import MlflowClient

    from features.io import write_tables
    from features.settings import default_tracking_uri
    from features.simulator import simulate_portfolio
    from models.names import CHAMPION, MODEL_NAME
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import data_fingerprint, log_training

    home = tmp_path_factory.mktemp("ews_home")
    tables = simulate_portfolio(2000, 36, 4).tables
    portfolio = home / "data" / "portfolio"
    write_tables(tables, portfolio)
    result = train_warning_model(tables, TrainingConfig.for_book(tables, n_estimators=40))
    uri = default_tracking_uri(home)
    run = log_training(result, uri, home / "artifacts", data_fingerprint(tables))
    MlflowClient(uri).set_registered_model_alias(MODEL_NAME, CHAMPION, run.version)
    return Served(home, portfolio, tables, uri, run.version)


@pytest.fixture(scope="session")
def app_client(served: Served) -> Iterator[Any]:
    """The service as an in-process ASGI app (``to_asgi``) behind Starlette's test client."""
    from starlette.testclient import TestClient

    with environment(served.environment()):
        from serving.service import WarningService

        app = WarningService.to_asgi()
        with TestClient(app) as client:
            yield client


@pytest.fixture(scope="session")
def bundle(served: Served, app_client):
    """The champion as the service loads it."""
    from serving.registry import load_champion
    from serving.settings import get_serving_settings

    with environment(served.environment()):
        return load_champion(get_serving_settings())


@pytest.fixture(scope="session")
def book(served: Served, bundle) -> pd.DataFrame:
    """The whole book scored at the test month through the portfolio path."""
    from serving.portfolio import score_book

    return score_book(bundle, served.tables, AS_OF_MONTH).frame()


# Figures of load runs, shown in the terminal summary ---------------------------------------


class _Figures:
    """Lines shown in the terminal summary (a plugin registered by the fixture below)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.lines:
            terminalreporter.write_sep("-", "serving load runs")
            for line in self.lines:
                terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> list[str]:
    plugin = _Figures()
    request.config.pluginmanager.register(plugin, f"serving-load-figures-{id(plugin)}")
    return plugin.lines

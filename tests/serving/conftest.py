"""Fixtures of the serving tests: ledgers on a SQLite file and on a fresh PostgreSQL database.

The PostgreSQL database is real: one uniquely named ``ews_ledger_<pid>_<hex>`` database is
created on the local server (CI has it at 127.0.0.1:5432, trust auth) for the test session and
dropped at its end, with the helpers the MLflow integration tests use. An unreachable
PostgreSQL fails the tests that need it, never skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from serving.ledger import WarningLedger, metadata
from tests.integration.servers import ServerError, create_database, drop_database

#: Key of the test pseudonyms (fixed: tests are deterministic).
TEST_KEY = bytes(range(32))

LedgerFactory = Callable[..., WarningLedger]


@pytest.fixture(scope="session")
def ledger_postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database, dropped at the end of the session."""
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

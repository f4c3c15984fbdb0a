"""Fixtures shared by every test package: the session's PostgreSQL server.

``postgres_admin_url`` is the one definition of the PostgreSQL the tests use (tests/postgres.py
says where it comes from: ``EWS_TEST_POSTGRES_URL``, else an embedded server this session
starts). The ledger fixtures (tests/serving/conftest.py) and the ``mlflow server`` fixture
(tests/integration/conftest.py) create their scratch databases on it.
"""

from __future__ import annotations

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """Admin URL of the session's PostgreSQL (trust auth). Fails, never skips, without one."""
    try:
        return postgres.check_reachable()
    except postgres.ServerError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except block: one message, no chain


def pytest_sessionfinish(session, exitstatus) -> None:
    # Session fixtures (and the databases they drop) are torn down before this hook runs.
    postgres.stop_postgres()


def pytest_terminal_summary(terminalreporter) -> None:
    if postgres.used is not None:
        terminalreporter.write_line(f"PostgreSQL for the tests: {postgres.used}")

"""Session fixtures for the integration tests: a real ``mlflow server`` on PostgreSQL.

Its database lives on the session's PostgreSQL (``postgres_admin_url``, tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.servers import (
    MlflowServer,
    ServerError,
    start_mlflow_server,
    stop_mlflow_server,
)

_started: list[MlflowServer] = []


@pytest.fixture(scope="session")
def mlflow_server(postgres_admin_url: str, tmp_path_factory) -> Iterator[MlflowServer]:
    """``mlflow server`` on a fresh PostgreSQL database with proxied local artifacts.

    Fails (never skips) when there is no PostgreSQL or the server does not come up. Stopped
    with SIGTERM to its process group, and its database dropped, at session end.
    """
    try:
        server = start_mlflow_server(tmp_path_factory.mktemp("mlflow_server"))
    except ServerError as exc:
        problem = str(exc)
    else:
        problem = None
    if problem is not None:  # failed outside the except block: one message, no chained copy
        pytest.fail(problem, pytrace=False)
    _started.append(server)
    yield server
    stop_mlflow_server(server)


def pytest_terminal_summary(terminalreporter) -> None:
    for server in _started:
        terminalreporter.write_line(
            f"mlflow server (PostgreSQL {server.database}) healthy in {server.started_in_s:.1f} s"
        )


@pytest.fixture(scope="session")
def shocked(tmp_path_factory):
    """The book with Deqing's manufacturers shocked from 2024-07, monitored (books.py)."""
    from tests.integration.books import monitor_book

    return monitor_book(tmp_path_factory.mktemp("shocked_book"), severity=0.8)


@pytest.fixture(scope="session")
def calm(tmp_path_factory):
    """The same book without the shock, monitored."""
    from tests.integration.books import monitor_book

    return monitor_book(tmp_path_factory.mktemp("calm_book"), severity=None)

"""Monitoring reads a PostgreSQL ledger exactly as it reads SQLite (same URL settings)."""

from __future__ import annotations

import pandas as pd
import pytest

from monitoring.current import read_ledger_months
from tests.monitoring.conftest import SCORED_MONTHS, Monitored
from tests.postgres import ServerError, create_database, drop_database
from tests.serving.http_server import environment

MONTH = SCORED_MONTHS[0]


@pytest.fixture
def postgres_ledger_url(postgres_admin_url: str):
    problem = None
    try:
        name, url = create_database(prefix="ews_monitor")
    except ServerError as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    yield url
    drop_database(name)


def test_a_month_read_from_postgresql_equals_the_same_month_read_from_sqlite(
    monitored: Monitored, postgres_ledger_url, tmp_path
):
    from serving.portfolio_run import run_portfolio
    from serving.registry import configure_environment, load_champion
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    with environment(monitored.environment(EWS_LEDGER_URL=postgres_ledger_url)):
        settings = get_serving_settings()
        configure_environment(settings)
        bundle = load_champion(settings)
        run_portfolio(bundle, monitored.tables, MONTH, tmp_path / "run", settings)
        ledger = open_ledger(settings)
        try:
            from_postgres = read_ledger_months(ledger, [MONTH], monitored.version)
        finally:
            ledger.dispose()
    with environment(monitored.environment()):
        ledger = open_ledger(get_serving_settings())
        try:
            from_sqlite = read_ledger_months(ledger, [MONTH], monitored.version)
        finally:
            ledger.dispose()
    assert len(from_postgres) > 1000
    order = ["loan_key"]
    pd.testing.assert_frame_equal(
        from_postgres.sort_values(order, ignore_index=True),
        from_sqlite.sort_values(order, ignore_index=True),
    )

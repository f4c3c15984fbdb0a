"""A monitored home: a champion trained on a simulated book, months scored through the ledger.

Built once per session in-process: simulate 2,000 borrowers x 36 months, train and register
version 1 as champion (SQLite tracking store under the home), then assess four months after
the training window with the real portfolio run, which writes the SQLite ledger and the
portfolio-run folders exactly as ``ews-serve score-portfolio`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.serving.http_server import environment, home_environment

SCORED_MONTHS = ("2024-07", "2024-08", "2024-09", "2024-10")
#: Also scored, apart from the series: a month whose outcomes the book cannot know yet.
UNMATURED_MONTH = "2025-11"


@dataclass(frozen=True)
class Monitored:
    home: Path
    portfolio: Path
    tables: dict[str, pd.DataFrame]
    tracking_uri: str
    version: str
    reports: Path

    def environment(self, **extra: str) -> dict[str, str]:
        return home_environment(self.home, "k", **extra)


@pytest.fixture(scope="session")
def monitored(tmp_path_factory) -> Iterator[Monitored]:
    from mlflow import MlflowClient

    from features.io import write_tables
    from features.settings import default_tracking_uri
    from features.simulator import simulate_portfolio
    from models.names import CHAMPION, MODEL_NAME
    from serving.portfolio_run import run_portfolio
    from serving.registry import configure_environment, load_champion
    from serving.settings import get_serving_settings
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import data_fingerprint, log_training

    home = tmp_path_factory.mktemp("monitored_home")
    tables = simulate_portfolio(2000, 36, 11).tables
    portfolio = home / "data" / "portfolio"
    write_tables(tables, portfolio)
    result = train_warning_model(tables, TrainingConfig.for_book(tables, n_estimators=40))
    uri = default_tracking_uri(home)
    run = log_training(result, uri, home / "mlartifacts", data_fingerprint(tables))
    MlflowClient(uri).set_registered_model_alias(MODEL_NAME, CHAMPION, run.version)
    reports = home / "reports"
    state = Monitored(home, portfolio, tables, uri, run.version, reports)
    with environment(state.environment()):
        settings = get_serving_settings()
        configure_environment(settings)
        bundle = load_champion(settings)
        for month in (*SCORED_MONTHS, UNMATURED_MONTH):
            run_portfolio(bundle, tables, month, reports / f"assessment-{month}", settings)
    yield state

"""Two simulated books monitored end to end, shared by the monitoring and provision tests.

Each book runs the whole chain a bank would: simulate 20,000 borrowers x 36 months, validate
through disk, train and promote a champion (its windows end before the shock, 2024-06), assess
every month from 2024-07 to 2025-06 with the real portfolio run (each month recorded in the
SQLite ledger), then ``ews-monitor drift`` and ``ews-monitor performance`` read the ledger.

The shock: Deqing's manufacturers (about 350 open loans) lose orders from 2024-07 for six
months, at severity 0.8 on an economy whose common factors hold still. Measured on this code
(2026-12-03): the segment's orange/red share rises 2.9x by 2024-11 and the drift run breaches
there first in 2024-11 (shock month 5), again in 2025-01 and 2025-02; no segment without
shocked loans breaches. The shipped file's 0.4 moves the segment's signal inputs into the
watch band by month 2 but its PD and grades stay inside what 350 loans show by chance
(docs/monitoring.md). The champion's labels (12-month outcomes of months up to 2024-06)
overlap the shock: that makes the test harder, not easier (its reference PDs already carry
part of it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from monitoring.cli import app
from tests.serving.http_server import environment, home_environment

BORROWERS, MONTHS, SEED = 20_000, 36, 20261127
SERIES = [str(pd.Period("2024-07", "M") + k) for k in range(12)]
HIT = "area x industry=deqing x manufacturing"
#: Segments that hold shocked loans (all others are untouched by the shock).
TOUCHED = {HIT, "area=deqing", "industry=manufacturing", "book"}
SCENARIOS = Path(__file__).resolve().parents[2] / "features" / "scenarios"
runner = CliRunner()


@dataclass(frozen=True)
class Monitored:
    home: Path
    drift: dict
    drift_exit: int
    segments: pd.DataFrame
    performance: dict
    performance_exit: int
    folder: Path


def _scenario(severity: float | None):
    from features.simulator import load_scenario

    calm = load_scenario(SCENARIOS / "calm.yaml")
    if severity is None:
        return calm
    shock = load_scenario(SCENARIOS / "deqing_manufacturing_slowdown.yaml")
    shocks = tuple(s.model_copy(update={"severity": severity}) for s in shock.shocks)
    return shock.model_copy(
        update={"common_innovations": calm.common_innovations, "shocks": shocks}
    )


def monitor_book(home: Path, severity: float | None) -> Monitored:
    from mlflow import MlflowClient

    from features.io import write_tables
    from features.settings import default_tracking_uri
    from features.simulator import simulate_portfolio
    from features.validation import load_validated_portfolio
    from models.names import CHAMPION, MODEL_NAME
    from serving.portfolio_run import run_portfolio
    from serving.registry import configure_environment, load_champion
    from serving.settings import get_serving_settings
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import data_fingerprint, log_training

    portfolio = home / "data" / "portfolio"
    simulated = simulate_portfolio(BORROWERS, MONTHS, SEED, scenario=_scenario(severity))
    write_tables(simulated.tables, portfolio)
    del simulated
    tables = load_validated_portfolio(portfolio)
    result = train_warning_model(tables, TrainingConfig.for_book(tables))
    uri = default_tracking_uri(home)
    run = log_training(result, uri, home / "mlartifacts", data_fingerprint(tables))
    MlflowClient(uri).set_registered_model_alias(MODEL_NAME, CHAMPION, run.version)
    del result
    out = home / "reports" / "monitoring"
    with environment(home_environment(home, "k")):
        settings = get_serving_settings()
        configure_environment(settings)
        bundle = load_champion(settings)
        for month in SERIES:
            run_portfolio(bundle, tables, month, home / "reports" / f"assessment-{month}", settings)
        months = f"{SERIES[0]}:{SERIES[-1]}"
        drift = runner.invoke(
            app,
            [
                *("drift", "--as-of", months, "--out", str(out / "drift")),
                *("--workspace", str(home / "evidently"), "--no-evidently-reports"),
            ],
        )
        performance = runner.invoke(
            app,
            [
                *("performance", "--data", str(portfolio), "--as-of", months),
                *("--out", str(out / "performance"), "--workspace", str(home / "evidently")),
            ],
        )
    assert drift.exit_code in (0, 1), drift.output
    assert performance.exit_code in (0, 1), performance.output
    _keep_record(home.name, out)
    return Monitored(
        home,
        json.loads((out / "drift" / "summary.json").read_text()),
        drift.exit_code,
        pd.read_csv(out / "drift" / "segments.csv"),
        json.loads((out / "performance" / "summary.json").read_text()),
        performance.exit_code,
        out,
    )


def _keep_record(name: str, out: Path) -> None:
    """The runs' summaries kept as a test artifact (tests/artifacts or $EWS_TEST_ARTIFACTS):
    the measured figures docs/monitoring.md quotes."""
    from tests.monitoring.test_dashboard_ui import artifacts_dir

    record = {
        "drift": json.loads((out / "drift" / "summary.json").read_text()),
        "performance": json.loads((out / "performance" / "summary.json").read_text()),
    }
    target = artifacts_dir() / f"monitoring-{name.rstrip('0123456789')}.json"
    target.write_text(json.dumps(record, indent=1))

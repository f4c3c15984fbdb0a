"""``ews-monitor drift --cluster``: one Dask task per month on a real LocalCluster, each
reading its own month from the ledger (or a run folder); the same tables as one process."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from features.partitioned import in_process
from monitoring.cli import app
from monitoring.current import LedgerMonthReader, read_ledger_months
from monitoring.drift_run import run_drift, run_drift_by_month
from monitoring.reference import load_reference
from tests.monitoring.conftest import SCORED_MONTHS, Monitored
from tests.serving.http_server import environment

runner = CliRunner()
MONTHS = f"{SCORED_MONTHS[0]}:{SCORED_MONTHS[-1]}"


def _tables(folder) -> dict[str, pd.DataFrame]:
    return {
        "segments": pd.read_csv(folder / "segments.csv"),
        "grade_mix": pd.read_csv(folder / "grade_mix.csv"),
        "psi": pd.read_parquet(folder / "psi.parquet"),
    }


def test_drift_month_by_month_is_the_drift_of_the_months_together(monitored: Monitored, tmp_path):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    with environment(monitored.environment()):
        settings = get_serving_settings()
        reference = load_reference(
            settings.resolved_tracking_uri, settings.model_name, monitored.version
        )
        ledger = open_ledger(settings)
        current = read_ledger_months(ledger, list(SCORED_MONTHS), monitored.version)
        ledger.dispose()
        together = run_drift(
            reference, current, SCORED_MONTHS, tmp_path / "a", source="s", evidently_reports=True
        )
        apart = run_drift_by_month(
            reference,
            LedgerMonthReader(settings, monitored.version),
            SCORED_MONTHS,
            tmp_path / "b",
            source="s",
            mapper=in_process,
            evidently_reports=True,
        )
    for name in ("psi", "segments", "grade_mix"):
        pd.testing.assert_frame_equal(getattr(apart.result, name), getattr(together.result, name))
    assert apart.summary == together.summary
    reports = sorted(p.name for p in (tmp_path / "b" / "reports").iterdir())
    assert reports == [f"drift-{m}.html" for m in SCORED_MONTHS]


def test_drift_on_a_local_cluster_writes_the_same_tables(monitored: Monitored, tmp_path):
    quick = ["--no-dashboard", "--no-evidently-reports"]
    with environment(monitored.environment()):
        single = runner.invoke(
            app, ["drift", "--as-of", MONTHS, "--out", str(tmp_path / "one"), *quick]
        )
        spread = runner.invoke(
            app,
            [
                "drift",
                "--as-of",
                MONTHS,
                "--out",
                str(tmp_path / "dask"),
                "--cluster",
                "local",
                *quick,
            ],
        )
    assert single.exit_code in (0, 1), single.output
    assert spread.exit_code == single.exit_code, spread.output
    assert "worker(s) on a local cluster" in spread.output
    one, dask = _tables(tmp_path / "one"), _tables(tmp_path / "dask")
    for name in one:
        pd.testing.assert_frame_equal(dask[name], one[name])


def test_a_month_missing_from_the_ledger_fails_on_the_cluster_and_writes_nothing(
    monitored: Monitored, tmp_path
):
    out = tmp_path / "none"
    with environment(monitored.environment()):
        ran = runner.invoke(
            app,
            [
                *("drift", "--as-of", "2024-07:2024-12", "--out", str(out), "--cluster", "local"),
                *("--no-dashboard", "--no-evidently-reports"),
            ],
        )
    assert ran.exit_code == 2, ran.output
    assert "2024-11" in ran.output and "no portfolio records" in ran.output
    assert not out.exists()

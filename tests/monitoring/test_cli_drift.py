"""``ews-monitor drift`` on a monitored home: ledger and portfolio folders, and bad input."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pandas as pd
import pytest
from typer.testing import CliRunner

from monitoring.cli import app
from tests.monitoring.conftest import SCORED_MONTHS, Monitored
from tests.serving.http_server import environment

runner = CliRunner()
MONTHS = f"{SCORED_MONTHS[0]}:{SCORED_MONTHS[-1]}"
QUICK = ["--no-dashboard", "--no-evidently-reports"]


def _runs(uri: str) -> int:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("red-credit-monitoring")
    return 0 if experiment is None else len(client.search_runs([experiment.experiment_id]))


@pytest.fixture(scope="module")
def from_ledger(monitored: Monitored, tmp_path_factory):
    out = tmp_path_factory.mktemp("drift") / "ledger"
    with environment(monitored.environment()):
        result = runner.invoke(app, ["drift", "--as-of", MONTHS, "--out", str(out), *QUICK])
    return result, out


def test_drift_from_the_ledger_writes_the_evidence_and_exits_by_the_breaches(from_ledger):
    result, out = from_ledger
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (result.exit_code == 1) == (summary["breach_count"] > 0)
    assert summary["current"]["months"] == list(SCORED_MONTHS)
    assert summary["model"]["version"] == "1"
    assert summary["reference"]["rows"] > 1000 and summary["rule"]["min_rows"] == 200
    assert [row["as_of"] for row in summary["book"]] == list(SCORED_MONTHS)
    segments = pd.read_csv(out / "segments.csv")
    assert {"book", "area=deqing", "borrower_type=farmer"} <= set(segments["segment"])
    assert (segments.groupby("as_of").size() == segments.groupby("as_of").size().iloc[0]).all()
    psi = pd.read_parquet(out / "psi.parquet")
    assert {"input", "pd", "grade_mix"} == set(psi["figure"])
    assert (psi["n_current"] > 0).all() and "noise" in psi
    assert summary["mlflow_run_id"]


def test_the_run_is_an_mlflow_run_with_a_series_per_figure(monitored, from_ledger):
    from mlflow import MlflowClient

    _, out = from_ledger
    run_id = json.loads((out / "summary.json").read_text())["mlflow_run_id"]
    client = MlflowClient(monitored.tracking_uri)
    history = client.get_metric_history(run_id, "pd_psi")
    assert len(history) == len(SCORED_MONTHS)
    assert client.get_run(run_id).data.params["model_version"] == "1"
    names = {f.path for f in client.list_artifacts(run_id)}
    assert {"summary.json", "segments.csv", "psi.parquet"} <= names


def test_portfolio_run_folders_give_the_same_figures_as_the_ledger(
    monitored, from_ledger, tmp_path
):
    _, ledger_out = from_ledger
    out = tmp_path / "folders"
    with environment(monitored.environment()):
        result = runner.invoke(
            app,
            [
                "drift",
                "--as-of",
                MONTHS,
                "--book",
                str(monitored.reports),
                "--out",
                str(out),
                *QUICK,
            ],
        )
    assert result.exit_code in (0, 1), result.output
    a = pd.read_csv(ledger_out / "segments.csv")
    b = pd.read_csv(out / "segments.csv")
    pd.testing.assert_frame_equal(a, b)


def test_a_month_without_ledger_records_is_refused_and_nothing_is_written(monitored, tmp_path):
    out = tmp_path / "none"
    before = _runs(monitored.tracking_uri)
    with environment(monitored.environment()):
        result = runner.invoke(
            app,
            [
                *("drift", "--as-of", "2024-07:2024-12", "--out", str(out)),
                *("--workspace", str(tmp_path / "ws"), "--no-evidently-reports"),
            ],
        )
    assert result.exit_code == 2
    assert "2024-11" in result.output and "no portfolio records" in result.output
    assert not (tmp_path / "ws").exists()  # no dashboard workspace made for a refused run
    assert not out.exists() and _runs(monitored.tracking_uri) == before


def test_a_ledger_of_another_model_version_is_refused(monitored, tmp_path):
    copy = tmp_path / "ledger.db"
    shutil.copy(monitored.home / "ledger.db", copy)
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE warning_ledger SET model_version = '7' WHERE as_of >= '2024-09-01'")
    out = tmp_path / "other"
    with environment(monitored.environment(EWS_LEDGER_URL=f"sqlite:///{copy}")):
        result = runner.invoke(app, ["drift", "--as-of", MONTHS, "--out", str(out), *QUICK])
    assert result.exit_code == 2
    assert "2024-09 was scored by model version 7, not version 1" in result.output
    assert not out.exists()


def test_a_version_without_a_reference_is_refused_naming_it(monitored, tmp_path):
    from mlflow import MlflowClient

    from models.names import MODEL_NAME

    db = tmp_path / "mlflow.db"
    shutil.copy(monitored.home / "mlflow.db", db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri)
    experiment = (
        client.get_experiment_by_name("red-credit-retraining") or client.search_experiments()[0]
    )
    bare = client.create_run(experiment.experiment_id)
    client.set_terminated(bare.info.run_id)
    version = client.create_model_version(
        MODEL_NAME, f"runs:/{bare.info.run_id}/model", bare.info.run_id
    )
    with environment(monitored.environment(EWS_TRACKING_URI=uri)):
        result = runner.invoke(
            app, ["drift", "--as-of", MONTHS, "--model-version", str(version.version), *QUICK]
        )
        unknown = runner.invoke(app, ["drift", "--as-of", MONTHS, "--model-version", "99", *QUICK])
    assert result.exit_code == 2
    assert f"version {version.version} has no monitoring reference" in result.output
    assert unknown.exit_code == 2 and "has no version 99" in unknown.output


def test_a_bad_month_range_is_refused():
    result = runner.invoke(app, ["drift", "--as-of", "2024-13", *QUICK])
    assert result.exit_code == 2 and "2024-13" in result.output


def test_evidently_reports_and_the_dashboard_are_filled_for_every_month(monitored, tmp_path):
    from monitoring.dashboard import ensure_project, months_published, open_workspace

    out, workspace = tmp_path / "full", tmp_path / "evidently"
    with environment(monitored.environment()):
        result = runner.invoke(
            app, ["drift", "--as-of", MONTHS, "--out", str(out), "--workspace", str(workspace)]
        )
    assert result.exit_code in (0, 1), result.output
    for month in SCORED_MONTHS:
        html = (out / "reports" / f"drift-{month}.html").read_text(encoding="utf-8")
        assert "ews_psi_q10" in html or "PSI" in html
    ws = open_workspace(workspace)
    assert [m[:7] for m in months_published(ws, ensure_project(ws))] == list(SCORED_MONTHS)


def test_a_corrupt_workspace_is_refused_before_anything_is_written(monitored, tmp_path):
    workspace = tmp_path / "evidently"
    workspace.mkdir()
    (workspace / "not-a-uuid-project").mkdir()
    bad = workspace / "01a23d04-5d99-7658-a9d1-12c27d936013"
    bad.mkdir()
    (bad / "metadata.json").write_text("{ this is not json")
    out = tmp_path / "never"
    with environment(monitored.environment()):
        result = runner.invoke(
            app,
            [
                "drift",
                "--as-of",
                MONTHS,
                "--out",
                str(out),
                "--workspace",
                str(workspace),
                *QUICK[1:],
            ],
        )
    assert result.exit_code == 3, result.output
    assert str(workspace) in result.output.replace("\n", "")
    assert not out.exists()

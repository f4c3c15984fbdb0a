"""Retraining logged over HTTP to a real ``mlflow server`` (PostgreSQL store, proxied artifacts).

The server comes from the session fixture ``mlflow_server`` (tests/integration/conftest.py).
Everything is read back through the server: the registry and alias through ``MlflowClient``
and plain REST, the artifacts through the server's ``mlflow-artifacts:`` proxy, the model by its
alias. MLflow's process-global tracking URI is restored after every use.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from features.cli import app as data_app
from features.settings import get_settings
from features.simulator import simulate_portfolio
from tests.integration.servers import tracking_uri
from training.cli import app as train_app
from training.pipeline import TrainingConfig, train_warning_model
from training.tracking import CHALLENGER, CHAMPION, MODEL_NAME, data_fingerprint, log_training

#: Evidence every run must carry (more may be added; these are the ones relied on downstream).
EVIDENCE = {
    "evidence/grade_policy.json",
    "evidence/party_crosswalk.csv",
    "evidence/grade_table.csv",
    "evidence/monitoring_reference.parquet",
    "evidence/metrics.json",
}


@pytest.fixture(scope="module")
def trained():
    tables = simulate_portfolio(3000, 36, 4).tables
    config = TrainingConfig.for_book(tables, n_estimators=60)
    return tables, train_warning_model(tables, config)


@pytest.fixture(scope="module")
def logged(trained, mlflow_server, tmp_path_factory):
    """One run logged over HTTP; the client-side artifact root must stay unused."""
    tables, result = trained
    client_root = tmp_path_factory.mktemp("client_artifact_root")
    with tracking_uri(None):
        registered = log_training(result, mlflow_server.uri, client_root, data_fingerprint(tables))
    return registered, client_root


@pytest.fixture
def client(mlflow_server):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server.uri, registry_uri=mlflow_server.uri)


def _rest(server, path: str, **query: str) -> tuple[int, dict]:
    url = f"{server.uri}{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_version_is_registered_and_challenger_resolves_to_it(logged, client):
    registered, _ = logged
    assert registered.tracking_uri.startswith("http://127.0.0.1:")
    version = client.get_model_version(MODEL_NAME, registered.version)
    assert version.run_id == registered.run_id
    assert version.status == "READY"
    assert client.get_model_version_by_alias(MODEL_NAME, CHALLENGER).version == registered.version


def test_params_and_metrics_are_stored_by_the_server(trained, logged, client):
    tables, result = trained
    registered, _ = logged
    run = client.get_run(registered.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["data_fingerprint"] == data_fingerprint(tables)
    assert run.data.params["calibration"] == result.calibration_method
    assert run.data.params["grade_policy_version"] == str(result.policy.version)
    assert run.data.metrics["s3_auc"] == pytest.approx(result.metrics["s3"].auc)
    assert run.data.metrics["rows_test"] == result.row_counts["test"]
    assert "status" not in run.data.tags  # only a failed run is tagged


def test_artifacts_go_through_the_server_proxy(logged, client, mlflow_server):
    registered, client_root = logged
    run = client.get_run(registered.run_id)
    # The server chooses the location and proxies it; the client never writes to its own disk.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    listed = {a.path for a in client.list_artifacts(registered.run_id, "evidence")}
    assert listed >= EVIDENCE, sorted(EVIDENCE - listed)
    assert not any(client_root.iterdir()), sorted(map(str, client_root.rglob("*")))
    stored = {p.name for p in mlflow_server.artifacts_destination.rglob("*") if p.is_file()}
    assert {"grade_policy.json", "party_crosswalk.csv", "MLmodel"} <= stored
    # A download through the proxy returns exactly the bytes the server keeps for the run.
    on_server = list(
        mlflow_server.artifacts_destination.rglob(
            f"{registered.run_id}/artifacts/evidence/grade_policy.json"
        )
    )
    assert len(on_server) == 1, on_server
    downloaded = client.download_artifacts(registered.run_id, "evidence/grade_policy.json")
    assert Path(downloaded).read_bytes() == on_server[0].read_bytes()
    assert json.loads(on_server[0].read_text())  # a real, non-empty policy document


def test_challenger_loads_back_and_predicts_like_the_trained_model(trained, logged):
    import mlflow.sklearn

    _, result = trained
    registered, _ = logged
    with tracking_uri(registered.tracking_uri):
        loaded = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHALLENGER}")
    sample = result.test_inputs.head(50)
    assert len(sample) == 50
    np.testing.assert_array_equal(
        loaded.predict_cumulative(sample), result.model.predict_cumulative(sample)
    )


def test_alias_over_plain_rest(logged, mlflow_server):
    registered, _ = logged
    status, body = _rest(
        mlflow_server,
        "/api/2.0/mlflow/registered-models/alias",
        name=MODEL_NAME,
        alias=CHALLENGER,
    )
    assert status == 200
    assert body["model_version"]["version"] == registered.version
    assert body["model_version"]["run_id"] == registered.run_id
    assert CHALLENGER in body["model_version"]["aliases"]


def test_challenger_is_promoted_over_http_and_champion_loads_back(trained, logged, client):
    import mlflow.sklearn

    from training.gates import GatePolicy
    from training.promotion import promote_challenger

    _, result = trained
    registered, _ = logged
    relaxed = GatePolicy(max_ece=0.05, segment_auc_floor=0.5)
    with tracking_uri(None):
        outcome = promote_challenger(registered.tracking_uri, policy=relaxed)
        assert outcome.promoted and outcome.challenger_version == registered.version
        champion = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    assert client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version == registered.version
    tags = client.get_model_version(MODEL_NAME, registered.version).tags
    assert tags["promotion.decision"] == "promoted"
    assert "calibration passed" in tags["promotion.reasons"]
    sample = result.test_inputs.head(50)
    np.testing.assert_array_equal(
        champion.predict_cumulative(sample), result.model.predict_cumulative(sample)
    )


def test_ews_train_fit_registers_a_new_version_on_the_server(
    mlflow_server, client, tmp_path, monkeypatch
):
    # Kept last in the file: it moves the challenger alias the tests above read (it works on its
    # own or in any order itself, since it compares against the versions present before it).
    monkeypatch.setenv("EWS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    runner = CliRunner()
    book = tmp_path / "book"
    simulated = runner.invoke(data_app, ["simulate", "-n", "2500", "-m", "36", "--out", str(book)])
    assert simulated.exit_code == 0, simulated.output
    before = {v.version for v in client.search_model_versions(f"name='{MODEL_NAME}'")}
    try:
        with tracking_uri(None):
            result = runner.invoke(
                train_app,
                [
                    "fit",
                    "--data",
                    str(book),
                    "--n-estimators",
                    "40",
                    "--tracking-uri",
                    mlflow_server.uri,
                ],
            )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "registered as challenger" in result.output
    after = client.search_model_versions(f"name='{MODEL_NAME}'")
    new = [v for v in after if v.version not in before]
    assert len(new) == 1, (sorted(before), [v.version for v in after])
    assert f"version {new[0].version} registered as challenger" in result.output
    assert client.get_model_version_by_alias(MODEL_NAME, CHALLENGER).version == new[0].version
    run = client.get_run(new[0].run_id)
    assert run.data.params["n_estimators"] == "40"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), run.info.artifact_uri
    # Nothing went to the embedded SQLite store or artifact folder under EWS_HOME.
    assert not (tmp_path / "home" / "mlflow.db").exists()
    assert not (tmp_path / "home" / "mlartifacts").exists()

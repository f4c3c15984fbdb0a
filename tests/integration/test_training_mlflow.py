"""Retrain on a small simulated book, log to a real SQLite MLflow store, load it back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.settings import default_tracking_uri
from features.simulator import simulate_portfolio
from training.gates import GatePolicy
from training.pipeline import TrainingConfig, train_warning_model
from training.promotion import PromotionError, promote_challenger
from training.tracking import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    TrackingError,
    data_fingerprint,
    log_training,
)


@pytest.fixture(scope="module")
def trained():
    tables = simulate_portfolio(3000, 36, 4).tables
    config = TrainingConfig.for_book(tables, n_estimators=60)
    return tables, train_warning_model(tables, config)


def test_training_result_is_complete_and_sensible(trained):
    _, result = trained
    assert set(result.row_counts) == {"train", "calibrate", "test"}
    assert result.calibration_method in ("isotonic", "sigmoid")
    assert result.metrics["s3"].auc > 0.7
    assert list(result.grade_table.index) == ["green", "blue", "yellow", "orange", "red"]
    # grades are judged on the same performing test rows as the metrics
    assert result.grade_table["loans"].sum() == result.metrics["s3"].n
    rates = result.grade_table["observed_default_rate"].dropna()
    assert rates.iloc[-1] > rates.iloc[0]  # red defaults more than green


def test_run_is_logged_registered_and_loads_back(trained, tmp_path):
    import mlflow
    import mlflow.sklearn

    tables, result = trained
    uri = default_tracking_uri(tmp_path)
    registered = log_training(result, uri, tmp_path / "artifacts", data_fingerprint(tables))
    assert registered.version == "1"
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHALLENGER).version) == "1"
    run = client.get_run(registered.run_id)
    assert run.data.params["data_fingerprint"] == data_fingerprint(tables)
    assert float(run.data.metrics["s3_auc"]) == pytest.approx(result.metrics["s3"].auc)
    artifacts = {a.path for a in client.list_artifacts(registered.run_id, "evidence")}
    assert "evidence/grade_policy.json" in artifacts and "evidence/party_crosswalk.csv" in artifacts
    loaded = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHALLENGER}")
    sample = result.test_inputs.head(50)
    np.testing.assert_array_equal(
        loaded.predict_cumulative(sample), result.model.predict_cumulative(sample)
    )


def test_an_unusable_tracking_store_is_one_clear_error(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    tables, result = trained
    with pytest.raises(TrackingError, match="not usable"):
        log_training(result, "http://127.0.0.1:9", tmp_path / "a", data_fingerprint(tables))


def test_promotion_moves_the_champion_only_through_the_gates(trained, tmp_path):
    import mlflow
    import mlflow.sklearn

    tables, result = trained
    uri = default_tracking_uri(tmp_path)
    fingerprint = data_fingerprint(tables)
    relaxed = GatePolicy(max_ece=0.05, segment_auc_floor=0.5)
    log_training(result, uri, tmp_path / "artifacts", fingerprint)
    first = promote_challenger(uri, policy=relaxed)
    assert first.promoted and first.champion_version is None
    client = mlflow.MlflowClient(uri)
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "1"
    tags = client.get_model_version(MODEL_NAME, "1").tags
    assert tags["promotion.decision"] == "promoted"
    assert "calibration passed" in tags["promotion.reasons"]
    champion = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    sample = result.test_inputs.head(50)
    np.testing.assert_array_equal(
        champion.predict_cumulative(sample), result.model.predict_cumulative(sample)
    )
    assert promote_challenger(uri, policy=relaxed).already_champion

    # an identical retrain cannot beat the champion by one AUC point: refused, champion stays
    log_training(result, uri, tmp_path / "artifacts", fingerprint)
    demanding = GatePolicy(max_ece=0.05, segment_auc_floor=0.5, max_auc_drop=-0.01)
    refused = promote_challenger(uri, policy=demanding)
    assert not refused.promoted and refused.champion_version == "1"
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "1"
    tags = client.get_model_version(MODEL_NAME, "2").tags
    assert tags["promotion.decision"] == "rejected"
    assert "discrimination FAILED" in tags["promotion.reasons"]
    run_tags = client.get_run(client.get_model_version(MODEL_NAME, "2").run_id).data.tags
    assert run_tags["promotion.decision"] == "rejected"

    assert promote_challenger(uri, policy=relaxed).promoted
    assert str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "2"
    assert client.get_model_version(MODEL_NAME, "1").tags["promotion.superseded_by"] == "2"


def test_same_data_and_seed_give_the_same_metrics_and_model(trained):
    tables, result = trained
    again = train_warning_model(tables, result.config)
    assert again.metrics == result.metrics
    assert again.evaluation.baselines == result.evaluation.baselines
    assert again.calibration_method == result.calibration_method
    sample = result.test_inputs.head(200)
    np.testing.assert_array_equal(
        again.model.predict_cumulative(sample), result.model.predict_cumulative(sample)
    )
    pd.testing.assert_frame_equal(again.evaluation.segments, result.evaluation.segments)


def test_a_champion_tested_on_other_borrowers_is_judged_by_its_recorded_metrics(trained, tmp_path):
    import dataclasses

    import mlflow

    tables, result = trained
    uri = default_tracking_uri(tmp_path)
    relaxed = GatePolicy(max_ece=0.05, segment_auc_floor=0.5)
    log_training(result, uri, tmp_path / "artifacts", data_fingerprint(tables))
    assert promote_challenger(uri, policy=relaxed).promoted
    other = result.config.model_copy(update={"test_borrower_share": 0.25})
    log_training(
        dataclasses.replace(result, config=other), uri, tmp_path / "a", data_fingerprint(tables)
    )
    outcome = promote_challenger(uri, policy=relaxed, expected_version="2")
    assert outcome.decision.reasons[0].startswith("champion not re-scored")
    assert outcome.promoted  # same model, same recorded AUC: within the allowed drop
    with pytest.raises(PromotionError, match="now points at version 2"):
        promote_challenger(uri, policy=relaxed, expected_version="1")
    client = mlflow.MlflowClient(uri)
    assert client.get_model_version(MODEL_NAME, "2").tags["promotion.decision"] == "promoted"


def test_a_failure_while_logging_is_one_error_and_moves_no_alias(trained, tmp_path, monkeypatch):
    import mlflow

    import training.tracking as tracking

    tables, result = trained
    uri = default_tracking_uri(tmp_path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracking, "write_evidence", broken)
    with pytest.raises(TrackingError, match="failed while logging.*disk full"):
        log_training(result, uri, tmp_path / "artifacts", data_fingerprint(tables))
    client = mlflow.MlflowClient(uri)
    assert client.search_registered_models() == []
    runs = client.search_runs([client.get_experiment_by_name("red-credit-warning").experiment_id])
    assert [r.data.tags.get("status") for r in runs] == ["failed"]


def test_the_run_logs_the_calibration_window_as_the_monitoring_reference(trained, tmp_path):
    import mlflow

    from monitoring.reference import load_reference

    tables, result = trained
    uri = default_tracking_uri(tmp_path)
    registered = log_training(result, uri, tmp_path / "artifacts", data_fingerprint(tables))
    mlflow.set_tracking_uri(uri)
    reference = load_reference(uri, MODEL_NAME, registered.version)
    frame = reference.frame
    config = result.config
    months = sorted(frame["as_of"].dt.strftime("%Y-%m").unique())
    assert months[0] > config.train_until and months[-1] == config.calibrate_until
    assert len(frame) == result.row_counts["calibrate"]  # every calibration row, no sample
    assert "loan_id" not in frame and "borrower_id" not in frame  # numbered, not named
    assert (frame["pd_12m"] == frame["p_s3"]).all()
    assert ((frame["p_s3"] <= frame["p_s2"]) & (frame["p_s2"] <= frame["p_s1"])).all()
    assert set(frame["grade"]) <= {"green", "blue", "yellow", "orange", "red"}
    # Outcomes nest: the worst severity over 3 months never exceeds that over 6 or 12.
    assert (frame["severity_3m"] <= frame["severity_6m"]).all()
    assert (frame["severity_6m"] <= frame["severity_12m"]).all()
    assert set(result.model.estimator.feature_names_in_) <= set(reference.inputs)


def test_the_early_outcomes_use_the_labels_own_code(trained):
    from training.reference import with_early_outcomes

    tables, result = trained
    again = with_early_outcomes(result.reference, tables, windows=(12,))
    # The 12-month outcome by this route is the snapshot's own label, row for row.
    np.testing.assert_array_equal(
        again["severity_12m"].to_numpy(dtype=float),
        result.reference["severity_12m"].to_numpy(dtype=float),
    )
    assert result.reference["severity_3m"].notna().all()

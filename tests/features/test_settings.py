"""One settings object: every command resolves home, tracking store, artifacts and ledger alike."""

from __future__ import annotations

from pathlib import Path

from features.settings import Settings


def test_the_shared_settings_read_the_environment_and_default_under_the_home(
    tmp_path: Path, monkeypatch
):
    from serving.settings import load_serving_settings
    from training.tracking import resolve_tracking_uri

    for name in ("EWS_TRACKING_URI", "EWS_ARTIFACTS_DIR", "EWS_LEDGER_URL", "EWS_SERVING_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EWS_HOME", str(tmp_path))
    plain = Settings()
    assert plain.home == tmp_path
    assert plain.resolved_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert plain.artifact_root == tmp_path / "mlartifacts"
    assert plain.resolved_ledger_url == f"sqlite:///{tmp_path / 'ledger.db'}"

    monkeypatch.setenv("EWS_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("EWS_ARTIFACTS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("EWS_LEDGER_URL", "postgresql+psycopg2://ews@db/ledger")
    given = Settings()
    serving = load_serving_settings()
    assert resolve_tracking_uri(None) == given.resolved_tracking_uri == "http://127.0.0.1:5000"
    assert serving.resolved_tracking_uri == given.resolved_tracking_uri  # training writes
    assert serving.resolved_ledger_url == given.resolved_ledger_url  # where serving reads
    assert given.artifact_root == tmp_path / "runs"

    monkeypatch.setenv("EWS_TRACKING_URI", "")  # empty means unset
    assert Settings().resolved_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"

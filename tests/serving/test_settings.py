"""Serving settings and the API-key check: secure by default, explicit to switch off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.auth import key_accepted
from serving.settings import SettingsError, load_serving_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path: Path) -> Path:
    from features.settings import get_settings

    for name in (
        "EWS_TRACKING_URI",
        "EWS_MODEL_NAME",
        "EWS_LEDGER_URL",
        "EWS_API_KEYS",
        "EWS_AUTH_DISABLED",
        "EWS_PSEUDONYM_KEY",
        "EWS_SERVING_SETTINGS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EWS_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_defaults_keep_everything_under_the_home_and_auth_on(clean_env: Path):
    settings = load_serving_settings()
    assert not settings.auth_disabled and settings.key_values() == frozenset()
    assert settings.resolved_ledger_url == f"sqlite:///{clean_env / 'ledger.db'}"
    assert settings.resolved_tracking_uri == f"sqlite:///{clean_env / 'mlflow.db'}"
    assert settings.bentoml_home == clean_env / "bentoml"


def test_keys_come_from_the_environment_or_the_settings_file(clean_env: Path, monkeypatch):
    (clean_env / "serving.json").write_text(json.dumps({"api_keys": ["from-file"]}))
    assert load_serving_settings().key_values() == {"from-file"}
    monkeypatch.setenv("EWS_API_KEYS", " a-key , another-key ,")
    settings = load_serving_settings()
    assert settings.key_values() == {"a-key", "another-key"}  # the environment wins
    assert "a-key" not in repr(settings) and "a-key" not in str(settings.model_dump())


def test_switching_auth_off_must_be_explicit_and_well_formed(clean_env: Path, monkeypatch):
    monkeypatch.setenv("EWS_AUTH_DISABLED", "true")
    assert load_serving_settings().auth_disabled
    monkeypatch.setenv("EWS_AUTH_DISABLED", "yes please")
    with pytest.raises(SettingsError, match="EWS_AUTH_DISABLED must be true or false"):
        load_serving_settings()


def test_a_broken_settings_file_is_one_clear_error(clean_env: Path):
    (clean_env / "serving.json").write_text("{not json")
    with pytest.raises(SettingsError, match="serving.json unreadable"):
        load_serving_settings()
    (clean_env / "serving.json").write_text(json.dumps({"api_key": "typo"}))
    with pytest.raises(SettingsError, match="api_key"):
        load_serving_settings()


def test_a_key_is_accepted_only_when_it_matches_exactly():
    keys = frozenset({"alpha-key", "beta-key"})
    assert key_accepted("beta-key", keys)
    for given in (None, "", "alpha", "alpha-key ", "ALPHA-KEY"):
        assert not key_accepted(given, keys)
    assert not key_accepted("anything", frozenset())

"""Run settings of the scoring service: registry, ledger, keys and limits.

Built lazily by :func:`get_serving_settings` from the environment (prefix ``EWS_``) and an
optional JSON settings file (``EWS_SERVING_SETTINGS``, default ``$EWS_HOME/serving.json``); an
environment variable wins over the file. Importing this module does no work.

Authentication is on unless switched off explicitly (``EWS_AUTH_DISABLED=true`` or
``"auth_disabled": true`` in the file): a service started with no keys and auth on refuses every
scoring call with 401, never silently opens.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from features.io import validation_problems
from features.settings import get_settings
from models.names import MODEL_NAME

#: Most borrowers one request may carry (a monthly book goes through ``score-portfolio``).
MAX_BATCH = 1000
#: Environment variables read, with the settings field each fills.
ENVIRONMENT = {
    "EWS_TRACKING_URI": "tracking_uri",
    "EWS_MODEL_NAME": "model_name",
    "EWS_LEDGER_URL": "ledger_url",
    "EWS_API_KEYS": "api_keys",
    "EWS_AUTH_DISABLED": "auth_disabled",
    "EWS_PSEUDONYM_KEY": "pseudonym_key",
}


class SettingsError(ValueError):
    """The serving settings cannot be used; the message names the setting."""


class ServingSettings(BaseModel):
    """Where the service finds its model and ledger, and who may call it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    tracking_uri: str | None = None
    model_name: str = MODEL_NAME
    ledger_url: str | None = None
    api_keys: tuple[SecretStr, ...] = ()
    auth_disabled: bool = False
    pseudonym_key: SecretStr | None = Field(None, description="Hex; default a key file.")

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow store training writes to by default (SQLite under ``EWS_HOME``)."""
        return self.tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def resolved_ledger_url(self) -> str:
        """SQLite ledger under ``EWS_HOME`` unless a URL is given."""
        return self.ledger_url or f"sqlite:///{(self.home / 'ledger.db').resolve()}"

    @property
    def bentoml_home(self) -> Path:
        """BentoML's model store, under ``EWS_HOME`` (never the user's ``~/bentoml``)."""
        return self.home / "bentoml"

    @property
    def pseudonym_key_file(self) -> Path:
        """Key of the borrower pseudonyms when none is configured (created on first use)."""
        return self.home / "secrets" / "pseudonym.key"

    def key_values(self) -> frozenset[str]:
        """The accepted API keys, in clear (compare only; never log)."""
        return frozenset(k.get_secret_value() for k in self.api_keys)


def _from_environment() -> dict[str, object]:
    values: dict[str, object] = {}
    for variable, field in ENVIRONMENT.items():
        raw = os.environ.get(variable)
        if raw is None or raw == "":
            continue
        if field == "api_keys":
            values[field] = tuple(k.strip() for k in raw.split(",") if k.strip())
        elif field == "auth_disabled":
            if raw.lower() not in {"true", "false", "1", "0"}:
                raise SettingsError(f"EWS_AUTH_DISABLED must be true or false, got {raw!r}")
            values[field] = raw.lower() in {"true", "1"}
        else:
            values[field] = raw
    return values


def load_serving_settings(file: Path | None = None) -> ServingSettings:
    """Settings from the file (if it exists) overridden by the environment."""
    home = get_settings().home
    path = file or Path(os.environ.get("EWS_SERVING_SETTINGS", home / "serving.json"))
    values: dict[str, object] = {}
    if path.exists():
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SettingsError(f"serving settings {path} unreadable: {exc}") from None
        if not isinstance(values, dict):
            raise SettingsError(f"serving settings {path} must hold a JSON object")
    values = {"home": home, **values, **_from_environment()}
    try:
        return ServingSettings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(f"serving settings invalid: {validation_problems(exc)}") from None


@lru_cache(maxsize=1)
def get_serving_settings() -> ServingSettings:
    """The process's settings, read once."""
    return load_serving_settings()

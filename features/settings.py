"""The project's settings: where local state lives, which stores every command uses.

One settings object, :class:`Settings` (pydantic-settings, environment prefix ``EWS_``), holds
what every stage shares: the home folder of all local state (``EWS_HOME``, default ``./.ews``),
the MLflow tracking store (``EWS_TRACKING_URI``), the folder of run artifacts
(``EWS_ARTIFACTS_DIR``) and the warning ledger (``EWS_LEDGER_URL``). Training writes where the
service reads because both resolve them here; the service's own settings
(``serving.settings.ServingSettings``) extend this class. Settings are built lazily by
``get_settings()``; importing this module does no work.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Variables that switch off the usage telemetry of MLflow, BentoML and Evidently.
TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "true",
}


class Settings(BaseSettings):
    """Settings shared by every stage (environment prefix ``EWS_``; empty means unset)."""

    model_config = SettingsConfigDict(env_prefix="EWS_", frozen=True, extra="ignore")

    home: Path = Path(".ews")
    tracking_uri: str | None = None
    artifacts_dir: Path | None = None
    ledger_url: str | None = None

    @field_validator("home", mode="after")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        return home.expanduser().resolve()

    @field_validator("tracking_uri", "artifacts_dir", "ledger_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def data_dir(self) -> Path:
        """Where simulated or imported portfolios are written by default."""
        return self.home / "data"

    @property
    def reports_dir(self) -> Path:
        """Where published tables and reports are written by default."""
        return self.home / "reports"

    @property
    def default_portfolio(self) -> Path:
        """The portfolio ``make demo`` simulates."""
        return self.data_dir / "portfolio"

    @property
    def resolved_tracking_uri(self) -> str:
        """The MLflow store: ``EWS_TRACKING_URI``, else SQLite under the home."""
        return self.tracking_uri or default_tracking_uri(self.home)

    @property
    def artifact_root(self) -> Path:
        """Where runs of a local store keep their artifacts (``mlartifacts/`` under the home)."""
        return self.artifacts_dir or self.home / "mlartifacts"

    @property
    def resolved_ledger_url(self) -> str:
        """The warning ledger: ``EWS_LEDGER_URL``, else SQLite under the home."""
        return self.ledger_url or f"sqlite:///{(self.home / 'ledger.db').resolve()}"

    @property
    def bentoml_home(self) -> Path:
        """BentoML's model store, under the home (never the user's ``~/bentoml``)."""
        return self.home / "bentoml"

    @property
    def pseudonym_key_file(self) -> Path:
        """Key of the ledger's pseudonyms when none is configured (created on first use)."""
        return self.home / "secrets" / "pseudonym.key"


def default_tracking_uri(home: Path) -> str:
    """SQLite store under ``home`` (four slashes: an absolute path)."""
    return f"sqlite:///{(home / 'mlflow.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, from the environment, read once."""
    return Settings()


def disable_telemetry() -> None:
    """Switch library telemetry off unless the operator set the variables explicitly."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


def keep_private(home: Path | None = None) -> None:
    """Everything this process creates is readable by its owner only: files 0600, folders
    0700 (umask 077, inherited by the server ``ews-serve start`` hands over to), and
    ``EWS_HOME`` itself 0700. The state holds borrower data, pseudonym keys and the ledger;
    a world-readable ``ledger.db`` or ``mlflow.db`` (as the default umask makes them) would
    give them to every account of the machine."""
    os.umask(0o077)
    home = home or get_settings().home
    if home.is_dir() and home.stat().st_uid == os.getuid():
        home.chmod(0o700)


def start_command() -> None:
    """What every ``ews-*`` command does first: its settings read from the environment as it
    is now, telemetry off, state private."""
    get_settings.cache_clear()
    disable_telemetry()
    keep_private()

"""Run settings of the feature stage: where local state lives, and telemetry off.

All local state (data, tracking store, model store, ledger, reports) goes under one home folder,
``EWS_HOME`` (default ``./.ews``). Settings are built lazily by ``get_settings()``; importing
this module does no work.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

#: Variables that switch off the usage telemetry of MLflow, BentoML and Evidently.
TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "true",
}


class Settings(BaseModel):
    """Environment-level settings shared by every stage (prefix ``EWS_``)."""

    model_config = ConfigDict(frozen=True)

    home: Path

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment (``EWS_HOME``), resolved to an absolute path."""
    return Settings(home=Path(os.environ.get("EWS_HOME", ".ews")).expanduser().resolve())


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
    """What every ``ews-*`` command does first: telemetry off, state private."""
    disable_telemetry()
    keep_private()

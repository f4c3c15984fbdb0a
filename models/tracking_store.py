"""The MLflow tracking store that training writes and serving reads, opened the same way by both.

MLflow reports a store it cannot use badly: a corrupt or truncated ``mlflow.db`` came out as a
110-line traceback, a ``postgresql://`` URI as ``ModuleNotFoundError: psycopg`` (SQLAlchemy 2.1
maps a bare ``postgresql://`` to psycopg 3, which is not installed; psycopg2 is), and an
unreachable PostgreSQL as 105 s of MLflow's own retries, then a traceback. Before MLflow sees a
URI, :func:`checked_tracking_uri` normalises the driver and checks the store within a bounded
wait (``CONNECT_TIMEOUT_S`` for a database server; an SQLite file is read at once), and names
what is wrong in one line (:class:`TrackingStoreError`), with any password masked. An HTTP
tracking server is left to MLflow, whose retries both commands turn off
(``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0``, ``MLFLOW_HTTP_REQUEST_TIMEOUT``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

#: Longest wait for a database server to answer before the store counts as unreachable.
CONNECT_TIMEOUT_S: Final = 5


class TrackingStoreError(RuntimeError):
    """The tracking store cannot be used; the message says why in one line."""


def masked(uri: str) -> str:
    """The URI with any password replaced by ``***`` (it appears in logs, errors, answers)."""
    parts = urlsplit(uri)
    if not parts.password:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def shown_uri(uri: str) -> str:
    """The URI as a service shows it to callers: a password masked, and a local file store by
    its file name only (``sqlite:///.../mlflow.db``), since a server's folders are nobody's
    business outside it."""
    if uri.startswith("sqlite:///"):
        return f"sqlite:///.../{Path(uri.removeprefix('sqlite:///')).name}"
    return masked(uri)


def normalized_uri(uri: str) -> str:
    """``postgresql://`` and ``postgres://`` as ``postgresql+psycopg2://`` (the installed
    driver); anything else unchanged."""
    for bare in ("postgresql://", "postgres://"):
        if uri.startswith(bare):
            return "postgresql+psycopg2://" + uri.removeprefix(bare)
    return uri


def checked_tracking_uri(uri: str, *, must_exist: bool = True) -> str:
    """``uri`` normalised, once its store answers; else :class:`TrackingStoreError`.

    Parameters
    ----------
    uri : str
        MLflow tracking URI (``sqlite:///path``, ``postgresql://...``, ``http://...``).
    must_exist : bool
        Whether a missing SQLite file is an error (serving: opening it would create an empty
        store) or a store to create (training's first run).
    """
    uri = normalized_uri(uri)
    if uri.startswith("sqlite:///"):
        _check_sqlite(Path(uri.removeprefix("sqlite:///")), must_exist)
    elif uri.startswith("postgresql+"):
        _check_server(uri)
    return uri


def _check_sqlite(path: Path, must_exist: bool) -> None:
    if not path.exists():
        if must_exist:
            raise TrackingStoreError(f"tracking store {path} does not exist")
        return
    try:  # read-only: a check must never repair, create or lock the store
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=CONNECT_TIMEOUT_S)
        try:
            verdict = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise TrackingStoreError(
            f"tracking store {path} is not a usable SQLite database ({exc}): restore it from "
            "a backup or point EWS_TRACKING_URI at another store"
        ) from None
    if verdict is None or verdict[0] != "ok":
        raise TrackingStoreError(
            f"tracking store {path} is damaged (SQLite integrity check: "
            f"{verdict[0] if verdict else 'no answer'}): restore it from a backup"
        )


def _check_server(uri: str) -> None:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(uri, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except Exception as exc:  # a malformed URL or a missing driver: name it, not the URL
        raise TrackingStoreError(f"tracking store {masked(uri)}: {_first_line(exc)}") from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = _first_line(exc)
        password = urlsplit(uri).password
        if password:
            reason = reason.replace(password, "***")
        raise TrackingStoreError(
            f"tracking store {masked(uri)} did not answer within {CONNECT_TIMEOUT_S} s: {reason}"
        ) from None
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def ensure_experiment(client: Any, name: str, tracking_uri: str, artifact_root: Path) -> str:
    """The experiment's id, created if new (training's runs and monitoring's alike). A
    tracking server stores artifacts itself (proxied as ``mlflow-artifacts:``); only an
    embedded store needs a folder of ours."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    served = tracking_uri.startswith(("http://", "https://"))
    location = None if served else artifact_root.resolve().as_uri()
    return str(client.create_experiment(name, artifact_location=location))

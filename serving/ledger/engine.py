"""From a ledger URL to a configured SQLAlchemy engine.

Single responsibility: accept only durable databases (a SQLite file, PostgreSQL through
psycopg2), and set each up for the ledger's concurrency:

* SQLite runs in WAL mode with a 30 s busy timeout and full synchronous writes, and writes
  begin with ``BEGIN IMMEDIATE``: concurrent writers queue for the write lock instead of
  failing with "database is locked", and readers never wait for writers.
* PostgreSQL (``psycopg2``) needs nothing special beyond a connect timeout.

A URL that cannot be used is a one-line :class:`LedgerError` that never shows its password.
"""

from __future__ import annotations

import json
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from features.io import first_line
from serving.ledger.errors import LedgerError

#: Seconds a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
#: Seconds a PostgreSQL connection attempt may take (unless the URL sets ``connect_timeout``).
POSTGRES_CONNECT_TIMEOUT_S: Final = 10
#: Execution option of a connection that writes (begun ``IMMEDIATE`` on SQLite).
WRITE_OPTION: Final = "ledger_write"


def parse_url(url: str) -> URL:
    """The parsed URL of a supported, durable database, or a :class:`LedgerError`.

    A bare ``postgresql://`` means psycopg2 (the driver this project installs); in-memory and
    URI-style SQLite are refused: they are not durable files.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        # The text may hold a password: name the problem, not the URL.
        raise LedgerError(
            "ledger URL is not a database URL (expected sqlite:///path or "
            "postgresql+psycopg2://user@host:port/database)"
        ) from None
    backend = parsed.get_backend_name()
    shown = parsed.render_as_string(hide_password=True)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3
            parsed = parsed.set(drivername="postgresql+psycopg2")
        return parsed
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or parsed.database.startswith("file:"):
            raise LedgerError(
                f"ledger {shown}: an in-memory or URI-style SQLite database is not supported; "
                "give a file path (sqlite:///path/ledger.db)"
            )
        return parsed
    raise LedgerError(
        f"ledger {shown}: unsupported database {backend!r} (use sqlite or postgresql)"
    )


def make_engine(url: URL) -> Engine:
    """The engine of a URL from :func:`parse_url`; the SQLite file's folder is created.

    Raises
    ------
    LedgerError
        If the folder cannot be created or the driver is missing.
    """
    shown = url.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "json_serializer": partial(json.dumps, allow_nan=False),
    }
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database or "").parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"ledger {shown}: cannot create folder {folder}: {exc.strerror or exc}"
            ) from None
        kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_S,
            "check_same_thread": False,
        }
    elif "connect_timeout" not in url.query:
        kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise LedgerError(f"ledger {shown}: {first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Per connection: busy timeout, WAL, full sync; transactions begun by ``_sqlite_on_begin``."""
    dbapi_connection.isolation_level = None  # the driver's own implicit BEGIN off
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        while str(mode).lower() != "wal":
            # Switching needs a moment alone with the file; another first connection may hold
            # it, and then SQLite either keeps the old mode or, without calling the busy
            # handler, fails "database is locked": both are waited out the same way.
            try:
                mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if str(mode).lower() == "wal":
                break
            if time.monotonic() > deadline:
                raise LedgerError(f"SQLite ledger cannot use WAL journaling (mode is {mode})")
            time.sleep(0.05)
        cursor.execute("PRAGMA synchronous = FULL")  # a committed batch survives power loss
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    """Writes take the write lock up front (``BEGIN IMMEDIATE``) and so wait for it under the
    busy timeout; reads begin deferred and never wait for a writer (WAL)."""
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

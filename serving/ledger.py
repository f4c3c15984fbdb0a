"""The warning ledger: the durable, append-only record of every scored loan.

Single responsibility: write each batch of scored loans (a scoring request or a portfolio run)
atomically to a database, and read it back as pandas frames for monitoring, provisions and
audit. Nothing else here scores, grades or decides; the caller builds the
:class:`WarningRecord` objects and the database URL.

Guarantees
----------
* **All or nothing.** :meth:`WarningLedger.record` validates the whole batch first (finite
  probabilities in [0, 1], ``p_s1 >= p_s2 >= p_s3``, known grade, source and stage,
  timezone-aware ``scored_at``), then writes it in one transaction. A ``UNIQUE (request_id,
  loan_id, as_of)`` key makes a retried write fail as a whole (:class:`LedgerError`) instead of
  duplicating a scored loan.
* **Privacy.** A borrower id is replaced by its keyed pseudonym (HMAC-SHA256) before anything
  touches the database or a log; the features recorded are model inputs, which never include
  an identifier (``models.inputs``). The key is never stored; ``ledger_meta`` keeps only a
  keyed check value so a ledger opened with another key (which would break the pseudonyms'
  continuity) is refused.
* **Concurrency.** SQLite runs in WAL mode with a 30 s busy timeout and writes begin with
  ``BEGIN IMMEDIATE``: concurrent writers queue for the write lock instead of failing with
  "database is locked", and readers never wait for writers. PostgreSQL (``psycopg2``) needs
  nothing special.
* **One-line errors.** Every database failure is a :class:`LedgerError` whose message names the
  ledger (password hidden) and the reason in one line.

Design choice: SQLAlchemy Core ``Table`` objects, not the ORM. The ledger is append-only,
written in bulk (a portfolio run is tens of thousands of rows in one ``executemany``) and read
straight into DataFrames; an identity map, unit of work and per-row objects would add cost and
nothing else. The tables live on a private ``MetaData`` so they mix with no other registry.

Importing does no work beyond declaring the tables: the engine is created, and the tables
created (``create_all``) and checked, on first use.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Final

import pandas as pd
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

from features.io import first_line
from models.grade_policy import GRADES

logger = logging.getLogger(__name__)

#: Where a record comes from: the two HTTP endpoints and the monthly portfolio run.
SOURCES: Final = ("score", "score_features", "portfolio")
#: IFRS 9 stages a record may hint at.
STAGES: Final = (1, 2, 3)
#: Version of the table layout below; a ledger written by another version is refused.
SCHEMA_VERSION: Final = "1"
#: Shortest pseudonym key accepted (128 bits); :func:`load_or_create_key` makes 32 bytes.
MIN_KEY_BYTES: Final = 16
#: Seconds a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_S: Final = 30.0
#: Seconds a PostgreSQL connection attempt may take (unless the URL sets ``connect_timeout``).
POSTGRES_CONNECT_TIMEOUT_S: Final = 10
#: Loan ids per ``IN (...)`` query, well under SQLite's bound-parameter limit.
_IN_CHUNK: Final = 500
#: Message whose HMAC under the pseudonym key is kept in ``ledger_meta`` to detect a key change.
_KEY_CHECK_LABEL: Final = b"\x00red-credit-ews warning ledger key check v1"
#: PostgreSQL advisory lock serialising table creation across processes.
_INIT_LOCK_ID: Final = 0x5245445F4C444752  # "RED_LDGR"

FeatureValue = float | str | bool | None


class LedgerError(RuntimeError):
    """The ledger cannot be used (bad URL, unreachable database, schema or key mismatch, or a
    duplicate batch: ``DuplicateBatchError``); ``str(err)`` is one line and never contains a
    password."""


class DuplicateBatchError(LedgerError):
    """The ledger already holds records of the batch (a retried write): nothing was written."""


@dataclass(frozen=True)
class WarningRecord:
    """One scored loan, as the scoring service or the portfolio run produced it.

    Attributes
    ----------
    request_id : str
        One per HTTP request or portfolio run.
    scored_at : datetime
        When the loan was scored; timezone-aware (stored and returned in UTC).
    as_of : date
        The assessment date the features were built for.
    loan_id, borrower_id : str
        Keys of the loan and its borrower; the borrower id is stored only as its pseudonym.
    source : str
        ``"score"``, ``"score_features"`` or ``"portfolio"``.
    model_name, model_version, policy_version : str
        What produced the probabilities and the grade.
    p_s1, p_s2, p_s3 : float
        P(S>=1), P(S>=2), P(S>=3); ``p_s3`` is the 12-month PD.
    grade : str
        One of green, blue, yellow, orange, red.
    stage_hint : int
        IFRS 9 stage 1, 2 or 3.
    features : dict
        Model inputs used; NaN is stored as ``None``.
    reasons : list of dict
        Explanations, e.g. ``{"feature", "value", "contribution", "text_en", "text_zh"}``.
    notes : sequence of str
        Caveats, e.g. ``"area 'xyz' unknown, scored as other"``.
    """

    request_id: str
    scored_at: datetime
    as_of: date
    loan_id: str
    borrower_id: str
    source: str
    model_name: str
    model_version: str
    policy_version: str
    p_s1: float
    p_s2: float
    p_s3: float
    grade: str
    stage_hint: int
    features: Mapping[str, FeatureValue]
    reasons: Sequence[Mapping[str, object]]
    notes: Sequence[str] = ()


# --------------------------------------------------------------------------- keys


def pseudonymise(key: bytes, borrower_id: str) -> str:
    """The keyed pseudonym of a borrower id: HMAC-SHA256, 64 hex characters.

    Parameters
    ----------
    key : bytes
        Secret key of at least :data:`MIN_KEY_BYTES` bytes.
    borrower_id : str
        The clear id.

    Returns
    -------
    str
        Stable for one key, unrelated across keys, not reversible without the key.

    Raises
    ------
    ValueError
        If the key is too short.
    """
    _check_key(key)
    return hmac.new(bytes(key), borrower_id.encode("utf-8"), hashlib.sha256).hexdigest()


def key_from_hex(text: str) -> bytes:
    """A pseudonym key given in hex (e.g. from an environment variable).

    Raises
    ------
    ValueError
        If ``text`` is not hex or decodes to fewer than :data:`MIN_KEY_BYTES` bytes. The
        message never repeats the text.
    """
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("pseudonym key is not valid hex") from None
    _check_key(key)
    return key


def load_or_create_key(path: Path) -> bytes:
    """The pseudonym key kept in ``path``, created (32 random bytes, mode 0600) if absent.

    Creation is atomic and never overwrites: the key is written to a private temporary file in
    the same folder, then hard-linked into place, so concurrent first starts all end up with
    the one key that won.

    Raises
    ------
    ValueError
        If an existing file holds fewer than :data:`MIN_KEY_BYTES` bytes.
    OSError
        If the file cannot be read or created.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_key_file(path, secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"pseudonym key file {path} holds {len(key)} bytes; at least {MIN_KEY_BYTES} are "
            "required"
        )
    if path.stat().st_mode & 0o077:
        logger.warning("pseudonym key file %s is readable by other users; chmod 600 it", path)
    return key


def _create_key_file(path: Path, key: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # atomic, and fails rather than replace a key created meanwhile
        except FileExistsError:
            pass
        except OSError as exc:  # a file system without hard links: exclusive create instead
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            with contextlib.suppress(FileExistsError):
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(out, "wb") as handle:
                    handle.write(key)
                    handle.flush()
                    os.fsync(handle.fileno())
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise ValueError(f"pseudonym key must be bytes, not {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"pseudonym key is {len(key)} bytes; at least {MIN_KEY_BYTES} are required"
        )


# --------------------------------------------------------------------------- schema


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that takes aware datetimes only and returns them in UTC.

    SQLite has no time zones: values are stored as naive UTC text (which also sorts and
    compares correctly) and given back their UTC zone when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime cannot be stored; give it a time zone (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in_list(column: str, values: Sequence[object]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


metadata = MetaData()

#: One row per scored loan.
warning_ledger = Table(
    "warning_ledger",
    metadata,
    # 64-bit on PostgreSQL; SQLite's auto-increment needs its INTEGER rowid (64-bit anyway).
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("request_id", String, nullable=False),
    Column("scored_at", UTCDateTime(), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("loan_id", String, nullable=False),
    Column("borrower_pseudonym", String(64), nullable=False),
    Column("source", String(16), nullable=False),
    Column("model_name", String, nullable=False),
    Column("model_version", String, nullable=False),
    Column("policy_version", String, nullable=False),
    Column("p_s1", Double, nullable=False),
    Column("p_s2", Double, nullable=False),
    Column("p_s3", Double, nullable=False),
    Column("grade", String(8), nullable=False),
    Column("stage_hint", Integer, nullable=False),
    Column("features", JSON(none_as_null=True), nullable=False),
    Column("reasons", JSON(none_as_null=True), nullable=False),
    Column("notes", JSON(none_as_null=True), nullable=False),
    # A retried write cannot duplicate a scored loan. Its index (request_id first) is also the
    # request_id index: a second one would only slow the bulk inserts.
    UniqueConstraint("request_id", "loan_id", "as_of", name="uq_warning_ledger_request_loan"),
    CheckConstraint("p_s3 >= 0 AND p_s3 <= p_s2 AND p_s2 <= p_s1 AND p_s1 <= 1", name="ck_p"),
    CheckConstraint(_in_list("grade", GRADES), name="ck_grade"),
    CheckConstraint(_in_list("source", SOURCES), name="ck_source"),
    CheckConstraint(_in_list("stage_hint", STAGES), name="ck_stage"),
    Index("ix_warning_ledger_loan_as_of", "loan_id", "as_of"),
    Index("ix_warning_ledger_scored_at", "scored_at"),
)

#: Name/value facts about the ledger itself: schema version and the key check value.
ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String, nullable=False),
)

#: Columns of :meth:`WarningLedger.read`, in order.
READ_COLUMNS: Final = (
    "id",
    "request_id",
    "scored_at",
    "as_of",
    "loan_id",
    "borrower_pseudonym",
    "source",
    "model_name",
    "model_version",
    "policy_version",
    "p_s1",
    "p_s2",
    "p_s3",
    "pd_12m",
    "grade",
    "stage_hint",
    "features",
    "reasons",
    "notes",
)
#: Leading columns of :meth:`WarningLedger.read_features`; the features follow.
FEATURE_KEY_COLUMNS: Final = ("loan_id", "as_of", "scored_at", "model_version")
#: Columns of :meth:`WarningLedger.latest_grades`, in order.
LATEST_COLUMNS: Final = (
    "loan_id",
    "as_of",
    "grade",
    "pd_12m",
    "request_id",
    "scored_at",
    "model_version",
)
_TABLE_COLUMNS: Final = tuple(c.name for c in warning_ledger.columns)


# --------------------------------------------------------------------------- validation


def _row(index: int, record: WarningRecord, key: bytes) -> dict[str, Any]:
    """The table row of a record, or a ``ValueError`` naming the record and the field."""
    where = f"record {index} (loan_id {getattr(record, 'loan_id', None)!r})"

    def bad(field: str, problem: str) -> ValueError:
        return ValueError(f"{where}: {field} {problem}")

    if not isinstance(record, WarningRecord):
        raise ValueError(f"record {index}: expected a WarningRecord, got {type(record).__name__}")
    texts = {}
    for field in (
        "request_id",
        "loan_id",
        "borrower_id",
        "model_name",
        "model_version",
        "policy_version",
    ):
        value = getattr(record, field)
        if not isinstance(value, str) or not value.strip():
            raise bad(field, "must be a non-empty string")
        texts[field] = value
    if record.source not in SOURCES:
        raise bad("source", f"{record.source!r} is not one of {', '.join(SOURCES)}")
    if record.grade not in GRADES:
        raise bad("grade", f"{record.grade!r} is not one of {', '.join(GRADES)}")
    if (
        isinstance(record.stage_hint, bool)
        or not isinstance(record.stage_hint, Integral)
        or int(record.stage_hint) not in STAGES
    ):
        raise bad("stage_hint", f"{record.stage_hint!r} is not a stage 1, 2 or 3")
    scored_at = record.scored_at
    if not isinstance(scored_at, datetime):
        raise bad("scored_at", f"must be a datetime, not {type(scored_at).__name__}")
    if scored_at.tzinfo is None or scored_at.utcoffset() is None:
        raise bad("scored_at", "is a naive datetime; give it a time zone (UTC)")
    if isinstance(record.as_of, datetime) or not isinstance(record.as_of, date):
        raise bad("as_of", f"must be a date, not {type(record.as_of).__name__}")
    probabilities = {}
    for field in ("p_s1", "p_s2", "p_s3"):
        value = getattr(record, field)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise bad(field, f"must be a number, not {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise bad(field, f"{number!r} is not a probability in [0, 1]")
        probabilities[field] = number
    if not probabilities["p_s1"] >= probabilities["p_s2"] >= probabilities["p_s3"]:
        raise bad(
            "p_s1/p_s2/p_s3",
            "must not increase (P(S>=1) >= P(S>=2) >= P(S>=3)); got "
            f"{probabilities['p_s1']!r}, {probabilities['p_s2']!r}, {probabilities['p_s3']!r}",
        )
    if not isinstance(record.features, Mapping):
        raise bad("features", f"must be a mapping, not {type(record.features).__name__}")
    features = {}
    for name, value in record.features.items():
        if not isinstance(name, str):
            raise bad("features", f"has a non-string name {name!r}")
        features[name] = _feature_value(value, lambda p, n=name: bad(f"features[{n!r}]", p))
    if isinstance(record.reasons, str | bytes) or not isinstance(record.reasons, Sequence):
        raise bad("reasons", "must be a list of mappings")
    reasons = []
    for i, reason in enumerate(record.reasons):
        if not isinstance(reason, Mapping):
            raise bad(f"reasons[{i}]", f"must be a mapping, not {type(reason).__name__}")
        reasons.append(_json_value(reason, lambda p, i=i: bad(f"reasons[{i}]", p)))
    if isinstance(record.notes, str | bytes) or not isinstance(record.notes, Sequence):
        raise bad("notes", "must be a list of strings")
    notes = []
    for i, note in enumerate(record.notes):
        if not isinstance(note, str):
            raise bad(f"notes[{i}]", f"must be a string, not {type(note).__name__}")
        notes.append(note)
    return {
        "request_id": texts["request_id"],
        "scored_at": scored_at.astimezone(UTC),
        "as_of": record.as_of,
        "loan_id": texts["loan_id"],
        "borrower_pseudonym": pseudonymise(key, texts["borrower_id"]),
        "source": record.source,
        "model_name": texts["model_name"],
        "model_version": texts["model_version"],
        "policy_version": texts["policy_version"],
        **probabilities,
        "grade": record.grade,
        "stage_hint": int(record.stage_hint),
        "features": features,
        "reasons": reasons,
        "notes": notes,
    }


def _feature_value(value: object, bad: Any) -> FeatureValue:
    """A feature value as stored: NaN (and pandas missing values) become ``None``."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:  # fast path, no ABC checks
        return value  # type: ignore[return-value]
    if kind is float:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number):
            return number
    if isinstance(value, str | bool):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _feature_value(value.item(), bad)  # numpy scalar -> Python scalar
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            raise bad(f"{number!r} is not finite")
        return number
    if value is pd.NA or value is pd.NaT:
        return None
    raise bad(f"has a {type(value).__name__}; expected a number, string, bool or None")


def _json_value(value: object, bad: Any) -> Any:
    """A JSON-safe copy of a reason: mappings, lists and feature-like scalars."""
    if isinstance(value, Mapping):
        out = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise bad(f"has a non-string key {name!r}")
            out[name] = _json_value(item, bad)
        return out
    if isinstance(value, list | tuple):
        return [_json_value(item, bad) for item in value]
    return _feature_value(value, bad)


class WarningLedger:
    """The warning ledger on one database (SQLite file or PostgreSQL).

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////abs/path/ledger.db`` or
        ``postgresql+psycopg2://user@host:5432/db``. A bare ``postgresql://`` means psycopg2
        (the driver this project installs). In-memory SQLite is refused: it is not durable.
    pseudonym_key : bytes
        Key of the borrower pseudonyms (at least :data:`MIN_KEY_BYTES` bytes); see
        :func:`load_or_create_key` and :func:`key_from_hex`.

    Raises
    ------
    LedgerError
        If the URL cannot be parsed or names an unsupported database.
    ValueError
        If the key is too short.

    Notes
    -----
    Nothing is connected until first use; then the tables are created if absent and the
    schema version and key check are compared with what the ledger holds. One instance is
    safe to share between threads.
    """

    def __init__(self, url: str, pseudonym_key: bytes) -> None:
        _check_key(pseudonym_key)
        self._key = bytes(pseudonym_key)
        self._url = _parse_url(url)
        self._password = self._url.password
        #: The URL with any password masked, for messages and logs.
        self.url = self._url.render_as_string(hide_password=True)
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WarningLedger({self.url!r})"

    # ----------------------------------------------------------------- writing

    def record(self, records: Sequence[WarningRecord]) -> int:
        """Write a batch of records in one transaction: all of them or none.

        Parameters
        ----------
        records : sequence of WarningRecord
            Typically one request's or one portfolio run's records.

        Returns
        -------
        int
            Rows written (``len(records)``).

        Raises
        ------
        ValueError
            If a record is invalid (the message names its index, loan id and field), or the
            batch repeats a ``(request_id, loan_id, as_of)``. Nothing is written.
        DuplicateBatchError
            If the ledger already holds one of the batch's ``(request_id, loan_id, as_of)``
            (a retried write). Nothing is written.
        LedgerError
            If the database fails. Nothing is written.
        """
        rows = [_row(i, record, self._key) for i, record in enumerate(records)]
        if not rows:
            return 0
        seen: set[tuple[str, str, date]] = set()
        for i, row in enumerate(rows):
            unique = (row["request_id"], row["loan_id"], row["as_of"])
            if unique in seen:
                raise ValueError(
                    f"record {i} (loan_id {row['loan_id']!r}): repeats request_id "
                    f"{row['request_id']!r}, loan_id and as_of {row['as_of']} within the batch"
                )
            seen.add(unique)
        engine = self._ready_engine()
        try:
            with self._write(engine) as conn:
                conn.execute(warning_ledger.insert(), rows)
        except IntegrityError as exc:
            raise self._duplicate_error(engine, rows, exc) from None
        except SQLAlchemyError as exc:
            raise self._error(f"writing {len(rows)} records", exc) from None
        logger.debug("ledger: %d records written (request ids %s)", len(rows), _ids(rows))
        return len(rows)

    # ----------------------------------------------------------------- reading

    def read(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        as_of: date | None = None,
        loan_ids: Sequence[str] | None = None,
        source: str | None = None,
        request_id: str | None = None,
    ) -> pd.DataFrame:
        """The records matching every given filter, one row each, ordered by ``id``.

        Parameters
        ----------
        since, until : datetime, optional
            Half-open window on ``scored_at``: ``since <= scored_at < until`` (aware).
        as_of : date, optional
            Only this assessment date.
        loan_ids : sequence of str, optional
            Only these loans (an empty sequence matches nothing).
        source : str, optional
            Only this source.
        request_id : str, optional
            Only this request or portfolio run.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`READ_COLUMNS`: the record fields with ``borrower_pseudonym``
            instead of ``borrower_id``, plus ``id`` and ``pd_12m`` (= ``p_s3``). ``scored_at``
            is ``datetime64[ns, UTC]``, ``as_of`` ``datetime64[ns]``; ``features``,
            ``reasons`` and ``notes`` are Python dicts and lists.
        """
        filters = _Filters.of(since, until, as_of, loan_ids, source, request_id)
        rows = self._select(
            lambda where: (
                select(*warning_ledger.columns).where(*where).order_by(warning_ledger.c.id)
            ),
            filters,
            "reading",
        )
        frame = pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))
        if filters.chunked:
            frame = frame.sort_values("id", kind="stable", ignore_index=True)
        frame["pd_12m"] = frame["p_s3"]
        return _typed(frame)[list(READ_COLUMNS)]

    def read_features(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        as_of: date | None = None,
        loan_ids: Sequence[str] | None = None,
        source: str | None = None,
        request_id: str | None = None,
    ) -> pd.DataFrame:
        """The recorded model inputs, one column per feature, for drift monitoring.

        Takes the filters of :meth:`read`. Returns :data:`FEATURE_KEY_COLUMNS` followed by
        the union of the feature names in first-seen order (a feature a record lacks is
        missing); rows ordered by ``id``. Missing numeric values are NaN.
        """
        filters = _Filters.of(since, until, as_of, loan_ids, source, request_id)
        wanted = (warning_ledger.c.id, *(warning_ledger.c[n] for n in FEATURE_KEY_COLUMNS))
        rows = self._select(
            lambda where: (
                select(*wanted, warning_ledger.c.features)
                .where(*where)
                .order_by(warning_ledger.c.id)
            ),
            filters,
            "reading features",
        )
        if filters.chunked:
            rows.sort(key=lambda row: row[0])
        keys = _typed(pd.DataFrame([row[1:-1] for row in rows], columns=list(FEATURE_KEY_COLUMNS)))
        values = pd.DataFrame([row[-1] for row in rows], index=keys.index)
        clash = sorted(set(values.columns) & set(FEATURE_KEY_COLUMNS))
        if clash:
            raise LedgerError(f"ledger {self.url}: feature names {clash} clash with key columns")
        return pd.concat([keys, values], axis=1)

    def count(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        as_of: date | None = None,
        loan_ids: Sequence[str] | None = None,
        source: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """How many records match the filters of :meth:`read`."""
        filters = _Filters.of(since, until, as_of, loan_ids, source, request_id)
        rows = self._select(
            lambda where: select(func.count()).select_from(warning_ledger).where(*where),
            filters,
            "counting",
        )
        return sum(int(row[0]) for row in rows)

    def latest_grades(
        self,
        before: date,
        *,
        source: str | None = "portfolio",
        loan_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Each loan's latest assessment strictly before ``before``: the previous month's grade.

        Parameters
        ----------
        before : date
            Only records with ``as_of < before`` count.
        source : str or None
            Only this source (default the monthly portfolio run); ``None`` for any.
        loan_ids : sequence of str, optional
            Only these loans.

        Returns
        -------
        pandas.DataFrame
            One row per loan, ordered by ``loan_id``, columns :data:`LATEST_COLUMNS`. The
            latest ``as_of`` wins; between records of the same ``as_of`` (a rerun) the latest
            ``scored_at``, then the highest ``id``.
        """
        if isinstance(before, datetime) or not isinstance(before, date):
            raise ValueError(f"before must be a date, not {type(before).__name__}")
        filters = _Filters.of(None, None, None, loan_ids, source, None)
        t = warning_ledger
        rank = (
            func.row_number()
            .over(
                partition_by=t.c.loan_id,
                order_by=(t.c.as_of.desc(), t.c.scored_at.desc(), t.c.id.desc()),
            )
            .label("rank")
        )

        def query(where: list[ColumnElement[bool]]) -> Any:
            ranked = (
                select(
                    t.c.loan_id,
                    t.c.as_of,
                    t.c.grade,
                    t.c.p_s3.label("pd_12m"),
                    t.c.request_id,
                    t.c.scored_at,
                    t.c.model_version,
                    rank,
                )
                .where(t.c.as_of < before, *where)
                .subquery()
            )
            columns = [ranked.c[name] for name in LATEST_COLUMNS]
            return select(*columns).where(ranked.c.rank == 1).order_by(ranked.c.loan_id)

        rows = self._select(query, filters, "reading latest grades")
        frame = pd.DataFrame(rows, columns=list(LATEST_COLUMNS))
        if filters.chunked:
            frame = frame.sort_values("loan_id", kind="stable", ignore_index=True)
        return _typed(frame)

    # ----------------------------------------------------------------- lifecycle

    def check(self) -> None:
        """Connect, create the tables if absent and check them; for readiness probes.

        Raises
        ------
        LedgerError
            If the database is unreachable or holds an incompatible ledger.
        """
        engine = self._ready_engine()
        try:
            with engine.connect() as conn:
                conn.execute(select(1)).scalar_one()
        except SQLAlchemyError as exc:
            raise self._error("connecting", exc) from None

    def dispose(self) -> None:
        """Close every pooled connection; the next use connects (and checks) again."""
        with self._lock:
            engine, self._engine, self._ready = self._engine, None, False
        if engine is not None:
            engine.dispose()

    # ----------------------------------------------------------------- internals

    def _ready_engine(self) -> Engine:
        engine = self._engine
        if engine is not None and self._ready:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            if not self._ready:
                self._initialise(self._engine)
                self._ready = True
            return self._engine

    def _create_engine(self) -> Engine:
        url = self._url
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
                    f"ledger {self.url}: cannot create folder {folder}: {exc.strerror or exc}"
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
            raise LedgerError(f"ledger {self.url}: {first_line(exc)}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
        return engine

    def _initialise(self, engine: Engine) -> None:
        """Create the tables if absent; refuse a ledger of another schema version or key."""
        key_check = hmac.new(self._key, _KEY_CHECK_LABEL, hashlib.sha256).hexdigest()
        try:
            with self._write(engine) as conn:
                if conn.dialect.name == "postgresql":  # concurrent first starts take turns
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _INIT_LOCK_ID})
                metadata.create_all(conn, checkfirst=True)
                present = {c["name"] for c in inspect(conn).get_columns("warning_ledger")}
                missing = [name for name in _TABLE_COLUMNS if name not in present]
                if missing:
                    raise LedgerError(
                        f"ledger {self.url}: schema mismatch: table warning_ledger lacks "
                        f"columns {', '.join(missing)}"
                    )
                meta = dict(conn.execute(select(ledger_meta.c.name, ledger_meta.c.value)).all())
                version = meta.get("schema_version")
                if version is not None and version != SCHEMA_VERSION:
                    raise LedgerError(
                        f"ledger {self.url}: schema mismatch: the ledger has schema version "
                        f"{version}, this code writes version {SCHEMA_VERSION}"
                    )
                stored_check = meta.get("pseudonym_key_check")
                if stored_check is not None and not hmac.compare_digest(stored_check, key_check):
                    raise LedgerError(
                        f"ledger {self.url}: the pseudonym key differs from the one this ledger "
                        "was written with; its pseudonyms would not match"
                    )
                fresh = [
                    {"name": name, "value": value}
                    for name, value in (
                        ("schema_version", SCHEMA_VERSION),
                        ("pseudonym_key_check", key_check),
                    )
                    if name not in meta
                ]
                if fresh:
                    conn.execute(ledger_meta.insert(), fresh)
        except SQLAlchemyError as exc:
            raise self._error("opening", exc) from None

    @contextlib.contextmanager
    def _write(self, engine: Engine) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite: wait for the write lock first)."""
        with engine.connect() as conn:
            conn.execution_options(ledger_write=True)
            with conn.begin():
                yield conn

    def _select(self, query: Any, filters: _Filters, doing: str) -> list[Any]:
        engine = self._ready_engine()
        rows: list[Any] = []
        try:
            with engine.connect() as conn:
                for where in filters.clauses():
                    rows.extend(tuple(row) for row in conn.execute(query(where)))
        except SQLAlchemyError as exc:
            raise self._error(doing, exc) from None
        return rows

    def _duplicate_error(
        self, engine: Engine, rows: list[dict[str, Any]], exc: IntegrityError
    ) -> LedgerError:
        """Name a record of the batch the ledger already holds (or, failing that, the cause)."""
        batch = {(r["request_id"], r["loan_id"], r["as_of"]) for r in rows}
        t = warning_ledger
        held: list[tuple[str, str, date]] = []
        with contextlib.suppress(SQLAlchemyError), engine.connect() as conn:
            for request_id in sorted({r["request_id"] for r in rows}):
                query = select(t.c.request_id, t.c.loan_id, t.c.as_of).where(
                    t.c.request_id == request_id
                )
                found = (tuple(row) for row in conn.execute(query))
                held.extend(key for key in found if key in batch)
        if not held:
            return self._error(f"writing {len(rows)} records", exc)
        request_id, loan_id, as_of = min(held)
        return DuplicateBatchError(
            f"ledger {self.url}: duplicate batch: {len(held)} of its {len(rows)} records are "
            f"already recorded (e.g. request_id {request_id!r}, loan_id {loan_id!r}, as_of "
            f"{as_of}); nothing of this batch was written"
        )

    def _error(self, doing: str, exc: BaseException) -> LedgerError:
        cause = getattr(exc, "orig", None) or exc
        reason = first_line(cause)
        if self._password:
            reason = reason.replace(self._password, "***")
        return LedgerError(f"ledger {self.url}: {doing} failed: {reason}")


@dataclass(frozen=True)
class _Filters:
    """The filters of a read, as SQL conditions; loan ids go in chunks of ``IN`` lists."""

    common: tuple[ColumnElement[bool], ...]
    loan_ids: tuple[str, ...] | None

    @classmethod
    def of(
        cls,
        since: datetime | None,
        until: datetime | None,
        as_of: date | None,
        loan_ids: Sequence[str] | None,
        source: str | None,
        request_id: str | None,
    ) -> _Filters:
        t = warning_ledger
        common: list[ColumnElement[bool]] = []
        for name, moment in (("since", since), ("until", until)):
            if moment is None:
                continue
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise ValueError(f"{name} must be a timezone-aware datetime")
            aware = moment.astimezone(UTC)
            common.append(t.c.scored_at >= aware if name == "since" else t.c.scored_at < aware)
        if as_of is not None:
            if isinstance(as_of, datetime) or not isinstance(as_of, date):
                raise ValueError(f"as_of must be a date, not {type(as_of).__name__}")
            common.append(t.c.as_of == as_of)
        if source is not None:
            if source not in SOURCES:
                raise ValueError(f"source {source!r} is not one of {', '.join(SOURCES)}")
            common.append(t.c.source == source)
        if request_id is not None:
            common.append(t.c.request_id == request_id)
        if loan_ids is not None and isinstance(loan_ids, str | bytes):
            raise ValueError("loan_ids must be a sequence of loan ids, not one string")
        ids = None if loan_ids is None else tuple(dict.fromkeys(str(i) for i in loan_ids))
        return cls(tuple(common), ids)

    @property
    def chunked(self) -> bool:
        """Whether the query runs once per chunk of loan ids (results need re-sorting)."""
        return self.loan_ids is not None and len(self.loan_ids) > _IN_CHUNK

    def clauses(self) -> Iterator[list[ColumnElement[bool]]]:
        """One list of conditions per query to run (none for an empty ``loan_ids``)."""
        if self.loan_ids is None:
            yield list(self.common)
            return
        for start in range(0, len(self.loan_ids), _IN_CHUNK):
            chunk = self.loan_ids[start : start + _IN_CHUNK]
            yield [*self.common, warning_ledger.c.loan_id.in_(chunk)]


# --------------------------------------------------------------------------- helpers


def _parse_url(url: str) -> URL:
    """The parsed URL of a supported, durable database, or a :class:`LedgerError`."""
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
    immediate = conn.get_execution_options().get("ledger_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Column types of a ledger frame, whether or not it has rows."""
    frame = frame.copy()
    if "scored_at" in frame:
        frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True).astype(
            "datetime64[ns, UTC]"
        )
    if "as_of" in frame:
        frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    for name in ("id", "stage_hint"):
        if name in frame:
            frame[name] = frame[name].astype("int64")
    for name in ("p_s1", "p_s2", "p_s3", "pd_12m"):
        if name in frame:
            frame[name] = frame[name].astype("float64")
    for name in frame.columns.intersection(
        [
            "request_id",
            "loan_id",
            "borrower_pseudonym",
            "source",
            "model_name",
            "model_version",
            "policy_version",
            "grade",
            "features",
            "reasons",
            "notes",
        ]
    ):
        frame[name] = frame[name].astype(object)
    return frame


def _ids(rows: list[dict[str, Any]]) -> str:
    ids = sorted({row["request_id"] for row in rows})
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")

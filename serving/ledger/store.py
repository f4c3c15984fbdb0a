"""The warning ledger on one database: write batches, read them back as frames.

Single responsibility: :class:`WarningLedger` owns the engine of one ledger; it creates and
checks the tables on first use, writes each batch of records in one transaction (all or
nothing), and answers reads (``read``, ``read_features``, ``count``, ``latest_grades``) as
pandas frames. What a record must hold is ``serving.ledger.records``; which rows a read
selects is ``serving.ledger.query``; how a URL becomes an engine is ``serving.ledger.engine``.

It holds the pseudonym key, so it is also where an authorised user looks a loan up: reads take
clear ``loan_ids`` and match them by pseudonym, and :meth:`WarningLedger.pseudonym_of_loan`
gives the pseudonym a loan's rows carry (to join the ledger with the bank's own reports).
Rows read back carry ``loan_pseudonym`` and ``borrower_pseudonym``, never a clear id.

Every database failure is a :class:`LedgerError` whose message names the ledger (password
hidden) and the reason in one line. Nothing is connected until first use.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from features.io import first_line
from serving.ledger.engine import WRITE_OPTION, make_engine, parse_url
from serving.ledger.errors import DuplicateBatchError, LedgerError
from serving.ledger.keys import check_key, key_check_value, pseudonymise, pseudonymise_loan
from serving.ledger.query import Conditions, LedgerQuery
from serving.ledger.records import WarningRecord, table_rows
from serving.ledger.schema import (
    FEATURE_KEY_COLUMNS,
    LATEST_COLUMNS,
    OBJECT_COLUMNS,
    OLDER_SCHEMAS,
    READ_COLUMNS,
    SCHEMA_VERSION,
    SCORED_KEY_COLUMNS,
    TABLE_COLUMNS,
    ledger_meta,
    metadata,
    warning_ledger,
)

logger = logging.getLogger(__name__)

#: Rows fetched at a time by the reads that stream (``read_scored``, ``read_features``).
READ_BATCH: Final = 20_000
#: PostgreSQL advisory lock serialising table creation across processes.
_INIT_LOCK_ID: Final = 0x5245445F4C444752  # "RED_LDGR"


class WarningLedger:
    """The warning ledger on one database (SQLite file or PostgreSQL).

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:////abs/path/ledger.db`` or
        ``postgresql+psycopg2://user@host:5432/db``. A bare ``postgresql://`` means psycopg2
        (the driver this project installs). In-memory SQLite is refused: it is not durable.
    pseudonym_key : bytes
        Key of the loan and borrower pseudonyms (at least ``MIN_KEY_BYTES`` bytes); see
        ``load_or_create_key`` and ``key_from_hex``.

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

    The reads take one :class:`LedgerQuery`, or its fields as keywords (``read(source=
    "score")``), or both (the keywords replace the query's fields).
    """

    def __init__(self, url: str, pseudonym_key: bytes) -> None:
        check_key(pseudonym_key)
        self._key = bytes(pseudonym_key)
        self._url = parse_url(url)
        self._password = self._url.password
        #: The URL with any password masked, for messages and logs.
        self.url = self._url.render_as_string(hide_password=True)
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WarningLedger({self.url!r})"

    # ----------------------------------------------------------------- pseudonyms

    def pseudonym_of_loan(self, loan_id: str) -> str:
        """The ``loan_pseudonym`` this ledger's rows carry for a clear loan id (same key: the
        same pseudonym in every request, run and ledger keyed alike)."""
        return pseudonymise_loan(self._key, str(loan_id))

    def pseudonym_of_borrower(self, borrower_id: str) -> str:
        """The ``borrower_pseudonym`` this ledger's rows carry for a clear borrower id."""
        return pseudonymise(self._key, str(borrower_id))

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
            If a record is invalid (the message names its index, loan pseudonym and field), or
            the batch repeats a ``(request_id, loan_id, as_of)``. Nothing is written.
        DuplicateBatchError
            If the ledger already holds one of the batch's ``(request_id, loan_id, as_of)``
            (a retried write; the key is stored as ``(request_id, loan_pseudonym, as_of)``).
            Nothing is written.
        LedgerError
            If the database fails. Nothing is written.
        """
        rows = table_rows(records, self._key)  # checked before the database is touched
        if not rows:
            return 0
        return self._insert([rows])

    def record_batches(self, batches: Iterable[Sequence[WarningRecord]]) -> int:
        """Write several batches of records in one transaction: all of them or none.

        What :meth:`record` does for a run too large to hold as records at once (a
        province-scale monthly assessment): each batch is made, checked and inserted in turn,
        so memory holds one batch, and the transaction commits only after the last. Same
        errors as :meth:`record`; a record's index counts from its batch's start, and a
        ``(request_id, loan_id, as_of)`` repeated across batches is a ``ValueError`` too.
        """
        return self._insert(table_rows(records, self._key) for records in batches)

    def _insert(self, row_batches: Iterable[list[dict[str, Any]]]) -> int:
        """Insert table rows batch by batch in one write transaction."""
        engine = self._ready_engine()
        written = 0
        rows: list[dict[str, Any]] = []
        try:
            with self._write(engine) as conn:
                for rows in row_batches:
                    if rows:
                        conn.execute(warning_ledger.insert(), rows)
                        written += len(rows)
        except IntegrityError as exc:
            error = self._duplicate_error(engine, rows, exc)
            if written and not isinstance(error, DuplicateBatchError):  # none held before
                raise ValueError(
                    f"a record repeats the request_id, loan and as_of of an earlier batch of "
                    f"the same write ({first_line(exc.orig or exc)}); nothing was written"
                ) from None
            raise error from None
        except SQLAlchemyError as exc:
            raise self._error(f"writing {written + len(rows)} records", exc) from None
        if written:
            logger.debug("ledger: %d records written (request ids %s)", written, _ids(rows))
        return written

    # ----------------------------------------------------------------- reading

    def read(self, query: LedgerQuery | None = None, /, **filters: Any) -> pd.DataFrame:
        """The records matching every filter of the query, one row each, ordered by ``id``.

        Parameters
        ----------
        query : LedgerQuery, optional
            The filters (``since``, ``until``, ``as_of``, ``loan_ids``, ``source``,
            ``request_id``); see :class:`LedgerQuery`.
        **filters
            The same filters as keywords, replacing the query's.

        Returns
        -------
        pandas.DataFrame
            Columns ``READ_COLUMNS``: the record fields with ``loan_pseudonym`` and
            ``borrower_pseudonym`` instead of the clear ids, plus ``id`` and ``pd_12m``
            (= ``p_s3``). ``scored_at``
            is ``datetime64[ns, UTC]``, ``as_of`` ``datetime64[ns]``; ``features``,
            ``reasons`` and ``notes`` are Python dicts and lists.
        """
        where = self._conditions(LedgerQuery.of(query, **filters))
        rows = self._select(
            lambda clauses: (
                select(*warning_ledger.columns).where(*clauses).order_by(warning_ledger.c.id)
            ),
            where,
            "reading",
        )
        frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        if where.chunked:
            frame = frame.sort_values("id", kind="stable", ignore_index=True)
        frame["pd_12m"] = frame["p_s3"]
        return _typed(frame)[list(READ_COLUMNS)]

    def read_features(self, query: LedgerQuery | None = None, /, **filters: Any) -> pd.DataFrame:
        """The recorded model inputs, one column per feature, for drift monitoring.

        Takes the query of :meth:`read`. Returns ``FEATURE_KEY_COLUMNS`` followed by the
        union of the feature names in first-seen order (a feature a record lacks is missing);
        rows ordered by ``id``. Missing numeric values are NaN.
        """
        return self._expanded(FEATURE_KEY_COLUMNS, query, filters, "reading features")

    def read_scored(self, query: LedgerQuery | None = None, /, **filters: Any) -> pd.DataFrame:
        """The recorded scores and model inputs of the query: what drift monitoring compares
        with its reference. Columns ``SCORED_KEY_COLUMNS`` then the features, as in
        :meth:`read_features`; rows ordered by ``id``.

        Read in batches, each turned into columns before the next is fetched, so a month of
        a province-scale book (a million records) costs its frame, not its records as Python
        objects, which :meth:`read` would.
        """
        return self._expanded(SCORED_KEY_COLUMNS, query, filters, "reading scores")

    def _expanded(
        self,
        key_columns: Sequence[str],
        query: LedgerQuery | None,
        filters: dict[str, Any],
        doing: str,
    ) -> pd.DataFrame:
        """``key_columns`` and the features expanded to columns, batch by batch."""
        where = self._conditions(LedgerQuery.of(query, **filters))
        t = warning_ledger
        wanted = (t.c.id, *(t.c[n] for n in key_columns), t.c.features)

        def batches(rows: Iterable[Sequence[Any]]) -> Iterator[pd.DataFrame]:
            for part in rows:
                keys = pd.DataFrame([row[:-1] for row in part], columns=["id", *key_columns])
                values = pd.DataFrame([row[-1] for row in part], index=keys.index)
                yield pd.concat([keys, values], axis=1)

        frames = list(
            batches(
                self._stream(
                    lambda clauses: select(*wanted).where(*clauses).order_by(t.c.id), where, doing
                )
            )
        )
        if not frames:
            return _typed(pd.DataFrame(columns=list(key_columns)))
        frame = pd.concat(frames, ignore_index=True).infer_objects()  # a None-only batch
        if where.chunked:
            frame = frame.sort_values("id", kind="stable", ignore_index=True)
        clash = sorted(set(frame.columns[len(key_columns) + 1 :]) & {"id", *key_columns})
        if clash:
            raise LedgerError(f"ledger {self.url}: feature names {clash} clash with key columns")
        return _typed(frame).drop(columns="id")

    def count(self, query: LedgerQuery | None = None, /, **filters: Any) -> int:
        """How many records match the query of :meth:`read`."""
        where = self._conditions(LedgerQuery.of(query, **filters))
        rows = self._select(
            lambda clauses: select(func.count()).select_from(warning_ledger).where(*clauses),
            where,
            "counting",
        )
        return sum(int(row[0]) for row in rows)

    def latest_grades(
        self,
        before: date,
        *,
        source: str | None = "portfolio",
        loan_ids: Sequence[str] | None = None,
        as_of: date | None = None,
    ) -> pd.DataFrame:
        """Each loan's latest assessment strictly before ``before``: the previous month's grade.

        Parameters
        ----------
        before : date
            Only records with ``as_of < before`` count.
        source : str or None
            Only this source (default the monthly portfolio run); ``None`` for any.
        loan_ids : sequence of str, optional
            Only these loans (clear ids, matched by pseudonym). For most of a large book,
            read without and pick the loans out: the ids go to the database in chunks.
        as_of : date, optional
            Only records of this as-of date (each loan's latest assessment of one month).

        Returns
        -------
        pandas.DataFrame
            One row per loan, ordered by ``loan_pseudonym``, columns ``LATEST_COLUMNS``. The
            latest ``as_of`` wins; between records of the same ``as_of`` (a rerun) the latest
            ``scored_at``, then the highest ``id``.
        """
        if isinstance(before, datetime) or not isinstance(before, date):
            raise ValueError(f"before must be a date, not {type(before).__name__}")
        t = warning_ledger
        return self._one_per_loan(
            t.c.as_of < before,
            (t.c.as_of.desc(), t.c.scored_at.desc(), t.c.id.desc()),
            LedgerQuery(loan_ids=loan_ids, source=source, as_of=as_of),
            "reading latest grades",
        )

    def first_scores(
        self,
        until: date,
        *,
        source: str | None = "portfolio",
        loan_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Each loan's first assessment with ``as_of <= until``: the provision run's PD at
        origination (the model-based SICR test compares today's PD with it).

        Same parameters and columns as :meth:`latest_grades`; the earliest ``as_of`` wins,
        then the earliest ``scored_at``, then the lowest ``id``.
        """
        if isinstance(until, datetime) or not isinstance(until, date):
            raise ValueError(f"until must be a date, not {type(until).__name__}")
        t = warning_ledger
        return self._one_per_loan(
            t.c.as_of <= until,
            (t.c.as_of.asc(), t.c.scored_at.asc(), t.c.id.asc()),
            LedgerQuery(loan_ids=loan_ids, source=source),
            "reading first scores",
        )

    def _one_per_loan(
        self,
        condition: ColumnElement[bool],
        order_by: tuple[Any, ...],
        query_filters: LedgerQuery,
        doing: str,
    ) -> pd.DataFrame:
        """The first record of each loan in ``order_by`` among those meeting ``condition``."""
        where = self._conditions(query_filters)
        t = warning_ledger
        rank = func.row_number().over(partition_by=t.c.loan_pseudonym, order_by=order_by)

        def query(clauses: list[ColumnElement[bool]]) -> Any:
            ranked = (
                select(
                    t.c.loan_pseudonym,
                    t.c.as_of,
                    t.c.grade,
                    t.c.p_s3.label("pd_12m"),
                    t.c.request_id,
                    t.c.scored_at,
                    t.c.model_version,
                    rank.label("rank"),
                )
                .where(condition, *clauses)
                .subquery()
            )
            columns = [ranked.c[name] for name in LATEST_COLUMNS]
            return select(*columns).where(ranked.c.rank == 1).order_by(ranked.c.loan_pseudonym)

        rows = self._select(query, where, doing)
        frame = pd.DataFrame(rows, columns=list(LATEST_COLUMNS))
        if where.chunked:
            frame = frame.sort_values("loan_pseudonym", kind="stable", ignore_index=True)
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

    def _conditions(self, query: LedgerQuery) -> Conditions:
        return Conditions.of(query, self.pseudonym_of_loan)

    def _ready_engine(self) -> Engine:
        engine = self._engine
        if engine is not None and self._ready:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self._url)
            if not self._ready:
                self._initialise(self._engine)
                self._ready = True
            return self._engine

    def _initialise(self, engine: Engine) -> None:
        """Create the tables if absent; refuse a ledger of another schema version or key."""
        key_check = key_check_value(self._key)
        try:
            with self._write(engine) as conn:
                if conn.dialect.name == "postgresql":  # concurrent first starts take turns
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _INIT_LOCK_ID})
                metadata.create_all(conn, checkfirst=True)
                present = {c["name"] for c in inspect(conn).get_columns("warning_ledger")}
                meta = dict(conn.execute(select(ledger_meta.c.name, ledger_meta.c.value)).all())
                version = meta.get("schema_version")
                older = _older_schema(version, present)
                if older is not None:  # the ledger has no migrations: say what to do instead
                    raise LedgerError(
                        f"ledger {self.url}: created by an older version (schema {older}: "
                        f"{OLDER_SCHEMAS[older]}): move it aside or export it, and a new ledger "
                        "is created in its place"
                    )
                missing = [name for name in TABLE_COLUMNS if name not in present]
                if missing:
                    raise LedgerError(
                        f"ledger {self.url}: schema mismatch: table warning_ledger lacks "
                        f"columns {', '.join(missing)}"
                    )
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
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _select(
        self,
        query: Callable[[list[ColumnElement[bool]]], Any],
        where: Conditions,
        doing: str,
    ) -> list[Any]:
        """Every row of ``query`` as a tuple (:meth:`_stream`, gathered)."""
        return [tuple(row) for part in self._stream(query, where, doing) for row in part]

    def _stream(
        self,
        query: Callable[[list[ColumnElement[bool]]], Any],
        where: Conditions,
        doing: str,
    ) -> Iterator[list[Sequence[Any]]]:
        """The rows of ``query`` in batches of ``READ_BATCH``, fetched as they are used."""
        engine = self._ready_engine()
        try:
            with engine.connect() as conn:
                streaming = conn.execution_options(stream_results=True, yield_per=READ_BATCH)
                for clauses in where.clauses():
                    for part in streaming.execute(query(clauses)).partitions():
                        yield list(part)
        except SQLAlchemyError as exc:
            raise self._error(doing, exc) from None

    def _duplicate_error(
        self, engine: Engine, rows: list[dict[str, Any]], exc: IntegrityError
    ) -> LedgerError:
        """Name a record of the batch the ledger already holds (or, failing that, the cause)."""
        batch = {(r["request_id"], r["loan_pseudonym"], r["as_of"]) for r in rows}
        t = warning_ledger
        held: list[tuple[str, str, date]] = []
        with contextlib.suppress(SQLAlchemyError), engine.connect() as conn:
            for request_id in sorted({r["request_id"] for r in rows}):
                query = select(t.c.request_id, t.c.loan_pseudonym, t.c.as_of).where(
                    t.c.request_id == request_id
                )
                found = (tuple(row) for row in conn.execute(query))
                held.extend(key for key in found if key in batch)
        if not held:
            return self._error(f"writing {len(rows)} records", exc)
        request_id, loan_pseudonym, as_of = min(held)
        return DuplicateBatchError(
            f"ledger {self.url}: duplicate batch: {len(held)} of its {len(rows)} records are "
            f"already recorded (e.g. request_id {request_id!r}, loan_pseudonym "
            f"{loan_pseudonym!r}, as_of {as_of}); nothing of this batch was written"
        )

    def _error(self, doing: str, exc: BaseException) -> LedgerError:
        cause = getattr(exc, "orig", None) or exc
        reason = first_line(cause)
        if self._password:
            reason = reason.replace(self._password, "***")
        return LedgerError(f"ledger {self.url}: {doing} failed: {reason}")


def _older_schema(version: str | None, columns: set[str]) -> str | None:
    """The older schema version a ledger was written with (by its ``ledger_meta``, or by its
    columns: schema 1 had a clear ``loan_id``), or ``None``."""
    if version in OLDER_SCHEMAS:
        return version
    if "loan_id" in columns and "loan_pseudonym" not in columns:
        return "1"
    return None


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
    for name in frame.columns.intersection(list(OBJECT_COLUMNS)):
        frame[name] = frame[name].astype(object)
    return frame


def _ids(rows: list[dict[str, Any]]) -> str:
    ids = sorted({row["request_id"] for row in rows})
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")

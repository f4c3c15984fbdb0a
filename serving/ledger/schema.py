"""The ledger's tables: what one stored row is and what the database itself enforces.

Single responsibility: declare the tables (on a private ``MetaData``, so they mix with no
other registry), the column types, the constraints that hold whatever code writes, and the
column orders of the frames the ledger returns. Nothing here connects to a database.

Design choice: SQLAlchemy Core ``Table`` objects, not the ORM. The ledger is append-only,
written in bulk (a portfolio run is tens of thousands of rows in one ``executemany``) and read
straight into DataFrames; an identity map, unit of work and per-row objects would add cost and
nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)

from models.grade_policy import GRADES

#: Where a record comes from: the two HTTP endpoints and the monthly portfolio run.
SOURCES: Final = ("score", "score_features", "portfolio")
#: IFRS 9 stages a record may hint at.
STAGES: Final = (1, 2, 3)
#: Version of the table layout below; a ledger written by another version is refused.
SCHEMA_VERSION: Final = "2"
#: Versions this code recognises as older and will not open, with what changed since.
OLDER_SCHEMAS: Final = {"1": "it stores loan ids in clear; this version stores loan pseudonyms"}


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
    # HMAC-SHA256 pseudonyms (``serving.ledger.keys``): no clear loan or borrower id is stored.
    Column("loan_pseudonym", String(64), nullable=False),
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
    UniqueConstraint(
        "request_id", "loan_pseudonym", "as_of", name="uq_warning_ledger_request_loan"
    ),
    CheckConstraint("p_s3 >= 0 AND p_s3 <= p_s2 AND p_s2 <= p_s1 AND p_s1 <= 1", name="ck_p"),
    CheckConstraint(_in_list("grade", GRADES), name="ck_grade"),
    CheckConstraint(_in_list("source", SOURCES), name="ck_source"),
    CheckConstraint(_in_list("stage_hint", STAGES), name="ck_stage"),
    Index("ix_warning_ledger_loan_as_of", "loan_pseudonym", "as_of"),
    Index("ix_warning_ledger_scored_at", "scored_at"),
)

#: Name/value facts about the ledger itself: schema version and the key check value.
ledger_meta = Table(
    "ledger_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String, nullable=False),
)

#: Columns of ``WarningLedger.read``, in order.
READ_COLUMNS: Final = (
    "id",
    "request_id",
    "scored_at",
    "as_of",
    "loan_pseudonym",
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
#: Columns read back as Python objects (text and JSON): every read column of no other type.
OBJECT_COLUMNS: Final = tuple(
    c
    for c in READ_COLUMNS
    if c not in ("id", "scored_at", "as_of", "p_s1", "p_s2", "p_s3", "pd_12m", "stage_hint")
)
#: Leading columns of ``WarningLedger.read_features``; the features follow.
FEATURE_KEY_COLUMNS: Final = ("loan_pseudonym", "as_of", "scored_at", "model_version")
#: Leading columns of ``WarningLedger.read_scored``; the features follow.
SCORED_KEY_COLUMNS: Final = (
    *FEATURE_KEY_COLUMNS,
    *("request_id", "source", "p_s1", "p_s2", "p_s3", "grade"),
)
#: Columns of ``WarningLedger.latest_grades``, in order.
LATEST_COLUMNS: Final = (
    "loan_pseudonym",
    "as_of",
    "grade",
    "pd_12m",
    "request_id",
    "scored_at",
    "model_version",
)
#: Columns of the ``warning_ledger`` table, in order.
TABLE_COLUMNS: Final = tuple(c.name for c in warning_ledger.columns)

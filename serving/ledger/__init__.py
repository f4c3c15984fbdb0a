"""The warning ledger: the durable, append-only record of every scored loan.

Single responsibility: write each batch of scored loans (a scoring request or a portfolio run)
atomically to a database, and read it back as pandas frames for monitoring, provisions and
audit. Nothing else here scores, grades or decides; the caller builds the
:class:`WarningRecord` objects and the database URL.

The package, one concern a module (everything callers use is importable from here):

* ``keys`` - the pseudonym key (load, create, parse) and the HMAC pseudonyms made with it
  (borrower and loan ids, kept apart by a domain prefix);
* ``schema`` - the tables, their column types and constraints, the returned column orders;
* ``records`` - :class:`WarningRecord`, its validation and the table rows built from it;
* ``query`` - :class:`LedgerQuery`, the one filter object of every read, as SQL conditions;
* ``engine`` - from a URL to an engine set up for the ledger (SQLite WAL, PostgreSQL);
* ``store`` - :class:`WarningLedger`: create and check the tables, write, read, dispose;
* ``errors`` - :class:`LedgerError` and :class:`DuplicateBatchError`.

Guarantees
----------
* **All or nothing.** :meth:`WarningLedger.record` validates the whole batch first (finite
  probabilities in [0, 1], ``p_s1 >= p_s2 >= p_s3``, known grade, source and stage,
  timezone-aware ``scored_at``), then writes it in one transaction. A ``UNIQUE (request_id,
  loan_pseudonym, as_of)`` key makes a retried write fail as a whole (:class:`LedgerError`)
  instead of duplicating a scored loan.
* **Privacy.** The borrower id and the loan id (which often embeds the borrower's) are replaced
  by their keyed pseudonyms (HMAC-SHA256, one key, distinct domains) before anything touches
  the database or a log; the features recorded are model inputs, which never include an
  identifier (``models.inputs``). The key is never stored; ``ledger_meta`` keeps only a keyed
  check value so a ledger opened with another key (which would break the pseudonyms'
  continuity) is refused. Whoever holds the key looks loans up by clear id: reads take
  ``loan_ids`` and :meth:`WarningLedger.pseudonym_of_loan` names a loan's rows; the rows
  themselves carry only pseudonyms.
* **Concurrency.** SQLite runs in WAL mode with a 30 s busy timeout and writes begin with
  ``BEGIN IMMEDIATE``: concurrent writers queue for the write lock instead of failing with
  "database is locked", and readers never wait for writers. PostgreSQL (``psycopg2``) needs
  nothing special.
* **One-line errors.** Every database failure is a :class:`LedgerError` whose message names the
  ledger (password hidden) and the reason in one line.

Design choice: SQLAlchemy Core ``Table`` objects, not the ORM (see ``schema``). The tables live
on a private ``MetaData`` so they mix with no other registry.

Importing does no work beyond declaring the tables: the engine is created, and the tables
created (``create_all``) and checked, on first use.
"""

from __future__ import annotations

from serving.ledger.engine import POSTGRES_CONNECT_TIMEOUT_S, SQLITE_BUSY_TIMEOUT_S
from serving.ledger.errors import DuplicateBatchError, LedgerError
from serving.ledger.keys import (
    LOAN_DOMAIN,
    MIN_KEY_BYTES,
    key_from_hex,
    load_or_create_key,
    pseudonymise,
    pseudonymise_loan,
)
from serving.ledger.query import IN_CHUNK, LedgerQuery
from serving.ledger.records import FeatureValue, WarningRecord
from serving.ledger.schema import (
    FEATURE_KEY_COLUMNS,
    LATEST_COLUMNS,
    OLDER_SCHEMAS,
    READ_COLUMNS,
    SCHEMA_VERSION,
    SCORED_KEY_COLUMNS,
    SOURCES,
    STAGES,
    TABLE_COLUMNS,
    UTCDateTime,
    ledger_meta,
    metadata,
    warning_ledger,
)
from serving.ledger.store import WarningLedger

__all__ = [
    "FEATURE_KEY_COLUMNS",
    "IN_CHUNK",
    "LATEST_COLUMNS",
    "LOAN_DOMAIN",
    "MIN_KEY_BYTES",
    "OLDER_SCHEMAS",
    "POSTGRES_CONNECT_TIMEOUT_S",
    "READ_COLUMNS",
    "SCHEMA_VERSION",
    "SCORED_KEY_COLUMNS",
    "SOURCES",
    "SQLITE_BUSY_TIMEOUT_S",
    "STAGES",
    "TABLE_COLUMNS",
    "DuplicateBatchError",
    "FeatureValue",
    "LedgerError",
    "LedgerQuery",
    "UTCDateTime",
    "WarningLedger",
    "WarningRecord",
    "key_from_hex",
    "ledger_meta",
    "load_or_create_key",
    "metadata",
    "pseudonymise",
    "pseudonymise_loan",
    "warning_ledger",
]

"""The ledger's two exceptions, shared by every part of it.

Single responsibility: name what can go wrong in a way callers can tell apart: a database that
cannot be used (:class:`LedgerError`) from a retried write (:class:`DuplicateBatchError`).
"""

from __future__ import annotations


class LedgerError(RuntimeError):
    """The ledger cannot be used (bad URL, unreachable database, schema or key mismatch, or a
    duplicate batch: ``DuplicateBatchError``); ``str(err)`` is one line and never contains a
    password."""


class DuplicateBatchError(LedgerError):
    """The ledger already holds records of the batch (a retried write): nothing was written."""

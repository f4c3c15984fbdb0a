"""Which records a read selects: the one query object of every read, and its SQL conditions.

Single responsibility: :class:`LedgerQuery` holds the filters that ``read``, ``read_features``
and ``count`` share (``since``, ``until``, ``as_of``, ``loan_ids``, ``source``,
``request_id``), checks them once when it is made, and turns them into SQL conditions. A query
names loans by their clear ids, as their owner knows them; the conditions match their
pseudonyms, made with the ledger's key (the ledger stores nothing else). Loans go in chunks of
``IN`` lists, well under SQLite's bound-parameter limit, so the reader runs one statement per
chunk and re-sorts when there was more than one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy.sql.elements import ColumnElement

from serving.ledger.schema import SOURCES, warning_ledger

#: Loan ids per ``IN (...)`` query, well under SQLite's bound-parameter limit.
IN_CHUNK: Final = 500


@dataclass(frozen=True)
class LedgerQuery:
    """The records matching every given filter; ``None`` (the default) does not filter.

    Attributes
    ----------
    since, until : datetime, optional
        Half-open window on ``scored_at``: ``since <= scored_at < until`` (aware).
    as_of : date, optional
        Only this assessment date.
    loan_ids : sequence of str, optional
        Only these loans, by clear id (an empty sequence matches nothing); kept as a tuple
        without repeats, in the order given. The ledger matches them by their pseudonyms.
    source : str, optional
        Only this source.
    request_id : str, optional
        Only this request or portfolio run.

    Raises
    ------
    ValueError
        If a filter has the wrong type (a naive datetime, a datetime for ``as_of``, one string
        for ``loan_ids``) or ``source`` is not a known source.
    """

    since: datetime | None = None
    until: datetime | None = None
    as_of: date | None = None
    loan_ids: Sequence[str] | None = None
    source: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
                raise ValueError(f"{name} must be a timezone-aware datetime")
        as_of = self.as_of
        if as_of is not None and (isinstance(as_of, datetime) or not isinstance(as_of, date)):
            raise ValueError(f"as_of must be a date, not {type(as_of).__name__}")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"source {self.source!r} is not one of {', '.join(SOURCES)}")
        if self.loan_ids is not None:
            if isinstance(self.loan_ids, str | bytes):
                raise ValueError("loan_ids must be a sequence of loan ids, not one string")
            ids = tuple(dict.fromkeys(str(i) for i in self.loan_ids))
            object.__setattr__(self, "loan_ids", ids)

    @classmethod
    def of(cls, query: LedgerQuery | None = None, /, **filters: Any) -> LedgerQuery:
        """The query of a read call: ``query``, the keyword filters, or ``query`` with the
        keywords replacing its fields. The one place the keyword form becomes a query.

        Raises
        ------
        TypeError
            If ``query`` is not a :class:`LedgerQuery` or a keyword is not a filter.
        ValueError
            As :class:`LedgerQuery`.
        """
        unknown = sorted(set(filters) - FILTERS)
        if unknown:
            raise TypeError(
                f"unknown ledger filter {', '.join(unknown)} (filters: {', '.join(FILTERS_ORDER)})"
            )
        if query is None:
            return cls(**filters)
        if not isinstance(query, LedgerQuery):
            raise TypeError(f"expected a LedgerQuery, not {type(query).__name__}")
        return replace(query, **filters) if filters else query


#: The filters of :class:`LedgerQuery`, in order, and as a set.
FILTERS_ORDER: Final = tuple(f.name for f in fields(LedgerQuery))
FILTERS: Final = frozenset(FILTERS_ORDER)


@dataclass(frozen=True)
class Conditions:
    """A query as SQL conditions on ``warning_ledger``; loans go in chunks of ``IN`` lists."""

    common: tuple[ColumnElement[bool], ...]
    loan_pseudonyms: tuple[str, ...] | None

    @classmethod
    def of(cls, query: LedgerQuery, pseudonym_of_loan: Callable[[str], str]) -> Conditions:
        """The conditions of ``query``, its loan ids mapped through ``pseudonym_of_loan``."""
        t = warning_ledger
        common: list[ColumnElement[bool]] = []
        if query.since is not None:
            common.append(t.c.scored_at >= query.since.astimezone(UTC))
        if query.until is not None:
            common.append(t.c.scored_at < query.until.astimezone(UTC))
        if query.as_of is not None:
            common.append(t.c.as_of == query.as_of)
        if query.source is not None:
            common.append(t.c.source == query.source)
        if query.request_id is not None:
            common.append(t.c.request_id == query.request_id)
        loans = query.loan_ids
        pseudonyms = None if loans is None else tuple(pseudonym_of_loan(i) for i in loans)
        return cls(tuple(common), pseudonyms)

    @property
    def chunked(self) -> bool:
        """Whether the query runs once per chunk of loans (results need re-sorting)."""
        return self.loan_pseudonyms is not None and len(self.loan_pseudonyms) > IN_CHUNK

    def clauses(self) -> Iterator[list[ColumnElement[bool]]]:
        """One list of conditions per query to run (none for an empty ``loan_ids``)."""
        if self.loan_pseudonyms is None:
            yield list(self.common)
            return
        for start in range(0, len(self.loan_pseudonyms), IN_CHUNK):
            chunk = self.loan_pseudonyms[start : start + IN_CHUNK]
            yield [*self.common, warning_ledger.c.loan_pseudonym.in_(chunk)]

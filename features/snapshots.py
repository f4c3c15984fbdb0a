"""Point-in-time snapshots: one row per (loan, as_of month) from what was known by then.

``build_snapshots`` is the single code path behind training, whole-portfolio scoring and the
online endpoint: it takes validated raw tables (a whole book, or one borrower's rows) and a list
of as-of months and returns, for every loan open at the end of each month, the feature
families of ``features.families`` and (optionally) the outcome label. A loan is *open* at as_of
if it was originated on or before that month, no statement on or before it ended it, and, once
it is older than ``HISTORY_MONTHS``, it has a statement in that window.

A snapshot reads repayment statements and operating signals of the last ``HISTORY_MONTHS``
months only (plus the three statements of a renewed loan that the renewal flag needs), so the
online endpoint's requests carry just that history (``recent_history`` cuts it from a book) and
score exactly as the whole book does. That is also why a loan whose statements stopped more
than ``HISTORY_MONTHS`` ago is not open: its ending statement is outside the history a request
carries, and a loan still running always has a recent statement.

Missing data never becomes a silent zero: a loan with no statement yet has
``statements_so_far == 0``; a borrower with no operating data has NaN trends and its staleness
and missing counts say so; an unrated borrower has ``party_unrated``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.families import Columns
from features.families.events import events_features
from features.families.operating import SignalCube, operating_features
from features.families.party import party_features
from features.families.repayment import repayment_features
from features.keys import KeyIndex
from features.labels import DEFAULT_HORIZON, label_rows
from features.months import HISTORY_MONTHS, day_number, month_end, month_index
from features.party_index import PartyIndexUnifier
from features.statements import StatementIndex
from features.vocab import PILOT_AREAS, TERMINAL_STATUSES

__all__ = [
    "HISTORY_MONTHS",
    "ID_COLUMNS",
    "LABEL_COLUMNS",
    "STATIC_CATEGORIES",
    "SnapshotError",
    "borrower_tables",
    "build_snapshots",
    "check_as_of_covered",
    "parse_months",
    "recent_history",
]

#: Identifying columns of a snapshot row (the key is loan_id + as_of) and its label columns:
#: neither is ever a model input.
ID_COLUMNS = ("loan_id", "as_of", "borrower_id")
LABEL_COLUMNS = ("severity", "labeled")
STATIC_CATEGORIES = ["borrower_type", "industry", "area", "size", "bank", "product"]


class SnapshotError(ValueError):
    """The request cannot be served (e.g. an as-of month outside the data); says why."""


@dataclass(frozen=True)
class IndexedBook:
    """Validated tables with integer codes for borrowers and loans."""

    loans: pd.DataFrame
    borrowers: pd.DataFrame
    borrower_keys: KeyIndex
    statements: StatementIndex
    loan_end_month: np.ndarray


def parse_months(spec: str | Iterable[str | pd.Period | int]) -> list[int]:
    """As-of months from ``"2024-01:2024-12"``, ``"2024-06"`` or an iterable of months
    (``"2024-06"``, periods, or integer months as ``features.months`` counts them)."""
    if isinstance(spec, str):
        first, _, last = spec.partition(":")
        try:
            periods = pd.period_range(first, last or first, freq="M")
        except ValueError:
            raise SnapshotError(
                f"as-of {spec!r} is not a month range like 2024-01:2024-12"
            ) from None
        if len(periods) == 0:
            raise SnapshotError(f"as-of range {spec!r} is empty (the end precedes the start)")
    else:
        items = list(spec)
        if all(isinstance(m, int | np.integer) for m in items):
            return [int(m) for m in items]
        try:
            periods = pd.PeriodIndex([pd.Period(m, freq="M") for m in items])
        except ValueError:
            raise SnapshotError(f"as-of months {items!r} are not months like 2024-06") from None
    return [p.year * 12 + p.month - 1 for p in periods]


def index_book(tables: dict[str, pd.DataFrame]) -> IndexedBook:
    """The validated tables with integer codes: loans in ``loan_id`` order, their statements
    indexed, each loan's end month. Shared with ``open_loan_grid`` by everything that must
    agree on which loans are open when (the snapshot builder, realized outcomes)."""
    borrowers = tables["borrowers"].reset_index(drop=True)
    raw = tables["loans"]
    loan_ids = raw["loan_id"].to_numpy(dtype=object).astype(str)
    # Loans in loan_id order, so the grid (sorted by loan code, then month) needs no re-sort.
    order = np.argsort(loan_ids, kind="stable")
    loan_ids = loan_ids[order]
    borrower_keys = KeyIndex(borrowers["borrower_id"])
    loan_keys = KeyIndex(pd.Series(loan_ids))
    renewal_of = raw["renewal_of"].to_numpy(dtype=object)[order]
    renews = pd.notna(renewal_of)
    previous = np.full(order.size, -1, dtype=np.int64)
    if renews.any():
        previous[renews] = loan_keys.positions(pd.Series(renewal_of[renews]))
    loans = pd.DataFrame(  # one constructor: this runs on every online request
        {
            "loan_id": loan_ids,
            "borrower_code": borrower_keys.positions(raw["borrower_id"])[order],
            "bank": raw["bank"].array.take(order),
            "product": raw["product"].array.take(order),
            "amount": raw["amount"].to_numpy()[order],
            "annual_rate": raw["annual_rate"].to_numpy()[order],
            "term_months": raw["term_months"].to_numpy()[order],
            "origination_month": month_index(raw["origination_date"].to_numpy()[order]),
            "previous_loan_code": previous,
        }
    )
    repayments = tables["repayments"]
    codes = loan_keys.positions(repayments["loan_id"])
    statements = StatementIndex.build(repayments, codes)
    ended = np.isin(statements.status, TERMINAL_STATUSES)
    end_month = np.full(len(loans), np.iinfo(np.int64).max)
    np.minimum.at(end_month, statements.loan[ended], statements.month[ended])
    return IndexedBook(
        loans=loans,
        borrowers=borrowers,
        borrower_keys=borrower_keys,
        statements=statements,
        loan_end_month=end_month,
    )


def open_loan_grid(book: IndexedBook, months: list[int]) -> pd.DataFrame:
    """(loan, as_of month) of every loan open at each month, sorted by loan id then month."""
    origination = book.loans["origination_month"].to_numpy()
    loan_parts, month_parts = [], []
    for m in months:
        started = np.flatnonzero((origination <= m) & (book.loan_end_month > m))
        open_now = started[_reported_recently(book, started, m)]
        loan_parts.append(open_now)
        month_parts.append(np.full(open_now.size, m, dtype=np.int64))
    loan = np.concatenate(loan_parts) if loan_parts else np.zeros(0, dtype=np.int64)
    month = np.concatenate(month_parts) if month_parts else np.zeros(0, dtype=np.int64)
    order = np.lexsort((month, loan))  # loans are in loan_id order (see index_book)
    loan, month = loan[order], month[order]
    borrower = book.loans["borrower_code"].to_numpy()[loan]
    return pd.DataFrame({"loan_code": loan, "as_of_month": month, "borrower_code": borrower})


def _reported_recently(book: IndexedBook, loans: np.ndarray, month: int) -> np.ndarray:
    """Which ``loans`` are young or have a statement in the ``HISTORY_MONTHS`` up to ``month``.

    A loan that ended long ago has its ending statement outside the history an online request
    carries; without this test it would look open there and closed in the whole book. A loan
    still running has a statement every month, so nothing open is lost.
    """
    young = book.loans["origination_month"].to_numpy()[loans] > month - HISTORY_MONTHS
    statements = book.statements
    recent, _ = statements.at(
        statements.upto(loans, month) - 1, loans, month - HISTORY_MONTHS + 1, month
    )
    return young | recent


def _static_features(grid: pd.DataFrame, book: IndexedBook) -> Columns:
    loan_rows = grid["loan_code"].to_numpy()
    borrower_rows = grid["borrower_code"].to_numpy()
    loans, borrowers = book.loans, book.borrowers
    as_of = month_end(grid["as_of_month"].to_numpy())
    founded = borrowers["founding_date"].to_numpy()[borrower_rows]
    age_days = (as_of - founded).astype("timedelta64[D]").astype(float)

    def take(frame: pd.DataFrame, column: str, rows: np.ndarray) -> object:
        values = frame[column]
        if column in STATIC_CATEGORIES:  # keep the contract's categories, no string round trip
            return pd.Categorical(values).take(rows) if len(rows) else pd.Categorical(values[:0])
        return values.to_numpy()[rows]

    out = {
        **{c: take(borrowers, c, borrower_rows) for c in ("borrower_type", "industry", "area")},
        "in_pilot_area": np.isin(borrowers["area"].to_numpy(dtype=object), PILOT_AREAS)[
            borrower_rows
        ],
        "size": take(borrowers, "size", borrower_rows),
        "has_party_org": take(borrowers, "has_party_org", borrower_rows),
        "party_members": take(borrowers, "party_members", borrower_rows),
        "borrower_age_years": age_days / 365.25,
        **{
            c: take(loans, c, loan_rows)
            for c in ("bank", "product", "amount", "annual_rate", "term_months")
        },
        "is_renewal": loans["previous_loan_code"].to_numpy()[loan_rows] >= 0,
    }
    return out


def build_snapshots(
    tables: dict[str, pd.DataFrame],
    as_of_months: str | Iterable[str | pd.Period | int],
    party_index: PartyIndexUnifier,
    *,
    horizon: int = DEFAULT_HORIZON,
    with_labels: bool = True,
    data_end: str | pd.Period | None = None,
) -> pd.DataFrame:
    """Snapshot table keyed by (loan_id, as_of) for every loan open at each as-of month.

    Parameters
    ----------
    tables : dict of DataFrame
        Validated raw tables (``features.validation.load_validated_portfolio``), a whole book
        or one borrower's rows.
    as_of_months : str or iterable
        ``"2024-01:2024-12"``, ``"2024-06"`` or a list of months.
    party_index : PartyIndexUnifier
        Fitted on ratings of the training period only (``fit_party_index``).
    horizon : int
        Outcome window H in months.
    with_labels : bool
        Add ``severity`` (S0-S3, NaN when unlabeled) and ``labeled`` (the window has matured).
    data_end : month, optional
        Last month of data for label maturity; the last statement month by default.

    Months in which no loan is open simply give no rows; ``check_as_of_covered`` is the
    guard for requests that must lie inside a book's data. Statements and signals older than
    ``HISTORY_MONTHS`` before an as-of month are never read, so ``recent_history(tables,
    as_of)`` gives the same rows for that month as the whole history (tested).
    """
    months = parse_months(as_of_months)
    book = index_book(tables)
    grid = open_loan_grid(book, months)
    n_borrowers = len(book.borrowers)
    signals = tables["operating_signals"]
    cube = SignalCube.build(
        signals, book.borrower_keys.positions(signals["borrower_id"]), n_borrowers
    )
    events = tables["events"]
    ratings = tables["party_ratings"]
    families = [
        _static_features(grid, book),
        repayment_features(grid, book.statements, book.loans),
        operating_features(grid, cube),
        events_features(
            grid, events, book.borrower_keys.positions(events["borrower_id"]), n_borrowers
        ),
        party_features(
            grid, ratings, book.borrower_keys.positions(ratings["borrower_id"]), party_index
        ),
    ]
    loan_rows = grid["loan_code"].to_numpy()
    as_of_month = grid["as_of_month"].to_numpy()
    columns: Columns = {
        "loan_id": book.loans["loan_id"].to_numpy(dtype=object)[loan_rows],
        "as_of": month_end(as_of_month),
        "borrower_id": book.borrowers["borrower_id"].to_numpy(dtype=object)[
            grid["borrower_code"].to_numpy()
        ],
    }
    for family in families:
        columns.update(family)
    if with_labels:
        end = int(book.statements.month.max()) if data_end is None else parse_months([data_end])[0]
        severity, matured = label_rows(book.statements, loan_rows, as_of_month, horizon, end)
        columns["severity"] = np.where(matured, severity, np.nan)
        columns["labeled"] = matured
    return pd.DataFrame(columns)


def check_as_of_covered(tables: dict[str, pd.DataFrame], months: list[int]) -> None:
    """Raise ``SnapshotError`` if an as-of month precedes the first origination of the book
    or follows its last statement month (a snapshot there would describe data that is not
    there, and every later metric would be a guess)."""
    loans, repayments = tables["loans"], tables["repayments"]
    if loans.empty or repayments.empty:
        raise SnapshotError("the book has no loans or no repayment statements")
    first = int(month_index(loans["origination_date"]).min())
    last = int(month_index(repayments["due_date"]).max())
    outside = [m for m in months if m < first or m > last]
    if outside:
        shown = ", ".join(_month_label(m) for m in outside[:3])
        more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
        raise SnapshotError(
            f"as-of month(s) {shown}{more} outside the data "
            f"({_month_label(first)} to {_month_label(last)})"
        )


def _month_label(month: int) -> str:
    return f"{month // 12}-{month % 12 + 1:02d}"


def borrower_tables(tables: dict[str, pd.DataFrame], borrower_id: str) -> dict[str, pd.DataFrame]:
    """One borrower's rows of every table (the online path feeds these to ``build_snapshots``)."""
    # Comparing a categorical column with a scalar compares codes: no per-row strings.
    own = {
        name: frame[(frame["borrower_id"] == borrower_id).to_numpy()]
        for name, frame in tables.items()
        if "borrower_id" in frame.columns
    }
    loan_ids = own["loans"]["loan_id"].to_numpy(dtype=object)
    repayments = tables["repayments"]
    own["repayments"] = repayments[repayments["loan_id"].isin(loan_ids).to_numpy()]
    return own


def _as_of_month(as_of: str | pd.Period | pd.Timestamp | int) -> int:
    """Integer month of ``"2024-06"``, a Period, a Timestamp (its month) or an integer month."""
    if isinstance(as_of, int | np.integer):
        return int(as_of)
    if isinstance(as_of, str):  # the same spelling as the as-of months of build_snapshots
        months = parse_months(as_of)
        if len(months) != 1:
            raise SnapshotError(f"as-of {as_of!r} is a range, not one month")
        return months[0]
    period = pd.Period(as_of, freq="M")
    if pd.isna(period):
        raise SnapshotError(f"as-of {as_of!r} is not a month")
    return period.year * 12 + period.month - 1


_MONTH_SPAN = 1 << 22  # key = loan position * _MONTH_SPAN + month, as in the StatementIndex


def _renewed_loans_last_statements(
    loans: pd.DataFrame, repayments: pd.DataFrame, per_loan: int = 3
) -> np.ndarray:
    """Mask of ``repayments``: each renewed loan's last ``per_loan`` statements due in or before
    its renewal's origination month (what the renewal flag reads, whatever their age)."""
    keep = np.zeros(len(repayments), dtype=bool)
    renewal_of = loans["renewal_of"]
    renews = renewal_of.notna().to_numpy()
    if not renews.any() or repayments.empty:
        return keep
    loan_keys = KeyIndex(loans["loan_id"])
    key = loan_keys.positions(repayments["loan_id"]) * _MONTH_SPAN + month_index(
        repayments["due_date"]
    )
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    renewed = loan_keys.positions(renewal_of[renews])
    until = month_index(loans["origination_date"].to_numpy()[renews])
    end = np.searchsorted(sorted_key, renewed * _MONTH_SPAN + until, side="right")
    for back in range(1, per_loan + 1):
        pos = end - back
        safe = np.clip(pos, 0, len(sorted_key) - 1)
        ok = (pos >= 0) & (sorted_key[safe] // _MONTH_SPAN == renewed) & (renewed >= 0)
        keep[order[safe[ok]]] = True
    return keep


def recent_history(
    tables: dict[str, pd.DataFrame],
    as_of: str | pd.Period | pd.Timestamp | int,
    months: int = HISTORY_MONTHS,
) -> dict[str, pd.DataFrame]:
    """The tables as an online request for ``as_of`` carries them: recent history only.

    A client sends each borrower's profile, ratings, loans and events in full but only the last
    ``months`` of repayment statements and operating signals, since that is all a snapshot
    reads (``HISTORY_MONTHS``). This cuts such a request from a book, for the service and
    for tests that check it scores exactly as the whole history does.

    Parameters
    ----------
    tables : dict of DataFrame
        Validated raw tables (a whole book or some borrowers' rows).
    as_of : str, Period, Timestamp or int
        The as-of month (``"2024-06"``; a Timestamp stands for the month containing it).
    months : int
        Months of statements and signals to keep, ``as_of``'s month and those before it.

    Returns
    -------
    dict of DataFrame
        The same tables without anything dated after ``as_of`` (statements due after its
        month end, signals and events available after it, ratings awarded after it, loans
        originated after it), and without statements due, or signals describing a month,
        ``months`` or more months before as_of's month. For every renewal kept, the renewed
        loan's last 3 statements due in or before the renewal's origination month are kept
        whatever their age: the renewal flag reads them. So is every loan's ending statement
        (repaid, renewed, charged off, restructured): without it a loan that ended before the
        window while its maturity falls inside it could not be told from one whose
        statements were left out (``serving.request_contract``). Other tables pass through
        with only the after-as_of filter; row order and dtypes are unchanged.
    """
    month = _as_of_month(as_of)
    cutoff = day_number(month_end(np.array([month])))[0]

    def known(frame: pd.DataFrame, column: str) -> np.ndarray:
        return day_number(frame[column]) <= cutoff

    out = dict(tables)
    loans = tables["loans"]
    out["loans"] = loans[month_index(loans["origination_date"]) <= month]
    repayments = tables["repayments"]
    due = month_index(repayments["due_date"])
    recent = (due > month - months) & (due <= month)
    renewal = _renewed_loans_last_statements(out["loans"], repayments)
    ending = repayments["status"].isin(TERMINAL_STATUSES).to_numpy() & (due <= month)
    out["repayments"] = repayments[recent | renewal | ending]
    signals = tables["operating_signals"]
    signal_month = month_index(signals["period"])
    out["operating_signals"] = signals[
        (signal_month > month - months) & known(signals, "available_at")
    ]
    out["events"] = tables["events"][known(tables["events"], "available_at")]
    out["party_ratings"] = tables["party_ratings"][known(tables["party_ratings"], "award_date")]
    return out

"""The raw-table contract: what each of the six tables a bank brings must look like.

One pandera ``DataFrameSchema`` per table states the exact column set (``strict=True``: a
missing or an extra column breaks the contract), each column's dtype, whether it may be empty,
its range or vocabulary (spelled once, in ``features.vocab`` and ``features.party_scales``) and
the table's primary key. Rules that relate several columns of a row, or the rows of one loan,
are :class:`RowRule` objects; each is also attached to its schema as a pandera ``Check`` so the
schema alone states the whole single-table contract.

In memory the contract wants string columns as pandas ``category`` (the book has ~17 million
signal rows; object strings would not fit the memory budget), dates as ``datetime64[ns]``,
integers as ``int64`` and amounts as ``float64``. :func:`conform_dtypes` brings a frame to
those dtypes when that loses nothing (``int32`` to ``int64``, whole ``float`` to ``int64``,
``object`` strings to ``category``, ISO date strings to dates) and otherwise leaves the column
as it is and marks the rows whose value cannot be read, so the validator can name them.

Primary keys (:data:`KEYS`) identify offending rows in reports; a compound key is rendered as
its parts joined by ``|`` (see ``features.validation``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features import vocab
from features.io import RAW_TABLES
from features.party_scales import AREA_STANDARD, STANDARDS

#: Primary key of each table, in rendering order.
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "borrowers": ("borrower_id",),
    "party_ratings": ("rating_id",),
    "loans": ("loan_id",),
    "repayments": ("loan_id", "instalment_no"),
    "operating_signals": ("borrower_id", "period", "signal"),
    "events": ("event_id",),
}

#: The People's Republic was founded on 1949-10-01; no registered borrower predates it.
EARLIEST_FOUNDING: Final = pd.Timestamp("1949-10-01")
#: A Party organization (党组织) needs at least three full members.
MIN_PARTY_MEMBERS: Final = 3
#: The one rule that holds only for a loan's whole history: a scoring request carries the last
#: 24 months of statements (``features.months.HISTORY_MONTHS``), which need not start at 1.
WHOLE_HISTORY_RULE: Final = "instalments_start_at_one"
MIN_ANNUAL_RATE: Final = 0.005
MAX_ANNUAL_RATE: Final = 0.24
MAX_TERM_MONTHS: Final = 60

TEXT: Final = "category"
DATE: Final = "datetime64[ns]"

Mask = np.ndarray  # one bool per row of a frame


@dataclass(frozen=True)
class RowRule:
    """A single-table rule relating several columns of a row, or the rows of one loan.

    pandera has no built-in for these, and its failure report for a DataFrame-level check
    melts every failing row into one record per cell (measured: 445 s and 12 GB for 3.4 million
    failing rows of a 17-million-row table), so the validator evaluates :attr:`offending`
    itself; :meth:`as_check` gives the same rule to pandera for anyone validating one table
    with the schema directly.

    Parameters
    ----------
    name : str
        Rule identifier reported in ``Violation.rule``.
    column : str
        Column the rule blames (the one a bank would correct).
    columns : tuple of str
        Every column the rule reads; the rule is skipped when one is missing or unreadable.
    description : str
        What an offending row does, completing "<n> rows ...".
    offending : callable
        ``frame -> bool ndarray``: True for each offending row. Null inputs never offend
        (emptiness is reported by the ``not_null`` rule).
    """

    name: str
    column: str
    columns: tuple[str, ...]
    description: str
    offending: Callable[[pd.DataFrame], Mask]

    def as_check(self) -> pa.Check:
        """The rule as a pandera DataFrame-level check (True = row passes)."""
        return pa.Check(
            lambda frame: pd.Series(~self.offending(frame), index=frame.index),
            name=self.name,
            description=self.description,
            ignore_na=False,
        )


# --- column helpers: every check has a rule name and a description completing "<n> rows ..."


def _text(*checks: pa.Check, nullable: bool = False, unique: bool = False) -> pa.Column:
    return pa.Column(TEXT, checks=list(checks), nullable=nullable, unique=unique)


def _enum(values: Iterable[str], what: str) -> pa.Check:
    return pa.Check.isin(list(values), name="enum", description=f"not in the {what} vocabulary")


def _min(value: float, description: str, *, strict: bool = False) -> pa.Check:
    if strict:
        return pa.Check.gt(value, name="min", description=description)
    return pa.Check.ge(value, name="min", description=description)


def _range(low: float, high: float, description: str) -> pa.Check:
    return pa.Check.in_range(low, high, name="range", description=description)


# --- row rules (vectorised; NaN / NaT inputs never offend)


def _party_org_too_small(frame: pd.DataFrame) -> Mask:
    has_org = frame["has_party_org"].to_numpy(dtype=bool)
    return has_org & (frame["party_members"].to_numpy() < MIN_PARTY_MEMBERS)


def _standard_not_of_area(frame: pd.DataFrame) -> Mask:
    expected = frame["issuing_area"].astype(object).map(AREA_STANDARD)
    actual = frame["native_standard"].astype(object)
    known = expected.notna() & actual.isin(list(STANDARDS))  # unknown ones fail "enum"
    return (known & (expected != actual)).to_numpy()


def _level_not_on_scale(frame: pd.DataFrame) -> Mask:
    standard = frame["native_standard"].astype(object)
    level = frame["native_level"].astype(object)
    valid = pd.MultiIndex.from_tuples(
        [(name, level) for name, scale in STANDARDS.items() for level in scale.levels]
    )
    on_scale = pd.MultiIndex.from_arrays([standard, level]).isin(valid)
    return standard.isin(list(STANDARDS)).to_numpy() & level.notna().to_numpy() & ~on_scale


def add_months(dates: pd.Series, months: pd.Series) -> np.ndarray:
    """``dates + pd.DateOffset(months=m)`` row by row, vectorised.

    Keeps the day of month and time of day and clips the day to the end of a shorter target
    month, as ``DateOffset`` does (2024-01-31 + 1 month = 2024-02-29).
    """
    when = dates.to_numpy(dtype="datetime64[ns]")
    month = when.astype("datetime64[M]")
    into_month = when - month.astype("datetime64[ns]")
    day = np.timedelta64(1, "D")
    with np.errstate(invalid="ignore"):
        whole_days, time_of_day = into_month // day, into_month % day
    steps = np.clip(months.to_numpy(dtype="int64"), -12_000, 12_000).astype("timedelta64[M]")
    target = month + steps
    target_start = target.astype("datetime64[ns]")
    month_end = (target + np.timedelta64(1, "M")).astype("datetime64[ns]")
    with np.errstate(invalid="ignore"):  # NaT rows stay NaT
        month_days = (month_end - target_start) // day
        return target_start + np.minimum(whole_days, month_days - 1) * day + time_of_day


def _maturity_mismatch(frame: pd.DataFrame) -> Mask:
    start, end = frame["origination_date"], frame["maturity_date"]
    expected = add_months(start, frame["term_months"])
    return (start.notna() & end.notna()).to_numpy() & (end.to_numpy() != expected)


def _current_in_arrears(frame: pd.DataFrame) -> Mask:
    return ((frame["status"] == "current") & (frame["dpd"] != 0)).to_numpy()


def _delinquent_without_arrears(frame: pd.DataFrame) -> Mask:
    return ((frame["status"] == "delinquent") & (frame["dpd"] < 1)).to_numpy()


@dataclass(frozen=True)
class _LoanOrder:
    """Rows of repayments sorted by loan then instalment number, with group boundaries."""

    order: np.ndarray  # row positions in sorted order
    has_loan: np.ndarray  # sorted rows with a non-null loan_id
    first: np.ndarray  # sorted row opens its loan
    last: np.ndarray  # sorted row closes its loan

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _LoanOrder:
        loan = _codes(frame["loan_id"])
        order = np.lexsort((frame["instalment_no"].to_numpy(), loan))
        loan = loan[order]
        change = np.ones(len(loan) + 1, dtype=bool)
        change[1:-1] = loan[1:] != loan[:-1]
        return cls(order, loan >= 0, change[:-1], change[1:])

    def unsort(self, sorted_mask: np.ndarray) -> Mask:
        mask = np.zeros(len(self.order), dtype=bool)
        mask[self.order] = sorted_mask & self.has_loan
        return mask


def _codes(series: pd.Series) -> np.ndarray:
    """Integer group codes of a column (-1 for null)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype="int64")
    return pd.factorize(series)[0].astype("int64")


def _previous(values: np.ndarray, fill: object) -> np.ndarray:
    """``values`` shifted one place down (the previous sorted row), ``fill`` first."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    if len(out):
        out[0] = fill
    return out


def _instalment_gap(frame: pd.DataFrame) -> Mask:
    rows = _LoanOrder.of(frame)
    number = frame["instalment_no"].to_numpy()[rows.order]
    return rows.unsort(~rows.first & (number != _previous(number, 0) + 1))


def _first_instalment_not_one(frame: pd.DataFrame) -> Mask:
    rows = _LoanOrder.of(frame)
    return rows.unsort(rows.first & (frame["instalment_no"].to_numpy()[rows.order] != 1))


def _due_date_not_increasing(frame: pd.DataFrame) -> Mask:
    rows = _LoanOrder.of(frame)
    due = frame["due_date"].to_numpy(dtype="datetime64[ns]")[rows.order]
    previous = _previous(due, np.datetime64("NaT", "ns"))
    known = ~np.isnat(due) & ~np.isnat(previous)
    return rows.unsort(~rows.first & known & (due <= previous))


def _terminal_before_end(frame: pd.DataFrame) -> Mask:
    rows = _LoanOrder.of(frame)
    terminal = frame["status"].isin(vocab.TERMINAL_STATUSES).to_numpy()[rows.order]
    return rows.unsort(terminal & ~rows.last)


def _month_start(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[M]").astype("datetime64[ns]")


def _period_not_month_start(frame: pd.DataFrame) -> Mask:
    period = frame["period"].to_numpy(dtype="datetime64[ns]")
    return ~np.isnat(period) & (period != _month_start(period))


def _known_before_month_ends(frame: pd.DataFrame) -> Mask:
    period = frame["period"].to_numpy(dtype="datetime64[ns]")
    available = frame["available_at"].to_numpy(dtype="datetime64[ns]")
    next_month = (period.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[ns]")
    return ~np.isnat(period) & ~np.isnat(available) & (available < next_month)


def _known_before_event(frame: pd.DataFrame) -> Mask:
    return (frame["available_at"] < frame["event_date"]).to_numpy()


@cache
def row_rules(table: str) -> tuple[RowRule, ...]:
    """The multi-column rules of ``table`` (empty for a table without any)."""
    rules: dict[str, tuple[RowRule, ...]] = {
        "borrowers": (
            RowRule(
                "party_org_min_members",
                "party_members",
                ("has_party_org", "party_members"),
                f"with has_party_org but fewer than {MIN_PARTY_MEMBERS} party members "
                "(a Party organization needs at least 3 full members)",
                _party_org_too_small,
            ),
        ),
        "party_ratings": (
            RowRule(
                "standard_matches_area",
                "native_standard",
                ("issuing_area", "native_standard"),
                "with a native_standard other than the one their issuing_area uses",
                _standard_not_of_area,
            ),
            RowRule(
                "level_on_scale",
                "native_level",
                ("native_standard", "native_level"),
                "with a native_level that is not a level of their native_standard",
                _level_not_on_scale,
            ),
        ),
        "loans": (
            RowRule(
                "maturity_matches_term",
                "maturity_date",
                ("origination_date", "term_months", "maturity_date"),
                "not equal to origination_date + term_months calendar months",
                _maturity_mismatch,
            ),
        ),
        "repayments": (
            RowRule(
                "dpd_zero_when_current",
                "dpd",
                ("status", "dpd"),
                "with status 'current' but dpd > 0",
                _current_in_arrears,
            ),
            RowRule(
                "dpd_positive_when_delinquent",
                "dpd",
                ("status", "dpd"),
                "with status 'delinquent' but dpd 0",
                _delinquent_without_arrears,
            ),
            RowRule(
                "instalments_contiguous",
                "instalment_no",
                ("loan_id", "instalment_no"),
                "breaking the loan's instalment sequence (a gap after the previous instalment)",
                _instalment_gap,
            ),
            RowRule(
                WHOLE_HISTORY_RULE,
                "instalment_no",
                ("loan_id", "instalment_no"),
                "starting the loan's statements at an instalment other than 1",
                _first_instalment_not_one,
            ),
            RowRule(
                "due_dates_increasing",
                "due_date",
                ("loan_id", "instalment_no", "due_date"),
                "not after the due_date of the loan's previous instalment",
                _due_date_not_increasing,
            ),
            RowRule(
                "terminal_status_last",
                "status",
                ("loan_id", "instalment_no", "status"),
                "with a terminal status (repaid, renewed, charged_off, restructured) "
                "on a row that is not the loan's last",
                _terminal_before_end,
            ),
        ),
        "operating_signals": (
            RowRule(
                "period_month_start",
                "period",
                ("period",),
                "not on the first day of a month",
                _period_not_month_start,
            ),
            RowRule(
                "available_after_period",
                "available_at",
                ("period", "available_at"),
                "available before the period's month has ended",
                _known_before_month_ends,
            ),
        ),
        "events": (
            RowRule(
                "available_after_event",
                "available_at",
                ("event_date", "available_at"),
                "available before the event happened",
                _known_before_event,
            ),
        ),
    }
    return rules.get(table, ())


def _columns(table: str) -> dict[str, pa.Column]:
    amount = "negative (amounts are >= 0)"
    if table == "borrowers":
        return {
            "borrower_id": _text(unique=True),
            "borrower_type": _text(_enum(vocab.BORROWER_TYPES, "borrower type")),
            "area": _text(_enum(vocab.AREAS, "area")),
            "industry": _text(_enum(vocab.INDUSTRIES, "industry")),
            "founding_date": pa.Column(
                DATE, _min(EARLIEST_FOUNDING, "founded before 1949-10-01 (founding of the PRC)")
            ),
            "size": _text(_enum(vocab.SIZES, "size")),
            "has_party_org": pa.Column(bool),
            "party_members": pa.Column("int64", _range(0, 100_000, "outside 0..100,000")),
        }
    if table == "party_ratings":
        return {
            "rating_id": _text(unique=True),
            "borrower_id": _text(),
            "issuing_area": _text(_enum(vocab.AREAS, "area")),
            "native_standard": _text(_enum(STANDARDS, "native standard")),
            "native_level": _text(),
            "award_date": pa.Column(DATE),
            "list_level": _text(_enum(vocab.LIST_LEVELS, "list level")),
        }
    if table == "loans":
        ceiling = f"{vocab.MAX_LOAN_AMOUNT:,.0f}"
        return {
            "loan_id": _text(unique=True),
            "borrower_id": _text(),
            "bank": _text(_enum(vocab.BANKS, "bank")),
            "product": _text(_enum(vocab.PRODUCTS, "product")),
            "origination_date": pa.Column(DATE),
            "amount": pa.Column(
                float,
                [
                    _min(0, "not positive (amount must be > 0)", strict=True),
                    pa.Check.le(
                        vocab.MAX_LOAN_AMOUNT,
                        name="max",
                        description=f"above the inclusive-loan ceiling {ceiling}",
                    ),
                ],
            ),
            "annual_rate": pa.Column(
                float,
                _range(
                    MIN_ANNUAL_RATE,
                    MAX_ANNUAL_RATE,
                    f"outside {MIN_ANNUAL_RATE}..{MAX_ANNUAL_RATE} "
                    "(a yearly fraction: 0.0435, not 4.35)",
                ),
            ),
            "term_months": pa.Column(
                "int64", _range(1, MAX_TERM_MONTHS, f"outside 1..{MAX_TERM_MONTHS} months")
            ),
            "maturity_date": pa.Column(DATE),
            "renewal_of": _text(nullable=True),
        }
    if table == "repayments":
        return {
            "loan_id": _text(),
            "instalment_no": pa.Column("int64", _min(1, "below 1 (instalments count from 1)")),
            "due_date": pa.Column(DATE),
            "amount_due": pa.Column(float, _min(0, amount)),
            "amount_paid": pa.Column(float, _min(0, amount)),
            "dpd": pa.Column("int64", _min(0, "negative (days past due are >= 0)")),
            "outstanding_balance": pa.Column(float, _min(0, amount)),
            "status": _text(_enum(vocab.LOAN_STATUSES, "loan status")),
        }
    if table == "operating_signals":
        return {
            "borrower_id": _text(),
            "period": pa.Column(DATE),
            "signal": _text(_enum(vocab.SIGNALS, "signal")),
            "value": pa.Column(float, _min(0, "negative (signal values are >= 0)")),
            "available_at": pa.Column(DATE),
        }
    if table == "events":
        return {
            "event_id": _text(unique=True),
            "borrower_id": _text(),
            "event_type": _text(_enum(vocab.EVENT_TYPES, "event type")),
            "event_date": pa.Column(DATE),
            "available_at": pa.Column(DATE),
            "amount": pa.Column(float, _min(0, amount), nullable=True),
        }
    raise KeyError(f"unknown table {table!r} (the raw tables are {', '.join(RAW_TABLES)})")


@cache
def schema_for(table: str) -> pa.DataFrameSchema:
    """The contract of one raw table as a pandera schema.

    Strict (exact column set, any order), no coercion (``conform_dtypes`` does the lossless
    part), every column non-null unless it says otherwise, and a compound primary key
    declared with ``unique=`` (single keys use ``Column(unique=True)``).

    Raises
    ------
    KeyError
        If ``table`` is not one of ``features.io.RAW_TABLES``.
    """
    columns = _columns(table)
    key = KEYS[table] if len(KEYS[table]) > 1 else None
    return pa.DataFrameSchema(
        columns,
        checks=[rule.as_check() for rule in row_rules(table)],
        strict=True,
        unique=list(key) if key else None,
        report_duplicates="all",
        name=table,
    )


# --- lossless dtype conformance


def conform_dtypes(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Mask]]:
    """Bring ``frame`` to the contract's dtypes wherever that loses nothing.

    Returns a shallow copy with a fresh ``RangeIndex`` (row position = index, which the
    validator relies on) and, for every contract column that could not be converted, a mask of
    the rows whose value cannot be read as the contract type (may be all False, e.g. numbers
    stored as text). Such a column is left as found; its dtype check will fail.
    Text columns always convert: any value has a text form ("87" for a level CSV read as 87).
    """
    out = frame.copy(deep=False)
    out.index = pd.RangeIndex(len(out))
    unreadable: dict[str, Mask] = {}
    for name, column in schema_for(table).columns.items():
        if name not in out.columns:
            continue
        converted, bad = _conform(out[name], str(column.dtype))
        if converted is None:
            unreadable[name] = bad
        elif converted is not out[name]:
            out[name] = converted
    return out, unreadable


def _conform(series: pd.Series, dtype: str) -> tuple[pd.Series | None, Mask]:
    none = np.zeros(len(series), dtype=bool)
    kind = series.dtype
    if dtype == TEXT:
        return _as_text(series), none
    if _is_texty(kind):
        return _parse_text(series, dtype)
    if dtype == "float64":
        if pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            return (series if kind == np.float64 else series.astype("float64")), none
        return None, none
    if dtype == "int64":
        return _as_int(series)
    if dtype == "bool":
        if kind == np.bool_:
            return series, none
        if pd.api.types.is_bool_dtype(kind):  # nullable "boolean"
            empty = series.isna().to_numpy()
            return (None, empty) if empty.any() else (series.astype(bool), none)
        return None, none
    if dtype == DATE:
        if isinstance(kind, pd.DatetimeTZDtype):
            series = series.dt.tz_localize(None)
        if pd.api.types.is_datetime64_dtype(series.dtype):
            return (series if series.dtype == DATE else series.astype(DATE)), none
        return None, none
    raise ValueError(f"no conformance for contract dtype {dtype}")


def _is_texty(kind: object) -> bool:
    return pd.api.types.is_object_dtype(kind) or isinstance(
        kind, pd.CategoricalDtype | pd.StringDtype
    )


def _as_int(series: pd.Series) -> tuple[pd.Series | None, Mask]:
    kind = series.dtype
    none = np.zeros(len(series), dtype=bool)
    if pd.api.types.is_bool_dtype(kind) or not pd.api.types.is_numeric_dtype(kind):
        return None, none
    if pd.api.types.is_integer_dtype(kind):
        if isinstance(kind, np.dtype):
            return (series if kind == np.int64 else series.astype("int64")), none
        empty = series.isna().to_numpy()
        return (None, empty) if empty.any() else (series.astype("int64"), none)
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    whole = np.isfinite(values) & (values == np.floor(values))
    return (series.astype("int64"), none) if whole.all() else (None, ~whole)


_NUMBER_KINDS: Final = ("integer", "floating", "mixed-integer-float")


def _parse_text(series: pd.Series, dtype: str) -> tuple[pd.Series | None, Mask]:
    """Read a text (object / category / string) column as ``dtype``.

    Numbers and flags stored as text stay violations (the contract wants typed columns); an
    object column that in fact holds Python numbers or bools, and ISO date text (how CSV
    carries dates), convert. The mask marks values that cannot be read at all.
    """
    values = _per_value(series)
    present = values.notna().to_numpy()
    if dtype == DATE:
        try:
            parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return None, present
        bad = present & parsed.isna().to_numpy()
        if bad.any():
            return None, _expand(series, bad)
        return _expand_series(series, parsed.astype(DATE)), np.zeros(len(series), dtype=bool)
    if dtype == "bool":
        is_flag = values.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        not_flag = present & ~is_flag
        bad = _expand(series, not_flag) | series.isna().to_numpy()
        return (None, bad) if bad.any() else (series.astype(bool), bad)
    numbers = pd.to_numeric(values, errors="coerce")
    readable = numbers.notna().to_numpy()
    if dtype == "int64":
        readable &= numbers.fillna(0.5).to_numpy() % 1 == 0
    bad = _expand(series, present & ~readable)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    holds_numbers = pd.api.types.is_object_dtype(series.dtype) and inferred in _NUMBER_KINDS
    if holds_numbers and not bad.any():
        converted = numbers.astype("float64")
        if dtype == "int64":
            return (None, ~present) if not present.all() else (converted.astype("int64"), bad)
        return converted, bad
    return None, bad


def _per_value(series: pd.Series) -> pd.Series:
    """The distinct values of a categorical (cheap to parse), else the series itself."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.Series(series.cat.categories.astype(object))
    return series.astype(object)


def _expand(series: pd.Series, mask: Mask) -> Mask:
    """Map a mask over :func:`_per_value` back to the rows of ``series``."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        return np.where(codes >= 0, np.r_[mask, False][codes], False)
    return mask


def _expand_series(series: pd.Series, parsed: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        values = np.r_[parsed.to_numpy(), np.datetime64("NaT", "ns")][codes]
        return pd.Series(values, index=series.index, name=series.name)
    return pd.Series(parsed.to_numpy(), index=series.index, name=series.name)


def _as_text(series: pd.Series) -> pd.Series:
    """``category`` with string categories; nulls stay null, whole floats lose their ``.0``."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    categories = series.cat.categories
    if categories.dtype == object and pd.api.types.infer_dtype(categories) in ("string", "empty"):
        return series
    labels = [_label(value) for value in categories]
    if len(set(labels)) == len(labels):
        return series.cat.rename_categories(labels)
    codes = series.cat.codes.to_numpy()
    text = np.asarray([*labels, None], dtype=object)[codes]
    return pd.Series(text, index=series.index, name=series.name).astype("category")


def _label(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)

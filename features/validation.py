"""Validate a portfolio against the raw-table contract; the only door to the raw tables.

:func:`load_validated_portfolio` is how downstream code gets a bank's tables: it reads them
(``features.io``), checks every table against its schema (``features.schemas``) and every
cross-table rule (``features.integrity``), and raises :class:`PortfolioValidationError` unless
all pass, so nothing runs on data that failed validation. :func:`validate_portfolio` and
:func:`validate_tables` return the full :class:`ValidationReport` instead.

Bad data never raises: a table that cannot be read, a missing or extra column, a column of the
wrong type and every broken rule become :class:`Violation` records. Each names the table, the
column and the rule, and lists the key of every offending row (not only the first), so a bank
can correct its export in one pass.

Key format
    A row is identified by its primary key (``features.schemas.KEYS``). A compound key is its
    parts joined by ``|`` in key order, dates as ``YYYY-MM-DD``: ``L00000017|3`` (repayments:
    loan_id|instalment_no), ``B0000001|2024-03-01|vat_revenue`` (operating_signals:
    borrower_id|period|signal). A row whose key is incomplete, and every row when a key
    column is itself missing or unreadable, is named by position: ``row 18`` is the 18th data
    row (line 19 of a CSV file with its header).

How pandera is used
    The schemas are ordinary pandera ``DataFrameSchema`` objects. pandera gives the structural
    verdict (``strict`` column set, dtypes: a lazy ``SchemaErrors`` on zero rows, turned into
    ``missing_column`` / ``unexpected_column`` / ``dtype`` violations) and runs every column
    ``Check``. Row failures do not go through pandera's ``SchemaErrors`` report: building it
    did not finish in 15 minutes (16 GB) for a 17-million-row table whose rows were all
    repeated, and took 16 s / 2 GB per check failing on half the rows. The validator asks each
    pandera check for its boolean result instead and turns the failing rows into violations
    itself (the same fault on a 35-million-row table: 18 s, 4 GB, every key kept).

A rule that odd data makes raise is reported as a ``check_error`` violation, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.io import RAW_TABLES, TableReadError, read_table
from features.schemas import KEYS, RowRule, conform_dtypes, row_rules, schema_for

#: Keys quoted inside a message; ``Violation.keys`` always holds all of them.
KEYS_IN_MESSAGE: Final = 10


@dataclass(frozen=True)
class Violation:
    """One broken rule of the contract, with every row that breaks it.

    Parameters
    ----------
    table : str
        Table at fault (``"portfolio"`` for the folder itself).
    column : str or None
        Column at fault; None for a whole table or a compound key.
    rule : str
        Stable rule identifier (``"dtype"``, ``"enum"``, ``"borrower_exists"``, ...).
    message : str
        One line naming ``table.column`` and what is wrong, quoting the first keys.
    keys : tuple of str
        Distinct keys of all offending rows, in table order (format in the module docstring);
        empty for a violation about a table or a column as a whole.
    n_rows : int
        Number of offending rows (0 for a table- or column-level violation).
    description : str
        What each offending row does, completing "<n> rows ..." without naming any key, so a
        caller that must not echo ids (the scoring service) can word its own refusal.
    """

    table: str
    column: str | None
    rule: str
    message: str
    keys: tuple[str, ...] = ()
    n_rows: int = 0
    description: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """Everything a validation run found.

    Parameters
    ----------
    violations : tuple of Violation
        In table order (``features.io.RAW_TABLES``), single-table rules before cross-table ones.
    row_counts : dict of str to int
        Rows of each table that could be read.
    """

    violations: tuple[Violation, ...]
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the portfolio fulfils the whole contract."""
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (every violation with all its keys)."""
        return {
            "ok": self.ok,
            "row_counts": dict(self.row_counts),
            "violations": [{**asdict(v), "keys": list(v.keys)} for v in self.violations],
        }

    def summary(self, limit: int = 20) -> str:
        """The first ``limit`` violation messages, one per line."""
        lines = [f"{v.message} [{v.rule}]" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"... and {len(self.violations) - limit} more violations")
        return "\n".join(lines)


class PortfolioValidationError(Exception):
    """A portfolio failed validation; ``report`` holds every violation."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(
            f"portfolio failed validation with {len(report.violations)} violation(s):\n"
            + report.summary()
        )
        self.report = report


def load_validated_portfolio(
    directory: Path | str, partition: int | Sequence[int] | None = None
) -> dict[str, pd.DataFrame]:
    """Read a portfolio and return its six tables only if the whole contract holds.

    The frames returned are the validated ones: string columns ``category``, dates
    ``datetime64[ns]``, a ``RangeIndex``. ``partition``: of a partitioned book, one
    partition or several (whole borrowers), validated on their own; every rule but the
    uniqueness of a key across partitions is about one borrower's rows, and keys carry their
    borrower.

    Raises
    ------
    PortfolioValidationError
        If any table is missing or unreadable or any rule is broken.
    """
    report, frames = _validate_directory(Path(directory), partition)
    if not report.ok:
        raise PortfolioValidationError(report)
    return frames


def validate_portfolio(directory: Path | str) -> ValidationReport:
    """Validate the portfolio folder ``directory`` (Parquet or CSV tables).

    A table that is missing or cannot be read becomes a ``missing_table`` or ``unreadable``
    violation; the other tables are still checked, and so is every cross-table rule whose
    tables could be read.
    """
    return _validate_directory(Path(directory))[0]


def validate_tables(frames: Mapping[str, pd.DataFrame]) -> ValidationReport:
    """Validate in-memory tables (no IO); keys are table names as in ``RAW_TABLES``."""
    return _validate(frames, [])[0]


def _validate_directory(
    directory: Path, partition: int | Sequence[int] | None = None
) -> tuple[ValidationReport, dict[str, pd.DataFrame]]:
    if not directory.is_dir():
        missing = Violation(
            "portfolio", None, "missing_table", f"portfolio: {directory} is not a directory"
        )
        return ValidationReport((missing,), {}), {}
    frames: dict[str, pd.DataFrame] = {}
    failures: list[Violation] = []
    for table in RAW_TABLES:
        try:
            frames[table] = read_table(directory, table, partition)
        except TableReadError as exc:
            rule = "missing_table" if exc.reason.startswith("missing table") else "unreadable"
            failures.append(Violation(table, None, rule, _one_line(str(exc))))
        except Exception as exc:  # any other reader failure is still bad data, not a crash
            reason = f"{table}: unreadable ({type(exc).__name__}: {_one_line(str(exc))})"
            failures.append(Violation(table, None, "unreadable", reason))
    return _validate(frames, failures)


def _validate(
    frames: Mapping[str, pd.DataFrame], read_failures: list[Violation]
) -> tuple[ValidationReport, dict[str, pd.DataFrame]]:
    from features.integrity import cross_table_rules  # imported here: integrity builds Violations

    failed = {v.table for v in read_failures}
    violations: list[Violation] = []
    checked: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for table in RAW_TABLES:
        violations.extend(v for v in read_failures if v.table == table)
        if table in failed:
            continue
        if table not in frames:
            message = f"{table}: missing table (not among the frames given)"
            violations.append(Violation(table, None, "missing_table", message))
            continue
        frame = frames[table]
        if not isinstance(frame, pd.DataFrame):
            message = f"{table}: unreadable (a {type(frame).__name__}, not a DataFrame)"
            violations.append(Violation(table, None, "unreadable", message))
            continue
        counts[table] = len(frame)
        checked[table], found = _validate_table(table, frame)
        violations.extend(found)
    for table in frames:
        if table not in RAW_TABLES:
            message = f"{table}: unexpected table (the contract has {', '.join(RAW_TABLES)})"
            violations.append(Violation(table, None, "unexpected_table", message))
    for rule in cross_table_rules():
        if rule.applies_to(checked):
            violations.extend(_guarded("portfolio", rule.name, partial(rule.run, checked)))
    return ValidationReport(tuple(violations), counts), checked


# --- one table


def _validate_table(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Violation]]:
    """Check one table; returns its conformed frame holding only its usable columns."""
    schema = schema_for(table)
    violations = _duplicate_column_names(table, frame)
    frame = frame.loc[:, ~frame.columns.duplicated()] if violations else frame
    frame, unreadable = conform_dtypes(table, frame)
    structural, unusable = _structure(schema, frame, unreadable)
    violations.extend(structural)
    for name in [c for c in frame.columns if c not in schema.columns or c in unusable]:
        del frame[name]  # a shallow copy of the caller's frame: this frees nothing of theirs
    for name, column in schema.columns.items():
        if name in frame.columns:
            check = partial(_column_violations, table, frame, column)
            violations.extend(_guarded(table, name, check))
    key = KEYS[table]
    if len(key) > 1 and set(key) <= set(frame.columns):
        violations.extend(_guarded(table, "key", lambda: _duplicate_keys(table, frame, key)))
    for rule in row_rules(table):
        if set(rule.columns) <= set(frame.columns):
            violations.extend(_guarded(table, rule.name, partial(_row_rule, table, frame, rule)))
    return frame, violations


def _duplicate_column_names(table: str, frame: pd.DataFrame) -> list[Violation]:
    repeated = frame.columns[frame.columns.duplicated()].unique()
    return [
        Violation(table, str(c), "duplicate_column", f"{table}.{c}: column appears more than once")
        for c in repeated
    ]


def _structure(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, unreadable: Mapping[str, np.ndarray]
) -> tuple[list[Violation], set[str]]:
    """pandera's verdict on the column set and dtypes (checked on zero rows, so it is cheap)."""
    table = str(schema.name)
    if not unreadable and _has_contract_shape(schema, frame):
        return [], set()  # pandera's verdict would be empty; asking costs ms per small table
    shape = pa.DataFrameSchema(
        {name: pa.Column(column.dtype, nullable=True) for name, column in schema.columns.items()},
        strict=True,
        name=table,
    )
    try:
        shape.validate(frame.iloc[:0], lazy=True)
        cases = pd.DataFrame(columns=["check", "column", "failure_case"])
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    violations: list[Violation] = []
    unusable = set(unreadable)
    for case in cases.itertuples(index=False):  # one record per column, not per row
        check, found = str(case.check), str(case.failure_case)
        if check == "column_in_dataframe":
            message = f"{table}.{found}: column missing (required by the contract)"
            violations.append(Violation(table, found, "missing_column", message))
        elif check == "column_in_schema":
            message = f"{table}.{found}: unexpected column (not in the contract)"
            violations.append(Violation(table, found, "unexpected_column", message))
        elif check.startswith("dtype("):
            name = str(case.column)
            unusable.add(name)
            violations.append(_dtype_violation(table, frame, name, schema, found, unreadable))
        else:
            message = f"{table}.{case.column}: {check} failed ({found})"
            violations.append(Violation(table, str(case.column), check, message))
    for name in sorted(unusable - {v.column for v in violations}):  # conform flagged, pandera not
        found = str(frame[name].dtype)
        violations.append(_dtype_violation(table, frame, name, schema, found, unreadable))
    return violations, unusable


def _has_contract_shape(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> bool:
    """Exactly the contract's columns, each of exactly its dtype (what a scoring request's
    tables, built from the schema itself, always have)."""
    if set(frame.columns) != set(schema.columns) or frame.shape[1] != len(schema.columns):
        return False
    return all(str(frame[n].dtype) == str(c.dtype) for n, c in schema.columns.items())


def _dtype_violation(
    table: str,
    frame: pd.DataFrame,
    column: str,
    schema: pa.DataFrameSchema,
    found: str,
    unreadable: Mapping[str, np.ndarray],
) -> Violation:
    expected = str(schema.columns[column].dtype)
    message = f"{table}.{column}: expected {expected}, found {found}"
    bad = unreadable.get(column)
    if bad is None or not bad.any():
        return Violation(table, column, "dtype", message)
    keys, by_key = _render(frame, table, bad)
    detail = f"{_rows(int(bad.sum()))} not readable as {expected}"
    return Violation(
        table,
        column,
        "dtype",
        f"{message} ({detail}: {_quote(table, keys, by_key)})",
        keys,
        int(bad.sum()),
    )


def _column_violations(table: str, frame: pd.DataFrame, column: pa.Column) -> list[Violation]:
    name = str(column.name)
    series = frame[name]
    found: list[Violation | None] = []
    if not column.nullable:
        empty = series.isna().to_numpy()
        found.append(rows_violation(table, name, "not_null", "empty", frame, empty))
    if column.unique:
        repeated = series.duplicated(keep=False).to_numpy() & series.notna().to_numpy()
        found.append(
            rows_violation(table, name, "unique", f"sharing the same {name}", frame, repeated)
        )
    for check in column.checks:
        failing = _failing_rows(check, series)
        description = str(check.description or check.error)
        if check.name == "enum" and failing.any():
            values = pd.unique(series[failing].astype(object))
            shown = ", ".join(repr(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
            description = f"{description} ({shown})"
        found.append(rows_violation(table, name, str(check.name), description, frame, failing))
    return [v for v in found if v is not None]


def _failing_rows(check: pa.Check, series: pd.Series) -> np.ndarray:
    """Rows where pandera's ``check`` fails (nulls are left to ``not_null``)."""
    output = check(series).check_output
    if isinstance(output, bool | np.bool_):
        return np.full(len(series), not output)
    failing = np.zeros(len(series), dtype=bool)
    failing[output.index.to_numpy()] = ~output.to_numpy(dtype=bool)  # index = row position
    return failing


def _duplicate_keys(table: str, frame: pd.DataFrame, key: tuple[str, ...]) -> list[Violation]:
    complete = frame[list(key)].notna().all(axis=1).to_numpy()
    repeated = frame.duplicated(subset=list(key), keep=False).to_numpy() & complete
    label = "|".join(key)
    violation = rows_violation(
        table, None, "unique", f"sharing the same key {label}", frame, repeated
    )
    return [violation] if violation else []


def _row_rule(table: str, frame: pd.DataFrame, rule: RowRule) -> list[Violation]:
    offending = rule.offending(frame)
    violation = rows_violation(table, rule.column, rule.name, rule.description, frame, offending)
    return [violation] if violation else []


def _guarded(table: str, what: str, run: Callable[[], list[Violation]]) -> list[Violation]:
    """Run a rule; if bad data makes it raise, report that instead of crashing."""
    try:
        return run()
    except Exception as exc:
        message = (
            f"{table}: rule {what} could not be evaluated "
            f"({type(exc).__name__}: {_one_line(str(exc))})"
        )
        return [Violation(table, None, "check_error", message)]


# --- rows to violations


def rows_violation(
    table: str,
    column: str | None,
    rule: str,
    description: str,
    frame: pd.DataFrame,
    offending: np.ndarray,
) -> Violation | None:
    """A violation naming every offending row of ``frame``, or None if there is none.

    ``description`` completes "<n> rows ...", e.g. "above the inclusive-loan ceiling".
    """
    n_rows = int(np.count_nonzero(offending))
    if not n_rows:
        return None
    keys, by_key = _render(frame, table, offending)
    where = f"{table}.{column}" if column else table
    message = f"{where}: {_rows(n_rows)} {description} ({_quote(table, keys, by_key)})"
    return Violation(table, column, rule, message, keys, n_rows, description)


def render_keys(frame: pd.DataFrame, table: str, rows: np.ndarray) -> tuple[str, ...]:
    """Distinct keys of the rows selected by the bool mask ``rows``, in table order.

    A row whose key is incomplete (a part is null), or any row when a key column is missing
    or unreadable, is named by position instead: ``row 18`` is the 18th data row.
    """
    return _render(frame, table, rows)[0]


def _render(frame: pd.DataFrame, table: str, rows: np.ndarray) -> tuple[tuple[str, ...], bool]:
    """Keys of the selected rows, and whether any of them is a key rather than a position.

    Repeated keys are dropped on integer codes before any text is built: with millions of
    offending rows, hashing the rendered strings would cost more than the whole validation.
    """
    positions = np.flatnonzero(rows)
    columns = _key_columns(frame, table)
    if not columns:
        return tuple(_by_position(positions)), False
    parts = [_key_part(frame[column].iloc[positions]) for column in columns]
    incomplete = np.logical_or.reduce([codes < 0 for codes, _ in parts])
    if math.prod(len(labels) + 1 for _, labels in parts) < 2**62:
        combined = np.zeros(len(positions), dtype="int64")
        for codes, labels in parts:
            combined = combined * (len(labels) + 1) + codes + 1  # distinct parts, distinct code
        repeated = pd.Series(combined).duplicated().to_numpy()
    else:
        repeated = pd.DataFrame([codes for codes, _ in parts]).T.duplicated().to_numpy()
    first = ~repeated | incomplete
    keys = np.empty(len(positions), dtype=object)
    complete = first & ~incomplete
    keys[complete] = [
        "|".join(key)
        for key in zip(*(labels[codes[complete]] for codes, labels in parts), strict=True)
    ]
    keys[incomplete] = _by_position(positions[incomplete])
    return tuple(keys[first]), not incomplete.all()


def _by_position(positions: np.ndarray) -> np.ndarray:
    return ("row " + pd.Series(positions + 1, dtype="int64").astype(str)).to_numpy(dtype=object)


def _key_columns(frame: pd.DataFrame, table: str) -> tuple[str, ...]:
    key = KEYS.get(table, ())
    return key if key and set(key) <= set(frame.columns) else ()


def _key_part(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for null) and text of the distinct values of one key column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if isinstance(uniques, pd.DatetimeIndex):
        labels = list(uniques.strftime("%Y-%m-%d"))
    else:
        labels = [str(v) for v in uniques]
    return codes.astype("int64"), np.asarray(labels, dtype=object)


def _quote(table: str, keys: tuple[str, ...], by_key: bool) -> str:
    """``loan_id L1, L2 and 3 more`` (or ``at row 4, row 9`` when rows have no usable key)."""
    label = "|".join(KEYS[table]) if by_key else "at"
    shown = ", ".join(keys[:KEYS_IN_MESSAGE])
    more = f" and {len(keys) - KEYS_IN_MESSAGE:,} more" if len(keys) > KEYS_IN_MESSAGE else ""
    return f"{label} {shown}{more}"


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"

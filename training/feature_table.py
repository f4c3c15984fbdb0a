"""Reading a bank's own feature table: one row per loan, a target column, features as they come.

Banks that already keep a modelling table bring it as CSV or Parquet with whatever column names,
encodings and missing-value markers their systems produce. Everything that could make a model
silently wrong is refused here, before any training starts, with a one-line ``FeatureTableError``
(a ``ValueError``) naming the column, level or fold at fault, so a run is never half-registered.

Decisions, each made so that the same file always gives the same table:

* **Reading**: by suffix, ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``) or ``.parquet``.
  CSV delimiter sniffed among ``, ; tab |``; UTF-8 with or without BOM, else GB18030 (Chinese
  bank exports); ``NA_MARKERS`` (``?``, ``NA``, ``null``, ``-`` ...) and blanks are missing.
  Column names are kept as written (spaces, Chinese); a name used twice is refused.
* **Target**: severities ``0..K`` (0 = no problem, K = the worst outcome, e.g. default), given as
  integers, as booleans, or as a two-level text pair whose adverse side is unambiguous
  (``yes``/``no``, ``bad``/``good``, ``default``/``non-default``, ``违约``/``正常`` ...). Any other
  text is refused: guessing which level is the bad one would invert the model. A level that is
  not a non-negative integer, or a gap (``0, 1, 3``; ``1, 2, 3`` with no 0), is an unknown level;
  exactly two integer codes above 0 (German credit's ``1`` good / ``2`` bad) are a binary
  target whose higher code is the adverse outcome (higher = worse, as for severities).
  Rows whose target is missing are left out and counted in the notes; every level needs at
  least ``MIN_LEVEL_ROWS`` rows.
* **Features**: numbers become float64 (also ``1,234.5`` and ``12.5%``); dates become days
  since 1970 (ordered like time); other text becomes a pandas categorical (LightGBM splits on
  it natively). A text column whose values are numbers on at least 90% of rows is a numeric
  column with garbage in it: refused, naming a few offending values and their rows, because
  reading it as categories would hide the data error and dropping the values would hide it too.
* **Dropped with a note**: columns missing on every row, constant columns (one value and no
  missing; a value-or-missing flag is kept, its missingness is the information), and identifiers
  (a text column with a different value on nearly every row, or an integer column that increases
  on every row, like a file's row counter or a sequential account number): a key can only
  memorise rows or leak the order the file was sorted in.
* **Folds**: at least two; every fold's complement must contain every severity level, otherwise
  that fold's model could not learn the level it is scored on.
* **Groups** (a panel: several rows per loan or borrower, e.g. loan x month): the group column
  names whose rows belong together. It is never a feature; it must be present on every usable
  row, hold at least two groups, and lie wholly inside one given fold (a borrower split across
  folds is scored by a model that learnt from its other months). Every split made from the table
  then keeps a group on one side. Without a group column, a column that looks like a key and
  repeats across rows (``PANEL_NAMES`` names such as ``borrower_id``, ``客户编号``, or text codes
  like ``B000123``) raises a ``PanelTableWarning``: row-wise inner splits would let early stopping
  and calibration learn from the same borrower's other rows (optimistic tree counts, PDs too
  low). Such repeated keys are dropped as features with a note either way: they can only
  memorise borrowers.

Row numbers are 0-based positions of data rows in the file (the header is not a row), so
out-of-fold predictions can be joined back to the file by position.
"""

from __future__ import annotations

import csv
import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.io import first_line

#: Text written for "no value" by spreadsheets, R, SAS, databases and UCI-style files.
NA_MARKERS: Final = frozenset(
    {"", "?", "-", "--", ".", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "missing",
     "#n/a", "#na", "#null!", "#div/0!", "<na>", "nat"}
)  # fmt: skip

#: Two-level text targets whose adverse side is unambiguous (compared case-insensitively).
ADVERSE_WORDS: Final = frozenset(
    {"yes", "y", "true", "t", "bad", "default", "defaulted", "delinquent", "positive",
     "event", "charged off", "charged-off", "chargedoff", "fraud", "是", "违约", "坏", "逾期"}
)  # fmt: skip
BENIGN_WORDS: Final = frozenset(
    {"no", "n", "false", "f", "good", "non-default", "nondefault", "no default",
     "not default", "negative", "non-event", "paid", "fully paid", "current", "performing",
     "否", "正常", "好", "未违约"}
)  # fmt: skip

#: A text column parsing as numbers on at least this share of its values is numeric + garbage.
NUMERIC_SHARE: Final = 0.9
#: A text column with distinct values on at least this share of rows is an identifier.
IDENTIFIER_SHARE: Final = 0.95
#: Fewer rows than this and "distinct on every row" is not evidence of an identifier.
IDENTIFIER_MIN_ROWS: Final = 20
#: Every severity level needs at least this many rows to be learnt and evaluated at all.
MIN_LEVEL_ROWS: Final = 5
#: More fold labels than this is a row key given as the fold column, not a fold assignment.
MAX_FOLDS: Final = 100

#: A repeated key needs at least this many distinct values (fewer is a category, not a key) ...
PANEL_MIN_KEYS: Final = 50
#: ... and at least this many rows per value on average (a few duplicates are not a panel).
PANEL_MIN_ROWS_PER_KEY: Final = 1.5
#: Column names of loan, borrower or customer keys: ``borrower_id``, ``SK_ID_CURR``, ``loan no``,
#: ``customerId``, ``客户编号`` (case-insensitive except for the camel-case suffix).
PANEL_NAMES: Final = (
    re.compile(r"(?i)(^|[_\s.-])(id|key)([_\s.-]|$)"),
    re.compile(r"(?i)(^|[_\s.-])(no|nr|num|number)$"),
    re.compile(r"[a-z0-9](Id|ID|No|Nr|Key|Number)$"),
    re.compile(r"(编号|账号|帐号|客户号|借据号|合同号|证件号|身份证号)$"),
)
#: ... and a new value on at least this share of rows (a panel of up to 100 rows per key) ...
PANEL_KEY_SHARE: Final = 0.01
#: ... and a key's name, or text values shaped like keys: a few letters, then digits
#: (``B000123``, ``LN-2024-0042``).
_KEY_VALUE = re.compile(r"^[A-Za-z]{1,6}[-_]?\d[\d-]{2,}\d$")

CSV_SUFFIXES: Final = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
_DELIMITERS: Final = ",;\t|"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_DATE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")


class FeatureTableError(ValueError):
    """A feature table that cannot be used as given; ``str(err)`` is one line naming why."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class PanelTableWarning(UserWarning):
    """The table looks like a panel (a key repeats across rows) and no group column was given."""


@dataclass(frozen=True)
class FeatureTable:
    """A validated feature table: usable rows only, ready for a model.

    Attributes
    ----------
    features : DataFrame
        Feature columns (float64 or categorical), one row per usable row, index 0..n-1.
    y : ndarray of int64
        Severity of each row, 0..K.
    levels : tuple
        ``levels[s]`` is the target value in the file coded as severity ``s``.
    rows : ndarray of int64
        0-based position in the file of each usable row.
    folds : ndarray or None
        Fold label of each usable row, if a fold column was given.
    notes : tuple of str
        What was left out and why (rows with no target, dropped columns).
    groups : ndarray or None
        Group (loan or borrower) of each usable row, if a group column was given: every split
        keeps a group's rows on one side.
    warnings : tuple of str
        What looks wrong but is not refused (a panel without a group column).
    """

    features: pd.DataFrame
    y: np.ndarray
    levels: tuple[Any, ...]
    rows: np.ndarray
    folds: np.ndarray | None
    target: str
    fold_column: str | None = None
    source: str = "table"
    notes: tuple[str, ...] = ()
    groups: np.ndarray | None = None
    group_column: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def max_severity(self) -> int:
        """K: the highest severity, whose probability is the headline ``p``."""
        return len(self.levels) - 1

    @property
    def fold_labels(self) -> list[Any]:
        """Distinct fold labels in sorted order (empty without a fold column)."""
        return [] if self.folds is None else sorted(pd.unique(self.folds).tolist())


def load_feature_table(
    path: Path | str,
    target: str,
    fold_column: str | None = None,
    group_column: str | None = None,
) -> FeatureTable:
    """Read a CSV or Parquet feature table and validate it (see the module docstring)."""
    path = Path(path)
    frame = read_table_file(path)
    return prepare_feature_table(
        frame, target, fold_column, source=path.name, group_column=group_column
    )


def read_table_file(path: Path) -> pd.DataFrame:
    """Raw columns of a CSV (delimiter and encoding sniffed) or Parquet file, chosen by suffix."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    kind = suffixes[-2] if compressed and len(suffixes) == 2 else (suffixes or [""])[-1]
    if kind not in CSV_SUFFIXES + PARQUET_SUFFIXES or (compressed and kind in PARQUET_SUFFIXES):
        raise FeatureTableError(
            f"{path.name}: unsupported file type {''.join(suffixes) or '(no suffix)'!r}; "
            "give a .csv (or .csv.gz, .tsv, .txt) or a .parquet file"
        )
    if not path.is_file():
        raise FeatureTableError(f"{path}: no such file")
    try:
        frame = _read_parquet(path) if kind in PARQUET_SUFFIXES else _read_csv(path, compressed)
    except FeatureTableError:
        raise
    except (
        pa.ArrowException,
        OSError,
        ValueError,
        UnicodeDecodeError,
        csv.Error,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as exc:
        reason = first_line(exc)
        raise FeatureTableError(f"{path.name}: cannot read the file ({reason})") from None
    if frame.empty:
        raise FeatureTableError(f"{path.name}: the file has no data rows")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    _check_names([str(n) for n in table.column_names], path.name)
    return table.to_pandas()


def _read_csv(path: Path, compressed: bool) -> pd.DataFrame:
    opener: Any = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip():
        raise FeatureTableError(f"{path.name}: the file is empty")
    last_error: UnicodeDecodeError | None = None
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese bank exports are often GBK/GB18030
        try:
            text = (
                head.decode(encoding) if len(head) < (1 << 16) else _decode_prefix(head, encoding)
            )
            delimiter = _sniff_delimiter(text)
            header = next(csv.reader([text.splitlines()[0]], delimiter=delimiter))
            _check_names([h.strip() for h in header], path.name)
            return pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                keep_default_na=False,  # missing markers are applied by ``_normalise_text``
                na_values=[""],
                skipinitialspace=True,
                index_col=False,
                low_memory=False,
            ).rename(columns=lambda c: c.strip() if isinstance(c, str) else c)
        except UnicodeDecodeError as exc:
            last_error = exc
    raise FeatureTableError(f"{path.name}: not UTF-8 or GB18030 text ({last_error})")


def _decode_prefix(data: bytes, encoding: str) -> str:
    """Decode a file prefix that may end inside a multi-byte character or a line."""
    return data[: data.rfind(b"\n") + 1 or len(data)].decode(encoding)


def _sniff_delimiter(text: str) -> str:
    """The field delimiter: csv.Sniffer on whole lines, else the commonest one in the header."""
    lines = text.splitlines()
    sample = "\n".join(lines[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
        if delimiter in lines[0]:
            return delimiter
    except csv.Error:
        pass
    counts = {d: lines[0].count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_names(names: list[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise FeatureTableError(f"{source}: column name {name!r} appears more than once")
        seen.add(name)


def prepare_feature_table(
    frame: pd.DataFrame,
    target: str,
    fold_column: str | None = None,
    source: str = "table",
    group_column: str | None = None,
) -> FeatureTable:
    """Validate an in-memory table (rows in file order) and encode target, folds, groups and
    features; a ``PanelTableWarning`` is issued for each entry of ``warnings``."""
    if frame.columns.duplicated().any():
        name = frame.columns[frame.columns.duplicated()][0]
        raise FeatureTableError(f"{source}: column name {name!r} appears more than once")
    roles = (("target", target), ("fold", fold_column), ("group", group_column))
    for role, column in roles:
        if column is not None and column not in frame.columns:
            shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:8])
            more = ", ..." if frame.shape[1] > 8 else ""
            raise FeatureTableError(
                f"{source}: no {role} column {column!r} (columns: {shown}{more})"
            )
    if fold_column is not None and fold_column == target:
        raise FeatureTableError(f"{source}: the fold column cannot be the target {target!r}")
    if group_column is not None and group_column in (target, fold_column):
        role = "target" if group_column == target else "fold column"
        raise FeatureTableError(
            f"{source}: the group column cannot be the {role} {group_column!r}; give the "
            "column that names the loan or borrower of each row"
        )
    frame = frame.reset_index(drop=True)
    notes: list[str] = []
    y, levels, usable = _encode_target(frame[target], target, source)
    if not usable.all():
        notes.append(f"{int((~usable).sum())} row(s) with no target value {target!r} left out")
    if levels != tuple(range(len(levels))) and all(isinstance(v, int) for v in levels):
        notes.append(
            f"target {target!r} has two codes, {levels[0]} and {levels[1]}: {levels[1]} is "
            "taken as the adverse outcome (higher = worse)"
        )
    rows = np.flatnonzero(usable).astype(np.int64)
    kept = frame.loc[usable].reset_index(drop=True)
    folds = None
    if fold_column is not None:
        folds = _check_folds(kept[fold_column], y, levels, rows, fold_column, target, source)
    groups = None
    if group_column is not None:
        groups = _check_groups(kept[group_column], folds, rows, group_column, fold_column, source)
    roles_given = [c for c in (target, fold_column, group_column) if c is not None]
    candidates = kept.drop(columns=roles_given)
    keys = _repeated_keys(candidates)
    found: list[str] = []
    for column, distinct in keys.items():
        notes.append(
            f"column {column!r} dropped: a key repeated across rows ({distinct:,} values on "
            f"{int(candidates[column].notna().sum()):,} rows)"
        )
    if keys and group_column is None:
        shown = ", ".join(repr(str(c)) for c in keys)
        found.append(
            f"{source}: the table looks like a panel ({shown} repeats across rows, "
            f"{len(candidates) / max(keys.values()):.1f} rows per value) and no group column "
            "is given: inner splits then put a borrower's rows on both sides, so early stopping "
            "and calibration learn from its other rows (too many trees, PDs too low); give "
            "the loan or borrower column as the group column (--group-column)"
        )
    elif keys and groups is not None:
        for column in keys:
            spans = _spanning_keys(candidates[column], groups)
            if spans:
                found.append(
                    f"{source}: {spans:,} value(s) of {column!r} span several groups of "
                    f"{group_column!r}: their rows can fall on both sides of a split; if "
                    f"{column!r} is the borrower, group by it"
                )
    features = _prepare_features(candidates.drop(columns=list(keys)), rows, source, notes)
    for message in found:
        warnings.warn(message, PanelTableWarning, stacklevel=2)
    return FeatureTable(
        features=features,
        y=y,
        levels=levels,
        rows=rows,
        folds=folds,
        target=target,
        fold_column=fold_column,
        source=source,
        notes=tuple(notes),
        groups=groups,
        group_column=group_column,
        warnings=tuple(found),
    )


def _complete_key(
    values: pd.Series, what: str, rows: np.ndarray, source: str, why: str = ""
) -> pd.Series:
    """A fold or group column with text normalised, refused in one line if a usable row has none
    (a row without its fold or group cannot be placed on either side of a split)."""
    if not pd.api.types.is_numeric_dtype(values):
        values = _normalise_text(values)
    missing = values.isna().to_numpy()
    if missing.any():
        raise FeatureTableError(
            f"{source}: {what} is missing on {int(missing.sum())} usable row(s) "
            f"(first at row {int(rows[np.argmax(missing)])}){why}"
        )
    return values


def _check_groups(
    values: pd.Series,
    folds: np.ndarray | None,
    rows: np.ndarray,
    group_column: str,
    fold_column: str | None,
    source: str,
) -> np.ndarray:
    """Group of each usable row as codes 0..G-1, after checking it is usable for splitting."""
    values = _complete_key(
        values,
        f"group column {group_column!r}",
        rows,
        source,
        ": every row needs its loan or borrower",
    )
    codes, labels = pd.factorize(values.astype(str), sort=True)
    if labels.size < 2:
        raise FeatureTableError(
            f"{source}: group column {group_column!r} has a single group ({labels[0]!r}); "
            "give the column that names the loan or borrower of each row"
        )
    if folds is not None:
        fold_codes = pd.factorize(folds)[0]
        per_group = pd.Series(fold_codes).groupby(codes).nunique()
        split = per_group.index[per_group.to_numpy() > 1]
        if split.size:
            first = int(split[0])
            where = np.flatnonzero(codes == first)
            in_folds = ", ".join(repr(f) for f in sorted(pd.unique(folds[where]).tolist()))
            raise FeatureTableError(
                f"{source}: {split.size:,} group(s) of {group_column!r} are split across "
                f"folds of {fold_column!r}, e.g. {labels[first]!r} in folds {in_folds} (rows "
                f"{int(rows[where[0]])} and {int(rows[where[-1]])}): a fold must hold all of "
                "a group's rows, else its model learns from the rows it scores"
            )
    return codes.astype(np.int64)


def _repeated_keys(frame: pd.DataFrame) -> dict[Any, int]:
    """Columns that look like loan or borrower keys repeated across rows -> distinct values.

    A repeated key has at least ``PANEL_MIN_KEYS`` values, a new one on at least
    ``PANEL_KEY_SHARE`` of rows, ``PANEL_MIN_ROWS_PER_KEY`` rows per value on average, and
    either a key's name (``PANEL_NAMES``) with integer or text values, or text values all
    shaped like keys (``_KEY_VALUE``). Fewer values are a category (30 regions, 40 branches).
    """
    found: dict[Any, int] = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            continue
        present = values.dropna()
        distinct = int(present.nunique())
        if (
            distinct < max(PANEL_MIN_KEYS, PANEL_KEY_SHARE * present.size)
            or present.size < PANEL_MIN_ROWS_PER_KEY * distinct
        ):
            continue
        named = any(pattern.search(str(column)) for pattern in PANEL_NAMES)
        if pd.api.types.is_numeric_dtype(values):
            numbers = present.to_numpy(dtype=float)
            if named and np.isfinite(numbers).all() and (numbers == np.round(numbers)).all():
                found[column] = distinct
            continue
        text = present.astype(str).str.strip()
        if named or text.str.match(_KEY_VALUE).all():
            found[column] = distinct
    return found


def _spanning_keys(values: pd.Series, groups: np.ndarray) -> int:
    """How many values of a key column occur in more than one group."""
    present = values.notna().to_numpy()
    per_key = pd.Series(groups[present]).groupby(values[present].astype(str).to_numpy()).nunique()
    return int((per_key > 1).sum())


def _normalise_text(values: pd.Series) -> pd.Series:
    """Strip text and turn missing markers into NaN; leave non-text values as they are."""
    values = values.astype(object)
    is_text = values.map(lambda v: isinstance(v, str))
    stripped = values[is_text].str.strip()
    marker = stripped.str.lower().isin(NA_MARKERS)
    out = values.copy()
    out[is_text] = stripped.where(~marker, np.nan)
    return out


def _encode_target(
    values: pd.Series, target: str, source: str
) -> tuple[np.ndarray, tuple[Any, ...], np.ndarray]:
    """Severities of the rows that have a target, the level of each severity, and those rows."""
    if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = _normalise_text(values)
    usable = values.notna().to_numpy()
    if not usable.any():
        raise FeatureTableError(f"{source}: no usable target: {target!r} is missing on every row")
    present = values[usable]
    if pd.api.types.is_bool_dtype(present) or set(present.map(type)) <= {bool, np.bool_}:
        y = present.astype(bool).astype(np.int64).to_numpy()
        if np.unique(y).size < 2:
            raise FeatureTableError(
                f"{source}: target {target!r} is constant ({bool(y[0])} on every usable row)"
            )
        _check_level_counts(y, (False, True), target, source)
        return y, (False, True), usable
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all():
        y, levels = _encode_severities(numbers.to_numpy(dtype=float), target, source)
    else:
        y, levels = _encode_text_pair(present.astype(str), target, source)
    return y, levels, usable


def _encode_severities(
    numbers: np.ndarray, target: str, source: str
) -> tuple[np.ndarray, tuple[Any, ...]]:
    distinct = np.unique(numbers)
    for value in distinct:
        if not np.isfinite(value) or value != np.round(value) or value < 0:
            raise FeatureTableError(
                f"{source}: target {target!r} has unknown level {_show(value)}: "
                "severities must be integers 0..K (0 = no problem, K = the worst outcome)"
            )
    if distinct.size < 2:
        raise FeatureTableError(
            f"{source}: target {target!r} is constant ({_show(distinct[0])} on every usable row)"
        )
    if distinct.size == 2 and distinct[0] > 0:
        # Two coded levels such as German credit's 1 = good / 2 = bad: binary, and on the
        # ordinal convention (higher = worse) the higher code is the adverse outcome.
        binary = (numbers == distinct[1]).astype(np.int64)
        codes: tuple[int, ...] = (int(distinct[0]), int(distinct[1]))
        _check_level_counts(binary, codes, target, source)
        return binary, codes
    absent = sorted(set(range(int(distinct[-1]) + 1)) - set(distinct.astype(int).tolist()))
    if absent:
        shown = ", ".join(_show(v) for v in distinct)
        raise FeatureTableError(
            f"{source}: target {target!r} has unknown level {_show(distinct[-1])}: levels "
            f"{shown} skip severity {absent[0]}; severities must be 0..K with no gap"
        )
    y = numbers.astype(np.int64)
    levels = tuple(range(int(distinct[-1]) + 1))
    _check_level_counts(y, levels, target, source)
    return y, levels


def _encode_text_pair(
    text: pd.Series, target: str, source: str
) -> tuple[np.ndarray, tuple[Any, ...]]:
    distinct = sorted(pd.unique(text).tolist())
    if len(distinct) == 1:
        raise FeatureTableError(
            f"{source}: target {target!r} is constant ({distinct[0]!r} on every usable row)"
        )
    numeric = pd.to_numeric(pd.Series(distinct), errors="coerce")
    if len(distinct) > 2 or numeric.notna().any():
        counts = text.value_counts()  # the rarest text level is the likeliest stray one
        odd = min((d for d, n in zip(distinct, numeric, strict=True) if pd.isna(n)),
                  key=lambda d: (counts[d], d))  # fmt: skip
        raise FeatureTableError(
            f"{source}: target {target!r} has unknown level {odd!r}: give severities as "
            "integers 0..K, or a two-level pair such as no/yes or good/bad"
        )
    adverse = [d for d in distinct if d.lower() in ADVERSE_WORDS]
    benign = [d for d in distinct if d.lower() in BENIGN_WORDS]
    if len(adverse) != 1 or len(benign) != 1:
        raise FeatureTableError(
            f"{source}: target {target!r} has unknown levels {distinct[0]!r} and "
            f"{distinct[1]!r}: cannot tell which is the adverse outcome; recode it as 0/1"
        )
    y = (text == adverse[0]).astype(np.int64).to_numpy()
    levels = (benign[0], adverse[0])
    _check_level_counts(y, levels, target, source)
    return y, levels


def _check_level_counts(y: np.ndarray, levels: tuple[Any, ...], target: str, source: str) -> None:
    counts = np.bincount(y, minlength=len(levels))
    for severity, count in enumerate(counts):
        if count < MIN_LEVEL_ROWS:
            raise FeatureTableError(
                f"{source}: target {target!r} level {levels[severity]!r} occurs on {count} "
                f"row(s); at least {MIN_LEVEL_ROWS} are needed to learn and evaluate it"
            )


def _show(value: float) -> str:
    return str(int(value)) if np.isfinite(value) and value == np.round(value) else str(float(value))


def _check_folds(
    values: pd.Series,
    y: np.ndarray,
    levels: tuple[Any, ...],
    rows: np.ndarray,
    fold_column: str,
    target: str,
    source: str,
) -> np.ndarray:
    """Fold label of each usable row, after checking every fold can be trained and scored."""
    values = _complete_key(values, f"fold column {fold_column!r}", rows, source)
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and (numbers == numbers.round()).all():
        folds = numbers.astype(np.int64).to_numpy()
    else:
        folds = values.astype(str).to_numpy(dtype=object)
    labels = sorted(pd.unique(folds).tolist())
    if len(labels) < 2:
        raise FeatureTableError(
            f"{source}: fold column {fold_column!r} has a single fold ({labels[0]!r}); "
            "at least 2 are needed to predict every row out of fold"
        )
    if len(labels) > MAX_FOLDS:
        raise FeatureTableError(
            f"{source}: fold column {fold_column!r} has {len(labels)} distinct values; "
            f"expected a fold assignment (2..{MAX_FOLDS} folds), not a row key"
        )
    for label in labels:
        complement = y[folds != label]
        for severity in range(len(levels)):
            if not (complement == severity).any():
                raise FeatureTableError(
                    f"{source}: fold {label!r} of {fold_column!r} cannot be predicted: the "
                    f"other folds have no row with {target!r} = {levels[severity]!r}"
                )
    return folds


def _prepare_features(
    frame: pd.DataFrame, rows: np.ndarray, source: str, notes: list[str]
) -> pd.DataFrame:
    """Typed feature columns; drops empty, constant and identifier columns with a note."""
    out: dict[Any, pd.Series] = {}
    n = len(frame)
    for column in frame.columns:
        values = _typed_column(frame[column], column, rows, source)
        present = values.dropna()
        distinct = present.nunique()
        if present.empty:
            notes.append(f"column {column!r} dropped: missing on every row")
        elif distinct == 1 and present.size == n:
            notes.append(f"column {column!r} dropped: the same value on every row")
        elif _is_identifier(values, distinct, n):
            notes.append(f"column {column!r} dropped: an identifier (a new value on every row)")
        else:
            out[column] = values
    if not out:
        raise FeatureTableError(f"{source}: no usable feature columns besides target and folds")
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _is_identifier(values: pd.Series, distinct: int, n: int) -> bool:
    if n < IDENTIFIER_MIN_ROWS:
        return False
    if isinstance(values.dtype, pd.CategoricalDtype):
        return distinct >= IDENTIFIER_SHARE * n
    numbers = values.to_numpy(dtype=float)
    return bool(
        distinct == n
        and np.isfinite(numbers).all()
        and (numbers == np.round(numbers)).all()
        and (np.diff(numbers) > 0).all()
    )


def _typed_column(values: pd.Series, column: Any, rows: np.ndarray, source: str) -> pd.Series:
    """float64 for numbers, flags and dates; categorical for text; refuses numeric garbage."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(values):
        return _days(pd.Series(pd.to_datetime(values), index=values.index))
    if pd.api.types.is_timedelta64_dtype(values):
        return (values / pd.Timedelta(days=1)).astype("float64")
    values = _normalise_text(values)
    present = values.dropna()
    numbers = _parse_numbers(present)
    parsed = numbers.notna()
    if present.size and parsed.all():
        return numbers.reindex(values.index)
    if present.size and parsed.mean() >= NUMERIC_SHARE:
        bad = present[~parsed]
        shown = ", ".join(f"{v!r} (row {rows[i]})" for i, v in bad.head(3).items())
        raise FeatureTableError(
            f"{source}: column {column!r} is numeric on {parsed.mean():.1%} of rows but has "
            f"{bad.size} non-numeric value(s): {shown}; correct them or leave them empty"
        )
    if present.size and present.astype(str).str.match(_DATE).all():
        stamps = pd.to_datetime(present.astype(str), errors="coerce", format="mixed")
        if stamps.notna().all():  # a date on every row: days since 1970, ordered like time
            return _days(stamps).reindex(values.index)
    text = values.map(lambda v: v if pd.isna(v) else str(v))
    categories = sorted(pd.unique(text.dropna()).tolist())
    return pd.Series(
        pd.Categorical(text, categories=categories), index=values.index, name=values.name
    )


def _days(stamps: pd.Series) -> pd.Series:
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    return ((stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).astype("float64")


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers from text, accepting thousands separators (1,234.5) and percentages (12.5%)."""
    numbers = pd.to_numeric(values, errors="coerce")
    failed = numbers.isna()
    if failed.any():
        text = values[failed].astype(str)
        percent = text.str.endswith("%")
        body = text.str.rstrip("%")
        body = body.where(~body.str.match(_THOUSANDS), body.str.replace(",", ""))
        again = pd.to_numeric(body, errors="coerce")
        numbers[failed] = again.where(~percent, again / 100.0)
    return numbers.astype("float64")

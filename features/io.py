"""Reading and writing the raw tables: the only place in ``features`` that touches files.

A portfolio is a folder with one file per table, named after it (``borrowers.parquet`` or
``borrowers.csv``, ...). Reading normalises what a bank brings to one in-memory form: string
columns (keys and vocabularies) become pandas ``category`` (a book of 100,000 borrowers has
tens of millions of signal rows, and object strings would not fit the memory budget), date
columns become ``datetime64[ns]``. Every failure to read is a ``TableReadError`` whose message is
one line naming the table and the reason, never a traceback.

A large book is a *partitioned dataset* instead: each table a folder of Parquet files,
``<table>/part=0007/block-0012.parquet``, the partition a stable hash of the borrower
(``features.partitions``), so one partition of every table holds whole borrowers and a worker
reads just its own (``read_table(directory, table, partition=7)``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

#: The six raw tables, in the order they are read and validated.
RAW_TABLES = ("borrowers", "party_ratings", "loans", "repayments", "operating_signals", "events")

#: Date columns of each table (parsed explicitly when reading CSV).
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "borrowers": ("founding_date",),
    "party_ratings": ("award_date",),
    "loans": ("origination_date", "maturity_date"),
    "repayments": ("due_date",),
    "operating_signals": ("period", "available_at"),
    "events": ("event_date", "available_at"),
}

ModelT = TypeVar("ModelT", bound=BaseModel)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type if it has none): error messages of
    this project are one line, whatever library raised underneath."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def validation_problems(exc: ValidationError) -> str:
    """Every problem of a pydantic ``ValidationError`` on one line, each as ``field.path: msg``
    (settings and scenario files are edited by people, who want all of them at once)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


def read_json_model(model: type[ModelT], path: Path, what: str) -> ModelT:
    """A pydantic model from a JSON file edited by staff (gate or grade policy), or a one-line
    ``ValueError`` naming the file and the first offending field."""
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise ValueError(f"{what} {path}: {where}: {first['msg']}") from None


class TableReadError(Exception):
    """A table is missing or cannot be read; ``str(err)`` is a one-line reason."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(f"{table}: {reason}")
        self.table = table
        self.reason = reason


def table_path(directory: Path, table: str) -> Path:
    """The file holding ``table`` in ``directory`` (Parquet preferred over CSV).

    Raises
    ------
    TableReadError
        If neither ``<table>.parquet`` nor ``<table>.csv`` exists.
    """
    for suffix in (".parquet", ".csv"):
        path = directory / f"{table}{suffix}"
        if path.is_file():
            return path
    if (directory / table).is_dir():
        return directory / table
    raise TableReadError(
        table, f"missing table (expected {table}.parquet or {table}.csv in {directory})"
    )


#: The folder name of a partition of a partitioned table: ``part=0007``.
PARTITION_PREFIX = "part="


def partition_folder(partition: int) -> str:
    return f"{PARTITION_PREFIX}{partition:04d}"


def partition_rows(directory: Path | str, table: str = "borrowers") -> dict[int, int]:
    """Rows of ``table`` in each partition of a partitioned book, from the Parquet footers
    (nothing else read)."""
    folder = Path(directory) / table
    return {
        k: sum(
            pq.read_metadata(f).num_rows for f in (folder / partition_folder(k)).glob("*.parquet")
        )
        for k in dataset_partitions(directory, table)
    }


def dataset_partitions(directory: Path | str, table: str = "borrowers") -> list[int]:
    """The partitions of a partitioned book (those holding ``table`` rows), in order; empty
    for a book of one file per table."""
    folder = Path(directory) / table
    if not folder.is_dir():
        return []
    return sorted(
        int(p.name.removeprefix(PARTITION_PREFIX))
        for p in folder.iterdir()
        if p.is_dir() and p.name.startswith(PARTITION_PREFIX)
    )


def _read_dataset(
    folder: Path, partition: int | Sequence[int] | None, columns: list[str] | None = None
) -> pa.Table:
    """A partitioned table's files (all, or some partitions') in path order, as one table."""
    if partition is None:
        files = sorted(folder.glob(f"{PARTITION_PREFIX}*/*.parquet"))
    else:
        wanted = [partition] if isinstance(partition, int) else sorted(partition)
        files = [
            f for k in wanted for f in sorted((folder / partition_folder(k)).glob("*.parquet"))
        ]
    if not files:
        any_file = next(iter(sorted(folder.glob(f"{PARTITION_PREFIX}*/*.parquet"))), None)
        if any_file is None:
            raise OSError(f"no Parquet file under {folder}")
        empty = pq.read_schema(any_file).empty_table()
        return empty.select(columns) if columns is not None else empty
    pieces = [pq.read_table(f, columns=columns) for f in files]
    return pa.concat_tables(pieces, promote_options="permissive")


def read_table(
    directory: Path | str,
    table: str,
    partition: int | Sequence[int] | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Read one raw table from ``directory``, normalised as the module docstring says; of a
    partitioned book, the whole table or only the rows of ``partition`` (one or several); of
    Parquet, only ``columns`` if given (a whole book's dates, without its other columns)."""
    path = table_path(Path(directory), table)
    dates = DATE_COLUMNS.get(table, ())
    if partition is not None and not path.is_dir():
        raise TableReadError(table, f"{path.name} is one file, not a partitioned table")
    try:
        if path.is_dir():
            frame = _read_dataset(path, partition, columns).to_pandas(strings_to_categorical=True)
        elif path.suffix == ".parquet":
            frame = pq.read_table(path, columns=columns).to_pandas(strings_to_categorical=True)
        else:
            frame = pd.read_csv(path, low_memory=False, usecols=columns)
            for column, dtype in frame.dtypes.items():
                if pd.api.types.is_object_dtype(dtype) and column not in dates:
                    frame[column] = frame[column].astype("category")
    except (
        pa.ArrowException,
        OSError,
        ValueError,
        pd.errors.ParserError,
        UnicodeDecodeError,
    ) as exc:
        kind = "Parquet" if path.suffix == ".parquet" or path.is_dir() else "CSV"
        reason = first_line(exc)
        raise TableReadError(table, f"unreadable {kind} file {path.name} ({reason})") from None
    for column in dates:
        if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            try:
                frame[column] = pd.to_datetime(frame[column].astype("object"), format="ISO8601")
            except (ValueError, TypeError) as exc:
                raise TableReadError(
                    table, f"column {column} holds values that are not dates ({exc})"
                ) from None
        if column in frame.columns:
            frame[column] = _as_naive_ns(frame[column])
    return frame


def _as_naive_ns(series: pd.Series) -> pd.Series:
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_localize(None)
    return series.astype("datetime64[ns]")


def write_table(frame: pd.DataFrame, directory: Path | str, name: str) -> Path:
    """Write ``frame`` as ``<name>.parquet`` atomically and byte-for-byte reproducibly.

    The file is written to a temporary name and renamed, so a reader never sees half a table.
    No timestamps are embedded, so the same frame always gives the same bytes.
    """
    return write_parquet(frame, Path(directory) / f"{name}.parquet")


def write_parquet(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` to ``path`` atomically (temporary file, then rename), no timestamps."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return atomic_write(
        path, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=1_000_000)
    )


def stage_file(path: Path | str, write: Callable[[Path], object]) -> Path:
    """Write what ``path`` will hold to a new temporary file beside it and return that file;
    ``os.replace(staged, path)`` then puts it in place in one step. A failed ``write`` leaves
    no temporary behind. The file is created 0600 (``tempfile.mkstemp``): what the project
    writes holds bank data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    staged = Path(name)
    try:
        write(staged)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def atomic_write(path: Path | str, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(temporary)``, then rename: a reader never sees half a
    file, and a failed write leaves any earlier file in place. The one atomic-write helper of
    the project."""
    path = Path(path)
    staged = stage_file(path, write)
    try:
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return path


def write_tables(frames: Mapping[str, pd.DataFrame], directory: Path | str) -> dict[str, Path]:
    """Write several tables; returns the path of each."""
    return {name: write_table(frame, directory, name) for name, frame in frames.items()}


def replace_folder(staging: Path | str, out: Path | str) -> Path:
    """Put the folder ``staging`` (a sibling of ``out``) at ``out`` in one rename. A folder
    already at ``out`` is moved aside first and removed after, so a reader sees the old
    folder or the new one, never a mix; a file at ``out`` is refused."""
    staging, out = Path(staging), Path(out)
    if out.is_file():
        raise FileExistsError(f"{out} is a file, not a folder: not replacing it")
    if not out.exists():
        os.replace(staging, out)
        return out
    aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.replace(out, aside / "old")
    os.replace(staging, out)
    shutil.rmtree(aside, ignore_errors=True)
    return out


@contextmanager
def staged_folder(out: Path | str) -> Iterator[Path]:
    """A new folder beside ``out`` (0700) to write a result into; it becomes ``out`` when the
    block ends normally and is removed when it raises, so nothing half-written is ever left."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        yield staged
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    replace_folder(staged, out)

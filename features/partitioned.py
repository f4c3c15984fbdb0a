"""Snapshots of a book partition by partition: the same rows as ``build_snapshots`` on the whole.

The snapshot builder is not re-implemented here: each partition (whole borrowers, see
``features.partitions``) goes through ``build_snapshots`` itself, on a Dask cluster or in
this process, and the pieces are stacked in the single-machine order (loan id, then month).
Two things are book-wide and therefore fixed before the split: the unified Party-building
index (fitted on the whole book's ratings) and the last month of data, which decides whether
a label has matured (one partition's last statement can be earlier than the book's).

A *partitioned book* (``ews-data simulate --partitions``, or a bank's export in the same
layout, see ``features.io``) is never loaded whole: each task reads, validates and
featurises one partition and writes its snapshots as one file of a snapshot folder
(``part=0007.parquet``), so memory is bounded by a partition, on the workers and here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.io import (
    dataset_partitions,
    partition_folder,
    read_table,
    staged_folder,
    write_parquet,
)
from features.labels import DEFAULT_HORIZON
from features.months import month_index
from features.partitions import split_by_borrower
from features.party_index import PartyIndexUnifier
from features.snapshots import build_snapshots, check_as_of_covered, parse_months

#: ``mapper(function, partitions, *args, **kwargs) -> results in partition order``.
Mapper = Callable[..., list[Any]]
#: Borrowers per partition when the caller does not choose: a few hundred MB of snapshots each.
BORROWERS_PER_PARTITION = 25_000


def in_process(
    function: Callable[..., Any], partitions: Sequence[Any], *args: Any, **kwargs: Any
) -> list[Any]:
    """The mapper without a cluster: one partition after another in this process."""
    return [function(part, *args, **kwargs) for part in partitions]


def default_partitions(n_borrowers: int, workers: int = 1) -> int:
    """Enough partitions to keep each near ``BORROWERS_PER_PARTITION`` and every worker busy."""
    return max(workers, -(-n_borrowers // BORROWERS_PER_PARTITION))


def last_data_month(tables: Mapping[str, pd.DataFrame]) -> int:
    """The book's last statement month, as ``features.months`` counts months."""
    return int(month_index(tables["repayments"]["due_date"]).max())


def build_snapshots_partitioned(
    tables: Mapping[str, pd.DataFrame],
    as_of_months: str | Iterable[str | pd.Period | int],
    party_index: PartyIndexUnifier,
    *,
    n_partitions: int,
    horizon: int = DEFAULT_HORIZON,
    with_labels: bool = True,
    mapper: Mapper = in_process,
) -> pd.DataFrame:
    """``build_snapshots(tables, ...)``, computed over ``n_partitions`` borrower partitions
    by ``mapper`` (``in_process``, or ``features.cluster.map_partitions`` bound to a client)."""
    months = parse_months(as_of_months)
    parts = split_by_borrower(tables, n_partitions)
    pieces = mapper(
        build_snapshots,
        parts,
        months,
        party_index,
        horizon=horizon,
        with_labels=with_labels,
        data_end=last_data_month(tables),
    )
    return stack_snapshots(pieces)


def stack_snapshots(pieces: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Partition snapshots as one table in the single-machine order (loan id, then month)."""
    stacked = pd.concat(list(pieces), ignore_index=True)
    order = stacked.sort_values(["loan_id", "as_of"], kind="stable").index
    return stacked.loc[order].reset_index(drop=True)


class PartitionFailedError(ValueError):
    """Partitions of a partitioned book failed validation; nothing was written."""

    def __init__(self, failed: list[dict[str, Any]]) -> None:
        self.failed = failed
        shown = ", ".join(f"{f['partition']} ({f['violations']} violations)" for f in failed[:5])
        super().__init__(f"{len(failed)} partition(s) failed validation: {shown}")


class PartitionInvalidError(ValueError):
    """One partition of a partitioned book failed validation; the message names it."""


@dataclass(frozen=True)
class PartitionedBook:
    """A book stored as a partitioned dataset, read one partition at a time, never whole.

    Commands given such a book (``features.io``, partitioned layout) hand this to the same
    code that takes in-memory tables: each task reads and validates its own partition.
    """

    directory: str
    partitions: tuple[int, ...]

    @classmethod
    def at(cls, directory: Path | str) -> PartitionedBook | None:
        """The partitioned book in ``directory``, or None for a book of one file per table."""
        found = dataset_partitions(directory)
        return cls(str(directory), tuple(found)) if found else None

    def read(self, partition: int) -> dict[str, pd.DataFrame]:
        """The validated tables of one partition (whole borrowers)."""
        from features.validation import PortfolioValidationError, load_validated_portfolio

        try:
            return load_validated_portfolio(self.directory, partition)
        except PortfolioValidationError as exc:
            raise PartitionInvalidError(
                f"partition {partition} of {self.directory} failed validation "
                f"({len(exc.report.violations)} violations); run ews-data validate "
                f"{self.directory}"
            ) from None

    def span(self) -> dict[str, pd.DataFrame]:
        """``book_span`` of the whole book."""
        return book_span(self.directory)

    def column(self, table: str, column: str) -> pd.Series:
        """One column of a whole table (loan ids, say), without the rest of the book."""
        return read_table(self.directory, table, columns=[column])[column]


def book_span(directory: Path | str) -> dict[str, pd.DataFrame]:
    """The two date columns of a whole book that ``check_as_of_covered`` and the labels'
    maturity need, read without the rest of the book."""
    return {
        "loans": read_table(directory, "loans", columns=["origination_date"]),
        "repayments": read_table(directory, "repayments", columns=["due_date"]),
    }


def snapshot_partition(
    partition: int,
    directory: str,
    months: list[int],
    party_index: PartyIndexUnifier,
    folder: str,
    *,
    horizon: int,
    data_end: int,
) -> dict[str, Any]:
    """Read, validate and featurise one partition of a partitioned book; write its snapshots
    to ``folder/part=KKKK.parquet``. Runs on a worker; returns what it did."""
    from features.validation import PortfolioValidationError, load_validated_portfolio

    try:
        tables = load_validated_portfolio(directory, partition)
    except PortfolioValidationError as exc:
        return {"partition": partition, "violations": len(exc.report.violations)}
    snapshots = build_snapshots(tables, months, party_index, horizon=horizon, data_end=data_end)
    write_parquet(snapshots, Path(folder) / f"{partition_folder(partition)}.parquet")
    return {
        "partition": partition,
        "violations": 0,
        "rows": len(snapshots),
        "labeled": int(snapshots["labeled"].sum()) if "labeled" in snapshots else 0,
    }


def snapshot_partitioned_book(
    directory: Path | str,
    as_of_months: str | Iterable[str | pd.Period | int],
    party_index: PartyIndexUnifier,
    out: Path | str,
    *,
    horizon: int = DEFAULT_HORIZON,
    mapper: Mapper = in_process,
) -> list[dict[str, Any]]:
    """Snapshots of every partition of a partitioned book into the folder ``out`` (one file
    per partition; ``pd.read_parquet(out)`` reads them as one table).

    Raises ``SnapshotError`` for months outside the book and ``PartitionFailedError`` if a
    partition fails validation; then nothing is written. A snapshot folder already at
    ``out`` is replaced in one step.
    """
    months = parse_months(as_of_months)
    span = book_span(directory)
    check_as_of_covered(span, months)
    with staged_folder(out) as staging:
        done = mapper(
            snapshot_partition,
            dataset_partitions(directory),
            str(directory),
            months,
            party_index,
            str(staging),
            horizon=horizon,
            data_end=last_data_month(span),
        )
        failed = [d for d in done if d["violations"]]
        if failed:
            raise PartitionFailedError(failed)
    return done

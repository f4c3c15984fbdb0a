"""Snapshots of a book partition by partition: the same rows as ``build_snapshots`` on the whole.

The snapshot builder is not re-implemented here: each partition (whole borrowers, see
``features.partitions``) goes through ``build_snapshots`` itself, on a Dask cluster or in
this process, and the pieces are stacked in the single-machine order (loan id, then month).
Two things are book-wide and therefore fixed before the split: the unified Party-building
index (fitted on the whole book's ratings) and the last month of data, which decides whether
a label has matured (one partition's last statement can be earlier than the book's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from features.labels import DEFAULT_HORIZON
from features.months import month_index
from features.partitions import split_by_borrower
from features.party_index import PartyIndexUnifier
from features.snapshots import build_snapshots, parse_months

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

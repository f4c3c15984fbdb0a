"""Borrower partitions: a borrower's whole history in one partition, the same one every time.

Every feature, score and provision of a loan reads only its own borrower's rows (the online
endpoint builds a snapshot from one borrower's tables, and it matches the batch rows: tested),
so a book split by borrower can be processed partition by partition and the results stacked.
The partition of a borrower is a stable hash of its id modulo the number of partitions: the
same on every machine and in every process (pandas' SipHash with its fixed key), independent
of the order or the size of the book.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: The key that ties each raw table's rows to a borrower (repayments go through their loan).
BORROWER_KEY = "borrower_id"


def borrower_partition(borrower_ids: pd.Series | np.ndarray, n_partitions: int) -> np.ndarray:
    """Partition number (0..n_partitions-1) of each borrower id."""
    if n_partitions < 1:
        raise ValueError(f"n_partitions must be at least 1, got {n_partitions}")
    # Each distinct id is hashed once (a signal table repeats its borrower every month).
    codes, uniques = pd.factorize(pd.Series(borrower_ids), use_na_sentinel=False)
    ids = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    of_unique = (pd.util.hash_array(ids) % np.uint64(n_partitions)).astype(np.int64)
    return of_unique[codes]


def row_partitions(
    frames: Mapping[str, pd.DataFrame], n_partitions: int, loans: pd.DataFrame
) -> dict[str, np.ndarray]:
    """Partition of every row of ``frames``: by its borrower, or (a table keyed by loan only,
    such as repayments) by its loan's borrower in ``loans``; -1 for a loan ``loans`` lacks."""
    loan_part = pd.Series(
        borrower_partition(loans[BORROWER_KEY], n_partitions),
        index=loans["loan_id"].astype(str).to_numpy(),
    )
    parts = {}
    for name, frame in frames.items():
        if BORROWER_KEY in frame.columns:
            parts[name] = borrower_partition(frame[BORROWER_KEY], n_partitions)
        else:  # each distinct loan looked up once
            codes, uniques = pd.factorize(frame["loan_id"], use_na_sentinel=False)
            keys = pd.Index(uniques).astype(str)
            of_unique = loan_part.reindex(keys).fillna(-1).to_numpy().astype(np.int64)
            parts[name] = of_unique[codes]
    return parts


def split_by_borrower(
    tables: Mapping[str, pd.DataFrame], n_partitions: int
) -> list[dict[str, pd.DataFrame]]:
    """The raw tables cut into ``n_partitions`` books, each holding whole borrowers.

    Repayments follow their loan's borrower. Partitions without a borrower are left out, so
    the list can be shorter than ``n_partitions``. Row order within each table is kept, and
    categorical columns keep the whole book's categories.
    """
    of_row = row_partitions(tables, n_partitions, tables["loans"])
    present = np.unique(of_row["borrowers"])
    return [{name: tables[name][of_row[name] == k] for name in tables} for k in present.tolist()]

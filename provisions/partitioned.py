"""A month's loans provided for partition by partition: the same rows as one machine's.

Stage, category, EAD and ECL of a loan read only its own borrower's rows and its own score,
so the book is cut into borrower partitions (``features.partitions``), each partition's
exposures are built and provided for where the mapper runs it (a Dask cluster, or in this
process), and the pieces are put back in the single-machine order (the order of the scores).
The month's checks of the whole book (``provisions.exposures.check_month``), the overlays,
the totals and the ratios stay with the caller: they need the whole month.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.partitioned import Mapper, PartitionedBook
from features.partitions import row_partitions
from provisions.allowance import provide
from provisions.exposures import exposure_rows
from provisions.policy import ProvisionPolicy


def provide_partition(
    part: tuple[dict[str, pd.DataFrame], pd.DataFrame],
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: ProvisionPolicy,
) -> tuple[pd.DataFrame, list[str]]:
    """One partition's provided loans and the scored loans it left out (a cluster task)."""
    tables, scores = part
    exposures = exposure_rows(tables, scores, as_of, pd_origination, policy.staging)
    if exposures.frame.empty:
        return exposures.frame, exposures.left_out
    return provide(exposures.frame, policy), exposures.left_out


def provide_stored_partition(
    partition: int,
    book: PartitionedBook,
    scores: pd.DataFrame,
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: ProvisionPolicy,
) -> tuple[pd.DataFrame, list[str]]:
    """``provide_partition`` of one partition of a partitioned book, read here (a task);
    ``scores`` are the month's, the partition's own are picked out."""
    tables = book.read(partition)
    own = scores[scores["loan_id"].astype(str).isin(tables["loans"]["loan_id"].astype(str))]
    loans, left_out = provide_partition((tables, own), as_of, pd_origination, policy)
    return loans, left_out


def provide_by_partition(
    tables: Mapping[str, pd.DataFrame] | PartitionedBook,
    scores: pd.DataFrame,
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: ProvisionPolicy,
    mapper: Mapper,
    n_partitions: int,
) -> tuple[pd.DataFrame, list[str]]:
    """``provide(build_exposures(...).frame)`` and the left-out loans, computed by partition
    (a ``PartitionedBook`` by its own partitions, read where they are provided for)."""
    if isinstance(tables, PartitionedBook):
        pieces = mapper(
            provide_stored_partition,
            list(tables.partitions),
            tables,
            scores,
            as_of,
            pd_origination,
            policy,
        )
    else:
        frames = {**tables, "scores": scores}
        of_row = row_partitions(frames, n_partitions, tables["loans"])
        parts: list[Any] = []
        for k in np.unique(of_row["scores"]).tolist():
            if k < 0:  # scores of loans the book lacks: left out below
                continue
            part_tables = {name: tables[name][of_row[name] == k] for name in tables}
            parts.append((part_tables, scores[of_row["scores"] == k]))
        pieces = mapper(provide_partition, parts, as_of, pd_origination, policy)
    return _in_score_order(pieces, scores)


def _in_score_order(
    pieces: list[tuple[pd.DataFrame, list[str]]], scores: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """The partitions' loans in the order of the scores (one machine's order), and every
    scored loan not provided for (no open statement, or a loan the book lacks), in order."""
    position = pd.Series(np.arange(len(scores)), index=scores["loan_id"].astype(str).to_numpy())
    provided = [loans for loans, _ in pieces if not loans.empty]
    loans = pd.concat(provided, ignore_index=True) if provided else pieces[0][0]
    loans = loans.iloc[np.argsort(position.loc[loans["loan_id"]].to_numpy(), kind="stable")]
    done = set(loans["loan_id"].astype(str))
    left_out = [loan for loan in position.index if loan not in done]
    return loans.reset_index(drop=True), left_out

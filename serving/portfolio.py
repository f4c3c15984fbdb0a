"""The monthly risk assessment of a whole book, without IO.

Every loan open at the end of the as-of month is scored through the same code as the endpoint
(``serving.scoring``). The watchlist keeps yellow and above, most severe first, with reasons,
actions and the grade change since the previous monthly run; the migration matrix counts loans
by previous and current grade (``new`` for loans not graded last time, ``closed`` for loans
graded last time and no longer open).

The previous run comes from the warning ledger, which knows loans only by their pseudonyms
(``loan_pseudonym``); the book, the watchlist and the matrix are the bank's own reports and
keep clear loan ids. The two are joined by pseudonymising the book's loan ids with the
ledger's key (``pseudonym_of``, i.e. ``WarningLedger.pseudonym_of_loan``), never the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.partitioned import Mapper, PartitionedBook, in_process
from features.partitions import split_by_borrower
from features.snapshots import build_snapshots, check_as_of_covered, parse_months
from models.grade_policy import GRADES, GradePolicy
from serving.bundle import ScoringBundle
from serving.scoring import ScoredLoans, score_snapshots

#: Grades on the watchlist.
WATCH_GRADES = ("yellow", "orange", "red")
NEW, CLOSED = "new", "closed"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: How the ledger keys a loan: its pseudonym under the ledger's key.
LOAN_KEY = "loan_pseudonym"


def score_book(
    bundle: ScoringBundle,
    tables: dict[str, pd.DataFrame] | PartitionedBook,
    as_of: str,
    mapper: Mapper | None = None,
    n_partitions: int = 1,
) -> ScoredLoans:
    """Score every loan open at the end of month ``as_of`` ("YYYY-MM").

    With ``mapper`` (``features.cluster.map_partitions`` bound to a client) the book is cut
    into ``n_partitions`` borrower partitions, each featurised and scored where the mapper
    runs it, and the pieces are stacked in the single-machine order: the same scores. A
    ``PartitionedBook`` is scored by its own partitions, each read where it is scored.
    """
    if not MONTH.fullmatch(as_of):
        raise ValueError(f"--as-of must be one month like 2025-06, got {as_of!r}: not a month")
    months = parse_months(as_of)
    if isinstance(tables, PartitionedBook):
        check_as_of_covered(tables.span(), months)
        pieces = (mapper or in_process)(
            score_stored_partition, list(tables.partitions), tables, bundle, months
        )
        return stack_scored(pieces)
    check_as_of_covered(tables, months)
    if mapper is None:
        return score_partition(tables, bundle, months)
    pieces = mapper(score_partition, split_by_borrower(tables, n_partitions), bundle, months)
    return stack_scored(pieces)


def score_partition(
    tables: dict[str, pd.DataFrame], bundle: ScoringBundle, months: list[int]
) -> ScoredLoans:
    """Snapshots and scores of the loans of ``tables`` (a book, or whole borrowers of one)."""
    snapshots = build_snapshots(tables, months, bundle.unifier, with_labels=False)
    return score_snapshots(bundle, snapshots)


def score_stored_partition(
    partition: int, book: PartitionedBook, bundle: ScoringBundle, months: list[int]
) -> ScoredLoans:
    """``score_partition`` of one partition of a partitioned book, read here (a task)."""
    return score_partition(book.read(partition), bundle, months)


def stack_scored(pieces: Sequence[ScoredLoans]) -> ScoredLoans:
    """Scored partitions as one, in the single-machine order (loan id, then month)."""
    keys = pd.concat([p.keys for p in pieces], ignore_index=True)
    order = keys.sort_values(["loan_id", "as_of"], kind="stable").index.to_numpy()

    def frames(name: str) -> pd.DataFrame:
        stacked = pd.concat([getattr(p, name) for p in pieces], ignore_index=True)
        return stacked.iloc[order].reset_index(drop=True)

    def arrays(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in pieces])[order]

    def lists(name: str) -> list[Any]:
        flat = [item for p in pieces for item in getattr(p, name)]
        return [flat[i] for i in order]

    return ScoredLoans(
        proba=frames("proba"),
        grades=pd.concat([p.grades for p in pieces], ignore_index=True)
        .iloc[order]
        .reset_index(drop=True),
        dpd=arrays("dpd"),
        stages=arrays("stages"),
        stage_basis=lists("stage_basis"),
        stage_basis_zh=lists("stage_basis_zh"),
        reasons=lists("reasons"),
        keys=keys.iloc[order].reset_index(drop=True),
        inputs=frames("inputs"),
    )


def grade_change(previous: pd.Series, current: pd.Series) -> pd.Series:
    """ "new", "=", "up 2", "down 1" per loan (previous NaN: not graded last run)."""
    rank = {g: i for i, g in enumerate(GRADES)}
    out = []
    for before, now in zip(previous, current, strict=True):
        if not isinstance(before, str):
            out.append(NEW)
            continue
        step = rank[str(now)] - rank[before]
        out.append("=" if step == 0 else f"up {step}" if step > 0 else f"down {-step}")
    return pd.Series(out, index=current.index, name="grade_change")


def loan_keys(book: pd.DataFrame, pseudonym_of: Callable[[str], str]) -> pd.Series:
    """The ledger's key (``loan_pseudonym``) of each of the book's loans."""
    keys = [pseudonym_of(str(loan)) for loan in book["loan_id"]]
    return pd.Series(keys, index=book.index, name=LOAN_KEY, dtype=object)


def with_previous(
    book: pd.DataFrame, previous: pd.DataFrame, pseudonym_of: Callable[[str], str]
) -> pd.DataFrame:
    """``book`` with each loan's previous grade, PD and as-of, and the grade change.

    ``previous`` is keyed by ``loan_pseudonym`` (the ledger's ``latest_grades``); the book's
    loan ids are pseudonymised with ``pseudonym_of`` to join, and the result has the book's
    columns (clear loan ids, no pseudonym) plus the previous ones.
    """
    last = previous[[LOAN_KEY, "grade", "pd_12m", "as_of"]].rename(
        columns={"grade": "previous_grade", "pd_12m": "previous_pd_12m", "as_of": "previous_as_of"}
    )
    keyed = book.assign(**{LOAN_KEY: loan_keys(book, pseudonym_of)})
    merged = keyed.merge(last, on=LOAN_KEY, how="left").drop(columns=LOAN_KEY)
    merged["grade_change"] = grade_change(merged["previous_grade"], merged["grade"])
    return merged


def watchlist(book: pd.DataFrame, policy: GradePolicy) -> pd.DataFrame:
    """Loans graded yellow or above, most severe first (grade, then PD), with actions."""
    rank = {g: i for i, g in enumerate(GRADES)}
    watched = book[book["grade"].astype(str).isin(WATCH_GRADES)].copy()
    watched["grade_rank"] = watched["grade"].astype(str).map(rank)
    watched = watched.sort_values(
        ["grade_rank", "pd_12m", "loan_id"], ascending=[False, False, True], kind="stable"
    )
    watched["actions_zh"] = [policy.action(str(g), "zh") for g in watched["grade"]]
    watched["actions_en"] = [policy.action(str(g), "en") for g in watched["grade"]]
    columns = [
        *("loan_id", "borrower_id", "as_of", "grade", "previous_grade", "grade_change"),
        *("pd_12m", "p_s1", "p_s2", "dpd_now", "stage_hint", "reasons_zh", "reasons_en"),
        *("actions_zh", "actions_en"),
    ]
    return watched[columns].reset_index(drop=True)


def migration_matrix(
    book: pd.DataFrame, previous: pd.DataFrame, pseudonym_of: Callable[[str], str]
) -> pd.DataFrame:
    """Counts of loans by previous grade (rows, plus "new") and current grade (columns, plus
    "closed" for loans graded last time and not open now). Loans are matched by pseudonym, as
    in :func:`with_previous`: a closed loan is known to the ledger by its pseudonym only."""
    before = previous.set_index(LOAN_KEY)["grade"].astype(str)
    now = pd.Series(book["grade"].astype(str).to_numpy(), index=loan_keys(book, pseudonym_of))
    loans = before.index.union(now.index)
    rows = before.reindex(loans).fillna(NEW)
    cols = now.reindex(loans).fillna(CLOSED)
    matrix = pd.crosstab(rows, cols)
    return matrix.reindex(
        index=[NEW, *GRADES], columns=[*GRADES, CLOSED], fill_value=0
    ).rename_axis(index="previous_grade", columns="grade")

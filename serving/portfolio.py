"""The monthly risk assessment of a whole book, without IO.

Every loan open at the end of the as-of month is scored through the same code as the endpoint
(``serving.scoring``). The watchlist keeps yellow and above, most severe first, with reasons,
actions and the grade change since the previous monthly run; the migration matrix counts loans
by previous and current grade (``new`` for loans not graded last time, ``closed`` for loans
graded last time and no longer open).
"""

from __future__ import annotations

import re

import pandas as pd

from features.snapshots import build_snapshots, check_as_of_covered, parse_months
from models.grade_policy import GRADES, GradePolicy
from serving.bundle import ScoringBundle
from serving.scoring import ScoredLoans, score_snapshots

#: Grades on the watchlist.
WATCH_GRADES = ("yellow", "orange", "red")
NEW, CLOSED = "new", "closed"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def score_book(bundle: ScoringBundle, tables: dict[str, pd.DataFrame], as_of: str) -> ScoredLoans:
    """Score every loan open at the end of month ``as_of`` ("YYYY-MM")."""
    if not MONTH.fullmatch(as_of):
        raise ValueError(f"--as-of must be one month like 2025-06, got {as_of!r}: not a month")
    months = parse_months(as_of)
    check_as_of_covered(tables, months)
    snapshots = build_snapshots(tables, months, bundle.unifier, with_labels=False)
    return score_snapshots(bundle, snapshots)


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


def with_previous(book: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``book`` with each loan's previous grade, PD and as-of, and the grade change."""
    last = previous[["loan_id", "grade", "pd_12m", "as_of"]].rename(
        columns={"grade": "previous_grade", "pd_12m": "previous_pd_12m", "as_of": "previous_as_of"}
    )
    merged = book.merge(last, on="loan_id", how="left")
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


def migration_matrix(book: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Counts of loans by previous grade (rows, plus "new") and current grade (columns, plus
    "closed" for loans graded last time and not open now)."""
    before = previous.set_index("loan_id")["grade"].astype(str)
    now = book.set_index("loan_id")["grade"].astype(str)
    loans = before.index.union(now.index)
    rows = before.reindex(loans).fillna(NEW)
    cols = now.reindex(loans).fillna(CLOSED)
    matrix = pd.crosstab(rows, cols)
    return matrix.reindex(
        index=[NEW, *GRADES], columns=[*GRADES, CLOSED], fill_value=0
    ).rename_axis(index="previous_grade", columns="grade")

"""China's five-category classification of each loan, with its reason.

Single responsibility: the floors of the 2023 risk-classification rules as the policy states
them. Overdue means at least special mention; more than 90 days overdue at least substandard;
the day floors of doubtful and loss (often quoted as 270 and 360) are policy values that must
be checked against the official text before regulatory use. A credit-impaired loan is at least
``impaired_floor`` and a warning grade may set a floor too. The most severe floor wins, so
more days past due never lower a category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provisions.policy import CATEGORIES, CategoryPolicy


@dataclass(frozen=True)
class Categories:
    """Five-category class of each loan and the floor that set it."""

    category: np.ndarray  # text, one of CATEGORIES
    reason: list[str]


def classify(
    dpd: np.ndarray, grade: np.ndarray, impaired: np.ndarray, policy: CategoryPolicy
) -> Categories:
    """The category of every loan: the most severe of its day, grade and impairment floors.

    Parameters
    ----------
    dpd : array of int
        Days past due at the as-of month end.
    grade : array of str
        Warning grade.
    impaired : array of bool
        Credit-impaired by an event (stage 3 without the day backstop).
    policy : CategoryPolicy
    """
    dpd = np.asarray(dpd, dtype=np.int64)
    grade = np.asarray(grade, dtype=object)
    impaired = np.asarray(impaired, dtype=bool)
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    day_rank = np.zeros(len(dpd), dtype=np.int64)
    for category, over in policy.day_floors().items():
        day_rank = np.where(dpd > over, rank[category], day_rank)
    grade_rank = np.array(
        [rank[policy.grade_floors.get(str(g), "normal")] for g in grade], dtype=np.int64
    ).reshape(len(grade))
    impaired_rank = np.where(impaired, rank[policy.impaired_floor], 0)
    final = np.maximum.reduce([day_rank, grade_rank, impaired_rank])
    floors = policy.day_floors()
    reasons = []
    for d, g, dr, ir, f in zip(dpd, grade, day_rank, impaired_rank, final, strict=True):
        name = CATEGORIES[f]
        if f == 0:
            reasons.append("normal: not overdue, no floor applies")
        elif dr == f:
            reasons.append(f"{name}: {d} days past due, more than {floors[name]}")
        elif ir == f:
            reasons.append(f"{name}: credit-impaired, at least {policy.impaired_floor}")
        else:
            reasons.append(f"{name}: warning grade {g} is at least {name}")
    return Categories(np.array([CATEGORIES[i] for i in final], dtype=object), reasons)

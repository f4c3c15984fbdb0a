"""Five-category floors by hand and the monotonicity property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.grade_policy import GRADES
from provisions.categories import classify
from provisions.policy import CATEGORIES, load_policy

POLICY = load_policy().categories


def category_of(dpd=0, grade="green", impaired=False):
    result = classify(np.array([dpd]), np.array([grade]), np.array([impaired]), POLICY)
    return str(result.category[0]), result.reason[0]


@pytest.mark.parametrize(
    ("dpd", "category"),
    [
        (0, "normal"),
        (1, "special_mention"),
        (90, "special_mention"),
        (91, "substandard"),
        (270, "substandard"),
        (271, "doubtful"),
        (360, "doubtful"),
        (361, "loss"),
    ],
)
def test_day_floors(dpd: int, category: str) -> None:
    assert category_of(dpd=dpd)[0] == category


def test_grade_and_impairment_floors() -> None:
    assert category_of(grade="orange") == (
        "special_mention",
        "special_mention: warning grade orange is at least special_mention",
    )
    assert category_of(grade="yellow")[0] == "normal"
    assert category_of(impaired=True)[0] == "substandard"
    # the most severe floor wins: 300 days past due beats the impairment floor
    assert category_of(dpd=300, impaired=True, grade="red")[0] == "doubtful"


@given(st.integers(0, 900), st.integers(0, 900), st.sampled_from(GRADES), st.booleans())
def test_more_days_past_due_never_lower_the_category(d1, d2, grade, impaired) -> None:
    low, high = sorted((d1, d2))
    result = classify(
        np.array([low, high]), np.array([grade] * 2), np.array([impaired] * 2), POLICY
    )
    ranks = [CATEGORIES.index(c) for c in result.category]
    assert ranks[1] >= ranks[0]

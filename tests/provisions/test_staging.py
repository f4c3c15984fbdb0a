"""IFRS 9 staging by hand: each backstop at its edge, the SICR test at its edges, the grades
and the impairment events; more days past due never lower the stage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.grade_policy import GRADES
from provisions.policy import load_policy
from provisions.staging import assign_stages, sicr

POLICY = load_policy().staging


def stage_of(dpd=0, pd_now=0.01, origin=0.01, grade="green", event=False):
    result = assign_stages(
        np.array([dpd]),
        np.array([pd_now]),
        np.array([origin]),
        np.array([grade]),
        np.array([event]),
        POLICY,
    )
    return int(result.stage[0]), result.reason[0]


@pytest.mark.parametrize(
    ("dpd", "stage"), [(0, 1), (30, 1), (31, 2), (89, 2), (90, 2), (91, 3), (400, 3)]
)
def test_day_backstops_are_more_than_30_and_more_than_90(dpd: int, stage: int) -> None:
    assert stage_of(dpd=dpd)[0] == stage


def test_impairment_event_is_stage_3_with_its_reason() -> None:
    stage, reason = stage_of(event=True)
    assert stage == 3
    assert "credit-impaired" in reason and "enforcement" in reason


@pytest.mark.parametrize(
    ("pd_now", "origin", "moved"),
    [
        (0.040, 0.020, True),  # exactly 2x and exactly +2 points
        (0.039, 0.020, False),  # +1.9 points but below 2x
        (0.020, 0.010, True),  # exactly 2x and exactly +1 point: both edges hold
        (0.019, 0.009, True),  # 2.1x, +1.0 point
        (0.018, 0.009, False),  # 2x but only +0.9 points: a tiny PD doubling does not move
        (0.300, float("nan"), False),  # no origination PD: the test cannot apply
    ],
)
def test_sicr_needs_both_the_ratio_and_the_increase(pd_now, origin, moved) -> None:
    assert bool(sicr(np.array([pd_now]), np.array([origin]), POLICY)[0]) is moved
    stage, reason = stage_of(pd_now=pd_now, origin=origin)
    assert stage == (2 if moved else 1)
    if moved:
        assert "origination PD" in reason
    elif np.isnan(origin):
        assert "no origination PD" in reason


@pytest.mark.parametrize(("grade", "stage"), [("orange", 2), ("red", 2), ("yellow", 1)])
def test_orange_and_red_grades_are_stage_2(grade: str, stage: int) -> None:
    assert stage_of(grade=grade)[0] == stage


def test_first_rule_that_applies_gives_the_reason() -> None:
    _, reason = stage_of(dpd=45, pd_now=0.5, origin=0.01, grade="red")
    assert reason.startswith("stage 2: 45 days past due")


@given(
    st.integers(0, 800),
    st.integers(0, 800),
    st.floats(0, 1),
    st.floats(0.0001, 1),
    st.sampled_from(GRADES),
    st.booleans(),
)
def test_more_days_past_due_never_lower_the_stage(d1, d2, pd_now, origin, grade, event) -> None:
    low, high = sorted((d1, d2))
    stages = assign_stages(
        np.array([low, high]),
        np.full(2, pd_now),
        np.full(2, origin),
        np.array([grade, grade]),
        np.array([event, event]),
        POLICY,
    ).stage
    assert stages[1] >= stages[0]

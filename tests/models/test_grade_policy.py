"""The grade policy: explicit cut-offs, DPD backstops, monotone, versioned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.grade_policy import GRADES, GradePolicy, assign_grades

POLICY = GradePolicy()


def _proba(p1: float, p2: float, p3: float) -> pd.DataFrame:
    return pd.DataFrame({"p_s1": [p1], "p_s2": [p2], "p_s3": [p3]})


@pytest.mark.parametrize(
    ("p", "dpd", "grade"),
    [
        ((0.05, 0.01, 0.005), 0, "green"),
        ((0.25, 0.05, 0.01), 0, "blue"),
        ((0.30, 0.15, 0.02), 0, "yellow"),
        ((0.40, 0.20, 0.12), 0, "orange"),
        ((0.60, 0.40, 0.30), 0, "red"),
        ((0.05, 0.01, 0.005), 10, "yellow"),  # 1-29 DPD: at least yellow
        ((0.05, 0.01, 0.005), 45, "orange"),  # 30-89: at least orange
        ((0.05, 0.01, 0.005), 95, "red"),  # 90+: red
    ],
)
def test_cut_offs_and_dpd_backstops(p, dpd, grade):
    assert assign_grades(_proba(*p), [dpd], POLICY).iloc[0] == grade


probabilities = st.floats(0, 1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    p=st.tuples(probabilities, probabilities, probabilities),
    bump=probabilities,
    which=st.sampled_from(["p_s1", "p_s2", "p_s3"]),
    dpd=st.integers(0, 400),
    more=st.integers(0, 400),
)
def test_more_risk_never_lowers_a_grade(p, bump, which, dpd, more):
    base = _proba(*p)
    riskier = base.copy()
    riskier[which] = max(riskier[which].iloc[0], bump)

    def rank(proba, days):
        return GRADES.index(assign_grades(proba, [days], POLICY).iloc[0])

    assert rank(riskier, dpd) >= rank(base, dpd)
    assert rank(base, dpd + more) >= rank(base, dpd)


def test_policy_round_trips_as_versioned_json(tmp_path):
    path = POLICY.save(tmp_path / "policy.json")
    again = GradePolicy.load(path)
    assert again == POLICY and again.fingerprint == POLICY.fingerprint
    assert "冻结未用额度" in path.read_text(encoding="utf-8")
    assert POLICY.action("red", "zh").startswith("冻结") and "watch list" in POLICY.action("blue")
    edited = POLICY.model_copy(update={"version": "2026.12-risk-committee"})
    assert edited.fingerprint != POLICY.fingerprint


def test_inconsistent_policies_are_rejected_with_the_reason():
    rules = POLICY.model_dump()["rules"]
    rules["orange"]["p_s3"] = 0.5  # above red's 0.25
    with pytest.raises(ValidationError, match="p_s3 cut-offs must not fall"):
        GradePolicy(rules=rules)
    with pytest.raises(ValidationError, match="rules must list exactly the grades"):
        GradePolicy(rules={k: v for k, v in POLICY.model_dump()["rules"].items() if k != "blue"})


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="missing column"):
        assign_grades(pd.DataFrame({"p_s1": [0.1]}), [0], POLICY)
    with pytest.raises(ValueError, match="p_s3 must hold probabilities"):
        assign_grades(_proba(0.1, 0.1, np.nan), [0], POLICY)
    with pytest.raises(ValueError, match="dpd must give"):
        assign_grades(_proba(0.1, 0.1, 0.1), [-3], POLICY)


def test_grades_are_ordered_like_the_warning_scale():
    grades = assign_grades(
        pd.DataFrame({"p_s1": [0.0] * 5, "p_s2": [0.0] * 5, "p_s3": [0.0] * 5}),
        [0, 5, 35, 95, 200],
        POLICY,
    )
    assert list(grades.cat.categories) == list(GRADES)
    assert grades.is_monotonic_increasing

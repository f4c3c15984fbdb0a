"""The grade policy: explicit cut-offs, DPD backstops, monotone, versioned."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.grade_policy import GRADES, GradePolicy, MasterScale, assign_grades, derive_policy

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


def _validation(n: int = 40_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    p1 = rng.uniform(0, 1, n)
    p2 = p1 * rng.uniform(0.2, 0.6, n)
    proba = pd.DataFrame({"p_s1": p1, "p_s2": p2, "p_s3": p2 * 0.3})
    defaulted = rng.random(n) < 0.10 * p1  # the default rate rises linearly with P(S>=1)
    return proba, defaulted


def test_derived_cut_offs_follow_the_master_scale_and_the_validation_data():
    proba, defaulted = _validation()
    policy = derive_policy(proba, defaulted, version="derived-test")
    scale = MasterScale()
    for grade, edge in scale.pd_from.items():
        assert policy.rules[grade].p_s3 == edge
    # observed default rate 0.10 * p_s1 reaches blue's 1.5% near p_s1 = 0.15
    assert policy.rules["blue"].p_s1 == pytest.approx(0.15, abs=0.05)
    # yellow's 4% needs P(S>=1) near 0.4, which goes with P(S>=2) near 0.4 x 0.3 to 0.4
    assert policy.rules["yellow"].p_s2 == pytest.approx(0.14, abs=0.05)
    assert policy.rules["red"].min_dpd == 90  # backstops stay
    assert GradePolicy.model_validate_json(policy.to_json()) == policy


def test_a_signal_that_never_reaches_the_grade_keeps_only_the_pd_cut_off():
    proba, defaulted = _validation()
    scale = MasterScale(pd_from={"blue": 0.5, "yellow": 0.6, "orange": 0.7, "red": 0.8})
    policy = derive_policy(proba, defaulted, scale)
    assert policy.rules["blue"].p_s1 is None and policy.rules["blue"].p_s3 == 0.5


def test_derivation_refuses_thin_data_and_bad_scales():
    proba, defaulted = _validation(100)
    with pytest.raises(ValueError, match="at least 200"):
        derive_policy(proba, defaulted)
    with pytest.raises(ValueError, match="rows but"):
        derive_policy(proba, defaulted[:50])
    with pytest.raises(ValueError, match="rise strictly"):
        MasterScale(pd_from={"blue": 0.1, "yellow": 0.05, "orange": 0.2, "red": 0.3})

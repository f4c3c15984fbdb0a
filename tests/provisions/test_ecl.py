"""EAD, the term structure and ECL by hand, the scenario weighting, and the ECL property."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisions.ecl import (
    cumulative_pd,
    discounted_loss_rate,
    expected_credit_loss,
    exposure_at_default,
    horizon_months,
    monthly_hazard,
    scenario_weighted_ecl,
)
from provisions.policy import Scenario


def test_ead_with_and_without_an_undrawn_line() -> None:
    ead = exposure_at_default(
        np.array([600_000.0, 600_000.0]), np.array([400_000.0, 0.0]), np.array([0.5, 0.5])
    )
    assert ead.tolist() == [800_000.0, 600_000.0]


def test_constant_hazard_gives_back_the_12_month_pd() -> None:
    h = monthly_hazard(np.array([0.12]))[0]
    assert (1 - h) ** 12 == pytest.approx(0.88)
    assert cumulative_pd(np.array([0.12]), np.array([12]))[0] == pytest.approx(0.12)
    assert cumulative_pd(np.array([0.12]), np.array([24]))[0] == pytest.approx(1 - 0.88**2)


def test_horizon_is_12_months_in_stage_1_and_the_remaining_term_after() -> None:
    assert horizon_months(np.array([1, 1, 2, 3, 2]), np.array([30, 5, 30, 30, 0])).tolist() == [
        12,
        5,
        30,
        30,
        1,
    ]


def test_lifetime_ecl_over_three_months_by_hand() -> None:
    """Stage 2, 3 months left, PD12 12%, LGD 45%, EAD 1,000,000, rate 6%: the sum of the three
    monthly terms written out."""
    h = 1 - 0.88 ** (1 / 12)
    v = 1.06 ** (-1 / 12)
    by_hand = 0.45 * 1_000_000 * (h * v + (1 - h) * h * v**2 + (1 - h) ** 2 * h * v**3)
    ecl = expected_credit_loss(
        np.array([0.12]),
        np.array([0.45]),
        np.array([1_000_000.0]),
        np.array([2]),
        np.array([3]),
        np.array([0.06]),
    )[0]
    assert ecl == pytest.approx(by_hand, rel=1e-12)
    assert 0.45 * 1_000_000 * (1 - 0.88**0.25) * 0.98 < ecl < 0.45 * 1_000_000 * (1 - 0.88**0.25)


def test_stage_1_takes_12_months_stage_3_the_whole_loss() -> None:
    args = dict(
        lgd=np.array([0.45] * 3),
        ead=np.array([100.0] * 3),
        remaining_months=np.array([48] * 3),
        annual_rate=None,
    )
    ecl = expected_credit_loss(np.array([0.1] * 3), stage=np.array([1, 2, 3]), **args)
    assert ecl[0] == pytest.approx(0.45 * 100 * 0.1)
    assert ecl[1] == pytest.approx(0.45 * 100 * (1 - 0.9**4))
    assert ecl[2] == pytest.approx(45.0)


def test_no_hazard_and_no_rate_loses_nothing() -> None:
    assert discounted_loss_rate(np.array([0.0]), np.array([24]), np.array([0.0]))[0] == 0.0


def test_scenario_weighting_weights_losses_not_pds() -> None:
    scenarios = [
        Scenario(name="base", weight=0.6, pd_multiplier=1.0, lgd_multiplier=1.0),
        Scenario(name="upside", weight=0.1, pd_multiplier=0.8, lgd_multiplier=1.0),
        Scenario(name="downside", weight=0.3, pd_multiplier=1.5, lgd_multiplier=1.1),
    ]
    args = (
        np.array([0.2]),
        np.array([0.5]),
        np.array([1000.0]),
        np.array([2]),
        np.array([24]),
        None,
    )
    weighted, each = scenario_weighted_ecl(*args, scenarios)
    base = 0.5 * 1000 * (1 - 0.8**2)
    up = 0.5 * 1000 * (1 - 0.84**2)
    down = 0.55 * 1000 * (1 - 0.7**2)
    assert each["base"][0] == pytest.approx(base)
    assert each["upside"][0] == pytest.approx(up)
    assert each["downside"][0] == pytest.approx(down)
    assert weighted[0] == pytest.approx(0.6 * base + 0.1 * up + 0.3 * down)
    # the ECL at the weighted PD is not the weighted ECL (losses are convex in the horizon)
    assert not math.isclose(
        weighted[0],
        expected_credit_loss(
            np.array([0.2 * (0.6 + 0.08 + 0.45)]), np.array([0.5 * 1.03]), *args[2:]
        )[0],
    )


def test_pd_multiplier_is_capped_at_one() -> None:
    scenario = [Scenario(name="severe", weight=1.0, pd_multiplier=5.0, lgd_multiplier=3.0)]
    weighted, _ = scenario_weighted_ecl(
        np.array([0.5]),
        np.array([0.45]),
        np.array([100.0]),
        np.array([1]),
        np.array([12]),
        None,
        scenario,
    )
    assert weighted[0] == pytest.approx(100.0)


@given(
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0.0, 1.0),
    st.floats(1.0, 1e7),
    st.sampled_from([1, 2, 3]),
    st.integers(0, 120),
    st.floats(0.0, 0.2),
)
def test_a_higher_pd_never_lowers_the_ecl(p1, p2, lgd, ead, stage, months, rate) -> None:
    low, high = sorted((p1, p2))
    ecl = expected_credit_loss(
        np.array([low, high]),
        np.full(2, lgd),
        np.full(2, ead),
        np.full(2, stage),
        np.full(2, months),
        np.full(2, rate),
    )
    assert ecl[1] >= ecl[0] - 1e-9 * max(1.0, ecl[0])

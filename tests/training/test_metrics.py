"""Credit metrics on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training.calibration_cases import clustered_window, independent_window
from training.metrics import (
    BinaryMetrics,
    compute_binary_metrics,
    compute_ece,
    design_effect,
    ece_p_value,
    oe_interval,
)


def test_perfect_ranking_and_calibration():
    y = np.array([0] * 90 + [1] * 10)
    p = np.where(y == 1, 1.0, 0.0)
    m = compute_binary_metrics(y, p)
    assert m.auc == 1.0 and m.gini == 1.0 and m.ks == 1.0
    assert m.brier == 0.0 and m.ece == 0.0


def test_random_scores_have_no_discrimination():
    rng = np.random.default_rng(0)
    y = rng.random(20_000) < 0.05
    m = compute_binary_metrics(y, rng.random(20_000))
    assert abs(m.auc - 0.5) < 0.03 and m.ks < 0.05


def test_ece_sees_a_constant_bias():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.0, 0.2, 50_000)
    y = rng.random(p.size) < p
    assert compute_ece(y, p) < 0.005
    assert compute_ece(y, np.clip(p + 0.05, 0, 1)) == pytest.approx(0.05, abs=0.006)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="single class"):
        compute_binary_metrics(np.zeros(5), np.full(5, 0.1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        compute_binary_metrics(np.array([0, 1]), np.array([0.5, 1.5]))


# Calibration tests: p-value of the ECE and observed / expected defaults under calibrated PDs.


def test_calibrated_pds_with_an_ece_above_0_01_are_not_evidence_of_miscalibration():
    # ~175 defaults on 3,000 independent rows: calibrated PDs show an ECE above 0.01 by chance
    y, p = independent_window(3_000, seed=1)
    m = compute_binary_metrics(y, p)
    assert 0.010 < m.ece < 0.0125 and 150 < m.events < 200
    assert m.ece_p_value > 0.05
    assert m.oe_low < 1 < m.oe_high and m.oe_design_effect == 1.0 and m.clusters == 3_000


def test_a_borrowers_repeated_monthly_rows_count_as_one_cluster():
    # 6,000 rows of 1,000 borrowers seen at six as-of months, 158 defaulted rows, ECE 0.0112:
    # calibrated, yet rows taken as independent make it look like overwhelming evidence
    y, p, borrower = clustered_window(seed=22, level=-4.4)
    grouped = compute_binary_metrics(y, p, groups=borrower)
    rows = compute_binary_metrics(y, p)
    assert grouped.events == 158 and grouped.ece == pytest.approx(0.0112, abs=1e-4)
    assert rows.ece_p_value < 0.002 < 0.01 < grouped.ece_p_value
    assert grouped.clusters == 1_000 and grouped.oe_design_effect > 2
    assert grouped.oe_low < rows.oe_low < 1 < rows.oe_high < grouped.oe_high
    assert (grouped.ece, grouped.auc) == (rows.ece, rows.auc)  # only the tests differ


@pytest.mark.parametrize("factor", [1 / 3, 2])
def test_scaled_pds_fail_both_calibration_tests(factor):
    y, p = independent_window(3_000, seed=1)
    m = compute_binary_metrics(y, np.minimum(p * factor, 1))
    assert m.ece_p_value < 0.01
    assert (m.oe_low > 1) if factor < 1 else (m.oe_high < 1)
    assert m.oe_ratio == pytest.approx(1 / factor, rel=0.15)


def test_pds_a_third_of_the_observed_rate_are_seen_although_the_ece_is_below_0_01():
    # the feature-table case: mean PD 0.49% against 1.41% observed, ECE 0.0092
    y, p = independent_window(20_000, seed=0, level=-4.9)
    m = compute_binary_metrics(y, p * 0.49 / 1.41)
    assert m.ece < 0.01
    assert m.observed_rate == pytest.approx(0.0141, abs=5e-4)
    assert m.mean_predicted == pytest.approx(0.0049, abs=3e-4)
    assert m.oe_ratio > 2.5 and m.oe_low > 2 and m.ece_p_value < 0.01


def test_calibration_tests_are_seeded():
    y, p, borrower = clustered_window(seed=3)
    first = compute_binary_metrics(y, p, groups=borrower)
    assert compute_binary_metrics(y, p, groups=borrower) == first
    assert ece_p_value(y, p, borrower) == first.ece_p_value
    assert ece_p_value(y, p, borrower, seed=1) != pytest.approx(first.ece_p_value, abs=0)
    y = np.array([0] * 90 + [1] * 10)
    assert ece_p_value(y, np.where(y == 1, 1.0, 0.0)) == 1.0  # nothing to explain


def test_design_effect_and_interval_by_hand():
    # one borrower with PDs 0.1 and 0.2 defaulting together: Var = 0.1*3 + 0.2*1 - 0.3**2
    assert design_effect(np.array([0.2, 0.1]), np.array([7, 7])) == pytest.approx(0.41 / 0.3)
    assert design_effect(np.array([0.2, 0.1])) == 1.0  # independent rows: Poisson, at least 1
    low, high = oe_interval(10, 10.0)
    assert (low, high) == pytest.approx((0.4795, 1.8390), abs=1e-4)  # Garwood 95% of 10
    low, high = oe_interval(20, 10.0, design=2.0)
    assert (low, high) == pytest.approx((0.9590, 3.6781), abs=1e-4)  # 10 effective, doubled
    assert oe_interval(0, 5.0) == pytest.approx((0.0, 3.6889 / 5), abs=1e-4)
    with pytest.raises(ValueError, match="one label per row"):
        compute_binary_metrics(np.array([0, 1]), np.array([0.1, 0.2]), groups=np.array([1]))


def test_metrics_recorded_before_the_calibration_tests_still_load():
    old = {
        "n": 10, "events": 1, "auc": 0.7, "gini": 0.4, "ks": 0.3, "brier": 0.1, "ece": 0.01,
        "mean_predicted": 0.1, "observed_rate": 0.1,
    }  # fmt: skip
    m = BinaryMetrics(**old)
    assert np.isnan(m.ece_p_value) and m.clusters == 0
    assert m.expected_events == pytest.approx(1.0)

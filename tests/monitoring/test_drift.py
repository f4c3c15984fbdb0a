"""The drift series and its size-aware verdict (monitoring.drift)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import BREACH, DriftRule, compute_drift
from tests.monitoring.scored_frames import INPUTS, make_scored

REFERENCE_MONTHS = ["2024-04", "2024-05", "2024-06"]
CURRENT_MONTHS = ["2024-07", "2024-08", "2024-09", "2024-10"]
HIT = "area x industry=deqing x manufacturing"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_scored(np.random.default_rng(1), 6000, REFERENCE_MONTHS)


def test_a_drift_free_book_raises_no_breach_in_any_segment(reference):
    current = make_scored(np.random.default_rng(2), 6000, CURRENT_MONTHS)
    result = compute_drift(reference, current, INPUTS)
    assert result.breaches().empty
    assert set(result.segments["as_of"].dt.strftime("%Y-%m")) == set(CURRENT_MONTHS)
    book = result.segments[result.segments["segment"] == "book"]
    assert (book["pd_psi"] < 0.01).all() and (book["status"] == "stable").all()


def test_a_shift_in_one_crossed_segment_breaches_there_and_nowhere_untouched(reference):
    current = make_scored(
        np.random.default_rng(2),
        6000,
        CURRENT_MONTHS,
        shift_where=("deqing", "manufacturing"),
        shift=1.0,
    )
    result = compute_drift(reference, current, INPUTS)
    breached = set(result.breaches()["segment"])
    assert HIT in breached
    # Only segments that contain the shocked loans may breach.
    assert breached <= {HIT, "area=deqing", "industry=manufacturing", "book"}
    hit = result.segments[result.segments["segment"] == HIT]
    assert (hit["mean_pd_current"] > hit["mean_pd_reference"]).all()
    assert (hit["action_share_current"] > hit["action_share_reference"]).all()


def test_a_small_segment_needs_more_than_the_fixed_band_to_fire():
    rule = DriftRule(min_rows=100)
    # 120 loans against 150: noise alone exceeds 0.10 with ten bins.
    noise = rule.noise(np.array([120]), np.array([150]), np.array([11]))[0]
    assert noise > 0.25
    bands = rule.band(
        np.array([0.2, 0.3, noise * 1.01]), np.full(3, noise), np.full(3, 120), np.full(3, 150)
    )
    assert bands[0] == "stable" and bands[1] == "stable" and bands[2] == "shift"
    large = rule.noise(np.array([20_000]), np.array([20_000]), np.array([11]))[0]
    assert large < 0.01
    assert list(
        rule.band(np.array([0.12, 0.3]), np.full(2, large), np.full(2, 20_000), np.full(2, 20_000))
    ) == ["watch", "shift"]


def test_the_noise_bound_holds_on_drift_free_samples_at_its_level():
    # Under no drift, PSI exceeds the bound in about alpha of the comparisons (not 10x more).
    rng = np.random.default_rng(7)
    rule = DriftRule(alpha=0.01)
    n, m = 200, 400
    from monitoring.psi import population_stability

    exceed = 0
    trials = 400
    for _ in range(trials):
        ref, cur = rng.normal(size=m), rng.normal(size=n)
        psi = population_stability(ref, cur).value
        exceed += psi > rule.noise(np.array([n]), np.array([m]), np.array([10]))[0]
    assert exceed / trials < 0.04


def test_segments_below_min_rows_get_no_verdict(reference):
    current = make_scored(np.random.default_rng(3), 150, ["2024-07"])
    result = compute_drift(reference, current, INPUTS, DriftRule(min_rows=100))
    small = result.segments[result.segments["n_current"] < 100]
    assert len(small) and (small["status"] == "too small").all()
    assert BREACH not in set(small["status"])


def test_the_reference_counts_distinct_loans_not_rows(reference):
    current = make_scored(np.random.default_rng(2), 6000, ["2024-07"])
    seg = compute_drift(reference, current, INPUTS).segments.set_index("segment")
    performing = reference[reference["dpd_now"] < 90]
    assert seg.at["book", "n_reference"] == len(performing) > 17_000
    assert seg.at["book", "n_reference_loans"] == performing["loan_key"].nunique() > 5_900


def test_loans_already_in_default_are_left_out_and_counted(reference):
    current = make_scored(np.random.default_rng(2), 6000, ["2024-07"])
    in_default = int((current["dpd_now"] >= 90).sum())
    assert in_default > 0
    book = compute_drift(reference, current, INPUTS).segments.iloc[0]
    assert book["segment"] == "book"
    assert book["n_current"] == 6000 - in_default and book["n_in_default"] == in_default


def test_bad_input_names_what_is_missing(reference):
    with pytest.raises(ValueError, match="current lacks columns: signal"):
        compute_drift(
            reference,
            make_scored(np.random.default_rng(2), 10, ["2024-07"]).drop(columns="signal"),
            INPUTS,
        )
    with pytest.raises(ValueError, match="empty"):
        compute_drift(reference, reference.iloc[:0], INPUTS)
    with pytest.raises(ValueError, match="watch < shift"):
        DriftRule(watch=0.3, shift=0.2)

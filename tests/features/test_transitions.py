"""The delinquency law and its exact propagation (the oracle)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from features.simulator.config import HazardParams
from features.simulator.transitions import (
    npl_cure_probability,
    outgoing,
    restructure_probability,
    severity_of_state,
)
from features.simulator.truth import _propagate

PARAMS = HazardParams()
WRITE_OFF = PARAMS.write_off_months


@settings(max_examples=60, deadline=None)
@given(
    k=st.lists(st.integers(0, WRITE_OFF - 1), min_size=1, max_size=20),
    z=st.floats(-6, 6),
    intercept=st.floats(-9, -2),
    due_now=st.booleans(),
)
def test_next_state_distribution_is_a_probability(k, z, intercept, due_now):
    n = len(k)
    probs = outgoing(np.array(k), np.full(n, z), np.full(n, intercept), np.full(n, due_now), PARAMS)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # A loan moves at most one bucket up; a current loan only misses into 1-29 DPD.
    for row, state in zip(probs, k, strict=True):
        assert row[state + 2 :].sum() == 0
        # After maturity a late loan either pays everything or rolls: nothing in between.
        if not due_now and state > 0:
            assert np.isclose(row[0] + row[state + 1], 1.0)
        # 90+ DPD: one more month past due (written off at the policy period) or, rarely, cured.
        if state >= 4:
            assert np.isclose(row[0] + row[state + 1], 1.0)
            assert row[0] < 0.5


def test_non_performing_loans_cure_rarely_and_are_written_off_at_the_policy_period():
    n = 3
    z = np.array([-1.0, 0.0, 1.0])
    deep = outgoing(np.full(n, WRITE_OFF - 1), z, np.full(n, -5.0), np.ones(n, bool), PARAMS)
    np.testing.assert_allclose(deep[:, WRITE_OFF], 1.0 - npl_cure_probability(z, PARAMS))
    cure = deep[:, 0]
    assert (cure < 0.05).all() and (np.diff(cure) > 0).all()  # rare, likelier with capacity
    assert deep.shape[1] == WRITE_OFF + 1
    p = restructure_probability(np.array([2, 3, 4, WRITE_OFF - 1, WRITE_OFF]), PARAMS)
    assert p.tolist() == [0.0, PARAMS.restructure_prob] + [PARAMS.npl_restructure_prob] * 2 + [0.0]


def test_oracle_rows_of_deep_arrears_are_valid():
    """A loan many months past due (k up to the write-off state) gets a proper distribution."""
    k0 = np.arange(4, WRITE_OFF)
    n = k0.size
    out = _propagate(
        k0, np.zeros((n, 12)), np.full(n, 30), np.full(n, 24), np.full(n, -5.0), PARAMS
    )
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    cure = npl_cure_probability(np.zeros(1), PARAMS)[0]
    # S3 unless it cures in the first month and then stays clear of 90+ DPD.
    assert (out[:, 3] >= 1.0 - cure - 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(
    k0=st.integers(0, 6),
    z=st.floats(-4, 4),
    inst0=st.integers(0, 40),
    term=st.sampled_from([12, 24, 36]),
)
def test_oracle_distribution_sums_to_one_and_falls_with_capacity(k0, z, inst0, term):
    path = np.full((2, 12), z)
    path[1] += 1.0  # a better capacity path
    out = _propagate(
        np.array([k0, k0]),
        path,
        np.array([inst0] * 2),
        np.array([term] * 2),
        np.array([-5.5, -5.5]),
        PARAMS,
    )
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)
    assert (out >= -1e-15).all()
    assert out[1, 3] <= out[0, 3] + 1e-12


def test_loan_already_90_plus_is_almost_surely_s3():
    out = _propagate(
        np.array([4]), np.zeros((1, 12)), np.array([5]), np.array([24]), np.array([-6.0]), PARAMS
    )
    assert out[0, 3] > 0.9


def test_severity_of_state_matches_dpd_buckets():
    assert severity_of_state(np.arange(8)).tolist() == [0, 1, 2, 2, 3, 3, 3, 3]
    assert (severity_of_state(np.arange(4, WRITE_OFF + 1)) == 3).all()

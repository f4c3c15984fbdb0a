"""The delinquency law and its exact propagation (the oracle)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from features.simulator.config import HazardParams
from features.simulator.transitions import outgoing, severity_of_state
from features.simulator.truth import _propagate

PARAMS = HazardParams()


@settings(max_examples=60, deadline=None)
@given(
    k=st.lists(st.integers(0, 6), min_size=1, max_size=20),
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
            assert np.isclose(row[0] + row[min(state + 1, 7)], 1.0)


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

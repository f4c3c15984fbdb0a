"""Outcome labels on tiny hand-made statements."""

from __future__ import annotations

import pandas as pd

from features.labels import build_outcomes
from tests.features.portfolio_factory import make_statements


def test_worst_severity_over_the_next_horizon():
    rep = pd.concat(
        [
            make_statements("A", "2023-01-01", [0, 0, 10, 40, 0, 0, 0, 0]),
            make_statements("B", "2023-01-01", [0, 0, 0, 0, 0, 0, 0, 0]),
        ]
    )
    out = build_outcomes(rep, horizon=3).set_index(["loan_id", "as_of"])
    a = out.loc["A"]["severity"].tolist()
    # month 1: next three are 0, 10, 40 -> S2; month 3 (dpd 10): next 40, 0, 0 -> S2
    assert a[:5] == [2, 2, 2, 0, 0]
    assert (out.loc["B"]["severity"] == 0).all()
    # Only windows fully inside the data are matured (8 months, horizon 3 -> first 5).
    assert out.loc["A"]["matured"].tolist() == [True] * 5 + [False] * 3


def test_charge_off_counts_as_default_and_ends_the_loan():
    rep = make_statements("C", "2023-01-01", [0, 10, 40, 70, 100, 130, 160, 190], "charged_off")
    out = build_outcomes(rep, horizon=12)
    assert len(out) == 7  # the charged-off month is not an open month
    assert out["severity"].iloc[0] == 3


def test_restructured_is_default_even_below_90_dpd():
    rep = make_statements("D", "2023-01-01", [0, 10, 40, 70], "restructured")
    assert build_outcomes(rep, horizon=12)["severity"].iloc[0] == 3


def test_renewal_hiding_arrears_shows_no_severity_that_month():
    rep = make_statements("E", "2023-01-01", [0, 0, 0], "renewed")
    assert build_outcomes(rep, horizon=12)["severity"].tolist() == [0, 0]

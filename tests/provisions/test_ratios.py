"""Both regulatory ratios by hand, with their flags."""

from __future__ import annotations

import math

import pytest

from provisions.policy import load_policy
from provisions.ratios import ABOVE, BELOW, WITHIN, regulatory_ratios

BANDS = load_policy().ratios


@pytest.mark.parametrize(
    ("allowance", "coverage_flag", "ratio_flag"),
    [(1.0, BELOW, BELOW), (1.6, BELOW, WITHIN), (2.0, WITHIN, WITHIN), (2.7, ABOVE, ABOVE)],
)
def test_coverage_and_loan_provision_ratio(allowance, coverage_flag, ratio_flag) -> None:
    coverage, ratio = regulatory_ratios(
        allowance, npl_balance=1.5, gross_balance=100.0, policy=BANDS
    )
    assert coverage.value == pytest.approx(allowance / 1.5)
    assert ratio.value == pytest.approx(allowance / 100.0)
    assert (coverage.flag, ratio.flag) == (coverage_flag, ratio_flag)


def test_no_npl_leaves_coverage_undefined_and_says_why() -> None:
    coverage, _ = regulatory_ratios(1.0, 0.0, 100.0, BANDS)
    assert math.isnan(coverage.value)
    assert coverage.flag == "undefined: no non-performing loans"
    assert coverage.to_dict()["value"] is None

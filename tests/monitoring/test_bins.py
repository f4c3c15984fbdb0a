"""Bulk PSI from reference bins equals the one-column definition (monitoring.psi)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.bins import fit_reference_bins, psi_from_counts
from monitoring.psi import population_stability


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.1] = np.nan
    zeros = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1, n))
    kind = pd.Categorical(
        rng.choice(
            ["farmer", "private_enterprise", "social_org", None], n, p=[0.5, 0.3, 0.15, 0.05]
        ),
        categories=["farmer", "private_enterprise", "social_org", "individual"],
    )
    return pd.DataFrame({"x": x, "zeros": zeros, "kind": kind})


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_bulk_psi_equals_population_stability_column_by_column(shift):
    rng = np.random.default_rng(3)
    reference, current = _frame(rng, 4000), _frame(rng, 1500, shift)
    current.loc[:5, "kind"] = "individual"  # a level the reference never had
    bins = fit_reference_bins(reference, ["x", "zeros", "kind"])
    psi, filled = psi_from_counts(
        bins, bins.counts(bins.encode(reference)), bins.counts(bins.encode(current))
    )
    for i, column in enumerate(["x", "zeros", "kind"]):
        expected = population_stability(reference[column], current[column])
        assert psi[i] == pytest.approx(expected.value, rel=1e-12, abs=1e-15)
        assert filled[i] == int((expected.table["reference_count"] > 0).sum())


def test_a_subset_of_rows_counts_only_its_rows_and_an_empty_side_is_nan():
    rng = np.random.default_rng(4)
    reference = _frame(rng, 2000)
    bins = fit_reference_bins(reference, ["x"])
    codes = bins.encode(reference)
    half = np.arange(len(reference)) < 1000
    counts = bins.counts(codes[half])
    assert counts.sum() == 1000
    psi, _ = psi_from_counts(bins, bins.counts(codes), bins.counts(codes[:0]))
    assert np.isnan(psi[0])


def test_a_column_the_sample_lacks_is_named():
    rng = np.random.default_rng(5)
    bins = fit_reference_bins(_frame(rng, 100), ["x", "kind"])
    with pytest.raises(ValueError, match="kind"):
        bins.encode(pd.DataFrame({"x": [1.0]}))

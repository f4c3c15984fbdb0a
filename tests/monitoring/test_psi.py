"""The population stability index: its value on laws with known PSI, and its bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from monitoring.psi import MISSING, UNSEEN, population_stability, stability_by_column


def test_identical_samples_give_zero():
    x = np.random.default_rng(0).lognormal(size=5000)
    result = population_stability(x, x.copy())
    assert result.value == 0.0
    assert result.table["reference_count"].sum() == 5000
    assert (result.table["reference_count"] == result.table["current_count"]).all()


def test_two_samples_of_one_law_stay_near_the_noise_floor():
    rng = np.random.default_rng(1)
    n = 20_000
    value = population_stability(rng.normal(size=n), rng.normal(size=n)).value
    noise = 9 * (2 / n)  # (bins - 1) (1/n_ref + 1/n_cur)
    assert value < 4 * noise


def test_a_shifted_normal_has_the_psi_of_its_decile_shares():
    rng = np.random.default_rng(2)
    shift = 0.5
    result = population_stability(rng.normal(size=400_000), rng.normal(shift, 1.0, 400_000))
    deciles = norm.ppf(np.linspace(0, 1, 11))
    shares = np.diff(norm.cdf(deciles - shift))
    expected = float(np.sum((shares - 0.1) * np.log(shares / 0.1)))
    assert expected == pytest.approx(0.2377, abs=1e-3)  # below the continuous limit shift**2
    assert result.value == pytest.approx(expected, abs=0.005)
    # Ten reference bins of a tenth each, plus an empty missing bin that adds nothing.
    assert len(result.table) == 11
    np.testing.assert_allclose(result.table["reference_share"][:10], 0.1, atol=1e-3)
    assert result.table["contribution"].sum() == pytest.approx(result.value)


def test_bins_are_fixed_on_the_reference_and_cover_every_current_value():
    reference = np.arange(100.0)
    current = np.array([-1e9, 1e9, 50.0])
    table = population_stability(reference, current, bins=4).table
    assert table["bin"].iloc[0].startswith("(-inf")
    assert table["bin"].iloc[3].endswith("inf)")
    assert table["current_count"].tolist() == [1, 0, 1, 1, 0]


def test_tied_quantiles_merge_into_fewer_bins():
    reference = np.r_[np.zeros(900), np.arange(1.0, 101.0)]  # 90% zeros
    table = population_stability(reference, reference).table
    assert table["bin"].iloc[0] == "(-inf, 0]"
    assert table.loc[0, "reference_count"] == 900
    assert len(table) < 11


def test_categories_use_the_reference_levels_and_an_unseen_bin():
    reference = pd.Series(["farmer"] * 60 + ["private_enterprise"] * 40, dtype="category")
    current = pd.Series(["farmer"] * 30 + ["private_enterprise"] * 60 + ["martian"] * 10)
    result = population_stability(reference, current)
    assert result.table["bin"].tolist() == ["farmer", "private_enterprise", UNSEEN, MISSING]
    assert result.table["current_count"].tolist() == [30, 60, 10, 0]
    floor = 1e-4
    expected = (
        (0.3 - 0.6) * np.log(0.3 / 0.6)
        + (0.6 - 0.4) * np.log(0.6 / 0.4)
        + (0.1 - floor) * np.log(0.1 / floor)
    )
    assert result.value == pytest.approx(expected)


def test_missing_values_have_a_bin_of_their_own():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=10_000)
    current = reference.copy()
    current[:2000] = np.nan  # a fifth of the sources stop reporting, the rest is unchanged
    result = population_stability(reference, current)
    missing = result.table.set_index("bin").loc[MISSING]
    assert missing["reference_count"] == 0 and missing["current_count"] == 2000
    assert missing["contribution"] == pytest.approx((0.2 - 1e-4) * np.log(0.2 / 1e-4))
    assert result.value > 0.25
    # Missing labels in a categorical variable count there too.
    cats = population_stability(pd.Series(["a", "b", None]), pd.Series(["a", None, None]))
    assert cats.table.set_index("bin").loc[MISSING, "current_count"] == 2


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="non-empty reference"):
        population_stability([], [1.0])
    with pytest.raises(ValueError, match="bins must be at least 2"):
        population_stability([1.0], [1.0], bins=1)
    with pytest.raises(ValueError, match="floor"):
        population_stability([1.0], [1.0], floor=0.0)
    with pytest.raises(ValueError, match="kind"):
        population_stability([1.0], [1.0], kind="ordinal")


def test_stability_by_column_names_each_column():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"a": rng.normal(size=5000), "b": rng.choice(["x", "y"], 5000)})
    cur = ref.assign(a=ref["a"] + 1.0)
    out = stability_by_column(ref, cur)
    assert out["b"] == 0.0 and out["a"] > 0.5
    with pytest.raises(ValueError, match="columns missing from a sample: c"):
        stability_by_column(ref, cur, ["a", "c"])

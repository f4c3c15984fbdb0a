"""The feature catalogue is the snapshot builder's output, kind for kind and range for range."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import FEATURE_BY_NAME, FEATURES, MONOTONE, value_problem
from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import ID_COLUMNS, LABEL_COLUMNS, build_snapshots


@pytest.fixture(scope="module")
def snapshots() -> pd.DataFrame:
    tables = simulate_portfolio(1500, 36, 11).tables
    unifier = fit_party_index(tables["party_ratings"], "2024-06-30")
    return build_snapshots(tables, "2023-06:2025-12", unifier)


def test_the_catalogue_declares_exactly_what_the_builder_makes(snapshots):
    built = [c for c in snapshots.columns if c not in (*ID_COLUMNS, *LABEL_COLUMNS)]
    assert built == [f.name for f in FEATURES]
    assert len(FEATURE_BY_NAME) == len(FEATURES)


def test_every_built_value_is_of_its_kind_and_in_its_range(snapshots):
    for feature in FEATURES:
        values = snapshots[feature.name]
        if feature.kind == "category":
            labels = set(values.dropna().astype(str))
            assert labels <= set(feature.levels), feature.name
            continue
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        known = numbers[~np.isnan(numbers)]
        assert feature.nullable or len(known) == len(numbers), feature.name
        assert ((known >= feature.low) & (known <= feature.high)).all(), feature.name
        if feature.kind in ("count", "flag"):
            assert (known == np.round(known)).all(), feature.name


def test_values_are_judged_by_kind_without_naming_them():
    dpd, flag, share = (FEATURE_BY_NAME[n] for n in ("dpd_now", "is_renewal", "utilisation"))
    assert value_problem(dpd, 30) is None and value_problem(dpd, 30.0) is None
    assert value_problem(dpd, True) == "expected a number"
    assert value_problem(dpd, None) == "required (not null)"
    assert value_problem(dpd, -1) == "outside 0..10000"
    assert value_problem(flag, 1) == "expected true or false"
    assert value_problem(share, -0.2) is not None and "-0.2" not in value_problem(share, -0.2)
    assert value_problem(FEATURE_BY_NAME["party_index"], None) is None
    assert MONOTONE == {"dpd_now": 1, "worst_dpd_3m": 1, "worst_dpd_6m": 1, "worst_dpd_12m": 1}


def test_every_catalogued_feature_is_worded_in_both_languages():
    from models.wording import FEATURES as WORDED

    assert [f.name for f in FEATURES if f.name not in WORDED] == []

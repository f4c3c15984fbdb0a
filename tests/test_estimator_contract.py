"""The estimator contract, tested directly where scikit-learn's checks cannot feed proper input.

``tests/test_estimators.py`` lists checks that cannot apply to two estimators: the Party index
unifier reads three rating label columns, not numeric arrays of any width, and the calibrator
needs an estimator fitted beforehand, which the checks' ``clone()`` unfits. The properties those
checks would have verified are tested here on the input each estimator is made for: a small
simulated ratings table, and a graded classifier fitted on earlier rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from features.party_index import INPUT_COLUMNS, PartyIndexUnifier
from models.calibration import CalibratedGradedClassifier
from models.graded import GradedWarningClassifier
from tests.models.graded_cases import prefit_and_later_slice


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    """The three label columns of a small simulated ratings table (about 500 ratings)."""
    from features.simulator import simulate_portfolio

    table = simulate_portfolio(300, 24, 1).tables["party_ratings"]
    return table[list(INPUT_COLUMNS)]


# -- the Party index unifier -------------------------------------------------------------------


def test_unifier_fit_returns_self_and_leaves_its_params_alone(ratings):
    unifier = PartyIndexUnifier(min_area_ratings=20)
    before = unifier.get_params()
    assert unifier.fit(ratings) is unifier
    assert unifier.get_params() == before == {"min_area_ratings": 20}


def test_a_clone_of_a_fitted_unifier_is_unfitted_with_the_same_params(ratings):
    fitted = PartyIndexUnifier(min_area_ratings=20).fit(ratings)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "crosswalk_")
    pd.testing.assert_frame_equal(
        copy.fit(ratings).transform(ratings), fitted.transform(ratings), check_exact=True
    )


def test_unifier_fit_is_idempotent(ratings):
    unifier = PartyIndexUnifier(min_area_ratings=20)
    first = unifier.fit(ratings).transform(ratings)
    crosswalk = unifier.crosswalk_.copy()
    # A fit on other data in between must leave nothing behind.
    unifier.fit(ratings.iloc[: len(ratings) // 3])
    again = unifier.fit(ratings).transform(ratings)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_frame_equal(crosswalk, unifier.crosswalk_, check_exact=True)


def test_an_unfitted_unifier_raises_not_fitted(ratings):
    unifier = PartyIndexUnifier()
    with pytest.raises(NotFittedError):
        unifier.transform(ratings)
    with pytest.raises(NotFittedError):
        unifier.get_feature_names_out()


def test_unifier_records_its_input_features(ratings):
    unifier = PartyIndexUnifier().fit(ratings.assign(award_date=pd.Timestamp("2023-01-01")))
    # Extra columns are ignored: the input is the three label columns.
    assert unifier.n_features_in_ == 3
    assert list(unifier.feature_names_in_) == list(INPUT_COLUMNS)
    # A 3-column array in that order has no names; a refit on one forgets the old names.
    unifier.fit(ratings.to_numpy())
    assert unifier.n_features_in_ == 3
    assert not hasattr(unifier, "feature_names_in_")


def test_an_array_in_column_order_maps_as_the_frame_does(ratings):
    unifier = PartyIndexUnifier(min_area_ratings=20).fit(ratings)
    by_array = PartyIndexUnifier(min_area_ratings=20).fit(ratings.to_numpy())
    expected = unifier.transform(ratings)["party_index"].to_numpy()
    np.testing.assert_array_equal(by_array.transform(ratings.to_numpy())["party_index"], expected)
    np.testing.assert_array_equal(unifier.transform(ratings.to_numpy())["party_index"], expected)


def test_unifier_output_names_and_pandas_output(ratings):
    unifier = PartyIndexUnifier().fit(ratings)
    assert list(unifier.get_feature_names_out()) == ["party_index"]
    assert unifier.set_output(transform="pandas") is unifier
    out = unifier.transform(ratings)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(unifier.get_feature_names_out())
    assert out.index.equals(ratings.index)
    assert out["party_index"].dtype == np.float64
    assert out["party_index"].dropna().between(0, 100).all()
    # In a pipeline asking for pandas output too.
    piped = make_pipeline(PartyIndexUnifier()).set_output(transform="pandas")
    pd.testing.assert_frame_equal(piped.fit_transform(ratings), out, check_exact=True)


def test_unifier_refuses_empty_input_with_a_clear_error(ratings):
    with pytest.raises(ValueError, match=r"at least one reference rating.*0 sample\(s\)"):
        PartyIndexUnifier().fit(ratings.iloc[:0])
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        PartyIndexUnifier().fit(np.empty((0, 3), dtype=object))
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        PartyIndexUnifier().fit(np.empty((5, 0), dtype=object))
    # Transforming no ratings is a request without any (an unrated borrower): no rows out.
    out = PartyIndexUnifier().fit(ratings).transform(ratings.iloc[:0])
    assert list(out.columns) == ["party_index"] and out.empty


def test_unifier_works_on_a_single_rating(ratings):
    one = ratings.iloc[[0]]
    alone = PartyIndexUnifier(min_area_ratings=1).fit(one)
    assert alone.transform(one)["party_index"].tolist() == [50.0]  # mid-rank of a lone rating
    fitted = PartyIndexUnifier().fit(ratings)
    assert fitted.transform(one)["party_index"].item() == fitted.transform(ratings).iloc[0, 0]


def test_unifier_names_the_columns_it_needs(ratings):
    with pytest.raises(ValueError, match="expected the columns issuing_area, native_standard"):
        PartyIndexUnifier().fit(ratings[["issuing_area", "native_level"]])
    with pytest.raises(TypeError, match="dense data is required"):
        PartyIndexUnifier().fit(sparse.csr_matrix(np.ones((4, 3))))
    with pytest.raises(ValueError, match="Reshape your data"):
        PartyIndexUnifier().fit(ratings["native_level"].to_numpy())


# -- the calibrated graded classifier ----------------------------------------------------------


@pytest.fixture(scope="module")
def slices():
    return prefit_and_later_slice(600, 400)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_fit_returns_self_and_neither_refits_nor_replaces_the_estimator(slices, method):
    base, X, y = slices
    trees, before_proba = list(base.estimators_), base.predict_proba(X)
    calibrated = CalibratedGradedClassifier(base, method=method)
    params = calibrated.get_params(deep=True)
    assert calibrated.fit(X, y) is calibrated
    after = calibrated.get_params(deep=True)
    assert after.keys() == params.keys()
    assert after["estimator"] is base and after["method"] == method
    assert all(a is b for a, b in zip(base.estimators_, trees, strict=True))
    np.testing.assert_array_equal(base.predict_proba(X), before_proba)


def test_a_clone_of_the_calibrator_keeps_its_params_but_not_the_fitted_estimator(slices):
    base, X, y = slices
    calibrated = CalibratedGradedClassifier(base, method="sigmoid").fit(X, y)
    copy = clone(calibrated)
    assert copy.method == "sigmoid"
    assert copy.estimator.get_params() == base.get_params()
    assert not hasattr(copy, "calibrators_")
    # Why scikit-learn's checks cannot run it: the clone's estimator is unfitted.
    with pytest.raises(NotFittedError):
        copy.fit(X, y)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrator_fit_is_idempotent(slices, method):
    base, X, y = slices
    calibrated = CalibratedGradedClassifier(base, method=method)
    first = calibrated.fit(X, y).predict_proba(X)
    calibrated.fit(X.iloc[::2], y[::2])
    np.testing.assert_array_equal(calibrated.fit(X, y).predict_proba(X), first)


def test_an_unfitted_calibrator_raises_not_fitted(slices):
    base, X, _ = slices
    calibrated = CalibratedGradedClassifier(base)
    for method in (calibrated.predict, calibrated.predict_proba, calibrated.predict_cumulative):
        with pytest.raises(NotFittedError):
            method(X)


def test_calibrator_takes_the_input_features_of_its_estimator(slices):
    base, X, y = slices
    calibrated = CalibratedGradedClassifier(base).fit(X, y)
    assert calibrated.n_features_in_ == 3
    assert list(calibrated.feature_names_in_) == ["dpd", "utilisation", "sector"]
    np.testing.assert_array_equal(calibrated.classes_, base.classes_)
    with pytest.raises(ValueError, match="different columns"):
        calibrated.predict_proba(X[["utilisation", "dpd", "sector"]])


def test_calibrator_refuses_empty_missing_or_continuous_targets_clearly(slices):
    base, X, y = slices
    with pytest.raises(ValueError, match=r"calibration slice is empty \(0 sample\(s\)\)"):
        CalibratedGradedClassifier(base).fit(X.iloc[:0], y[:0])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        CalibratedGradedClassifier(base).fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        CalibratedGradedClassifier(base).fit(X, y + 0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        CalibratedGradedClassifier(base, method="beta").fit(X, y)


def test_calibrator_needs_variation_but_scores_a_single_row(slices):
    base, X, y = slices
    # One row cannot show both sides of any threshold.
    with pytest.raises(ValueError, match="no variation at threshold"):
        CalibratedGradedClassifier(base).fit(X.iloc[:1], y[:1])
    calibrated = CalibratedGradedClassifier(base).fit(X, y)
    one = calibrated.predict_proba(X.iloc[[3]])
    np.testing.assert_allclose(one, calibrated.predict_proba(X)[[3]])
    assert one.shape == (1, 3) and np.isclose(one.sum(), 1.0)


# -- the graded classifier's DataFrame path ----------------------------------------------------


def test_graded_classifier_refuses_an_empty_frame_with_a_value_error(slices):
    _, X, y = slices
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 3\)\)"):
        GradedWarningClassifier(n_estimators=5).fit(X.iloc[:0], y[:0])

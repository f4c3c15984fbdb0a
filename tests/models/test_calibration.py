"""Calibration from scores computed elsewhere (out of fold) is the same map as from the
estimator's own, and serves through the estimator unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import CalibratedGradedClassifier
from models.graded import GradedWarningClassifier
from tests.models.graded_cases import graded_rows, prefit_and_later_slice


@pytest.fixture(scope="module")
def fitted():
    return prefit_and_later_slice(800, 600)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_fit_on_the_estimators_own_scores_is_fit(fitted, method):
    base, X, y = fitted
    direct = CalibratedGradedClassifier(base, method).fit(X, y)
    given = CalibratedGradedClassifier(base, method).fit_cumulative(base.predict_cumulative(X), y)
    np.testing.assert_array_equal(given.predict_cumulative(X), direct.predict_cumulative(X))
    assert given.estimator is base
    assert list(given.feature_names_in_) == ["dpd", "utilisation", "sector"]
    np.testing.assert_array_equal(given.classes_, base.classes_)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrate_cumulative_is_the_map_predict_applies(fitted, method):
    base, X, y = fitted
    model = CalibratedGradedClassifier(base, method).fit(X, y)
    np.testing.assert_array_equal(
        model.calibrate_cumulative(base.predict_cumulative(X)), model.predict_cumulative(X)
    )
    matrix = model.model_matrix(X)
    np.testing.assert_array_equal(model.cumulative_from_matrix(matrix), model.predict_cumulative(X))


def test_the_map_comes_from_the_given_scores_not_the_estimators(fitted):
    base, X, y = fitted
    own = base.predict_cumulative(X)
    # Scores of the same rows by trees that knew less: a different map for the same estimator.
    other = GradedWarningClassifier(n_estimators=5, min_child_samples=50).fit(*graded_rows(800, 2))
    model = CalibratedGradedClassifier(base, "sigmoid").fit_cumulative(
        other.predict_cumulative(X), y
    )
    reference = CalibratedGradedClassifier(base, "sigmoid").fit_cumulative(own, y)
    assert not np.allclose(model.calibrate_cumulative(own), reference.calibrate_cumulative(own))


def test_fit_cumulative_refuses_scores_that_do_not_fit_the_slice(fitted):
    base, X, y = fitted
    raw = base.predict_cumulative(X)
    calibrator = CalibratedGradedClassifier(base)
    with pytest.raises(ValueError, match=r"cumulative has shape \(599, 2\), expected \(600, 2\)"):
        calibrator.fit_cumulative(raw[1:], y)
    with pytest.raises(ValueError, match="expected"):
        calibrator.fit_cumulative(raw[:, :1], y)
    broken = raw.copy()
    broken[0, 0] = np.nan
    with pytest.raises(ValueError, match="no missing values"):
        calibrator.fit_cumulative(broken, y)
    with pytest.raises(ValueError, match="calibration slice is empty"):
        calibrator.fit_cumulative(raw[:0], y[:0])
    with pytest.raises(ValueError, match="unseen in training"):
        calibrator.fit_cumulative(raw, y + 7)


def test_the_isotonic_map_keeps_the_scores_order_and_the_block_levels():
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import roc_auc_score

    from models.calibration import InterpolatedIsotonic

    rng = np.random.default_rng(3)
    score, later = rng.random(4_000), rng.random(20_000)  # fitted on one slice, used on another
    hit = (rng.random(4_000) < score**3).astype(int)
    later_hit = (rng.random(20_000) < later**3).astype(int)
    steps = IsotonicRegression(out_of_bounds="clip").fit(score, hit).predict(later)
    joined = InterpolatedIsotonic().fit(score, hit).predict(later)
    assert np.all(np.diff(joined[np.argsort(later)]) >= 0)  # still a monotone map
    assert np.unique(joined).size > 10 * np.unique(steps).size  # steps no longer tie rows
    assert roc_auc_score(later_hit, joined) > roc_auc_score(later_hit, steps)
    assert roc_auc_score(later_hit, joined) == pytest.approx(
        roc_auc_score(later_hit, later), abs=0.001
    )
    assert joined.mean() == pytest.approx(later_hit.mean(), abs=0.01)  # calibrated in the large
    assert joined.min() >= 0 and joined.max() <= 1

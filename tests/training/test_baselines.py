"""Baselines on a seeded synthetic book whose informative and useless columns are known."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import estimator_checks_generator

from training.baselines import (
    BASELINE_NAMES,
    WoEScorecard,
    baseline_probabilities,
    default_lightgbm,
)

INDUSTRIES = ["farming", "retail", "tea", "textiles", "mining"]  # mining never occurs in fit
N_TRAIN = 4000


def _book(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Default driven by days past due (15% missing, itself risky), utilisation, income and
    industry (a categorical with missing labels); ``noise`` carries no information."""
    rng = np.random.default_rng(seed)
    dpd = rng.exponential(10, n)
    dpd[rng.random(n) < 0.15] = np.nan
    utilisation = rng.uniform(0, 1, n)
    income = rng.lognormal(3, 0.5, n)
    industry = rng.choice(INDUSTRIES[:4], n)
    logit = (
        -3.5
        + 0.12 * np.nan_to_num(dpd, nan=30)
        + 3.0 * utilisation
        - 0.04 * income
        + np.select([industry == "farming", industry == "tea"], [1.2, -1.0], 0.0)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    labels = np.where(rng.random(n) < 0.05, None, industry)
    X = pd.DataFrame(
        {
            "dpd_now": dpd,
            "utilisation": utilisation,
            "income": income,
            "industry": pd.Categorical(labels, categories=INDUSTRIES),
            "noise": rng.normal(size=n),
        }
    )
    return X, y


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, np.ndarray]:
    return _book()


@pytest.fixture(scope="module")
def scorecard(book) -> WoEScorecard:
    X, y = book
    return WoEScorecard().fit(X[:N_TRAIN], y[:N_TRAIN])


def test_both_baselines_discriminate_on_held_out_rows(book):
    X, y = book
    probabilities = baseline_probabilities(X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:])
    assert tuple(probabilities) == BASELINE_NAMES
    for name, p in probabilities.items():
        assert p.shape == (len(X) - N_TRAIN,)
        assert roc_auc_score(y[N_TRAIN:], p) > 0.75, name


def test_scorecard_gives_probabilities_of_the_higher_class(book, scorecard):
    X, _ = book
    proba = scorecard.predict_proba(X[N_TRAIN:])
    assert proba.shape == (len(X) - N_TRAIN, 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        proba[:, 1], 1 / (1 + np.exp(-scorecard.decision_function(X[N_TRAIN:])))
    )
    np.testing.assert_array_equal(
        scorecard.predict(X[N_TRAIN:]), scorecard.classes_[(proba[:, 1] > 0.5).astype(int)]
    )


def test_string_labels_and_booleans_are_binary_targets(book):
    X, y = book
    labels = np.where(y[:N_TRAIN] == 1, "default", "performing")
    fitted = WoEScorecard().fit(X[:N_TRAIN], labels)
    assert list(fitted.classes_) == ["default", "performing"]
    p_default = fitted.predict_proba(X[N_TRAIN:])[:, 0]
    assert roc_auc_score(y[N_TRAIN:], p_default) > 0.75
    as_bool = baseline_probabilities(X[:N_TRAIN], y[:N_TRAIN] == 1, X[N_TRAIN:])
    as_int = baseline_probabilities(X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:])
    for name in BASELINE_NAMES:
        np.testing.assert_array_equal(as_bool[name], as_int[name])


def test_attributes_after_fit(book, scorecard):
    X, _ = book
    assert scorecard.n_features_in_ == X.shape[1]
    assert list(scorecard.feature_names_in_) == list(X.columns)
    assert scorecard.selected_features_ == ["dpd_now", "utilisation", "income", "industry"]
    assert set(scorecard.iv_.index) == set(X.columns)
    assert scorecard.iv_.is_monotonic_decreasing
    assert scorecard.variable_kinds_["industry"] == "categorical"
    assert scorecard.logistic_.coef_.shape == (1, 4)


def test_a_useless_column_is_left_out_by_information_value(scorecard):
    assert scorecard.iv_["noise"] < 0.02 < scorecard.iv_[["dpd_now", "industry"]].min()
    assert "noise" not in scorecard.selected_features_
    assert scorecard.dropped_features_["noise"].startswith("IV ")
    kept = WoEScorecard(min_iv=None).fit(*_book(2000, seed=1))
    assert "noise" in kept.selected_features_ and not kept.dropped_features_


def test_missing_values_get_their_own_bin_and_its_evidence(book, scorecard):
    X, _ = book
    table = scorecard.binning_process_.get_binned_variable("dpd_now").binning_table.build()
    missing = table.loc[table["Bin"] == "Missing"].iloc[0]
    assert missing["Count"] == X["dpd_now"][:N_TRAIN].isna().sum()
    assert missing["WoE"] < -0.5  # missing dpd is risky in this book, not "average"
    # A row whose dpd goes missing moves by the coefficient times the change of WoE, from its
    # bin's to the Missing bin's: the learnt WoE of Missing is used, not a neutral 0.
    row = X[N_TRAIN:].loc[X["dpd_now"][N_TRAIN:] < 1].head(1)
    lowest_bin_woe = table.loc[0, "WoE"]
    coef = scorecard.logistic_.coef_[0, scorecard.selected_features_.index("dpd_now")]
    shift = scorecard.decision_function(row.assign(dpd_now=np.nan)) - (
        scorecard.decision_function(row)
    )
    assert shift[0] == pytest.approx(coef * (missing["WoE"] - lowest_bin_woe))


def test_categories_unseen_in_fit_and_object_columns_are_scored(book, scorecard):
    X, y = book
    unseen = X[N_TRAIN:].assign(industry=pd.Categorical(["mining"] * (len(X) - N_TRAIN)))
    assert np.isfinite(scorecard.predict_proba(unseen)).all()
    as_object = X.assign(industry=X["industry"].astype(object))
    refit = WoEScorecard().fit(as_object[:N_TRAIN], y[:N_TRAIN])
    np.testing.assert_allclose(
        refit.predict_proba(as_object[N_TRAIN:]), scorecard.predict_proba(X[N_TRAIN:])
    )


def test_columns_optbinning_cannot_bin_are_dropped_with_a_reason(book, scorecard):
    X, y = book
    bad = X.assign(
        never_reported=np.nan,
        ratio=np.where(np.arange(len(X)) % 50 == 0, np.inf, X["utilisation"]),
        opened=pd.date_range("2020-01-01", periods=len(X), freq="D"),
    )
    fitted = WoEScorecard().fit(bad[:N_TRAIN], y[:N_TRAIN])
    assert fitted.dropped_features_["never_reported"] == "no non-missing values"
    assert fitted.dropped_features_["ratio"] == "contains infinite values"
    assert fitted.dropped_features_["opened"].startswith("unsupported dtype datetime64")
    assert fitted.selected_features_ == scorecard.selected_features_
    np.testing.assert_allclose(
        fitted.predict_proba(bad[N_TRAIN:]), scorecard.predict_proba(X[N_TRAIN:])
    )
    with pytest.raises(ValueError, match="no column of X could be binned"):
        WoEScorecard().fit(bad[["never_reported", "opened"]], y)


def test_no_informative_variable_leaves_the_observed_event_rate(book):
    X, y = book
    fitted = WoEScorecard(min_iv=10.0).fit(X[:N_TRAIN], y[:N_TRAIN])
    assert fitted.selected_features_ == []
    p = fitted.predict_proba(X[N_TRAIN:])[:, 1]
    np.testing.assert_allclose(p, y[:N_TRAIN].mean(), rtol=1e-3)


def test_binning_is_fitted_on_a_stratified_seeded_subsample(book):
    X, y = book
    small = WoEScorecard(max_binning_rows=1000, random_state=3).fit(X, y)
    table = small.binning_process_.get_binned_variable("utilisation").binning_table.build()
    assert table.loc["Totals", "Count"] == 1000
    assert table.loc["Totals", "Event"] == round(1000 * y.mean())
    again = WoEScorecard(max_binning_rows=1000, random_state=3).fit(X, y)
    other = WoEScorecard(max_binning_rows=1000, random_state=4).fit(X, y)
    np.testing.assert_array_equal(small.predict_proba(X), again.predict_proba(X))
    assert not np.array_equal(small.predict_proba(X), other.predict_proba(X))


def test_same_data_and_seed_give_the_same_probabilities(book):
    X, y = book
    first = baseline_probabilities(X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], random_state=7)
    second = baseline_probabilities(X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], random_state=7)
    for name in BASELINE_NAMES:
        np.testing.assert_array_equal(first[name], second[name])


def test_default_lightgbm_is_library_defaults_but_threads_verbosity_and_seed():
    model = default_lightgbm(random_state=5)
    params, defaults = model.get_params(), LGBMClassifier().get_params()
    assert (params["n_jobs"], params["verbose"], params["random_state"]) == (1, -1, 5)
    # verbose is passed through **kwargs, so it is not among the defaults' parameters.
    changed = {k for k in params if k not in defaults or params[k] != defaults[k]}
    assert changed == {"n_jobs", "verbose", "random_state"}


def test_clone_keeps_parameters_and_forgets_the_fit(scorecard):
    copy = clone(WoEScorecard(min_iv=0.05, C=0.1, max_binning_rows=None, random_state=2))
    assert copy.get_params()["min_iv"] == 0.05
    assert copy.get_params()["max_binning_rows"] is None
    assert not hasattr(clone(scorecard), "logistic_")


def test_predicting_before_fit_raises_not_fitted(book):
    X, _ = book
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(WoEScorecard(), method)(X)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (np.zeros(N_TRAIN, dtype=int), "only one class"),
        (np.arange(N_TRAIN) % 4, "Only binary classification"),
    ],
)
def test_a_target_that_is_not_binary_is_refused(book, target, message):
    X, _ = book
    with pytest.raises(ValueError, match=message):
        WoEScorecard().fit(X[:N_TRAIN], target)
    with pytest.raises(ValueError, match=message):
        baseline_probabilities(X[:N_TRAIN], target, X[N_TRAIN:])


def test_bad_inputs_at_prediction_are_named(book, scorecard):
    X, _ = book
    with pytest.raises(ValueError, match="different columns"):
        scorecard.predict_proba(X.drop(columns="noise"))
    with pytest.raises(ValueError, match="'income' must be numeric"):
        scorecard.predict_proba(X.assign(income="high"))
    with pytest.raises(ValueError, match="fitted on a DataFrame"):
        scorecard.predict_proba(X.to_numpy())


@pytest.mark.parametrize(
    "params", [{"min_iv": -0.1}, {"C": 0.0}, {"max_binning_rows": 10}], ids=str
)
def test_bad_parameters_are_named(book, params):
    X, y = book
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        WoEScorecard(**params).fit(X[:500], y[:500])


def _contract_cases():
    for estimator, check in estimator_checks_generator(WoEScorecard(), mark="skip"):
        name = (check.func if isinstance(check, partial) else check).__name__
        if name != "check_array_api_input":  # needs an array-API library we do not install
            yield pytest.param(estimator, check, id=name)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize(("estimator", "check"), list(_contract_cases()))
def test_sklearn_contract(estimator, check):
    check(estimator)

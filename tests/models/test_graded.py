"""The graded warning classifier on simulated snapshots: monotone, deterministic, sensible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import build_snapshots
from models.graded import GradedWarningClassifier
from models.inputs import to_model_input


@pytest.fixture(scope="module")
def data():
    tables = simulate_portfolio(4000, 30, 5).tables
    unifier = fit_party_index(tables["party_ratings"], "2023-12-31", min_area_ratings=10)
    snap = build_snapshots(tables, "2023-06:2024-06", unifier)
    snap = snap[snap["labeled"]].reset_index(drop=True)
    train = snap["as_of"] <= "2023-12-31"
    return snap, to_model_input(snap), snap["severity"].astype(int).to_numpy(), train.to_numpy()


def _model(**kw):
    return GradedWarningClassifier(n_estimators=80, min_child_samples=20, **kw)


def test_probabilities_are_monotone_across_severities(data):
    _, X, y, train = data
    model = _model().fit(X[train], y[train])
    cumulative = model.predict_cumulative(X[~train])
    assert cumulative.shape[1] == len(np.unique(y[train])) - 1
    assert (np.diff(cumulative, axis=1) <= 1e-12).all()
    np.testing.assert_allclose(model.predict_proba(X[~train]).sum(axis=1), 1.0)


def test_default_probability_discriminates_out_of_time(data):
    _, X, y, train = data
    pd_12m = _model().fit(X[train], y[train]).predict_cumulative(X[~train])[:, -1]
    assert roc_auc_score(y[~train] >= 3, pd_12m) > 0.8


def test_same_data_and_seed_give_the_same_model(data):
    _, X, y, train = data
    a = _model(random_state=3).fit(X[train], y[train]).predict_cumulative(X[~train])
    b = _model(random_state=3).fit(X[train], y[train]).predict_cumulative(X[~train])
    np.testing.assert_array_equal(a, b)


def test_more_days_past_due_never_lowers_risk_with_a_monotone_constraint(data):
    _, X, y, train = data
    monotone = {"dpd_now": 1, "worst_dpd_3m": 1, "worst_dpd_6m": 1, "worst_dpd_12m": 1}
    model = _model(monotone=monotone).fit(X[train], y[train])
    rows = X[~train].head(300)
    base = model.predict_cumulative(rows)
    for extra in (15, 45, 120):
        later = rows.copy()
        for column in monotone:
            later[column] = later[column] + extra
        assert (model.predict_cumulative(later) >= base - 1e-12).all()


def test_binary_target_is_the_one_threshold_case(data):
    _, X, y, train = data
    model = _model().fit(X[train], (y[train] >= 3).astype(int))
    assert model.predict_cumulative(X[~train]).shape[1] == 1
    assert list(model.classes_) == [0, 1]


def test_loan_id_is_not_an_input_and_never_changes_a_score(data):
    snap, X, y, train = data
    model = _model().fit(X[train], y[train])
    renamed = snap[~train].assign(loan_id="L" + snap.loc[~train, "loan_id"].str[::-1])
    np.testing.assert_array_equal(
        model.predict_cumulative(to_model_input(renamed)), model.predict_cumulative(X[~train])
    )


def test_one_borrower_encodes_categories_like_the_batch(data):
    snap, X, _, _ = data
    one = to_model_input(snap.head(1))
    for column in ("borrower_type", "area", "party_native_level"):
        assert list(one[column].cat.categories) == list(X[column].cat.categories)


def test_bad_targets_and_constraints_are_named(data):
    _, X, y, train = data
    with pytest.raises(ValueError, match="only one class"):
        _model().fit(X[train], np.zeros(train.sum(), dtype=int))
    with pytest.raises(ValueError, match="unknown feature.*no_such_column"):
        _model(monotone={"no_such_column": 1}).fit(X[train], y[train])
    with pytest.raises(ValueError, match="different columns"):
        _model().fit(X[train], y[train]).predict_cumulative(X[~train].iloc[:, ::-1])


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_out_of_time_calibration_keeps_order_and_matches_frequencies(data, method):
    from models.calibration import CalibratedGradedClassifier
    from training.metrics import compute_ece

    snap, X, y, train = data
    later = ~train
    half = (snap.loc[later, "as_of"] <= "2024-03-31").to_numpy()
    model = _model().fit(X[train], y[train])
    calibrated = CalibratedGradedClassifier(model, method=method).fit(
        X[later][half], y[later][half]
    )
    test_x, test_y = X[later][~half], y[later][~half]
    cumulative = calibrated.predict_cumulative(test_x)
    assert (np.diff(cumulative, axis=1) <= 1e-12).all()
    np.testing.assert_allclose(calibrated.predict_proba(test_x).sum(axis=1), 1.0)
    assert compute_ece(test_y >= 3, cumulative[:, -1]) < 0.02
    with pytest.raises(ValueError, match="unseen in training"):
        CalibratedGradedClassifier(model).fit(X[later][half], y[later][half] + 7)


def test_reasons_are_the_largest_risk_raising_contributions_in_both_languages(data):
    from models.reasons import explain
    from models.wording import describe

    _, X, y, train = data
    model = _model().fit(X[train], y[train])
    test = X[~train]
    pd_12m = model.estimators_[-1].predict_proba(test)[:, 1]
    risky = test.iloc[np.argsort(-pd_12m)[:50]]
    reasons = explain(model, risky, top=3)
    assert all(1 <= len(r) <= 3 for r in reasons)
    for row in reasons:
        contributions = [r.contribution for r in row]
        assert contributions == sorted(contributions, reverse=True) and min(contributions) > 0
        assert all(r.text_en and r.text_zh for r in row)
    raw = model.estimators_[-1].booster_.predict(risky, pred_contrib=True)
    logit = np.log(pd_12m[np.argsort(-pd_12m)[:50]] / (1 - pd_12m[np.argsort(-pd_12m)[:50]]))
    np.testing.assert_allclose(raw.sum(axis=1), logit, atol=1e-6)  # exact decomposition
    assert describe("vat_revenue_trend_yoy", np.log(0.62)) == (
        "VAT-invoice revenue 38% below the same months last year",
        "开票收入较去年同期下降38%",
    )
    assert describe("worst_dpd_6m", 31.0)[0] == "31 days past due at worst in the last 6 months"
    assert describe("delinquent_24m", np.True_) == (
        "past due at least once in the last 24 months",
        "近24个月曾逾期",
    )
    assert describe("no_template", 2)[0] == "no_template = 2"


def test_string_inputs_are_encoded_with_the_categories_seen_in_fit(data):
    _, X, y, train = data
    model = _model().fit(X[train], y[train])
    rows = X[~train].head(200)
    as_strings = rows.astype({c: object for c in model.categories_})
    np.testing.assert_array_equal(
        model.predict_cumulative(as_strings), model.predict_cumulative(rows)
    )


def test_one_conversion_gives_exactly_lightgbms_own_pandas_predictions(data):
    """predict_cumulative and the reasons read model_matrix; LightGBM's own DataFrame path
    must give the very same numbers, also for unseen and missing category labels."""
    _, X, y, train = data
    model = _model().fit(X[train], y[train])
    test = X[~train].head(500).copy()
    test.loc[test.index[:5], "area"] = None
    test["industry"] = test["industry"].cat.add_categories(["space_mining"])
    test.loc[test.index[5:10], "industry"] = "space_mining"
    own = np.column_stack(
        [m.predict_proba(model._prepare(test, reset=False))[:, 1] for m in model.estimators_]
    )
    np.testing.assert_array_equal(
        model.predict_cumulative(test), np.minimum.accumulate(own, axis=1)
    )
    booster = model.estimators_[-1].booster_
    np.testing.assert_array_equal(
        booster.predict(model.model_matrix(test), pred_contrib=True),
        booster.predict(model._prepare(test, reset=False), pred_contrib=True),
    )


def test_model_input_reads_labels_and_categories_alike(data):
    """Requests carry text labels, the book carries categoricals: both must give one input,
    an unknown or missing label becoming NaN in the contract's fixed categories."""
    from models.inputs import CATEGORY_LEVELS

    snap, _, _, _ = data
    rows = snap.head(300).reset_index(drop=True)
    labels = rows.astype({c: object for c in CATEGORY_LEVELS if c in rows.columns})
    pd.testing.assert_frame_equal(to_model_input(labels), to_model_input(rows))
    labels.loc[:2, "area"] = "atlantis"
    labels.loc[3:4, "industry"] = None
    got = to_model_input(labels)
    assert got["area"][:3].isna().all() and got["industry"][3:5].isna().all()
    for column, levels in CATEGORY_LEVELS.items():
        expected = pd.Categorical(labels[column].astype(object), categories=list(levels))
        assert got[column].cat.categories.tolist() == list(levels)
        np.testing.assert_array_equal(got[column].cat.codes, expected.codes)
    numbers = [c for c in got.columns if c not in CATEGORY_LEVELS]
    assert (got[numbers].dtypes == np.float64).all()
    np.testing.assert_array_equal(
        got[numbers].to_numpy(), rows[numbers].to_numpy(dtype=np.float64, na_value=np.nan)
    )


def test_one_matrix_serves_probabilities_and_reasons(data):
    from models.calibration import CalibratedGradedClassifier
    from models.reasons import explain

    _, X, y, train = data
    model = _model().fit(X[train], y[train])
    rows = X[~train].head(50)
    matrix = model.model_matrix(rows)
    np.testing.assert_array_equal(
        model.cumulative_from_matrix(matrix), model.predict_cumulative(rows)
    )

    def worded(reasons):
        return [[(r.feature, r.contribution, r.text_en) for r in row] for row in reasons]

    assert worded(explain(model, rows, top=3, matrix=matrix)) == worded(explain(model, rows, 3))
    calibrated = CalibratedGradedClassifier(model, "sigmoid").fit(X[~train], y[~train])
    np.testing.assert_array_equal(
        calibrated.cumulative_from_matrix(calibrated.model_matrix(rows)),
        calibrated.predict_cumulative(rows),
    )

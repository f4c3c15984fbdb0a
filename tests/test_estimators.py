"""Every estimator of ours follows scikit-learn's estimator contract.

scikit-learn's own checks run over each estimator class of ``features``, ``models`` and
``training`` (the default LightGBM baseline is LightGBM's, not ours). A check that truly cannot
apply is listed in ``EXPECTED_FAILED`` with its reason and marked ``xfail(strict=True)``: the
day it passes, the run fails and the entry must go. What those checks would have verified is
tested directly, on proper input, in ``tests/test_estimator_contract.py``.
"""

from __future__ import annotations

from functools import partial

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from features.party_index import PartyIndexUnifier
from models.calibration import CalibratedGradedClassifier
from models.graded import GradedWarningClassifier
from training.baselines import WoEScorecard
from training.cross_fit import FeatureTableClassifier

# The unifier reads exactly three label columns (issuing area, native standard, native level).
# These checks feed numeric arrays of other widths, which it rejects with a ValueError naming
# the expected columns.
_LABELS_ONLY = "takes exactly the three rating label columns, not numeric arrays of other widths"
# The calibrator learns only the calibration of an estimator already fitted on the same
# features. Every check starts from clone(), which returns that estimator unfitted, so each
# fit raises NotFittedError before the check can look at anything else.
_PREFIT = "calibrates an estimator fitted beforehand; the checks' clone() returns it unfitted"

EXPECTED_FAILED: dict[str, dict[str, str]] = {
    "PartyIndexUnifier": {
        name: _LABELS_ONLY
        for name in (
            "check_complex_data",  # a 1-column array
            "check_dtype_object",
            "check_estimators_dtypes",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_fit2d_1feature",
            "check_fit2d_1sample",  # a 10-column row
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
        )
    },
    "CalibratedGradedClassifier": {
        name: _PREFIT
        for name in (
            "check_classifier_data_not_an_array",
            "check_classifiers_classes",
            "check_classifiers_one_label",
            "check_classifiers_regression_target",
            "check_classifiers_train",
            "check_complex_data",
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_dtype_object",
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_estimator_sparse_tag",
            "check_estimators_dtypes",
            "check_estimators_empty_data_messages",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
            "check_requires_y_none",
            "check_supervised_y_2d",
        )
    },
}

#: Checks that need an optional array-API library this project does not install; sklearn would
#: only skip them, and a skipped test that never runs proves nothing.
NOT_APPLICABLE = {"check_array_api_input"}

#: Small settings: the checks fit each estimator dozens of times on toy data.
ESTIMATORS = [
    PartyIndexUnifier(),
    GradedWarningClassifier(n_estimators=20, min_child_samples=2),
    CalibratedGradedClassifier(GradedWarningClassifier(n_estimators=20, min_child_samples=2)),
    # Without the scorecard blend (the scorecard has its own entry) and with a fast learning
    # rate, whose early stopping needs few trees: ~10 s instead of ~2 min.
    FeatureTableClassifier(scorecard=False, learning_rate=0.5),
    WoEScorecard(),
]


def _check_name(check) -> str:
    return (check.func if isinstance(check, partial) else check).__name__


def _generated(estimator) -> list[tuple[object, object, str, bool]]:
    """(estimator, check, name, marked expected by sklearn) for every check sklearn yields."""
    expected = EXPECTED_FAILED.get(type(estimator).__name__, {})
    out = []
    for item in estimator_checks_generator(
        estimator, expected_failed_checks=expected, mark="xfail"
    ):
        # Expected failures come wrapped as pytest.param(..., marks=xfail).
        values, marked = (item.values, True) if hasattr(item, "values") else (item, False)
        out.append((values[0], values[1], _check_name(values[1]), marked))
    return out


GENERATED = {type(e).__name__: _generated(e) for e in ESTIMATORS}


def _cases():
    for owner, checks in GENERATED.items():
        expected = EXPECTED_FAILED.get(owner, {})
        for estimator, check, name, _ in checks:
            if name in NOT_APPLICABLE:
                continue
            # sklearn marks expected failures non-strict; ours must fail, or the run fails.
            marks = (
                [pytest.mark.xfail(strict=True, reason=expected[name])] if name in expected else []
            )
            yield pytest.param(estimator, check, marks=marks, id=f"{owner}-{name}")


@pytest.mark.parametrize(("estimator", "check"), list(_cases()))
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("owner", sorted(EXPECTED_FAILED))
def test_every_expected_failure_names_a_check_that_runs(owner):
    """An entry for a check sklearn no longer yields (renamed, removed) would hide nothing and
    never fail; the list must name only checks that run, and sklearn must mark exactly them."""
    generated = {name for _, _, name, _ in GENERATED[owner]}
    marked = {name for _, _, name, is_marked in GENERATED[owner] if is_marked}
    assert set(EXPECTED_FAILED[owner]) <= generated - NOT_APPLICABLE
    assert marked == set(EXPECTED_FAILED[owner])

"""Panel feature tables (several rows per borrower): groups kept whole by every split, the panel
warning, refused group columns, and PDs at the observed level when the group is given."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from training.cross_fit import (
    INNER_CV_MAX_ROWS,
    FeatureTableClassifier,
    cross_fit,
    fit_final,
    fold_plan,
    inner_splits,
)
from training.feature_table import FeatureTableError, PanelTableWarning, prepare_feature_table

#: The recipe with a fast learning rate: the splits, not the tuning, are under test.
QUICK = FeatureTableClassifier(scorecard=False, learning_rate=0.1)


def panel_frame(borrowers: int = 800, seed: int = 0) -> pd.DataFrame:
    """Borrower x month rows, 1-12 months each: a borrower's default marks all its rows (their
    outcome windows overlap), and its loan amount is the same on every row, so a model that has
    seen a borrower's other months can recognise it. Folds are whole borrowers."""
    rng = np.random.default_rng(seed)
    months = rng.integers(1, 13, borrowers)
    borrower = np.repeat(np.arange(borrowers), months)
    risk = rng.normal(size=borrowers)
    n = borrower.size
    default = rng.random(borrowers) < 1 / (1 + np.exp(2.6 - 1.6 * risk))
    return pd.DataFrame(
        {
            "borrower_id": np.char.add("B", np.char.zfill(borrower.astype(str), 6)),
            "amount": np.round(rng.lognormal(11, 0.8, borrowers), -2)[borrower],
            "utilisation": np.clip(rng.beta(2, 3, n) + 0.3 * risk[borrower], 0, 1.5),
            "dpd now": rng.poisson(np.exp(-1.0 + 0.9 * risk[borrower])).astype(float),
            "sector": rng.choice(["farming", "retail", "manufacturing"], borrowers)[borrower],
            "bad": default[borrower].astype(int),
            "fold": (rng.permutation(borrowers) % 3 + 1)[borrower],
        }
    )


def _panel(frame: pd.DataFrame | None = None, fold: str | None = "fold", group="borrower_id"):
    return prepare_feature_table(
        panel_frame() if frame is None else frame, "bad", fold, "panel.csv", group_column=group
    )


def _sides_share_no_group(splits: list[tuple[np.ndarray, np.ndarray]], groups: np.ndarray) -> bool:
    return all(set(groups[train]).isdisjoint(groups[valid]) for train, valid in splits)


# -- every split keeps a group whole ---------------------------------------------------------


@pytest.mark.parametrize("rows", [3_000, INNER_CV_MAX_ROWS + 3_000])
def test_inner_splits_never_put_a_group_on_both_sides(rows):
    """Cross-validation below ``INNER_CV_MAX_ROWS`` rows and the holdout above it."""
    rng = np.random.default_rng(1)
    groups = np.sort(rng.integers(0, rows // 6, rows))
    y = (rng.random(rows) < 0.1).astype(int)
    by_group = inner_splits(y, 0, groups)
    assert len(by_group) == (5 if rows <= INNER_CV_MAX_ROWS else 1)
    assert _sides_share_no_group(by_group, groups)
    for train, valid in by_group:
        assert train.size + valid.size == rows and np.intersect1d(train, valid).size == 0
        assert 0 < y[valid].sum() < valid.size
    if rows <= INNER_CV_MAX_ROWS:  # every row validated once
        np.testing.assert_array_equal(
            np.sort(np.concatenate([v for _, v in by_group])), np.arange(rows)
        )
    else:
        assert 0.15 < by_group[0][1].size / rows < 0.25
    # the control: row-wise splits of the same rows share groups
    assert not _sides_share_no_group(inner_splits(y, 0), groups)


def test_the_model_early_stops_and_calibrates_on_splits_of_whole_groups():
    table = _panel()
    model = fit_final(table, estimator=QUICK)
    assert len(model.inner_splits_) == 5
    assert _sides_share_no_group(model.inner_splits_, table.groups)


class _RecordingClassifier(FeatureTableClassifier):
    """The real classifier, remembering the groups and inner splits of every fit."""

    seen: list[tuple[np.ndarray | None, list[tuple[np.ndarray, np.ndarray]]]] = []

    def fit(self, X, y, groups=None):
        super().fit(X, y, groups=groups)
        _RecordingClassifier.seen.append((groups, self.inner_splits_))
        return self


@pytest.mark.parametrize("fold", ["fold", None])
def test_every_outer_fold_model_gets_its_rows_groups(fold):
    table = _panel(fold=fold)
    _RecordingClassifier.seen = []
    estimator = _RecordingClassifier(scorecard=False, learning_rate=0.1)
    result = cross_fit(table, estimator=estimator)
    plan = fold_plan(table)
    assert len(_RecordingClassifier.seen) == len(plan) == len(result.folds)
    for (_, train, test), (groups, splits) in zip(plan, _RecordingClassifier.seen, strict=True):
        assert set(table.groups[train]).isdisjoint(table.groups[test])  # outer split
        np.testing.assert_array_equal(groups, table.groups[train])
        assert splits and _sides_share_no_group(splits, groups)  # inner splits


def test_without_a_fold_column_the_holdout_is_whole_groups():
    table = _panel(fold=None)
    [(label, train, test)] = fold_plan(table)
    assert label == "holdout" and set(table.groups[train]).isdisjoint(table.groups[test])
    assert 0.2 < test.size / table.y.size < 0.3
    assert set(np.unique(table.y[test])) == {0, 1}


# -- the panel warning -----------------------------------------------------------------------


def test_a_panel_without_a_group_column_is_warned_about_and_its_key_dropped():
    with pytest.warns(PanelTableWarning, match="'borrower_id' repeats across rows") as caught:
        table = _panel(group=None)
    assert "--group-column" in str(caught[0].message)
    assert table.warnings and table.groups is None
    assert "borrower_id" not in table.features.columns
    assert any("'borrower_id' dropped: a key repeated" in note for note in table.notes)


@pytest.mark.parametrize(
    "key",
    [
        ("loan_no", lambda ids: ids),  # named like a key, integer
        ("客户编号", lambda ids: ids.astype(str)),  # named like a key, digits as text
        ("customer", lambda ids: np.char.add("C-", np.char.zfill(ids.astype(str), 7))),  # shaped
        ("CustomerId", lambda ids: ids * 7 + 100),  # camel case
    ],
)
def test_the_warning_recognises_keys_by_name_or_by_shape(key):
    name, make = key
    frame = panel_frame(200).drop(columns="borrower_id")
    frame[name] = make(pd.factorize(frame["amount"])[0])
    with pytest.warns(PanelTableWarning, match=f"'{name}' repeats"):
        _panel(frame, group=None)


def test_no_warning_on_one_row_per_borrower_or_when_the_group_is_given():
    once = panel_frame().drop_duplicates("borrower_id").reset_index(drop=True)
    once["fold"] = np.arange(len(once)) % 3  # each row its own group: row folds are fine
    once["region_code"] = np.resize([f"R{i:04d}" for i in range(30)], len(once))  # a category
    once["branch_id"] = np.resize(np.arange(40), len(once))  # named like a key, but 40 values
    once["as_of"] = np.resize(["2024-01", "2024-02", "2024-03"], len(once))  # repeated dates
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = _panel(once, group=None)
        grouped = _panel()
    assert single.warnings == () and "borrower_id" not in single.features.columns  # unique key
    assert {"region_code", "branch_id", "as_of"} <= set(single.features.columns)
    assert grouped.warnings == () and "borrower_id" not in grouped.features.columns


def test_a_second_key_spanning_groups_is_warned_about():
    frame = panel_frame(300)
    frame["branch_id"] = np.arange(len(frame)) % 60  # crosses borrowers
    with pytest.warns(PanelTableWarning, match="value\\(s\\) of 'branch_id' span several groups"):
        _panel(frame)


# -- refused group columns -------------------------------------------------------------------


def _error(frame: pd.DataFrame, group: str, fold: str | None = "fold") -> str:
    with pytest.raises(FeatureTableError) as caught:
        _panel(frame, fold=fold, group=group)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_bad_group_columns_are_refused_naming_the_problem():
    frame = panel_frame(200)
    assert "no group column 'borrower'" in _error(frame, "borrower")
    holes = frame.assign(borrower_id=frame["borrower_id"].where(frame.index % 50 != 3))
    message = _error(holes, "borrower_id")
    assert "'borrower_id' is missing on" in message and "first at row 3" in message
    assert "single group" in _error(frame.assign(one="x"), "one")
    assert "cannot be the target" in _error(frame, "bad")
    assert "cannot be the fold column" in _error(frame, "fold")
    moved = frame.copy()
    first = moved.index[moved["borrower_id"] == moved["borrower_id"].iloc[0]]
    assert first.size > 1
    moved.loc[first[-1], "fold"] = moved.loc[first[0], "fold"] % 3 + 1
    message = _error(moved, "borrower_id")
    assert "1 group(s) of 'borrower_id' are split across folds of 'fold'" in message
    assert f"{frame['borrower_id'].iloc[0]!r} in folds" in message


def test_classifier_refuses_groups_of_the_wrong_length_or_with_gaps():
    table = _panel(panel_frame(100))
    with pytest.raises(ValueError, match="one group per row"):
        QUICK.fit(table.features, table.y, groups=table.groups[:-1])
    gaps = table.groups.astype(float)
    gaps[4] = np.nan
    with pytest.raises(ValueError, match="groups has missing values"):
        QUICK.fit(table.features, table.y, groups=gaps)


# -- calibration on a panel ------------------------------------------------------------------


def test_with_the_group_the_pds_match_the_observed_rate_out_of_fold():
    """A seeded panel. Grouped, the early stopping and Platt map see borrowers the trees have
    not: the mean out-of-fold PD is within 15% of the observed rate. The control: row-wise inner
    splits let the trees recognise the validation borrowers from their other months (by loan
    amount): far more trees, a lower AUC and PDs well under the observed rate."""
    frame = panel_frame()
    grouped = cross_fit(_panel(frame), estimator=QUICK)
    table = _panel(frame)
    observed = table.y.mean()
    assert grouped.oof["p"].mean() == pytest.approx(observed, rel=0.15)
    assert grouped.metrics.oe_low <= 1 <= grouped.metrics.oe_high
    with pytest.warns(PanelTableWarning):
        rows = prepare_feature_table(frame, "bad", "fold", "panel.csv")
    by_rows = cross_fit(rows, estimator=QUICK)
    assert by_rows.oof["p"].mean() < 0.9 * observed
    assert by_rows.metrics.auc < grouped.metrics.auc - 0.05
    assert min(f.n_trees for f in by_rows.folds) > 5 * max(f.n_trees for f in grouped.folds)

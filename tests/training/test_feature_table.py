"""Bring-your-own feature tables: read and refused as documented, fitted and judged out of fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from training.cross_fit import (
    FeatureTableClassifier,
    cross_fit,
    fit_final,
    fold_plan,
    write_oof,
)
from training.feature_table import (
    FeatureTableError,
    load_feature_table,
    prepare_feature_table,
)

#: The recipe with a fast learning rate: the plumbing, not the tuning, is under test.
QUICK = FeatureTableClassifier(scorecard=False, learning_rate=0.1)


def _credit_frame(n: int = 480, seed: int = 0, levels: int = 2) -> pd.DataFrame:
    """A small loan table: numbers with gaps, a text column, an id, a fold; informative."""
    rng = np.random.default_rng(seed)
    utilisation = rng.beta(2, 3, n)
    dpd = rng.poisson(1.0, n).astype(float)
    sector = rng.choice(["farming", "retail", "manufacturing"], n)
    risk = 3 * utilisation + 0.8 * dpd + np.where(sector == "retail", 0.7, 0.0)
    risk = risk + rng.normal(0, 0.7, n)
    severity = np.searchsorted(np.quantile(risk, [0.7, 0.9][: levels - 1]), risk)
    dpd[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "loan id": [f"L{i:05d}" for i in range(n)],
            "utilisation": utilisation,
            "dpd now": dpd,
            "sector": sector,
            "noise": rng.normal(size=n),
            "severity": severity,
            "fold": rng.permutation(np.arange(n) % 3) + 1,
        }
    )


def _table(frame: pd.DataFrame, target: str = "severity", fold: str | None = "fold"):
    return prepare_feature_table(frame, target, fold, source="t.csv")


def _error(frame: pd.DataFrame, target: str = "severity", fold: str | None = "fold") -> str:
    with pytest.raises(FeatureTableError) as caught:
        _table(frame, target, fold)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and "\n" not in message
    return message


# -- reading ---------------------------------------------------------------------------------


def test_csv_and_parquet_give_the_same_table(tmp_path):
    frame = _credit_frame()
    frame.loc[5, "severity"] = np.nan
    frame.to_csv(tmp_path / "book.csv", index=False)
    frame.to_parquet(tmp_path / "book.parquet", index=False)
    a = load_feature_table(tmp_path / "book.csv", "severity", "fold")
    b = load_feature_table(tmp_path / "book.parquet", "severity", "fold")
    pd.testing.assert_frame_equal(a.features, b.features)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.folds, b.folds)
    assert a.levels == b.levels == (0, 1)
    assert 5 not in a.rows and a.rows.size == len(frame) - 1
    assert list(a.features.columns) == ["utilisation", "dpd now", "sector", "noise"]
    assert isinstance(a.features["sector"].dtype, pd.CategoricalDtype)
    assert any("1 row(s) with no target" in note for note in a.notes)
    assert any("'loan id'" in note and "identifier" in note for note in a.notes)


def test_semicolon_csv_with_bom_markers_percentages_and_chinese_names(tmp_path):
    rows = '1;"1,200";35%;农业;是\n2;?;NA;零售;否\n3;800;  12.5%  ;null;否\n4;950;40%;零售;是\n'
    text = "\ufeff客户编号;收入 (元);利用率;行业;违约\n" + rows * 3
    (tmp_path / "bank.csv").write_text(text, encoding="utf-8")
    table = load_feature_table(tmp_path / "bank.csv", "违约")
    assert table.levels == ("否", "是")
    np.testing.assert_array_equal(table.y[:4], [1, 0, 0, 1])
    income = table.features["收入 (元)"].to_numpy()
    np.testing.assert_allclose(income[:4], [1200, np.nan, 800, 950])
    np.testing.assert_allclose(table.features["利用率"].to_numpy()[:4], [0.35, np.nan, 0.125, 0.4])
    assert table.features["行业"].isna().to_numpy()[:4].tolist() == [False, False, True, False]
    assert "客户编号" in table.features.columns  # 1..4 repeats: not a row key


def test_gb18030_text_and_tab_delimiter(tmp_path):
    rows = "".join(f"{i}\t{'坏' if i % 3 == 0 else '好'}\t{i % 7}\n" for i in range(40))
    (tmp_path / "gbk.tsv").write_bytes(("编号\t结果\t逾期天数\n" + rows).encode("gb18030"))
    table = load_feature_table(tmp_path / "gbk.tsv", "结果")
    assert table.levels == ("好", "坏") and int(table.y.sum()) == 14
    assert list(table.features.columns) == ["逾期天数"]
    assert any("'编号'" in note for note in table.notes)  # 0, 1, 2, ... is a row counter


def test_dropped_and_kept_columns():
    frame = _credit_frame()
    frame["empty"] = np.nan
    frame["constant"] = 7.0
    frame["flag or missing"] = np.where(np.arange(len(frame)) % 4 == 0, 1.0, np.nan)
    frame["row counter"] = np.arange(len(frame)) + 1000
    frame["bool flag"] = np.arange(len(frame)) % 2 == 0
    table = _table(frame)
    kept = set(table.features.columns)
    assert {"empty", "constant", "row counter", "loan id", "severity", "fold"}.isdisjoint(kept)
    assert {"flag or missing", "bool flag", "utilisation"} <= kept
    assert table.features["bool flag"].dtype == np.float64
    for column in ("empty", "constant", "row counter", "loan id"):
        assert any(f"'{column}'" in note for note in table.notes)


def test_ordinal_and_boolean_targets():
    ordinal = _table(_credit_frame(levels=3))
    assert ordinal.levels == (0, 1, 2) and ordinal.max_severity == 2
    assert set(np.unique(ordinal.y)) == {0, 1, 2}
    frame = _credit_frame()
    frame["severity"] = frame["severity"].astype(bool)
    flags = _table(frame)
    assert flags.levels == (False, True) and flags.y.dtype == np.int64


# -- refusing bad input ----------------------------------------------------------------------


def _with(column: str, values) -> pd.DataFrame:
    frame = _credit_frame()
    frame[column] = values
    return frame


@pytest.mark.parametrize(
    ("frame", "target", "fold", "expected"),
    [
        (_with("severity", np.nan), "severity", "fold", "no usable target: 'severity'"),
        (_credit_frame(), "default flag", "fold", "no target column 'default flag'"),
        (_with("severity", 1), "severity", "fold", "'severity' is constant"),
        (
            _with("severity", np.r_[0.5, np.zeros(479)]),
            "severity",
            "fold",
            "unknown level 0.5",
        ),
        (_with("severity", np.r_[-1, np.ones(479)]), "severity", "fold", "unknown level -1"),
        (
            _with("severity", np.resize([0, 1, 3], 480)),
            "severity",
            "fold",
            "unknown level 3: levels 0, 1, 3 skip severity 2",
        ),
        (_with("severity", np.resize([1, 2, 3], 480)), "severity", "fold", "skip severity 0"),
        (
            _with("severity", np.where(np.arange(480) % 90 == 7, "watch", ["good", "bad"] * 240)),
            "severity",
            "fold",
            "unknown level 'watch'",
        ),
        (
            _with("severity", np.resize(["A", "B"], 480)),
            "severity",
            "fold",
            "unknown levels 'A' and 'B': cannot tell which is the adverse outcome",
        ),
        (
            _with("severity", np.r_[np.ones(3), np.zeros(477)]),
            "severity",
            "fold",
            "level 1 occurs on 3 row(s)",
        ),
        (_with("fold", 1), "severity", "fold", "'fold' has a single fold (1)"),
        (_credit_frame(), "severity", "severity", "the fold column cannot be the target"),
        (_with("fold", np.r_[np.nan, np.ones(479)]), "severity", "fold", "missing on 1"),
        (_with("fold", np.arange(480)), "severity", "fold", "480 distinct values"),
        (
            _credit_frame()[["severity", "fold"]],
            "severity",
            "fold",
            "no usable feature columns",
        ),
    ],
)
def test_bad_tables_are_refused_in_one_line_naming_the_problem(frame, target, fold, expected):
    assert expected in _error(frame, target, fold)


def test_a_fold_whose_complement_lacks_a_level_is_named():
    frame = _credit_frame()
    frame["fold"] = np.where(frame["severity"] == 1, "north", "south")
    assert "fold 'north' of 'fold' cannot be predicted" in _error(frame)
    assert "no row with 'severity' = 1" in _error(frame)


def test_numeric_garbage_names_column_values_and_rows():
    frame = _credit_frame().astype({"utilisation": object})
    frame.loc[7, "utilisation"] = "abc"
    frame.loc[300, "utilisation"] = "n/k"
    frame.loc[[9, 10], "severity"] = np.nan  # row numbers stay positions in the file
    message = _error(frame)
    assert "column 'utilisation'" in message
    assert "'abc' (row 7)" in message and "'n/k' (row 300)" in message


def test_dates_become_days_so_trees_can_split_on_time():
    frame = _credit_frame()
    frame["opened"] = np.resize(["2023-01-05", "2023/1/6", "2023.01.08 12:00"], len(frame))
    days = _table(frame).features["opened"].to_numpy()
    np.testing.assert_allclose(days[:3] - days[0], [0.0, 1.0, 3.5])


def test_mostly_text_column_with_some_numbers_is_categorical():
    frame = _credit_frame()
    frame["grade"] = np.where(np.arange(len(frame)) % 3 == 0, "5", "AA")
    assert isinstance(_table(frame).features["grade"].dtype, pd.CategoricalDtype)


def test_file_level_errors(tmp_path):
    (tmp_path / "book.xlsx").write_bytes(b"PK")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "dupes.csv").write_text("x,x,severity\n1,2,0\n3,4,1\n")
    (tmp_path / "header.csv").write_text("x,severity\n")
    cases = {
        "book.xlsx": "unsupported file type '.xlsx'",
        "missing.csv": "no such file",
        "broken.parquet": "cannot read the file",
        "dupes.csv": "column name 'x' appears more than once",
        "header.csv": "no data rows",
    }
    for name, expected in cases.items():
        with pytest.raises(ValueError, match=expected) as caught:
            load_feature_table(tmp_path / name, "severity")
        assert "\n" not in str(caught.value)


# -- fitting and judging out of fold ---------------------------------------------------------


@pytest.fixture(scope="module")
def binary_run():
    table = _table(_credit_frame())
    return table, cross_fit(
        table, random_state=0, estimator=FeatureTableClassifier(scorecard=False)
    )


def test_oof_has_one_row_per_usable_row_in_file_order(binary_run):
    table, result = binary_run
    oof = result.oof
    assert result.scheme == "folds" and list(oof.columns) == ["row", "p", "p_s1"]
    np.testing.assert_array_equal(oof["row"].to_numpy(), table.rows)
    np.testing.assert_array_equal(oof["p"].to_numpy(), oof["p_s1"].to_numpy())
    assert oof["p"].between(0, 1).all()
    assert result.metrics.n == table.y.size and result.metrics.auc > 0.8
    assert all(f.metrics is not None and f.metrics.auc > 0.7 for f in result.folds)


def test_each_fold_model_learns_only_from_the_other_folds(binary_run):
    table, result = binary_run
    for (label, train, test), fold in zip(fold_plan(table), result.folds, strict=True):
        assert fold.label == label
        assert set(train).isdisjoint(test) and train.size + test.size == table.y.size
        assert fold.train_rows == int((table.folds != label).sum()) == train.size
        assert fold.test_rows == int((table.folds == label).sum())


def test_a_fold_is_predicted_by_a_model_that_never_saw_it():
    """Each fold holds its own values of ``x``, each on 20 rows and each with its own default
    rate (15% or 85%): only a model trained on a fold can know its values' rates. Out of fold
    the AUC must be chance; the model fitted on every row (the control) knows them all."""
    rng = np.random.default_rng(3)
    fold = np.repeat([1, 2, 3], 200)
    pattern = np.tile(np.repeat(np.arange(10), 20), 3)
    risky = rng.permutation(np.resize([False, True], 30))[(fold - 1) * 10 + pattern]
    frame = pd.DataFrame({"x": fold * 100.0 + pattern, "fold": fold})
    frame["severity"] = (rng.random(600) < np.where(risky, 0.85, 0.15)).astype(int)
    table = _table(frame)
    result = cross_fit(table, estimator=QUICK)
    assert all(f.metrics is not None and abs(f.metrics.auc - 0.5) < 0.1 for f in result.folds)
    control = fit_final(table, estimator=QUICK).predict_cumulative(table.features)[:, -1]
    assert roc_auc_score(table.y, control) > 0.8


def test_ordinal_severities_give_monotone_per_severity_columns():
    table = _table(_credit_frame(levels=3))
    result = cross_fit(table, estimator=QUICK)
    oof = result.oof
    assert list(oof.columns) == ["row", "p", "p_s1", "p_s2"]
    assert (oof["p_s1"] >= oof["p_s2"]).all()
    np.testing.assert_array_equal(oof["p"], oof["p_s2"])
    assert result.metrics.events == int((table.y == 2).sum()) and result.metrics.auc > 0.75


def test_same_table_and_seed_give_the_same_predictions_and_model():
    table = _table(_credit_frame(n=300))
    first, again = cross_fit(table, 7, estimator=QUICK), cross_fit(table, 7, estimator=QUICK)
    pd.testing.assert_frame_equal(first.oof, again.oof, check_exact=True)
    assert first.metrics == again.metrics
    other_seed = cross_fit(table, 8, estimator=QUICK)
    assert not np.array_equal(first.oof["p"], other_seed.oof["p"])  # the seed is used
    a, b = fit_final(table, 7, estimator=QUICK), fit_final(table, 7, estimator=QUICK)
    assert a.n_trees_ == b.n_trees_ and a.settings_ == b.settings_
    np.testing.assert_array_equal(
        a.predict_cumulative(table.features), b.predict_cumulative(table.features)
    )


def test_without_folds_a_holdout_is_scored_and_the_final_model_sees_every_row():
    table = _table(_credit_frame(), fold=None)
    result = cross_fit(table, estimator=QUICK)
    assert result.scheme == "holdout" and [f.label for f in result.folds] == ["holdout"]
    assert result.oof.shape[0] == result.folds[0].test_rows == round(0.25 * table.y.size)
    assert result.folds[0].train_rows + result.folds[0].test_rows == table.y.size
    assert fit_final(table, estimator=QUICK).n_rows_ == table.y.size


def test_scorecard_blend_and_calibration_keep_probabilities_honest():
    table = _table(_credit_frame(n=600, seed=1), fold=None)
    model = FeatureTableClassifier(learning_rate=0.1).fit(table.features, table.y)
    p = model.predict_cumulative(table.features)[:, -1]
    blend = model.blends_[-1]
    assert blend.trees_weight > 0 and blend.scorecard_weight >= 0
    assert (model.scorecards_[-1] is None) == (blend.scorecard_weight == 0)
    assert abs(p.mean() - table.y.mean()) < 0.05  # Platt scaling keeps the level
    renamed = table.features.rename(columns={"utilisation": "util"})
    with pytest.raises(ValueError, match="different columns"):
        model.predict_cumulative(renamed)


def test_unseen_text_categories_are_scored_by_trees_and_scorecard():
    table = _table(_credit_frame())
    model = fit_final(table, estimator=FeatureTableClassifier(learning_rate=0.1))
    assert model.scorecards_[-1] is not None  # this table's scorecard earns its weight
    request = table.features.head(3).astype({"sector": object})
    request.loc[0, "sector"] = "fishing"
    p = model.predict_proba(request)
    assert p.shape == (3, 2) and np.isfinite(p).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_oof_round_trips_and_leaves_no_temporary_file(tmp_path, binary_run, suffix):
    _, result = binary_run
    path = write_oof(result.oof, tmp_path / f"oof{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, result.oof, check_exact=False, rtol=1e-12)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with pytest.raises(ValueError, match="must end in .csv or .parquet"):
        write_oof(result.oof, tmp_path / "oof.xlsx")


def test_two_integer_codes_are_a_binary_target_with_the_higher_one_adverse(tmp_path):
    """German credit codes 1 = good, 2 = bad."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=300), "credit": np.resize([1, 1, 2], 300)})
    table = prepare_feature_table(frame, "credit")
    assert table.levels == (1, 2) and table.max_severity == 1
    np.testing.assert_array_equal(table.y, (frame["credit"] == 2).astype(int))
    assert any("2 is taken as the adverse outcome" in note for note in table.notes)

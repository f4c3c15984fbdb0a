"""ews-train fit --features-table: out-of-fold predictions, registration, one-line refusals."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from training.cli import app

runner = CliRunner()


@pytest.fixture()
def table_file(tmp_path):
    rng = np.random.default_rng(3)
    n = 1_500
    income = rng.normal(size=n)
    sector = rng.choice(["trade", "farming", "services"], n)
    ratio = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))
    logit = -1.8 + 1.2 * income + 0.8 * (sector == "farming") + 0.5 * np.nan_to_num(ratio)
    bad = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {"income": income, "sector": sector, "ratio": ratio, "bad": bad, "fold": np.arange(n) % 4}
    )
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_folds_give_out_of_fold_predictions_and_a_registered_model(table_file, tmp_path):
    path, frame = table_file
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    oof = tmp_path / "oof.csv"
    args = ["fit", "--features-table", str(path), "--target", "bad", "--fold-column", "fold"]
    result = runner.invoke(app, [*args, "--oof-out", str(oof), "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(oof)
    assert list(predictions.columns) == ["row", "p", "p_s1"]
    assert predictions["row"].tolist() == list(range(len(frame)))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(frame["bad"], predictions["p"]) > 0.7
    client = mlflow.MlflowClient(uri)
    version = client.get_model_version_by_alias("feature-table-warning", "challenger")
    run = client.get_run(version.run_id)
    assert run.data.params["fold_column"] == "fold"
    assert run.data.metrics["oof_auc"] == pytest.approx(
        roc_auc_score(frame["bad"], predictions["p"])
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(bad=1), "bad"),  # a constant target
        (lambda f: f.assign(bad=np.nan), "bad"),  # no usable target
        (lambda f: f.assign(fold=0), "fold"),  # a single fold
        (lambda f: f.assign(bad=f["bad"].where(f.index != 7, 5)), "bad"),  # unknown level 5
        (
            lambda f: f.assign(income=f["income"].astype(object).where(f.index != 9, "n.v.t#")),
            "income",
        ),  # garbage in a numeric column
    ],
)
def test_bad_tables_are_one_line_errors_and_nothing_is_registered(
    table_file, tmp_path, change, message
):
    path, frame = table_file
    change(frame).to_csv(path, index=False)
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    oof = tmp_path / "oof.csv"
    args = ["fit", "--features-table", str(path), "--target", "bad", "--fold-column", "fold"]
    result = runner.invoke(app, [*args, "--oof-out", str(oof), "--tracking-uri", uri])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 2  # one message (rich may wrap once)
    assert not oof.exists() and not (tmp_path / "m.db").exists()  # no store was even created


def test_options_of_the_other_mode_are_refused(table_file, tmp_path):
    path, _ = table_file
    both = runner.invoke(app, ["fit", "--data", str(tmp_path), "--features-table", str(path)])
    assert both.exit_code == 2 and "not both" in both.output
    no_target = runner.invoke(app, ["fit", "--features-table", str(path)])
    assert no_target.exit_code == 2 and "--target" in no_target.output
    promote = runner.invoke(
        app, ["fit", "--features-table", str(path), "--target", "bad", "--promote"]
    )
    assert promote.exit_code == 2 and "--promote" in promote.output
    oof = runner.invoke(app, ["fit", "--data", str(tmp_path), "--oof-out", "x.csv"])
    assert oof.exit_code == 2 and "--oof-out" in oof.output
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    suffix = runner.invoke(
        app,
        ["fit", "--features-table", str(path), "--target", "bad", "--oof-out", "oof.xlsx"]
        + ["--tracking-uri", uri],
    )
    assert suffix.exit_code == 2 and ".csv or .parquet" in suffix.output


@pytest.fixture()
def panel_file(tmp_path):
    """Borrower x month rows (1-8 months each), folds of whole borrowers."""
    rng = np.random.default_rng(4)
    months = rng.integers(1, 9, 300)
    borrower = np.repeat(np.arange(300), months)
    risk = rng.normal(size=300)
    bad = (rng.random(300) < 1 / (1 + np.exp(2.0 - 1.5 * risk))).astype(int)
    frame = pd.DataFrame(
        {
            "borrower_id": [f"B{b:05d}" for b in borrower],
            "utilisation": 0.4 * risk[borrower] + rng.normal(size=borrower.size),
            "bad": bad[borrower],
            "fold": (np.arange(300) % 3)[borrower],
        }
    )
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_a_panel_without_group_column_is_fitted_with_a_warning(panel_file, tmp_path):
    path, _ = panel_file
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["fit", "--features-table", str(path), "--target", "bad", "--fold-column", "fold"]
    result = runner.invoke(app, [*args, "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "looks like a panel" in result.output
    assert "--group-column" in result.output
    run = _challenger_run(uri)
    assert run.data.params["group_column"] == "none"


def test_a_panel_with_its_group_column_fits_without_warning_and_records_it(panel_file, tmp_path):
    path, _ = panel_file
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["fit", "--features-table", str(path), "--target", "bad", "--fold-column", "fold"]
    result = runner.invoke(app, [*args, "--group-column", "borrower_id", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "looks like a panel" not in result.output
    assert _challenger_run(uri).data.params["group_column"] == "borrower_id"


def _challenger_run(uri: str):
    client = mlflow.MlflowClient(uri)
    version = client.get_model_version_by_alias("feature-table-warning", "challenger")
    return client.get_run(version.run_id)


@pytest.mark.parametrize(
    ("change", "group", "message"),
    [
        (lambda f: f, "borrower", "no group column 'borrower'"),
        (lambda f: f.assign(borrower_id=f["borrower_id"].where(f.index != 5)), "borrower_id",
         "group column 'borrower_id' is missing on 1 usable row(s)"),
        (lambda f: f.assign(fold=np.arange(len(f)) % 3), "borrower_id",
         "split across folds of 'fold'"),
    ],
)  # fmt: skip
def test_bad_group_columns_are_one_line_errors(panel_file, tmp_path, change, group, message):
    path, frame = panel_file
    change(frame).to_csv(path, index=False)
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["fit", "--features-table", str(path), "--target", "bad", "--fold-column", "fold"]
    result = runner.invoke(app, [*args, "--group-column", group, "--tracking-uri", uri])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "m.db").exists()
    portfolio = runner.invoke(app, ["fit", "--data", str(tmp_path), "--group-column", group])
    assert portfolio.exit_code == 2 and "--group-column" in portfolio.output

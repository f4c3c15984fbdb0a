"""``ews-monitor performance`` on a monitored home: matured outcomes, early reads, bad input."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from monitoring.cli import app
from tests.monitoring.conftest import SCORED_MONTHS, UNMATURED_MONTH, Monitored
from tests.serving.http_server import environment

runner = CliRunner()
MONTHS = f"{SCORED_MONTHS[0]}:{SCORED_MONTHS[-1]}"


@pytest.fixture(scope="module")
def performed(monitored: Monitored, tmp_path_factory):
    out = tmp_path_factory.mktemp("performance") / "run"
    with environment(monitored.environment()):
        result = runner.invoke(
            app,
            [
                *("performance", "--data", str(monitored.portfolio), "--as-of", MONTHS),
                *("--out", str(out), "--no-dashboard"),
            ],
        )
    return result, out


def test_matured_months_get_observed_vs_expected_early_reads_and_estimates(performed, monitored):
    result, out = performed
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (result.exit_code == 1) == bool(summary["alerts"])
    assert summary["matured_12m"] == list(SCORED_MONTHS)
    book = pd.read_csv(out / "oe_by_month.csv")
    assert len(book) == len(SCORED_MONTHS)
    assert ((book["oe_low"] <= book["oe_ratio"]) & (book["oe_ratio"] <= book["oe_high"])).all()
    # The observed count is the book's own outcome: loans scored that month that defaulted
    # within 12 months, recounted here from the raw tables.
    from monitoring.outcomes import build_realized

    realized = build_realized(monitored.tables)
    scored = pd.read_parquet(
        monitored.reports / f"assessment-{SCORED_MONTHS[0]}" / "scored_book.parquet"
    )
    scored = scored[scored["dpd_now"] < 90]
    keyed = scored[["loan_id", "as_of"]].assign(loan_id=lambda f: f["loan_id"].astype(str))
    hits = keyed.merge(
        realized.assign(loan_id=realized["loan_id"].astype(str)), on=["loan_id", "as_of"]
    )
    assert int(book.iloc[0]["observed"]) == int(hits["defaulted_12m"].sum())
    early = pd.read_csv(out / "early_reads.csv")
    assert set(early["window"]) == {3, 6}
    estimated = pd.read_csv(out / "estimated.csv")
    assert estimated["auc_estimated"].between(0.5, 1).all()
    assert estimated["auc_realized"].notna().all()
    for name in ("oe_by_segment", "oe_by_vintage", "auc_by_month", "maturity"):
        assert (out / f"{name}.csv").is_file()


def test_a_month_not_yet_matured_is_refused_naming_it(monitored, tmp_path):
    out = tmp_path / "p"
    with environment(monitored.environment()):
        result = runner.invoke(
            app,
            [
                *("performance", "--data", str(monitored.portfolio)),
                *("--as-of", UNMATURED_MONTH, "--out", str(out), "--no-dashboard"),
            ],
        )
    assert result.exit_code == 2, result.output
    assert UNMATURED_MONTH in result.output and "not matured" in result.output
    assert not out.exists()


def test_a_book_that_fails_validation_is_refused(monitored, tmp_path):
    broken = tmp_path / "book"
    shutil.copytree(monitored.portfolio, broken)
    loans = pd.read_parquet(broken / "loans.parquet")
    loans.loc[0, "amount"] = -5.0
    loans.to_parquet(broken / "loans.parquet")
    with environment(monitored.environment()):
        result = runner.invoke(
            app, ["performance", "--data", str(broken), "--as-of", MONTHS, "--no-dashboard"]
        )
    assert result.exit_code == 2
    assert "failed validation" in result.output

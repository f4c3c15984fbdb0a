"""The monthly portfolio scoring partitioned by borrower, in process and on a real Dask
LocalCluster: the same scores, grades and reasons as one machine, and the same ledger rows."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from features.partitioned import in_process
from serving.cli import app
from serving.portfolio import score_book
from tests.serving.conftest import AS_OF_MONTH, Served, environment

runner = CliRunner()


def test_scores_by_partition_are_the_whole_books(served: Served, bundle, book):
    parts = score_book(bundle, served.tables, AS_OF_MONTH, mapper=in_process, n_partitions=7)
    pd.testing.assert_frame_equal(parts.frame(), book)
    pd.testing.assert_frame_equal(
        parts.inputs, score_book(bundle, served.tables, AS_OF_MONTH).inputs
    )


def test_score_portfolio_on_a_local_cluster_writes_the_same_book_and_ledger_rows(
    served: Served, tmp_path
):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    month = "2025-04"
    outputs = {}
    with environment(served.environment()):
        for name, extra in (("single", []), ("dask", ["--cluster", "local", "--again"])):
            ran = runner.invoke(
                app,
                [
                    "score-portfolio",
                    *("--data", str(served.portfolio), "--as-of", month),
                    *("--out", str(tmp_path / name), *extra),
                ],
            )
            assert ran.exit_code == 0, ran.output
            outputs[name] = pd.read_parquet(tmp_path / name / "scored_book.parquet")
        ledger = open_ledger(get_serving_settings())
        rows = ledger.read(as_of=pd.Timestamp(f"{month}-30").date(), source="portfolio")
    assert "worker(s) on a local cluster" in ran.output
    same = [c for c in outputs["single"].columns if c != "previous_grade"]
    pd.testing.assert_frame_equal(outputs["dask"][same], outputs["single"][same])
    # two runs of the month, each with every loan once
    runs = rows.groupby("request_id")["loan_pseudonym"].agg(["size", "nunique"])
    assert len(runs) == 2 and (runs["size"] == runs["nunique"]).all()
    assert (runs["size"] == len(outputs["single"])).all()

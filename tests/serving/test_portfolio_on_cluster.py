"""The monthly portfolio scoring partitioned by borrower, in process and on a real Dask
LocalCluster: the same scores, grades and reasons as one machine, and the same ledger rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.partitioned import PartitionedBook, in_process
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


@pytest.fixture(scope="module")
def partitioned_copy(served: Served, tmp_path_factory) -> PartitionedBook:
    """The served book (one generation block: the same seed gives it) as a partitioned set."""
    from features.simulator import BASELINE
    from features.simulator.report import write_partitioned_simulation
    from features.simulator.simulate import simulate_blocks

    folder = tmp_path_factory.mktemp("partitioned") / "book"
    write_partitioned_simulation(simulate_blocks(2000, 36, 4), folder, 3, {}, BASELINE)
    book = PartitionedBook.at(folder)
    assert book is not None and book.partitions == (0, 1, 2)
    return book


def test_a_partitioned_book_is_scored_partition_by_partition_as_the_whole(
    bundle, book, partitioned_copy
):
    pd.testing.assert_frame_equal(score_book(bundle, partitioned_copy, AS_OF_MONTH).frame(), book)


def test_a_partitioned_book_is_provided_for_partition_by_partition_as_the_whole(
    served: Served, book, partitioned_copy
):
    from provisions.policy import load_policy
    from provisions.run import compute_run

    origination = dict(zip(book["loan_id"], book["pd_12m"] * 0.7, strict=True))
    policy = load_policy()
    whole = compute_run(served.tables, book, AS_OF_MONTH, origination, policy, {})
    parts = compute_run(partitioned_copy, book, AS_OF_MONTH, origination, policy, {})
    pd.testing.assert_frame_equal(parts.loans, whole.loans)
    assert parts.record == whole.record


def test_score_portfolio_and_provisions_on_a_partitioned_book_on_a_local_cluster(
    served: Served, partitioned_copy, tmp_path
):
    from provisions.cli import app as provision_app

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    data = partitioned_copy.directory
    with environment(served.environment(EWS_LEDGER_URL=url)):
        scored = runner.invoke(
            app,
            [
                *("score-portfolio", "--data", data, "--as-of", "2025-05:2025-06"),
                *("--out", str(tmp_path / "scored"), "--cluster", "local"),
            ],
        )
        assert scored.exit_code == 0, scored.output
        provided = runner.invoke(
            provision_app,
            [
                *("run", "--as-of", "2025-06", "--data", data, "--no-dashboard"),
                *("--out", str(tmp_path / "provisions"), "--cluster", "local"),
            ],
        )
        assert provided.exit_code == 0, provided.output
        record = json.loads((tmp_path / "provisions" / "run.json").read_text(encoding="utf-8"))
        again = runner.invoke(provision_app, ["rerun", record["run_id"]])
    assert again.exit_code == 0 and "reproduced to the yuan" in again.output, again.output
    assert record["loans"] > 100
    assert any("/part=" in name for name in record["inputs"]["book"]["sha256"])

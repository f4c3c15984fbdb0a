"""Borrower partitions and snapshots built partition by partition, in process and on a real
Dask LocalCluster: the same table as the single-machine builder, to the byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.cli import app
from features.partitioned import build_snapshots_partitioned, default_partitions
from features.partitions import borrower_partition, split_by_borrower
from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import build_snapshots

MONTHS = "2023-06:2024-12"
runner = CliRunner()


@pytest.fixture(scope="module")
def book():
    return simulate_portfolio(400, 24, 3).tables


@pytest.fixture(scope="module")
def unifier(book):
    return fit_party_index(book["party_ratings"], "2023-06-30", min_area_ratings=5)


def test_a_borrowers_partition_depends_on_its_id_only():
    ids = pd.Series([f"B{i:07d}" for i in range(1, 2001)])
    parts = borrower_partition(ids, 8)
    assert parts.min() >= 0 and parts.max() <= 7
    shuffled = ids.sample(frac=1.0, random_state=1)
    again = borrower_partition(shuffled, 8)
    assert (again == parts[shuffled.index.to_numpy()]).all()  # order and book size do not matter
    assert (borrower_partition(ids[:10], 8) == parts[:10]).all()
    counts = np.bincount(parts, minlength=8)
    assert counts.min() > 180  # spread evenly (2,000 / 8 = 250 expected)
    with pytest.raises(ValueError, match="at least 1"):
        borrower_partition(ids, 0)


def test_each_partition_holds_whole_borrowers_and_together_the_book(book):
    parts = split_by_borrower(book, 5)
    assert len(parts) == 5
    for name, frame in book.items():
        assert sum(len(p[name]) for p in parts) == len(frame), name
    for part in parts:
        borrowers = set(part["borrowers"]["borrower_id"])
        for name in ("party_ratings", "loans", "operating_signals", "events"):
            assert set(part[name]["borrower_id"]) <= borrowers, name
        assert set(part["repayments"]["loan_id"]) <= set(part["loans"]["loan_id"])
    seen = [set(p["borrowers"]["borrower_id"]) for p in parts]
    assert sum(len(s) for s in seen) == len(set().union(*seen))  # no borrower in two


# 400 partitions: about one borrower each, so a partition whose statements end before the
# book's would label against its own last month, were the book's end not fixed before the split.
@pytest.mark.parametrize("n_partitions", [1, 3, 16, 400])
def test_partitioned_snapshots_are_the_single_machine_table(book, unifier, n_partitions):
    whole = build_snapshots(book, MONTHS, unifier)
    pd.testing.assert_frame_equal(
        build_snapshots_partitioned(book, MONTHS, unifier, n_partitions=n_partitions), whole
    )


def test_default_partitions_keep_every_worker_busy():
    assert default_partitions(1_000, workers=4) == 4
    assert default_partitions(1_000_000, workers=2) == 40


def test_the_features_command_on_a_local_dask_cluster_writes_the_same_table(tmp_path):
    book = tmp_path / "book"
    made = runner.invoke(app, ["simulate", "-n", "600", "-m", "24", "--out", str(book)])
    assert made.exit_code == 0, made.output
    args = ["features", "--data", str(book), "--as-of", MONTHS]
    single = runner.invoke(app, [*args, "--out", str(tmp_path / "single.parquet")])
    assert single.exit_code == 0, single.output
    on_dask = runner.invoke(
        app,
        [*args, "--out", str(tmp_path / "dask.parquet"), "--cluster", "local", "--partitions", "3"],
    )
    assert on_dask.exit_code == 0, on_dask.output
    assert "worker(s) on a local cluster" in on_dask.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "single.parquet")
    )


def test_an_unreachable_scheduler_is_one_line_and_nothing_written(tmp_path):
    book = tmp_path / "book"
    assert (
        runner.invoke(app, ["simulate", "-n", "100", "-m", "14", "--out", str(book)]).exit_code == 0
    )
    out = tmp_path / "snap.parquet"
    args = ["features", "--data", str(book), "--as-of", "2023-06", "--out", str(out)]
    result = runner.invoke(app, [*args, "--cluster", "tcp://127.0.0.1:9"])
    assert result.exit_code == 3, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not out.exists()

"""A large book simulated block by block and written as a partitioned dataset: the same book
whatever the partitioning, read back partition by partition, featurised without loading it
whole (in process and on a real Dask LocalCluster) into the table one machine builds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.cli import app
from features.io import RAW_TABLES, dataset_partitions, read_table
from features.simulator import BASELINE, simulate_portfolio
from features.simulator.latent import draw_common_factors, draw_components
from features.simulator.report import write_partitioned_simulation, write_simulation
from features.simulator.simulate import _block_seeds, simulate_blocks
from features.validation import load_validated_portfolio

runner = CliRunner()
#: Small generation blocks, so a 300-borrower book has three of them.
BLOCK = 100
KEYS = {
    "borrowers": ["borrower_id"],
    "party_ratings": ["rating_id"],
    "loans": ["loan_id"],
    "repayments": ["loan_id", "instalment_no"],
    "operating_signals": ["borrower_id", "period"],
    "events": ["event_id"],
}
MONTHS = "2023-06:2024-12"


def _canonical(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows in key order, categories as plain values: the book's content, not its filing."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _write(tmp_path, name: str, partitions: int):
    out = tmp_path / name
    blocks = simulate_blocks(300, 24, 3, block_borrowers=BLOCK)
    write_partitioned_simulation(blocks, out, partitions, {"borrowers": 300}, BASELINE)
    return out


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    """The same book in one file per table (the in-memory simulation, written)."""
    out = tmp_path_factory.mktemp("flat") / "book"
    book = simulate_portfolio(300, 24, 3, block_borrowers=BLOCK)
    write_simulation(book, out, {"borrowers": 300}, BASELINE)
    return out


def test_a_book_of_one_block_is_the_book_it_always_was():
    one = simulate_portfolio(120, 14, 9)
    blocks = list(simulate_blocks(120, 14, 9))
    assert len(blocks) == 1
    for name, frame in one.tables.items():
        pd.testing.assert_frame_equal(blocks[0].tables[name], frame)


def test_blocks_share_the_first_blocks_economy_and_have_their_own_borrowers():
    book = simulate_portfolio(300, 24, 3, block_borrowers=BLOCK)
    tables = book.tables
    assert tables["borrowers"]["borrower_id"].tolist() == [f"B{i:07d}" for i in range(1, 301)]
    for name, key in (("loans", "loan_id"), ("party_ratings", "rating_id"), ("events", "event_id")):
        assert tables[name][key].is_unique, name
    # the common factors every block uses are block 0's own draws
    from features.simulator.calendar import Calendar
    from features.simulator.config import SimulationConfig

    cfg = SimulationConfig()
    calendar = Calendar(start=pd.Period("2023-01", freq="M"), n_months=24, horizon=12)
    common = draw_common_factors(
        calendar, cfg.latent, np.random.default_rng(_block_seeds(3, 0)["latent"])
    )
    own = draw_components(
        BLOCK, calendar, cfg.latent, np.random.default_rng(_block_seeds(3, 0)["latent"])
    )
    np.testing.assert_array_equal(common[0], own.macro)
    later = draw_components(
        BLOCK, calendar, cfg.latent, np.random.default_rng(_block_seeds(3, 1)["latent"])
    )
    assert not np.array_equal(later.macro, own.macro)  # without sharing, another economy


@pytest.mark.parametrize("partitions", [1, 4])
def test_the_same_book_whatever_the_partitioning(tmp_path, flat, partitions):
    out = _write(tmp_path, f"book{partitions}", partitions)
    assert dataset_partitions(out) == list(range(partitions))
    for name in RAW_TABLES:
        pd.testing.assert_frame_equal(
            _canonical(read_table(out, name), KEYS[name]),
            _canonical(read_table(flat, name), KEYS[name]),
        )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layout"]["partitions"] == partitions
    assert manifest["row_counts"]["borrowers"] == 300


def test_one_partition_holds_whole_borrowers_and_validates_alone(tmp_path):
    out = _write(tmp_path, "book", 4)
    tables = load_validated_portfolio(out, partition=2)
    borrowers = set(tables["borrowers"]["borrower_id"])
    assert 0 < len(borrowers) < 300
    assert set(tables["loans"]["borrower_id"]) <= borrowers
    assert set(tables["repayments"]["loan_id"]) <= set(tables["loans"]["loan_id"])
    dates = read_table(out, "repayments", columns=["due_date"])
    assert list(dates.columns) == ["due_date"]


def test_a_folder_that_is_not_a_book_is_not_overwritten(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="no simulated book"):
        write_partitioned_simulation(
            simulate_blocks(50, 14, 1), out, 2, {"borrowers": 50}, BASELINE
        )
    assert (out / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["precious"]  # no staging left behind


def test_features_of_a_partitioned_book_are_the_flat_books_on_a_local_cluster(tmp_path, flat):
    book = _write(tmp_path, "book", 3)
    single = runner.invoke(
        app,
        ["features", "--data", str(flat), "--as-of", MONTHS, "--out", str(tmp_path / "a.parquet")],
    )
    assert single.exit_code == 0, single.output
    for name, extra in (("in-process", []), ("dask", ["--cluster", "local"])):
        ran = runner.invoke(
            app,
            [
                "features",
                "--data",
                str(book),
                "--as-of",
                MONTHS,
                "--out",
                str(tmp_path / name),
                *extra,
            ],
        )
        assert ran.exit_code == 0, ran.output
        assert "in 3 partition files" in ran.output
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == [
            f"part={k:04d}.parquet" for k in range(3)
        ]
        pd.testing.assert_frame_equal(
            _canonical(pd.read_parquet(tmp_path / name), ["loan_id", "as_of"]),
            _canonical(pd.read_parquet(tmp_path / "a.parquet"), ["loan_id", "as_of"]),
        )


def test_a_partition_that_fails_validation_stops_the_run_and_nothing_is_written(tmp_path):
    book = _write(tmp_path, "book", 3)
    victim = next((book / "loans" / "part=0001").glob("*.parquet"))
    loans = pd.read_parquet(victim)
    loans.loc[loans.index[0], "amount"] = -5.0  # a negative loan amount breaks the contract
    loans.to_parquet(victim, index=False)
    out = tmp_path / "snapshots"
    ran = runner.invoke(
        app, ["features", "--data", str(book), "--as-of", MONTHS, "--out", str(out)]
    )
    assert ran.exit_code == 1, ran.output
    assert "1 partition(s) failed validation: 1 (" in ran.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snapshots")]

"""Provisions by borrower partition, in process and on a real Dask LocalCluster: the same
loans, stages, ECL and record as one machine, and a stored cluster run re-runs to the yuan."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from features.partitioned import in_process
from provisions.cli import app
from provisions.policy import load_policy
from provisions.run import compute_run
from serving.cli import app as serve_app
from tests.serving.http_server import environment

runner = CliRunner()
MONTH = "2025-06"


def test_provided_by_partition_is_provided_whole(served) -> None:
    from serving.portfolio import score_book
    from serving.registry import load_champion
    from serving.settings import get_serving_settings

    with environment(served.environment()):
        bundle = load_champion(get_serving_settings())
    scored = score_book(bundle, served.tables, MONTH).frame()
    first = scored.iloc[::3]  # some loans without an origination PD, as in a real book
    origination = dict(zip(first["loan_id"], first["pd_12m"] * 0.8, strict=True))
    policy = load_policy()
    whole = compute_run(served.tables, scored, MONTH, origination, policy, {})
    parts = compute_run(
        served.tables, scored, MONTH, origination, policy, {}, mapper=in_process, n_partitions=6
    )
    pd.testing.assert_frame_equal(parts.loans, whole.loans)
    assert parts.record == whole.record
    for name, table in whole.totals.items():
        pd.testing.assert_frame_equal(parts.totals[name], table)


def test_a_run_on_a_local_cluster_matches_and_reruns_to_the_yuan(served, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with environment(served.environment(EWS_LEDGER_URL=url)):
        scored = runner.invoke(
            serve_app,
            [
                *("score-portfolio", "--data", str(served.portfolio)),
                *("--as-of", f"2025-05:{MONTH}", "--out", str(tmp_path / "scored")),
            ],
        )
        assert scored.exit_code == 0, scored.output
        args = ["run", "--as-of", MONTH, "--data", str(served.portfolio), "--no-dashboard"]
        single = runner.invoke(app, [*args, "--out", str(tmp_path / "one")])
        assert single.exit_code == 0, single.output
        spread = runner.invoke(app, [*args, "--out", str(tmp_path / "dask"), "--cluster", "local"])
        assert spread.exit_code == 0, spread.output
        assert "worker(s) on a local cluster" in spread.output
        record = json.loads((tmp_path / "dask" / "run.json").read_text(encoding="utf-8"))
        again = runner.invoke(app, ["rerun", record["run_id"]])
    assert again.exit_code == 0, again.output
    assert "reproduced to the yuan" in again.output
    one = json.loads((tmp_path / "one" / "run.json").read_text(encoding="utf-8"))
    assert record["allowance"] == one["allowance"]
    assert record["by_stage"] == one["by_stage"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask" / "loans.parquet"),
        pd.read_parquet(tmp_path / "one" / "loans.parquet"),
    )

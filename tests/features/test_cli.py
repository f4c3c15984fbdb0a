"""The ews-data command line, through Typer's runner (real files, no mocks)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from features.cli import app

runner = CliRunner()


def test_help_explains_each_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "validate", "summary"):
        assert command in result.output


def test_simulate_writes_tables_truth_and_manifest(tmp_path):
    out = tmp_path / "book"
    result = runner.invoke(app, ["simulate", "-n", "600", "-m", "14", "-s", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.stem for p in out.glob("*.parquet")} == {
        "borrowers",
        "party_ratings",
        "loans",
        "repayments",
        "operating_signals",
        "events",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["arguments"] == {"borrowers": 600, "months": 14, "seed": 5, "start": "2023-01"}
    assert manifest["row_counts"]["borrowers"] == 600
    assert (out / "ground_truth" / "loan_months.parquet").is_file()


def test_simulate_rejects_a_bad_scenario_with_one_line(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text(
        "name: x\nshocks:\n  - area: shanghai\n    start_month: 1\n"
        "    duration_months: 1\n    severity: 1\n"
    )
    result = runner.invoke(
        app,
        ["simulate", "-n", "50", "-m", "14", "--out", str(tmp_path / "o"), "--scenario", str(bad)],
    )
    assert result.exit_code == 2
    assert "unknown area 'shanghai'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_simulate_rejects_a_bad_start_month(tmp_path):
    result = runner.invoke(
        app, ["simulate", "-n", "50", "--start", "2023-13", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--start" in result.output


def test_validate_and_summary_on_a_good_and_a_broken_book(tmp_path):
    import pandas as pd

    out = tmp_path / "book"
    assert (
        runner.invoke(app, ["simulate", "-n", "800", "-m", "24", "--out", str(out)]).exit_code == 0
    )
    ok = runner.invoke(app, ["validate", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.output
    summary = runner.invoke(app, ["summary", str(out)])
    assert summary.exit_code == 0, summary.output
    assert "default (S3) rate" in summary.output and "farmer" in summary.output
    assert "NPL ratio (count)" in summary.output and "NPL ratio (balance)" in summary.output

    loans = pd.read_parquet(out / "loans.parquet")
    loans.loc[[3, 7], "amount"] = -1.0
    loans.to_parquet(out / "loans.parquet", index=False)
    (out / "events.parquet").write_bytes(b"not parquet")
    report = tmp_path / "report.json"
    bad = runner.invoke(app, ["validate", str(out), "--report", str(report)])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output
    assert "loans.amount" in bad.output
    assert loans.loc[3, "loan_id"] in bad.output and loans.loc[7, "loan_id"] in bad.output
    assert "events" in bad.output and "unreadable" in bad.output
    listed = json.loads(report.read_text())
    assert any(v["table"] == "loans" and v["column"] == "amount" for v in listed["violations"])
    refused = runner.invoke(app, ["summary", str(out)])
    assert refused.exit_code == 1
    assert "failed validation" in refused.output


def test_crosswalk_is_published_as_csv(tmp_path):
    import pandas as pd

    book = tmp_path / "book"
    assert (
        runner.invoke(app, ["simulate", "-n", "1500", "-m", "24", "--out", str(book)]).exit_code
        == 0
    )
    out = tmp_path / "cw.csv"
    result = runner.invoke(
        app, ["crosswalk", str(book), "--fit-until", "2024-06-30", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"native_level": str})
    assert {"issuing_area", "native_standard", "native_level", "count", "unified"} <= set(
        table.columns
    )
    assert table["unified"].between(0, 100).all()
    wuxing = table[(table["issuing_area"] == "wuxing")].sort_values("rank")
    assert wuxing["unified"].is_monotonic_increasing
    bad = runner.invoke(
        app, ["crosswalk", str(book), "--fit-until", "1990-01-01", "--out", str(out)]
    )
    assert bad.exit_code == 2 and "no rating" in bad.output


def test_features_command_builds_labeled_snapshots(tmp_path):
    import pandas as pd

    book = tmp_path / "book"
    assert (
        runner.invoke(app, ["simulate", "-n", "800", "-m", "24", "--out", str(book)]).exit_code == 0
    )
    out = tmp_path / "snap.parquet"
    args = ["features", "--data", str(book), "--as-of", "2023-06:2024-12", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    snap = pd.read_parquet(out)
    assert snap["as_of"].dt.to_period("M").nunique() == 19
    assert not snap.duplicated(["loan_id", "as_of"]).any()
    assert snap["labeled"].any() and not snap["labeled"].all()
    outside = runner.invoke(app, [*args[:4], "2024-06:2025-02", "--out", str(out)])
    assert outside.exit_code == 2 and "outside the data (2023-01 to 2024-12)" in outside.output

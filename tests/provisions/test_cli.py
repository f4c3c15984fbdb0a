"""``ews-provision`` end to end on a served champion: two months assessed through the ledger,
the second provided for (origination PDs from the first), its folder, record and store; bad
input refused by name with nothing written; overlay decisions once each."""

from __future__ import annotations

import json

import pandas as pd
import yaml
from typer.testing import CliRunner

from provisions.cli import app
from provisions.policy import DEFAULT_POLICY_PATH
from provisions.store import ProvisionStore
from serving.cli import app as serve_app
from tests.serving.http_server import environment

runner = CliRunner()


def test_run_approve_and_refusals(served, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    scored = tmp_path / "scored"
    with environment(served.environment(EWS_LEDGER_URL=url)):
        done = runner.invoke(
            serve_app,
            [
                "score-portfolio",
                "--data",
                str(served.portfolio),
                "--as-of",
                "2025-05:2025-06",
                "--out",
                str(scored),
            ],
        )
        assert done.exit_code == 0, done.output
        june = scored / "assessment-2025-06"
        out = tmp_path / "provisions-2025-06"
        args = ["run", "--as-of", "2025-06", "--data", str(served.portfolio), "--scores", str(june)]
        ran = runner.invoke(app, [*args, "--out", str(out)])
        assert ran.exit_code == 0, ran.output
        assert "modelled allowance" in ran.output and "provision_coverage" in ran.output
        names = {p.name for p in out.iterdir()}
        assert {
            "loans.parquet",
            "run.json",
            "ratios.csv",
            "totals_by_stage.csv",
            "totals_by_area.csv",
        } <= names
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
        loans = pd.read_parquet(out / "loans.parquet")
        assert record["loans"] == len(loans) > 100
        assert record["allowance"]["modelled"] == loans["ecl"].sum()  # the per-loan file adds up
        assert record["policy"]["version"] == "2026.12-2"
        # May's scores are the origination PDs of the loans already open then
        assert loans["pd_origination"].notna().mean() > 0.8
        assert record["without_origination_pd"] == int(loans["pd_origination"].isna().sum())
        assert (
            set(loans["stage"]) <= {1, 2, 3} and loans["stage_reason"].str.startswith("stage").all()
        )

        store = ProvisionStore(url)
        stored = store.run(record["run_id"])
        assert stored["allowance"] == record["allowance"]

        # the same month from the ledger's scores (no --scores): the same allowance
        from_ledger = tmp_path / "from-ledger"
        ledger_args = ["run", "--as-of", "2025-06", "--data", str(served.portfolio)]
        ran_ledger = runner.invoke(app, [*ledger_args, "--out", str(from_ledger)])
        assert ran_ledger.exit_code == 0, ran_ledger.output
        by_ledger = json.loads((from_ledger / "run.json").read_text(encoding="utf-8"))
        assert (
            by_ledger["inputs"]["scores"]["rows"] == record["loans"] + record["left_out"]["count"]
        )
        assert round(by_ledger["allowance"]["modelled"], 2) == round(
            record["allowance"]["modelled"], 2
        )
        reran_ledger = runner.invoke(app, ["rerun", by_ledger["run_id"]])
        assert reran_ledger.exit_code == 0, reran_ledger.output
        unscored = runner.invoke(app, [*ledger_args[:2], "2025-07", *ledger_args[3:]])
        assert unscored.exit_code == 2 and "holds no portfolio scores" in unscored.output

        # bad input: a policy whose weights do not sum to one, the wrong month's scores
        document = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
        document["scenarios"][0]["weight"] = 0.9
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(document), encoding="utf-8")
        refused = runner.invoke(app, [*args, "--policy", str(bad), "--out", str(tmp_path / "x")])
        assert refused.exit_code == 2 and "scenario weights sum to 1.3" in refused.output
        wrong = runner.invoke(
            app,
            [
                "run",
                "--as-of",
                "2025-05",
                "--data",
                str(served.portfolio),
                "--scores",
                str(june),
                "--out",
                str(tmp_path / "y"),
            ],
        )
        assert wrong.exit_code == 2 and "assessed 2025-06, not 2025-05" in wrong.output
        assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()

        # a drift breach of the book in June proposes a precautionary overlay
        drift = tmp_path / "drift"
        drift.mkdir()
        breach = {
            "as_of": "2025-06",
            "segment": "book",
            "n_current": record["loans"],
            "pd_psi": 0.3,
            "pd_noise": 0.05,
            "mean_pd_reference": 0.01,
            "mean_pd_current": 0.02,
        }
        summary = {"kind": "drift", "breaches": [breach], "current": {"months": ["2025-06"]}}
        (drift / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
        evidenced = runner.invoke(app, [*args, "--out", str(out), "--drift", str(drift)])
        assert evidenced.exit_code == 0, evidenced.output
        assert "overlays proposed" in evidenced.output
        record = json.loads((out / "run.json").read_text(encoding="utf-8"))
        (proposed,) = json.loads((out / "overlays.json").read_text(encoding="utf-8"))
        overlay_id, size = proposed["overlay_id"], proposed["amount"]
        assert proposed["kind"] == "precautionary" and size > 0
        assert proposed["evidence"]["events"][0]["pd_psi"] == 0.3
        assert record["inputs"]["evidence"]["drift"]["folder"] == str(drift.resolve())
        # tracked in MLflow: the allowance as a metric at the month's step, the folder logged
        from mlflow import MlflowClient

        from serving.settings import get_serving_settings

        client = MlflowClient(get_serving_settings().resolved_tracking_uri)
        tracked = client.get_run(record["mlflow_run_id"])
        assert tracked.data.params["policy_version"] == record["policy"]["version"]
        assert tracked.data.metrics["allowance/modelled"] == record["allowance"]["modelled"]
        logged = {a.path for a in client.list_artifacts(tracked.info.run_id)}
        assert {"run.json", "overlays.json", "totals_by_stage.csv"} <= logged
        assert "loans.parquet" not in logged  # kept in the run folder, hashed in the record
        not_drift = runner.invoke(app, [*args, "--out", str(tmp_path / "z"), "--drift", str(june)])
        assert not_drift.exit_code == 2 and "no summary.json" in not_drift.output

        # the stored run reproduces to the yuan; a changed input is named
        reran = runner.invoke(app, ["rerun", record["run_id"]])
        assert reran.exit_code == 0, reran.output
        assert "reproduced to the yuan" in reran.output and "overlays the same" in reran.output

        # decisions: once per overlay, an unknown one named
        approved = runner.invoke(
            app, ["approve", overlay_id, "--by", "Li Wei", "--note", "reviewed"]
        )
        assert approved.exit_code == 0, approved.output
        again = runner.invoke(app, ["approve", overlay_id, "--by", "Li Wei"])
        assert again.exit_code == 2 and "approved already" in again.output
        unknown = runner.invoke(app, ["reject", "no-such-id", "--by", "Li Wei"])
        assert unknown.exit_code == 2 and "no overlay no-such-id" in unknown.output
        listed = runner.invoke(app, ["overlays", "--as-of", "2025-06"])
        assert f"approved overlays {size:,.0f} yuan" in listed.output, listed.output
        assert store.approved_total("2025-06") == size
        booked = store.booked(record["run_id"])
        assert booked["booked"] == record["allowance"]["modelled"] + size

        # the movement from May to June ends at June's booked allowance
        may = tmp_path / "provisions-2025-05"
        may_args = ["run", "--as-of", "2025-05", "--data", str(served.portfolio)]
        ran_may = runner.invoke(
            app, [*may_args, "--scores", str(scored / "assessment-2025-05"), "--out", str(may)]
        )
        assert ran_may.exit_code == 0, ran_may.output
        moved = runner.invoke(app, ["movement", "--from", str(may), "--to", str(out)])
        assert moved.exit_code == 0, moved.output
        closing = record["allowance"]["modelled"] + size
        assert f"{closing:,.0f}" in moved.output and "new loans" in moved.output
        backwards = runner.invoke(app, ["movement", "--from", str(out), "--to", str(may)])
        assert backwards.exit_code == 2 and "not earlier than" in backwards.output

        # a score file changed after the run: the re-run refuses, naming it
        scored_june = pd.read_parquet(june / "scored_book.parquet")
        scored_june.loc[0, "pd_12m"] = 0.5
        scored_june.to_parquet(june / "scored_book.parquet", index=False)
        changed = runner.invoke(app, ["rerun", record["run_id"]])
        assert (
            changed.exit_code == 2 and "scored_book.parquet: its content changed" in changed.output
        )
        store.dispose()

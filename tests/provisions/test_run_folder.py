"""A run's folder and its store record come together or not at all."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from provisions.run import ProvisionRun, file_digest, write_run


def small_run() -> ProvisionRun:
    loans = pd.DataFrame({"loan_id": ["L1"], "stage": [1], "ecl": [10.0]})
    record = {"as_of": "2025-06", "ratios_modelled": [{"name": "loan_provision", "value": 0.02}]}
    overlays = [{"kind": "precautionary", "segment": "book", "amount": 5.0}]
    totals = {"stage": loans.groupby("stage").size().reset_index()}
    return ProvisionRun(loans, totals, overlays, record)


def test_the_store_id_goes_into_the_folder(tmp_path) -> None:
    run_id = write_run(small_run(), tmp_path / "m", lambda: ("run-1", ["overlay-1"]))
    assert run_id == "run-1"
    record = json.loads((tmp_path / "m" / "run.json").read_text())
    assert record["run_id"] == "run-1"
    assert record["outputs"]["folder"] == str((tmp_path / "m").resolve())
    assert record["outputs"]["loans_sha256"] == file_digest(tmp_path / "m" / "loans.parquet")
    overlays = json.loads((tmp_path / "m" / "overlays.json").read_text())
    assert overlays[0]["overlay_id"] == "overlay-1"


def test_a_store_failure_leaves_no_folder(tmp_path) -> None:
    def fail() -> tuple[str, list[str]]:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        write_run(small_run(), tmp_path / "m", fail)
    assert list(tmp_path.iterdir()) == []

"""A run's folder and its store record come together or not at all."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from provisions.run import ProvisionRun, write_run


def small_run() -> ProvisionRun:
    loans = pd.DataFrame({"loan_id": ["L1"], "stage": [1], "ecl": [10.0]})
    record = {"as_of": "2025-06", "ratios_modelled": [{"name": "loan_provision", "value": 0.02}]}
    return ProvisionRun(loans, {"stage": loans.groupby("stage").size().reset_index()}, record)


def test_the_store_id_goes_into_the_folder(tmp_path) -> None:
    run_id = write_run(small_run(), tmp_path / "m", lambda: "run-1")
    assert run_id == "run-1"
    assert json.loads((tmp_path / "m" / "run.json").read_text())["run_id"] == "run-1"
    assert (tmp_path / "m" / "loans.parquet").is_file()


def test_a_store_failure_leaves_no_folder(tmp_path) -> None:
    def fail() -> str:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        write_run(small_run(), tmp_path / "m", fail)
    assert list(tmp_path.iterdir()) == []

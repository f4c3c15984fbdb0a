"""The current months as scored frames: from the warning ledger or from portfolio-run folders.

Single responsibility: read what the service recorded for some as-of months and give it the
shape of ``monitoring.frames``, refusing what cannot be compared with the reference: a month
with no records, or a month whose records come from another model version than the
reference's (PSI between two models' PDs measures the models, not the book).

Which records count. A month's book is its portfolio runs (``source="portfolio"``): individual
``/score`` calls are a manager's questions about single loans, not a sample of the book. When a
loan was scored more than once for the month by the reference's version (a run repeated with
``--again``), its latest record counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from models.inputs import to_model_input
from monitoring.frames import AS_OF, LOAN_KEY
from serving.ledger import SCORED_KEY_COLUMNS, WarningLedger

SOURCE = "portfolio"


class CurrentDataError(ValueError):
    """The current months cannot be read as asked; the message names the month and why."""


def month_ends(months: Sequence[str]) -> list[date]:
    """``YYYY-MM`` months as their last days."""
    return [pd.Period(m, freq="M").end_time.date() for m in months]


def read_ledger_months(
    ledger: WarningLedger, months: Sequence[str], model_version: str, source: str = SOURCE
) -> pd.DataFrame:
    """Every loan the reference's ``model_version`` scored in ``months``, as one scored frame.

    Raises
    ------
    CurrentDataError
        For the first month with no records of ``source``, or none of ``model_version``.
    """
    frames = []
    for month, end in zip(months, month_ends(months), strict=True):
        records = ledger.read_scored(as_of=end, source=source)  # ordered by id
        if records.empty:
            raise CurrentDataError(
                f"the ledger {ledger.url} holds no {source} records for {month}: run "
                f"ews-serve score-portfolio --as-of {month} first"
            )
        ours = records[records["model_version"].astype(str) == str(model_version)]
        if ours.empty:
            versions = ", ".join(sorted(records["model_version"].astype(str).unique()))
            raise CurrentDataError(
                f"{month} was scored by model version {versions}, not version "
                f"{model_version} whose reference this run uses: monitor with that version's "
                "reference (--model-version) or score the month with the champion"
            )
        del records
        latest = ours.drop_duplicates("loan_pseudonym", keep="last")
        frames.append(_scored_frame(latest.reset_index(drop=True)))
    return pd.concat(frames, ignore_index=True)


def _scored_frame(records: pd.DataFrame) -> pd.DataFrame:
    """``ledger.read_scored`` rows as a scored frame: keys, probabilities, grade, inputs."""
    features = to_model_input(records.drop(columns=list(SCORED_KEY_COLUMNS)))
    keys = pd.DataFrame(
        {
            AS_OF: pd.to_datetime(records["as_of"]).to_numpy(),
            LOAN_KEY: records["loan_pseudonym"].to_numpy(),
            "p_s1": records["p_s1"].to_numpy(float),
            "p_s2": records["p_s2"].to_numpy(float),
            "p_s3": records["p_s3"].to_numpy(float),
            "pd_12m": records["p_s3"].to_numpy(float),
            "grade": records["grade"].astype(str).to_numpy(),
        }
    )
    return pd.concat([keys, features.reset_index(drop=True)], axis=1)


def read_run_folders(folders: Sequence[Path], model_version: str) -> pd.DataFrame:
    """Scored frames of ``ews-serve score-portfolio`` output folders (``scored_book.parquet``,
    ``model_inputs.parquet``, ``run.json``), one folder per month.

    Raises
    ------
    CurrentDataError
        If a folder lacks a file, or was scored by another model version.
    """
    frames = []
    for folder in folders:
        paths = [folder / n for n in ("scored_book.parquet", "model_inputs.parquet", "run.json")]
        absent = [p.name for p in paths if not p.is_file()]
        if absent:
            raise CurrentDataError(f"{folder} is not a portfolio run: {', '.join(absent)} missing")
        run = json.loads(paths[2].read_text(encoding="utf-8"))
        if str(run.get("model_version")) != str(model_version):
            raise CurrentDataError(
                f"{folder} was scored by model version {run.get('model_version')}, not "
                f"{model_version} whose reference this run uses"
            )
        book = pd.read_parquet(paths[0])
        inputs = pd.read_parquet(paths[1])
        keyed = book[["loan_id", "as_of", "p_s1", "p_s2", "p_s3", "pd_12m", "grade"]].merge(
            inputs, on=["loan_id", "as_of"], how="inner", validate="one_to_one"
        )
        frames.append(
            keyed.rename(columns={"loan_id": LOAN_KEY}).assign(
                grade=keyed["grade"].astype(str), **{AS_OF: pd.to_datetime(keyed["as_of"])}
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class LedgerMonthReader:
    """``read_ledger_months`` of one month, opening the ledger where it runs: what a cluster
    task of ``ews-monitor drift --cluster`` reads (the workers reach the same database)."""

    settings: Any  # serving.settings.ServingSettings
    model_version: str

    def __call__(self, month: str) -> pd.DataFrame:
        from serving.stores import open_ledger

        ledger = open_ledger(self.settings)
        try:
            return read_ledger_months(ledger, [month], self.model_version)
        finally:
            ledger.dispose()


@dataclass(frozen=True)
class FolderMonthReader:
    """``read_run_folders`` of one month's portfolio-run folder."""

    folders: dict[str, Path]
    model_version: str

    def __call__(self, month: str) -> pd.DataFrame:
        return read_run_folders([self.folders[month]], self.model_version)

"""The monitoring reference: what the champion was fitted and calibrated on, as it scores it.

Single responsibility: cut, from a training run's snapshots, the rows drift monitoring compares
every later month with, and give them what the service records for a scored loan (the three
probabilities, the PD and the grade) plus the outcomes an early read needs.

Which rows. The calibration window's rows (the last months the trees were fitted on and the
months the calibration map and the grade cut-offs were fitted on), every loan of them, not a
sample: a segment of a few hundred loans then has a reference of a few hundred loans times the
window's months. The whole fitting window would be a worse yardstick: its first year has no
year-on-year trends (the data start with it) and a younger book, so every later month would
look drifted against it on inputs the model sees differently today anyway.

The outcomes are the worst severity over the next 3, 6 and 12 months (``features.labels``),
matured for every reference row because the test window follows it: monitoring fits on them
what a 12-month PD implies for a shorter window (the early reads). Loans are numbered
(``loan_key``), never named: the reference is an MLflow artifact that reviewers read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from features.keys import KeyIndex
from features.labels import label_rows
from features.months import month_index
from features.snapshots import index_book
from models.grade_policy import GradePolicy, assign_grades

#: The artifact's file name inside the run's ``evidence/`` folder (monitoring reads it by name).
REFERENCE_FILE: Final = "monitoring_reference.parquet"
#: The shorter outcome windows kept beside the 12-month one, in months.
EARLY_WINDOWS: Final = (3, 6)


def build_reference(
    snapshots: pd.DataFrame,
    inputs: pd.DataFrame,
    rows: np.ndarray,
    proba: pd.DataFrame,
    policy: GradePolicy,
) -> pd.DataFrame:
    """Keys, scores and model inputs of the ``rows`` of ``snapshots`` (a boolean mask).

    ``proba`` holds the rows' calibrated cumulative probabilities (``p_s1`` ...), row-aligned
    with the masked rows. They must be out of fold (``calibration_out_of_fold``): the final
    trees' own scores of the borrowers they were fitted on are sharper than any score the
    service gives an unseen month, and a reference scored that way would show PD drift in the
    very first month after training. The grades follow from them by ``policy``.

    Returns ``as_of``, ``loan_id`` (dropped by ``anonymise`` before the file is written),
    ``p_s1``, ``p_s2``, ``p_s3``, ``pd_12m``, ``grade``, ``severity_12m`` (the snapshot's label)
    and every model input, one row per masked snapshot row.
    """
    keys = snapshots.loc[rows, ["as_of", "loan_id"]].reset_index(drop=True)
    x = inputs[rows].reset_index(drop=True)
    if len(proba) != len(x):
        raise ValueError(f"{len(proba)} probability rows for {len(x)} reference rows")
    proba = proba.reset_index(drop=True)
    grades = assign_grades(proba, x["dpd_now"].to_numpy(dtype=float), policy)
    scored = keys.assign(
        **{c: proba[c].to_numpy() for c in proba.columns},
        pd_12m=proba["p_s3"].to_numpy(),
        grade=np.asarray(grades.astype(str)),
        severity_12m=snapshots.loc[rows, "severity"].to_numpy(),
    )
    return pd.concat([scored, x], axis=1)


def with_early_outcomes(
    reference: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    windows: Sequence[int] = EARLY_WINDOWS,
) -> pd.DataFrame:
    """``reference`` with ``severity_{h}m`` for each shorter window ``h``: the worst severity
    of the loan's statements due in ``(as_of, as_of + h]``, by the labels' own code
    (``features.labels.label_rows``) on the snapshot builder's loan index, so a loan scored in
    its origination month (no statement yet) has its outcome too. NaN where the window is not
    inside the data, which the split rules out for the reference months."""
    book = index_book(tables)
    codes = KeyIndex(book.loans["loan_id"]).positions(reference["loan_id"].astype(str))
    months = month_index(reference["as_of"].to_numpy())
    end = int(book.statements.month.max())
    out = reference
    for h in windows:
        severity, matured = label_rows(book.statements, codes, months, h, end)
        out = out.assign(**{f"severity_{h}m": np.where(matured, severity, np.nan)})
    return out


def anonymise(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference as written: ``loan_id`` replaced by a number per loan (``loan_key``)."""
    if "loan_id" not in reference:
        return reference
    key = pd.factorize(reference["loan_id"].astype(str))[0]
    return reference.drop(columns=["loan_id"]).assign(loan_key=key)

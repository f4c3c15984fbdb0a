"""The scoring core: model inputs in, probabilities, grades, stage hints and reasons out.

Training's evaluation, the online service and the monthly portfolio run all score through
:func:`score_inputs`, so one loan gets the same numbers whichever way it is scored. The steps:
the LightGBM input matrix is made once (``model_matrix``) and serves both the calibrated
cumulative probabilities and the TreeSHAP reasons; :func:`probability_frame` names them
``p_s1..p_s3``; the version's grade policy gives the grade (``assign_grades``, with the DPD
backstops); ``models.staging`` gives the IFRS 9 stage hint.

A model trained on fewer than three outcome thresholds (a binary default model, say) still
gives all three columns, kept monotone: a missing lower threshold takes the next higher one's
probability (P(S>=1) is at least P(S>=3)), a missing higher one is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.grade_policy import PROBABILITY_COLUMNS, GradePolicy, assign_grades
from models.reasons import Reason, explain
from models.staging import sicr_threshold, stage_hints


class InfiniteInputError(ValueError):
    """Inputs that make a feature infinite (absurd amounts); the message names the features."""


@dataclass(frozen=True)
class Scores:
    """Everything the model says about each input row, row-aligned."""

    proba: pd.DataFrame  # p_s1, p_s2, p_s3
    grades: pd.Series
    dpd: np.ndarray
    stages: np.ndarray
    stage_basis: list[str]  # English
    stage_basis_zh: list[str]
    reasons: list[list[Reason]]

    def __len__(self) -> int:
        return len(self.proba)


def probability_frame(classes: np.ndarray, cumulative: np.ndarray) -> pd.DataFrame:
    """``p_s1..p_s3`` from a model's cumulative probabilities P(S>=k), one column per class
    above the lowest (``classes``: the model's ``classes_``); see the module docstring for
    thresholds the model lacks."""
    known = {f"p_s{int(k)}": cumulative[:, j] for j, k in enumerate(np.asarray(classes)[1:])}
    columns: dict[str, np.ndarray] = {}
    above = np.zeros(cumulative.shape[0])
    for name in reversed(PROBABILITY_COLUMNS):
        above = np.asarray(known.get(name, above), dtype=float)
        columns[name] = above
    return pd.DataFrame({name: columns[name] for name in PROBABILITY_COLUMNS})


def score_inputs(
    model: Any, inputs: pd.DataFrame, policy: GradePolicy, *, top_reasons: int = 3
) -> Scores:
    """Probabilities, grade, stage hint and ``top_reasons`` reasons of every row of ``inputs``
    (the model's feature columns, ``dpd_now`` among them). ``top_reasons=0`` skips the
    explanation (training's evaluation of a whole test window needs no reasons)."""
    if inputs.empty:
        return _empty()
    matrix = model.model_matrix(inputs)  # once, for the probabilities and the reasons
    infinite = np.isinf(matrix).any(axis=0)  # category codes are never infinite
    if infinite.any():
        names = ", ".join(np.asarray(inputs.columns)[infinite][:10])
        raise InfiniteInputError(f"the amounts sent make feature(s) {names} infinite; check them")
    proba = probability_frame(model.classes_, model.cumulative_from_matrix(matrix))
    dpd = inputs["dpd_now"].to_numpy(dtype=float)
    grades = assign_grades(proba, dpd, policy)
    stages, basis_en, basis_zh = stage_hints(proba["p_s3"].to_numpy(), dpd, sicr_threshold(policy))
    reasons = (
        explain(model.estimator, inputs, top=top_reasons, matrix=matrix)
        if top_reasons
        else [[] for _ in range(len(inputs))]
    )
    return Scores(proba, grades, dpd, stages, basis_en, basis_zh, reasons)


def _empty() -> Scores:
    proba = pd.DataFrame({c: np.zeros(0) for c in PROBABILITY_COLUMNS})
    grades = pd.Series(pd.Categorical([]), name="grade")
    return Scores(proba, grades, np.zeros(0), np.zeros(0, dtype=np.int64), [], [], [])

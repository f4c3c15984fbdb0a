"""Reason codes: why a loan's 12-month PD is high, in words a post-loan manager uses.

LightGBM's own per-feature contributions (``pred_contrib``: exact tree SHAP values on the logit
of the P(S>=3) model) say how much each feature moved this loan's score away from the book's
average. The reasons are the largest contributions that *raise* risk, each turned into a
sentence by the wording catalogue (``models.wording``), in Chinese (Huzhou's post-loan managers)
and in English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.graded import GradedWarningClassifier
from models.wording import describe


@dataclass(frozen=True)
class Reason:
    """One risk-raising reason for one loan."""

    feature: str
    value: Any
    contribution: float  # on the logit of P(S>=3)
    text_en: str
    text_zh: str


def explain(
    model: GradedWarningClassifier,
    X: pd.DataFrame,
    top: int = 3,
    *,
    matrix: np.ndarray | None = None,
) -> list[list[Reason]]:
    """The ``top`` risk-raising reasons of each row's 12-month PD (highest threshold model).

    ``matrix`` is ``model.model_matrix(X)`` when the caller has already made it (the scoring
    path makes it once for the probabilities and the reasons).
    """
    booster = model.estimators_[-1].booster_
    if matrix is None:
        matrix = model.model_matrix(X)
    contributions = np.asarray(booster.predict(matrix, pred_contrib=True))[:, :-1]
    names = list(X.columns)
    reasons: list[list[Reason]] = []
    for row, contrib in enumerate(contributions):
        order = np.argsort(-contrib, kind="stable")
        picked = []
        for j in order[:top]:
            if contrib[j] <= 0:
                break
            value = X.iat[row, j]
            en, zh = describe(names[j], value)
            picked.append(Reason(names[j], value, float(contrib[j]), en, zh))
        reasons.append(picked)
    return reasons

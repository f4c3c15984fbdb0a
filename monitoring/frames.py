"""The scored frame: the one table shape every monitoring figure is computed from.

Single responsibility: name the columns that the reference (what the champion was trained and
calibrated on) and the current months (read from the warning ledger or a portfolio run) share,
and cut such a frame into the segments monitoring reports on. Drift, performance, the
Evidently reports and the dashboard all take this shape, so a figure computed for the book and
for one segment is the same code on a smaller frame.

A scored frame has one row per (loan, as-of month):

* ``as_of``: the month end the loan was scored for (``datetime64[ns]``);
* ``loan_key``: who the loan is, as the source knows it (the ledger's pseudonym, or a row
  number in the reference); used only to join outcomes, never as a figure;
* ``p_s1``, ``p_s2``, ``p_s3``: the model's cumulative probabilities of severity >= 1, 2, 3 in
  the next 12 months; ``pd_12m`` equals ``p_s3``;
* ``grade``: the warning grade the policy gave;
* every model input the model read (the segment labels ``area``, ``borrower_type`` and
  ``industry`` are model inputs, so every scored frame carries them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from models.grade_policy import GRADES

AS_OF: Final = "as_of"
LOAN_KEY: Final = "loan_key"
PROBABILITY_COLUMNS: Final = ("p_s1", "p_s2", "p_s3")
PD: Final = "pd_12m"
GRADE: Final = "grade"
#: Columns of a scored frame that are not model inputs.
SCORE_COLUMNS: Final = (AS_OF, LOAN_KEY, *PROBABILITY_COLUMNS, PD, GRADE)
#: The segment dimensions monitoring reports on, one label column each (all model inputs).
SEGMENT_DIMENSIONS: Final = ("area", "borrower_type", "industry")
#: A crossed dimension: a shock hits an industry in one area, which neither dimension alone
#: isolates (the area's other industries and the industry's other areas dilute it).
CROSSED: Final = ("area", "industry")
BOOK: Final = "book"
#: Grades in severity order, as the grade-mix figures show them.
GRADE_ORDER: Final = GRADES


@dataclass(frozen=True)
class Segment:
    """A part of the book: ``dimension`` is ``"book"``, one segment dimension (``"area"``) or
    the crossed one (``"area x industry"``); ``value`` its label (``"deqing"``,
    ``"deqing x manufacturing"``; ``"all"`` for the book)."""

    dimension: str
    value: str

    @property
    def name(self) -> str:
        """``book`` or ``dimension=value``: how reports, JSON and the dashboard name it."""
        return BOOK if self.dimension == BOOK else f"{self.dimension}={self.value}"


WHOLE_BOOK: Final = Segment(BOOK, "all")
CROSSED_NAME: Final = " x ".join(CROSSED)


def segment_labels(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The label of every row in each dimension (text, missing as ``"(missing)"``), crossed
    dimension included."""
    labels = {
        d: frame[d].astype(object).where(frame[d].notna(), "(missing)").astype(str)
        for d in SEGMENT_DIMENSIONS
    }
    labels[CROSSED_NAME] = labels[CROSSED[0]] + " x " + labels[CROSSED[1]]
    return labels


def iter_segments(
    frame: pd.DataFrame, dimensions: Sequence[str] | None = None
) -> Iterator[tuple[Segment, pd.Series]]:
    """The whole book, then every segment of ``frame`` with its boolean row mask (sorted by
    dimension order, then label). ``dimensions`` defaults to all, crossed included."""
    labels = segment_labels(frame)
    yield WHOLE_BOOK, pd.Series(True, index=frame.index)
    for dimension in dimensions or (*SEGMENT_DIMENSIONS, CROSSED_NAME):
        # Integer codes compared, not text: a monthly series makes thousands of these masks.
        codes, values = pd.factorize(labels[dimension])
        for code in np.argsort(np.asarray(values, dtype=object)):
            yield Segment(dimension, str(values[code])), pd.Series(codes == code, index=frame.index)


def missing_columns(frame: pd.DataFrame, wanted: Sequence[str]) -> list[str]:
    """Columns of ``wanted`` that ``frame`` lacks, in order (for errors that name them)."""
    return [c for c in wanted if c not in frame.columns]

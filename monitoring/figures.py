"""Monitoring results as one tidy table of figures: what the dashboard plots and MLflow logs.

Single responsibility: flatten a drift result (and, from ``monitoring.performance``, the
outcome figures) into rows of ``as_of``, ``figure``, ``segment``, ``label``, ``value``, ``n``,
the one shape the Evidently workspace (``monitoring.dashboard``) and the MLflow run
(``monitoring.tracking``) take. Figure names are the dashboard's panel names.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from monitoring.drift import BREACH, TOO_SMALL, DriftResult
from monitoring.frames import AS_OF, BOOK

FIGURE_COLUMNS: Final = (AS_OF, "figure", "segment", "label", "value", "n")
#: How many segments ``worst_segment_pd_psi`` keeps per month.
WORST_SEGMENTS: Final = 3


def drift_figures(result: DriftResult) -> pd.DataFrame:
    """``drifted_input_share``, ``pd_psi``, ``grade_share``, ``action_share``,
    ``worst_segment_pd_psi`` and ``segments_in_breach`` for every month."""
    seg = result.segments
    book = seg[seg["segment"] == BOOK]
    rows: list[dict[str, object]] = []
    for _, r in book.iterrows():
        n = int(r["n_current"])
        rows += [
            _row(r[AS_OF], "drifted_input_share", BOOK, "", r["drifted_input_share"], n),
            _row(r[AS_OF], "pd_psi", BOOK, "", r["pd_psi"], n),
            _row(r[AS_OF], "mean_pd", BOOK, "current", r["mean_pd_current"], n),
            _row(r[AS_OF], "mean_pd", BOOK, "reference", r["mean_pd_reference"], r["n_reference"]),
            _row(r[AS_OF], "action_share", BOOK, "current", r["action_share_current"], n),
        ]
    mix = result.grade_mix[result.grade_mix["segment"] == BOOK]
    rows += [
        _row(r[AS_OF], "grade_share", BOOK, r["grade"], r["share_current"], r["n_current"])
        for _, r in mix.iterrows()
    ]
    judged = seg[(seg["segment"] != BOOK) & (seg["pd_band"] != TOO_SMALL)]
    for as_of, month in judged.groupby(AS_OF):
        worst = month.sort_values("pd_psi", ascending=False).head(WORST_SEGMENTS)
        rows += [
            _row(
                as_of,
                "worst_segment_pd_psi",
                r["segment"],
                r["segment"],
                r["pd_psi"],
                r["n_current"],
            )
            for _, r in worst.iterrows()
        ]
    for as_of, month in seg.groupby(AS_OF):
        rows.append(
            _row(
                as_of,
                "segments_in_breach",
                BOOK,
                "",
                float((month["status"] == BREACH).sum()),
                len(month),
            )
        )
    return pd.DataFrame(rows, columns=list(FIGURE_COLUMNS))


def _row(as_of: object, figure: str, segment: str, label: str, value: object, n: object) -> dict:
    return {
        AS_OF: pd.Timestamp(as_of),
        "figure": figure,
        "segment": segment,
        "label": str(label),
        "value": float(value),  # type: ignore[arg-type]
        "n": int(n),  # type: ignore[call-overload]
    }

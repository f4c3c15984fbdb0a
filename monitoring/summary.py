"""The machine-readable summary of a monitoring run (``summary.json``), built without IO.

Single responsibility: say in one JSON document what a scheduler and an auditor need from a
drift run: which model and reference, which rule, the book's figures month by month, and every
segment-month in breach or on watch with its evidence (PSI, noise bound, sample sizes). The
exit code of ``ews-monitor drift`` is derived from ``breaches`` here and nowhere else.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from monitoring.drift import BREACH, WATCH, DriftResult
from monitoring.frames import AS_OF, BOOK
from monitoring.reference import Reference

#: Columns of a segment-month kept in the summary's breach and watch lists.
EVIDENCE = (
    *("segment", "n_current", "n_reference", "pd_psi", "pd_noise", "pd_band"),
    *("grade_psi", "grade_band", "mean_pd_reference", "mean_pd_current"),
    *("action_share_reference", "action_share_current", "drifted_input_share", "top_inputs"),
    "reason",
)


def drift_summary(
    result: DriftResult, reference: Reference, months: list[str], source: str
) -> dict[str, Any]:
    """The summary document of one drift run (JSON-safe: NaN becomes null)."""
    seg = result.segments
    book = seg[seg["segment"] == BOOK]
    judged = seg[seg["segment"] != BOOK]
    return _clean(
        {
            "kind": "drift",
            "model": {"name": reference.model_name, "version": reference.model_version},
            "reference": {
                "run_id": reference.run_id,
                "months": reference.months,
                "rows": len(reference.frame),
            },
            "current": {"source": source, "months": months},
            "rule": result.rule_record(),
            "segments_per_month": int(seg.groupby(AS_OF).size().max()),
            "segment_months_judged": int((judged["pd_band"] != "too small").sum()),
            "breach_count": int((seg["status"] == BREACH).sum()),
            "watch_count": int((seg["status"] == WATCH).sum()),
            "book": [
                {
                    "as_of": _month(r[AS_OF]),
                    "n_current": int(r["n_current"]),
                    "pd_psi": r["pd_psi"],
                    "pd_band": r["pd_band"],
                    "grade_psi": r["grade_psi"],
                    "grade_band": r["grade_band"],
                    "drifted_input_share": r["drifted_input_share"],
                    "mean_pd_current": r["mean_pd_current"],
                    "action_share_current": r["action_share_current"],
                    "status": r["status"],
                    "top_inputs": r["top_inputs"],
                }
                for _, r in book.iterrows()
            ],
            "breaches": _events(seg[seg["status"] == BREACH]),
            "watch": _events(seg[seg["status"] == WATCH]),
        }
    )


def _events(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"as_of": _month(r[AS_OF]), **{k: r[k] for k in EVIDENCE}} for _, r in rows.iterrows()]


def _month(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def _clean(value: Any) -> Any:
    """Numbers as plain floats and ints, NaN as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

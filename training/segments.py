"""Metrics per segment of the test book (borrower type, area, inside/outside the pilot, bank).

Widening Red Financial Credit beyond the pilot's areas and borrower types is meant to be a
measured decision, so quality is reported for every segment value, not only for the whole book.
A thin segment (few rows, or no defaults at all) cannot be judged: it gets NaN metrics and a note
saying why, so the table still shows that the segment exists and how little evidence it has,
instead of a crash or a silently missing row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields

import numpy as np
import pandas as pd

from features.vocab import AREAS, PILOT_AREAS
from training.metrics import BinaryMetrics, compute_binary_metrics

#: Segments (docs/domain.md, product); ``pilot`` is derived from ``area`` by ``pilot_segment``.
DEFAULT_SEGMENTS = ("borrower_type", "area", "pilot", "bank")
METRIC_COLUMNS = tuple(f.name for f in fields(BinaryMetrics))
SEGMENT_COLUMNS = ("segment", "value", *METRIC_COLUMNS, "note")
_COUNTS = ("n", "events")


def pilot_segment(area: pd.Series) -> pd.Series:
    """``"inside"`` for the six Huzhou pilot areas, ``"outside"`` for the widened scope.

    Unknown or missing areas raise rather than fall into "outside": a misspelt area would
    otherwise be counted as the widened scope and bias exactly the comparison this segment is for.
    """
    values = area.astype(object)
    unknown = sorted({str(v) for v in values[~values.isin(AREAS)]})
    if unknown:
        raise ValueError(f"unknown area values (not in features.vocab.AREAS): {unknown}")
    inside = values.isin(PILOT_AREAS).to_numpy()
    return pd.Series(np.where(inside, "inside", "outside"), index=area.index, name="pilot")


def _validated(
    frame: pd.DataFrame, outcome: str, probability: str, segments: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome as 0/1 ints and probability as floats, or a ValueError naming the problem."""
    if isinstance(segments, str):
        raise ValueError("segments must be a sequence of column names, not a single string")
    missing = [c for c in (outcome, probability, *segments) if c not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the frame: {missing}")
    y = frame[outcome]
    if y.isna().any() or not y.isin([0, 1]).all():
        raise ValueError(f"outcome column {outcome!r} must hold only 0/1 (or booleans)")
    p = pd.to_numeric(frame[probability], errors="coerce").to_numpy(dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"probability column {probability!r} must lie in [0, 1] with no gaps")
    return y.to_numpy().astype(int), p


def _unjudged_note(n: int, events: int, min_rows: int) -> str:
    if n < min_rows:
        return f"fewer than {min_rows} rows ({n}): too few to measure"
    if events in (0, n):
        return "a single outcome class (" + ("no events" if events == 0 else "all events") + ")"
    return ""


def segment_metrics(
    frame: pd.DataFrame,
    outcome: str,
    probability: str,
    segments: Sequence[str],
    min_rows: int = 50,
    bins: int = 10,
) -> pd.DataFrame:
    """One row per (segment, value) with the metrics of ``probability`` against ``outcome``.

    Values are listed in category order for categorical columns (so a declared area with no
    test rows appears with n = 0) and sorted otherwise; a missing value is its own ``"<missing>"``
    row. Rows that cannot be judged carry NaN metrics and a ``note``; judged rows have note "".
    """
    if min_rows < 1:
        raise ValueError(f"min_rows must be at least 1, got {min_rows}")
    y, p = _validated(frame, outcome, probability, segments)
    rows: list[dict[str, object]] = []
    for segment in segments:
        keys = frame[segment].reset_index(drop=True)
        groups = pd.Series(np.arange(len(frame))).groupby(keys, observed=False, dropna=False)
        for value, positions in groups:
            index = positions.to_numpy()
            n, events = int(index.size), int(y[index].sum())
            note = _unjudged_note(n, events, min_rows)
            if note:
                metrics: dict[str, object] = dict.fromkeys(METRIC_COLUMNS, np.nan)
                metrics.update(n=n, events=events)
            else:
                metrics = asdict(compute_binary_metrics(y[index], p[index], bins))
            label = "<missing>" if pd.isna(value) else str(value)
            rows.append({"segment": segment, "value": label, **metrics, "note": note})
    table = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
    return table.astype({c: int for c in _COUNTS})


def metrics_by_segment(table: pd.DataFrame) -> dict[str, BinaryMetrics]:
    """``{"segment=value": BinaryMetrics}`` for the promotion gates, judged rows only.

    Unjudged rows are left out rather than passed with NaN: a NaN AUC would fail every floor
    comparison and block promotion for a segment that simply has no evidence.
    """
    missing = [c for c in SEGMENT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"not a segment_metrics table; columns missing: {missing}")
    judged = table[table[list(METRIC_COLUMNS)].notna().all(axis=1)]
    return {f"{row['segment']}={row['value']}": _metrics_of(row) for _, row in judged.iterrows()}


def _metrics_of(row: pd.Series) -> BinaryMetrics:
    rates = {c: float(row[c]) for c in METRIC_COLUMNS if c not in _COUNTS}
    return BinaryMetrics(n=int(row["n"]), events=int(row["events"]), **rates)

"""Population stability index (PSI) of one variable between a reference and a current sample.

``PSI = sum_b (cur_b - ref_b) * ln(cur_b / ref_b)`` over bins ``b``, with ``ref_b`` and
``cur_b`` the shares of each sample in the bin. Applied to a score it is the PSI, applied to
one model input the characteristic stability index (CSI); the arithmetic is the same. Rules of
thumb read it as stable below 0.10, worth watching 0.10-0.25 and shifted above 0.25.

The bins are fixed on the reference alone, so a current sample is always measured against the
same yardstick and two current months are comparable:

* numbers: edges at the reference's quantiles (``bins`` equal-count bins; tied quantiles
  merge, so a variable that is mostly zero gets fewer, wider bins), intervals closed on the
  right, the outer ones open to minus and plus infinity so every current value has a bin;
* categories (``category``, ``object``, ``bool`` or ``string`` columns, or ``kind="category"``):
  one bin per level seen in the reference, plus a bin ``(unseen level)`` for current values the
  reference never had;
* missing values (``NaN``, ``None``, ``pd.NA``) always have a bin of their own, ``(missing)``,
  because a source that stops reporting is drift too;
* an empty bin's share is raised to ``floor`` before the logarithm, so one empty bin gives a
  large but finite term instead of infinity.

The reference's PSI against itself is 0, and identical samples give 0 exactly. Sampling noise
alone gives a positive PSI of about ``(bins - 1) * (1/n_ref + 1/n_cur)`` for samples of the same
law: keep both samples well above a few hundred rows per bin when reading 0.10 as a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from monitoring.bins import DEFAULT_FLOOR, MISSING, UNSEEN, fit_column_bins, is_categorical

__all__ = [
    "DEFAULT_FLOOR",
    "MISSING",
    "UNSEEN",
    "StabilityIndex",
    "is_categorical",
    "population_stability",
    "stability_by_column",
]


@dataclass(frozen=True)
class StabilityIndex:
    """The PSI and the bin table it sums.

    ``table`` has one row per bin, in bin order, with columns ``bin`` (the interval, level or
    ``(missing)`` / ``(unseen level)``), ``reference_count``, ``current_count``,
    ``reference_share``, ``current_share`` (floored shares, as used in the sum) and
    ``contribution`` (the bin's term; they sum to ``value``).
    """

    value: float
    table: pd.DataFrame


def population_stability(
    reference: pd.Series | np.ndarray | list,
    current: pd.Series | np.ndarray | list,
    *,
    bins: int = 10,
    kind: Literal["auto", "number", "category"] = "auto",
    floor: float = DEFAULT_FLOOR,
) -> StabilityIndex:
    """PSI of ``current`` against ``reference``, with bins fixed on ``reference``.

    Parameters
    ----------
    reference, current : array-like
        The two samples of one variable (missing values allowed in either).
    bins : int
        Equal-count bins of a numeric reference (fewer if its quantiles tie).
    kind : {"auto", "number", "category"}
        ``auto`` treats categorical, boolean, object and string data as categories and
        everything else as numbers.
    floor : float
        Share given to an empty bin before the logarithm (0 < floor < 1).

    Raises
    ------
    ValueError
        If a sample is empty, ``bins`` < 2, ``floor`` is outside (0, 1), ``kind`` is unknown,
        or numeric data hold a value that is not a number.
    """
    reference, current = pd.Series(reference), pd.Series(current)
    if reference.empty or current.empty:
        which = "reference" if reference.empty else "current"
        raise ValueError(f"PSI needs a non-empty {which} sample")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    if not 0.0 < floor < 1.0:
        raise ValueError(f"floor must lie in (0, 1), got {floor}")
    if kind not in ("auto", "number", "category"):
        raise ValueError(f"kind must be 'auto', 'number' or 'category', got {kind!r}")
    column = fit_column_bins(reference, bins, None if kind == "auto" else kind == "category")
    labels = column.labels
    ref_counts, cur_counts = column.counts(reference), column.counts(current)
    ref_share = np.maximum(ref_counts / ref_counts.sum(), floor)
    cur_share = np.maximum(cur_counts / cur_counts.sum(), floor)
    contribution = (cur_share - ref_share) * np.log(cur_share / ref_share)
    table = pd.DataFrame(
        {
            "bin": labels,
            "reference_count": ref_counts.astype(np.int64),
            "current_count": cur_counts.astype(np.int64),
            "reference_share": ref_share,
            "current_share": cur_share,
            "contribution": contribution,
        }
    )
    return StabilityIndex(value=float(contribution.sum()), table=table)


def stability_by_column(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    bins: int = 10,
    floor: float = DEFAULT_FLOOR,
) -> pd.Series:
    """PSI of each of ``columns`` (default: those of ``reference``) between two frames, by name.

    Raises
    ------
    ValueError
        If a requested column is missing from either frame.
    """
    columns = list(reference.columns) if columns is None else list(columns)
    absent = [c for c in columns if c not in reference.columns or c not in current.columns]
    if absent:
        raise ValueError(f"columns missing from a sample: {', '.join(absent)}")
    return pd.Series(
        {
            c: population_stability(reference[c], current[c], bins=bins, floor=floor).value
            for c in columns
        },
        name="psi",
        dtype=np.float64,
    )

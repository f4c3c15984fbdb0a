"""Reference bins fitted once and applied to any number of current samples, in bulk.

Single responsibility: turn every monitored column of a frame into bin codes with the bins of
``monitoring.psi`` (reference quantiles for numbers, reference levels plus an unseen bin for
categories, a missing bin always), so that the PSI of one column in one segment of one month
is a ``bincount`` of codes, not a fresh quantile computation. A monthly series over tens of
segments and seventy inputs is tens of thousands of PSIs; fitting the bins once on the
reference is both what the PSI definition asks (bins fixed on the reference) and what makes the
series fast. ``tests/monitoring/test_bins.py`` checks the bulk PSI equals
``monitoring.psi.population_stability`` column by column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = "(missing)"
UNSEEN = "(unseen level)"
#: Share given to an empty bin before the logarithm (the usual 0.0001 of credit-risk practice).
DEFAULT_FLOOR = 1e-4


def is_categorical(values: pd.Series) -> bool:
    """Whether a column is binned by level: categorical, boolean, object or string data."""
    dtype = values.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


@dataclass(frozen=True)
class ColumnBins:
    """The bins of one column: numeric ``edges`` (interior quantiles) or category ``levels``
    (the reference's own values); codes run ``0..n_bins-1`` with the missing bin last and,
    for categories, the unseen bin just before it."""

    name: str
    edges: np.ndarray | None
    levels: tuple[object, ...] | None

    @property
    def n_bins(self) -> int:
        if self.edges is not None:
            return self.edges.size + 2  # intervals, then missing
        assert self.levels is not None
        return len(self.levels) + 2  # levels, unseen, missing

    @property
    def labels(self) -> list[str]:
        """Each bin's name, in code order: intervals closed on the right (the outer ones open
        to minus and plus infinity) or levels, then ``(unseen level)`` and ``(missing)``."""
        if self.edges is None:
            assert self.levels is not None
            return [*map(str, self.levels), UNSEEN, MISSING]
        bounds = np.r_[-np.inf, self.edges, np.inf]
        names = [f"({lo:.6g}, {hi:.6g}]" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        names[-1] = names[-1][:-1] + ")"
        return [*names, MISSING]

    def encode(self, values: pd.Series) -> np.ndarray:
        """The bin code of every value (int64)."""
        missing = values.isna().to_numpy()
        if self.edges is not None:
            x = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
            codes = np.searchsorted(self.edges, np.where(missing, 0.0, x), side="left")
        else:
            assert self.levels is not None
            index = pd.Index(self.levels, dtype=object)
            codes = index.get_indexer(values.astype(object).where(~missing, None).to_numpy())
            codes = np.where(codes < 0, len(self.levels), codes)
        return np.where(missing, self.n_bins - 1, codes).astype(np.int64)

    def counts(self, values: pd.Series) -> np.ndarray:
        """How many values fall in each bin, in code order."""
        return np.bincount(self.encode(values), minlength=self.n_bins)


def fit_column_bins(
    reference: pd.Series, bins: int = 10, as_category: bool | None = None
) -> ColumnBins:
    """The bins of one reference column: ``bins`` equal-count bins on its quantiles (tied
    quantiles merge) or one bin per level it holds (``as_category``, default: by its dtype,
    ``is_categorical``; a categorical's declared order, seen levels only)."""
    name = str(reference.name)
    if as_category is None:
        as_category = is_categorical(reference)
    if as_category:
        present = reference.dropna().astype(object)
        levels = list(pd.unique(present))
        if isinstance(reference.dtype, pd.CategoricalDtype):  # declared order, seen levels
            seen = set(levels)
            levels = [v for v in reference.cat.categories if v in seen]
        return ColumnBins(name, None, tuple(levels))
    x = pd.to_numeric(reference, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[~np.isnan(x)]
    if x.size:
        edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, bins + 1))[1:-1])
    else:
        edges = np.empty(0)
    return ColumnBins(name, edges, None)


@dataclass(frozen=True)
class ReferenceBins:
    """Bins of many columns fitted on one reference; ``encode`` gives a code matrix."""

    columns: tuple[ColumnBins, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def offsets(self) -> np.ndarray:
        """Where each column's bins start in the flattened bin axis."""
        return np.r_[0, np.cumsum([c.n_bins for c in self.columns])[:-1]].astype(np.int64)

    @property
    def total_bins(self) -> int:
        return int(sum(c.n_bins for c in self.columns))

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes shifted by each column's offset: one ``(rows, columns)`` int64 matrix whose
        ``bincount`` over a row subset counts every column's bins at once."""
        missing = [c.name for c in self.columns if c.name not in frame.columns]
        if missing:
            raise ValueError(f"columns missing from the sample: {', '.join(missing)}")
        if not self.columns:
            return np.empty((len(frame), 0), dtype=np.int64)
        codes = np.column_stack([c.encode(frame[c.name]) for c in self.columns])
        return codes + self.offsets

    def counts(self, codes: np.ndarray) -> np.ndarray:
        """Bin counts of the rows of ``codes``, flattened over columns (``total_bins``)."""
        return np.bincount(codes.ravel(), minlength=self.total_bins)


def fit_reference_bins(
    reference: pd.DataFrame, columns: Sequence[str], bins: int = 10
) -> ReferenceBins:
    """Fit the bins of every column of ``columns`` on ``reference``."""
    absent = [c for c in columns if c not in reference.columns]
    if absent:
        raise ValueError(f"columns missing from the reference: {', '.join(absent)}")
    return ReferenceBins(tuple(fit_column_bins(reference[c], bins) for c in columns))


def psi_from_counts(
    bins: ReferenceBins,
    reference_counts: np.ndarray,
    current_counts: np.ndarray,
    floor: float = DEFAULT_FLOOR,
) -> tuple[np.ndarray, np.ndarray]:
    """PSI of every column, and each column's number of bins the reference fills.

    The same sum as ``monitoring.psi.population_stability``: shares floored at ``floor``
    before ``(cur - ref) * ln(cur / ref)``.
    """
    sizes = np.array([c.n_bins for c in bins.columns], dtype=np.int64)
    column = np.repeat(np.arange(sizes.size), sizes)
    ref_total = np.bincount(column, weights=reference_counts, minlength=sizes.size)
    cur_total = np.bincount(column, weights=current_counts, minlength=sizes.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref_share = np.maximum(reference_counts / ref_total[column], floor)
        cur_share = np.maximum(current_counts / cur_total[column], floor)
    terms = (cur_share - ref_share) * np.log(cur_share / ref_share)
    psi = np.bincount(column, weights=terms, minlength=sizes.size)
    filled = np.bincount(column, weights=(reference_counts > 0), minlength=sizes.size)
    empty = (ref_total == 0) | (cur_total == 0)
    psi[empty] = np.nan
    return psi, filled.astype(np.int64)

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

from monitoring.psi import DEFAULT_FLOOR, is_categorical


@dataclass(frozen=True)
class ColumnBins:
    """The bins of one column: numeric ``edges`` (interior quantiles) or category ``levels``;
    codes run ``0..n_bins-1`` with the missing bin last and, for categories, the unseen bin
    just before it."""

    name: str
    edges: np.ndarray | None
    levels: tuple[str, ...] | None

    @property
    def n_bins(self) -> int:
        if self.edges is not None:
            return self.edges.size + 2  # intervals, then missing
        assert self.levels is not None
        return len(self.levels) + 2  # levels, unseen, missing

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


def fit_column_bins(reference: pd.Series, bins: int = 10) -> ColumnBins:
    """The bins ``monitoring.psi.population_stability`` would use for this reference."""
    name = str(reference.name)
    if is_categorical(reference):
        present = reference.dropna().astype(object)
        levels = list(pd.unique(present))
        if isinstance(reference.dtype, pd.CategoricalDtype):  # declared order, seen levels
            seen = set(levels)
            levels = [v for v in reference.cat.categories if v in seen]
        return ColumnBins(name, None, tuple(str(v) for v in levels))
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

"""Outcome ("performance") monitoring: the model's probabilities against what happened.

Single responsibility: pure functions over a scored frame joined to realized outcomes
(``monitoring.outcomes.join_outcomes``: ``pd_12m``, ``as_of``, ``loan_key``, the segment
labels, and ``defaulted_{h}m`` / ``matured_{h}m`` per window). Nothing here reads a table.

The second clock of docs/domain.md (monitoring): 12-month outcomes are complete only 12 months
after ``as_of``, so the figures come in three kinds, each saying what it rests on:

* **observed against expected** on matured months (``observed_vs_expected``,
  ``auc_and_calibration_by_month``): only rows whose whole window lies in the data
  (``matured_{h}m``), never the observed part of a running window, which would read recent
  months as safer than they are;
* **early reads** on 3- and 6-month outcomes (``early_reads``), against what the PDs imply for
  that window (``monitoring.term_structure``, fitted on the champion's development months);
* **label-free estimates** for every month (``estimated_performance``): the default rate and
  AUC that calibrated PDs imply, in the spirit of NannyML's CBPE, next to the realized ones
  once they mature.

Every figure rests on the rows that are predictions (``monitoring.outcomes.performing``): a
loan already 90+ DPD at ``as_of`` has defaulted before it is scored, and training measures the
PDs without it too.

Statistical choices (every table says which rows it rests on):

* **Test of O against E.** Under the null "the PDs are calibrated", the observed default count
  O of a group has mean E = sum of the probabilities and null variance V (below).
  ``z = (O - E) / sqrt(V)`` is reported as the standardized excess (how many null standard
  deviations O lies above E). The p-values are exact Poisson tails on the effective counts
  O / phi and E / phi, phi = max(1, V / E) (quasi-Poisson; phi = 1 in a one-month cohort):
  ``p_worse`` = P(X >= O), the one-sided "worse than expected" value, and ``p_two_sided`` =
  twice the smaller tail. Exact rather than the normal tail of z because defaults are a
  right-skewed count and thin segments expect few: with E = 2 and O = 5 the normal tail says
  p = 0.016 one-sided, the Poisson 0.053, and a crossed dimension of 63 cells monitored monthly
  would raise false alarms on the normal one. The Poisson is the tail the O/E interval of
  ``training.metrics.oe_interval`` (Garwood) inverts, so the verdict and the interval never
  disagree: verdict "above expectation" when ``p_two_sided < level`` (``LEVEL`` = 0.05, the
  level of the 95% intervals shown) and O > E, i.e. exactly when ``oe_low > 1``; "below
  expectation" in the mirror case (``oe_high < 1``); otherwise "in line with expectation".
  Its variance E is at least the Bernoulli sum's, so the test is slightly conservative when
  PDs are large. Groups with E < ``FEW_EXPECTED`` carry a note: they can hardly be judged.
* **Independence and clustering.** Within one as-of month each loan appears once, so O is a sum
  of independent Bernoulli variables and V = sum p(1 - p) exactly. A group pooled over several
  months holds the same loan many times with overlapping windows (one default is counted in up
  to 12 consecutive rows), so V is computed clustered by loan: the rows of a loan default
  together when one uniform falls below their probabilities (the most dependence their
  probabilities allow; ``training.metrics.design_effect`` uses the same null), which gives per
  loan Var = sum_r p_(r) (2 (m - r) + 1) - (sum p)^2 over its m rows sorted ascending, and
  reduces to p(1 - p) for a single row. This errs towards not rejecting, by a bounded amount.
  On the simulated 20,000-borrower book (seed 20261127) the empirical cluster-robust design
  effect (residuals y - p summed per loan, squared, over sum p(1 - p)) was 7.9 against 12.0
  for this null with a crude PD (default rate by DPD bucket and area) pooled over all 24
  matured months, and 9.5 against 8.9 with the month's default rate as PD (which leaves all
  differences between loans in the residuals) over the last 12: a default is counted in
  every row whose window covers it, so the dependence is real and near this bound within a
  year, weaker across windows that no longer overlap. The empirical variance was not taken
  instead because under miscalibration its residuals carry the very excess being tested and
  inflate it, and it is noisy in thin segments with a handful of defaulted loans. Monthly
  cohorts (``by="as_of"``) need none of this and are the figures to test on; pooled ones
  summarise.
  ``design_effect`` = V / sum p(1 - p) says how much the pooling cost (1 in a one-month group).
* **Intervals (95%).** The observed rate: Wilson score interval on the effective sample
  (count and n divided by the design effect; Kish's correction for clustered proportions);
  Wilson rather than Wald because default rates sit near 0, where Wald's interval undercovers
  and leaves [0, 1]. O/E: the exact Poisson (Garwood) interval on the effective count,
  ``training.metrics.oe_interval`` (the interval the training metrics record).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy.special import gammainc, gammaincc
from scipy.stats import chi2, norm
from sklearn.metrics import roc_auc_score

from features.labels import DEFAULT_HORIZON
from features.months import month_end, month_index
from monitoring.frames import (
    AS_OF,
    BOOK,
    CROSSED_NAME,
    LOAN_KEY,
    PD,
    SEGMENT_DIMENSIONS,
    Segment,
    segment_labels,
)
from monitoring.outcomes import defaulted_column, matured_column, performing
from monitoring.term_structure import (
    EARLY_WINDOWS,
    TermStructure,
    TermStructureError,
    fit_term_structure,
)
from training.metrics import compute_ece

__all__ = [
    "COMPARISON_COLUMNS",
    "CONFIDENCE",
    "FEW_EXPECTED",
    "FIGURES",
    "FIGURE_COLUMNS",
    "LEVEL",
    "NotMaturedError",
    "PerformanceError",
    "TermStructure",
    "TermStructureError",
    "auc_and_calibration_by_month",
    "early_reads",
    "estimated_performance",
    "expected_auc",
    "fit_term_structure",
    "maturity",
    "observed_vs_expected",
    "performance_figures",
    "require_matured",
]

#: Two-sided significance level of the verdicts (the 95% intervals shown match it).
LEVEL: Final = 0.05
#: Confidence of the observed-rate and O/E intervals.
CONFIDENCE: Final = 0.95
#: Below this many expected defaults the normal tail of the test is rough (see module doc).
FEW_EXPECTED: Final = 5.0

ABOVE: Final = "above expectation"
BELOW: Final = "below expectation"
IN_LINE: Final = "in line with expectation"
NOT_JUDGED: Final = "not judged"

#: Columns of an observed-against-expected table after its group columns (see
#: ``observed_vs_expected``).
COMPARISON_COLUMNS: Final = (
    "n",
    "loans",
    "months",
    "observed",
    "expected",
    "observed_rate",
    "rate_low",
    "rate_high",
    "expected_rate",
    "oe_ratio",
    "oe_low",
    "oe_high",
    "variance",
    "design_effect",
    "z",
    "p_two_sided",
    "p_worse",
    "verdict",
    "note",
)
#: The tidy table the dashboard takes.
FIGURE_COLUMNS: Final = ("as_of", "figure", "segment", "label", "value", "n")
#: Figure names of ``performance_figures``, in the order it lists them.
FIGURES: Final = (
    "observed_default_rate",
    "expected_default_rate",
    "oe_ratio",
    "early_read_observed",
    "early_read_expected",
    "auc_estimated",
    "auc_realized",
)


class PerformanceError(ValueError):
    """A performance figure cannot be computed from this frame (says which column or month)."""


class NotMaturedError(PerformanceError):
    """Full-window performance was asked of an as-of month whose outcomes are not complete.

    ``as_of`` is the month end asked for, ``window`` the outcome window in months, ``matures``
    the data end (month end) from which its outcomes are complete.
    """

    def __init__(self, as_of: pd.Timestamp, window: int, data_end: pd.Timestamp | None) -> None:
        self.as_of, self.window = as_of, window
        self.matures = _shift(as_of, window)
        edge = f"; the data end at {data_end:%Y-%m}" if data_end is not None else ""
        super().__init__(
            f"as-of {as_of:%Y-%m} has not matured for the {window}-month outcome window: its "
            f"outcomes are complete once statements up to {self.matures:%Y-%m} are in{edge}. "
            "Until then read the early reads or the label-free estimates"
        )


# -- months and maturity -----------------------------------------------------------------------


def _month_number(values: Iterable[object] | pd.Series | pd.Index) -> np.ndarray:
    """Integer months (``features.months``) of timestamps or ``"2025-06"``-like labels."""
    stamps = pd.to_datetime(pd.Index(list(values) if not isinstance(values, pd.Index) else values))
    return month_index(stamps.to_numpy(dtype="datetime64[ns]"))


def _month_ends(months: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(month_end(np.asarray(months, dtype=np.int64)))


def _shift(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    return _month_ends(_month_number([as_of]) + months)[0]


def _as_of_months(months_or_frame: pd.DataFrame | Iterable[object]) -> np.ndarray:
    if isinstance(months_or_frame, pd.DataFrame):
        if AS_OF not in months_or_frame.columns:
            raise PerformanceError(f"the frame has no {AS_OF!r} column")
        values: Iterable[object] = months_or_frame[AS_OF].unique()
    elif isinstance(months_or_frame, str | pd.Timestamp):
        values = [months_or_frame]
    else:
        values = months_or_frame
    return np.unique(_month_number(values))


def maturity(
    months_or_frame: pd.DataFrame | Iterable[object],
    data_end: pd.Timestamp | str,
    window: int = DEFAULT_HORIZON,
    early_windows: Sequence[int] = EARLY_WINDOWS,
) -> pd.DataFrame:
    """Which as-of months have complete outcomes, for the full window and each early one.

    Parameters
    ----------
    months_or_frame : DataFrame or iterable
        A scored frame (its ``as_of`` months) or the months themselves (timestamps or
        ``"2025-06"``).
    data_end : Timestamp or str
        The last month with statements (``monitoring.outcomes.data_end``).
    window, early_windows : int, sequence of int
        The full outcome window and the early ones.

    Returns
    -------
    DataFrame
        One row per as-of month (ascending): ``as_of`` (month end) and, for every window h
        (early ones first), ``matured_{h}m`` (bool: ``as_of + h`` is at most the data end, as
        in ``features.labels``) and ``matures_{h}m`` (month end: the data end from which it is
        matured).
    """
    months = _as_of_months(months_or_frame)
    end = int(_month_number([data_end])[0])
    table: dict[str, object] = {AS_OF: _month_ends(months)}
    for h in sorted({*early_windows, window}):
        table[matured_column(h)] = months + h <= end
        table[f"matures_{h}m"] = _month_ends(months + h)
    return pd.DataFrame(table)


def require_matured(
    months: Iterable[object] | str | pd.Timestamp,
    data_end: pd.Timestamp | str,
    window: int = DEFAULT_HORIZON,
) -> None:
    """Raise ``NotMaturedError`` naming the first of ``months`` whose ``window`` is not complete.

    For a caller (the CLI, the dashboard) about to show full performance for chosen months: a
    default rate over a running window reads as better than it will be.
    """
    table = maturity(months, data_end, window, early_windows=())
    pending = table.loc[~table[matured_column(window)], AS_OF]
    if len(pending):
        raise NotMaturedError(pending.iloc[0], window, pd.Timestamp(data_end))


# -- input checks and grouping ----------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PerformanceError(f"the frame lacks column(s) {missing}")


def _probability(frame: pd.DataFrame, column: str = PD) -> np.ndarray:
    p = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise PerformanceError(f"{column!r} must lie in [0, 1] with no missing values")
    return p


def _select_months(frame: pd.DataFrame, months: Iterable[object] | None, window: int):
    """Rows of ``months`` only; raises ``NotMaturedError`` for a month with no matured row."""
    if months is None:
        return frame
    wanted = _as_of_months(months)
    have = month_index(frame[AS_OF].to_numpy(dtype="datetime64[ns]"))
    matured = frame[matured_column(window)].to_numpy(dtype=bool)
    for m in wanted:
        rows = have == m
        if not rows.any():
            raise PerformanceError(
                f"no scored rows for as-of {_month_ends(np.array([m]))[0]:%Y-%m}"
            )
        if not matured[rows].any():
            raise NotMaturedError(_month_ends(np.array([m]))[0], window, None)
    return frame[np.isin(have, wanted)]


@dataclass(frozen=True)
class _Rows:
    """What every comparison of one frame reuses: computed once, not once per figure."""

    frame: pd.DataFrame
    loan: np.ndarray  # integer code of loan_key
    month: np.ndarray  # integer month of as_of
    labels: dict[str, pd.Series]  # segment labels (frames.segment_labels), may be empty

    @classmethod
    def of(cls, frame: pd.DataFrame, segments: bool) -> _Rows:
        _require(frame, (AS_OF, LOAN_KEY))
        return cls(
            frame=frame,
            loan=pd.factorize(frame[LOAN_KEY])[0].astype(np.int64),
            month=month_index(frame[AS_OF].to_numpy(dtype="datetime64[ns]")),
            labels=segment_labels(frame) if segments else {},
        )

    def keys(self, by: str | Sequence[str] | None) -> dict[str, np.ndarray]:
        """Group label per row for each name of ``by``: segment dimensions (the crossed one
        too) as ``frames.segment_labels`` gives them (missing as ``"(missing)"``), other names
        as columns."""
        names = _names(by)
        labels = self.labels
        if not labels and any(n in (*SEGMENT_DIMENSIONS, CROSSED_NAME) for n in names):
            labels = segment_labels(self.frame)
        keys = {}
        for name in names:
            if name in labels:
                keys[name] = labels[name].to_numpy()
            elif name in self.frame.columns:
                keys[name] = self.frame[name].to_numpy()
            else:
                raise PerformanceError(
                    f"cannot group by {name!r}: no such column or segment dimension"
                )
        return keys


def _names(by: str | Sequence[str] | None) -> list[str]:
    return [] if by is None else [by] if isinstance(by, str) else list(by)


def _distinct_per_group(group: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    """How many distinct ``codes`` each group holds."""
    width = int(codes.max()) + 1
    pairs = np.sort(group * width + codes)  # a sort: numpy's hashed unique is slower here
    distinct = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    return np.bincount(distinct // width, minlength=groups)


def _null_variances(
    group: np.ndarray, cluster: np.ndarray, p: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Null variance of each group's count with rows independent, and with each cluster's
    rows comonotone (module doc): ``(independent, clustered)``."""
    independent = np.bincount(group, weights=p * (1 - p), minlength=groups)
    _, pair = np.unique(group * (int(cluster.max()) + 1) + cluster, return_inverse=True)
    pair = pair.reshape(-1)
    if pair.size == 0 or pair.max() + 1 == pair.size:  # one row per loan in every group
        return independent, independent.copy()
    order = np.lexsort((p, pair))
    ps, pairs = p[order], pair[order]
    sizes = np.bincount(pairs)
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(ps.size) - first[pairs] + 1
    # Var = sum p(1 - p) + the cross terms 2 sum_{r<s} (min(p_r, p_s) - p_r p_s); a loan's
    # cross terms are exactly 0 when it has one row, so one-month groups keep sum p(1 - p).
    below = np.bincount(pairs, weights=ps * 2 * (sizes[pairs] - rank))
    total, squares = np.bincount(pairs, weights=ps), np.bincount(pairs, weights=ps**2)
    pair_group = np.zeros(sizes.size, dtype=np.int64)
    pair_group[pairs] = group[order]
    excess = np.bincount(pair_group, weights=below - (total**2 - squares), minlength=groups)
    return independent, independent + np.maximum(excess, 0.0)


def _poisson_tails(count: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= count) and P(X <= count) for X ~ Poisson(mean), continuous in ``count`` (an
    effective count need not be whole) exactly as the Garwood interval is, so a verdict at
    level a agrees with the (1 - a) interval of O/E: above iff its lower end exceeds 1."""
    safe = np.where(mean > 0, mean, 1.0)
    worse = np.where(count > 0, gammainc(np.where(count > 0, count, 1.0), safe), 1.0)
    better = gammaincc(count + 1, safe)
    return np.where(mean > 0, worse, np.nan), np.where(mean > 0, better, np.nan)


def _garwood(
    events: np.ndarray, expected: np.ndarray, design: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """``training.metrics.oe_interval`` for arrays of groups (the same interval, vectorized:
    exact Poisson on the effective count, scaled back; tested equal)."""
    alpha = 1 - confidence
    effective = events / design
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(expected > 0, design / expected, np.nan)
        low = np.where(effective > 0, chi2.ppf(alpha / 2, 2 * effective) / 2, 0.0) * scale
        high = chi2.ppf(1 - alpha / 2, 2 * effective + 2) / 2 * scale
    none_expected = ~(expected > 0)
    fill = np.where(events > 0, np.inf, np.nan)
    return np.where(none_expected, fill, low), np.where(none_expected, fill, high)


def _wilson(count: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = count / n
        centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _compare(
    rows: _Rows,
    mask: np.ndarray,
    observed: np.ndarray,
    expected: np.ndarray,
    by: str | Sequence[str] | None,
    level: float,
) -> pd.DataFrame:
    """Observed against expected defaults per group of the rows in ``mask``.

    ``observed`` and ``expected`` are given for the masked rows only."""
    keys = {name: values[mask] for name, values in rows.keys(by).items()}
    if not mask.any():
        return pd.DataFrame(columns=[*keys, *COMPARISON_COLUMNS])
    if keys:
        grouped = pd.DataFrame(keys).groupby(list(keys), sort=True, observed=True, dropna=False)
        group = grouped.ngroup().to_numpy().astype(np.int64)
        labels = grouped.size().index.to_frame(index=False)
    else:
        group = np.zeros(int(mask.sum()), dtype=np.int64)
        labels = pd.DataFrame(index=range(1))
    k = len(labels)
    loan, month = rows.loan[mask], rows.month[mask]
    n = np.bincount(group, minlength=k).astype(float)
    o = np.bincount(group, weights=observed.astype(float), minlength=k)
    e = np.bincount(group, weights=expected, minlength=k)
    independent, variance = _null_variances(group, loan, expected, k)
    months = _distinct_per_group(group, month - month.min(), k)
    with np.errstate(divide="ignore", invalid="ignore"):
        design = np.where(independent > 0, variance / independent, 1.0)
        z = np.where(variance > 0, (o - e) / np.sqrt(variance), np.nan)
        oe = np.where(e > 0, o / e, np.where(o > 0, np.inf, np.nan))
        dispersion = np.where(e > 0, np.maximum(1.0, variance / e), 1.0)
    low, high = _wilson(o / design, n / design, CONFIDENCE)
    oe_low, oe_high = _garwood(o, e, dispersion, CONFIDENCE)
    p_worse, p_better = _poisson_tails(o / dispersion, e / dispersion)
    p_two = np.minimum(1.0, 2 * np.minimum(p_worse, p_better))
    judged = (e > 0) & (variance > 0)
    verdict = np.select(
        [~judged, (p_two < level) & (o > e), (p_two < level) & (o < e)],
        [NOT_JUDGED, ABOVE, BELOW],
        IN_LINE,
    )
    few = f"few expected defaults (E < {FEW_EXPECTED:g}): hardly judged"
    notes = [
        "; ".join(
            part
            for part in (
                "no variance under the null (every probability 0 or 1)"
                if not ok
                else few
                if ei < FEW_EXPECTED
                else "",
                f"pooled over {mi} months: variance clustered by loan" if mi > 1 else "",
            )
            if part
        )
        for ei, mi, ok in zip(e, months, judged, strict=True)
    ]
    stats = pd.DataFrame(
        {
            "n": n.astype(np.int64),
            "loans": _distinct_per_group(group, loan, k),
            "months": months,
            "observed": o.astype(np.int64),
            "expected": e,
            "observed_rate": o / n,
            "rate_low": low,
            "rate_high": high,
            "expected_rate": e / n,
            "oe_ratio": oe,
            "oe_low": oe_low,
            "oe_high": oe_high,
            "variance": variance,
            "design_effect": design,
            "z": z,
            "p_two_sided": p_two,
            "p_worse": p_worse,
            "verdict": verdict,
            "note": notes,
        }
    )
    return pd.concat([labels.reset_index(drop=True), stats], axis=1)


# -- observed against expected ----------------------------------------------------------------


def observed_vs_expected(
    frame: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    window: int = DEFAULT_HORIZON,
    level: float = LEVEL,
    months: Iterable[object] | None = None,
) -> pd.DataFrame:
    """Observed 12-month defaults against the defaults the PDs expect, per group.

    Parameters
    ----------
    frame : DataFrame
        A scored frame joined to outcomes.
    by : str, sequence of str or None
        Group columns: ``"as_of"`` (monthly cohorts), ``"vintage"``, a segment dimension
        (``"area"``, ``"industry"``, ``"borrower_type"``, ``"area x industry"``) or any
        column; several for crossed groups (``("as_of", "area")``); None for the book pooled.
    window : int
        The outcome window the PD is for (12 for ``pd_12m``; shorter windows have their own
        expectation, see ``early_reads``).
    level : float
        Two-sided significance level of the verdicts.
    months : iterable, optional
        Restrict to these as-of months; raises ``NotMaturedError`` for one not matured.

    Returns
    -------
    DataFrame
        One row per group (matured rows of predictions only, groups sorted): the group
        columns, then

        * ``n`` rows, ``loans`` distinct loans, ``months`` distinct as-of months;
        * ``observed`` defaults O, ``expected`` E = sum of ``pd_12m``;
        * ``observed_rate`` O / n with its 95% Wilson interval ``rate_low``-``rate_high``
          (effective sample when pooled), ``expected_rate`` E / n;
        * ``oe_ratio`` O / E with its 95% interval ``oe_low``-``oe_high`` (Garwood);
        * ``variance`` of O under the null (clustered by loan), ``design_effect`` its ratio
          to the independent-rows variance;
        * ``z`` = (O - E) / sqrt(variance), ``p_two_sided``, ``p_worse`` (one-sided, O > E);
        * ``verdict``: "above expectation", "below expectation", "in line with expectation"
          or "not judged"; ``note``: why a figure is weak (few expected defaults, pooling).
    """
    if window != DEFAULT_HORIZON:
        raise PerformanceError(
            f"pd_12m is a {DEFAULT_HORIZON}-month probability; for a {window}-month window use "
            "early_reads with a fitted term structure"
        )
    _require(frame, (AS_OF, LOAN_KEY, PD, defaulted_column(window), matured_column(window)))
    frame = performing(frame)
    frame = _select_months(frame, months, window)
    return _observed_vs_expected(_Rows.of(frame, segments=False), by, window, level)


def _observed_vs_expected(
    rows: _Rows, by: str | Sequence[str] | None, window: int, level: float
) -> pd.DataFrame:
    frame = rows.frame
    mask = frame[matured_column(window)].to_numpy(dtype=bool)
    observed = frame[defaulted_column(window)].to_numpy(dtype=bool)[mask]
    return _compare(rows, mask, observed, _probability(frame)[mask], by, level)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else float("nan")


def auc_and_calibration_by_month(
    frame: pd.DataFrame,
    window: int = DEFAULT_HORIZON,
    bins: int = 10,
    months: Iterable[object] | None = None,
) -> pd.DataFrame:
    """Discrimination and calibration of ``pd_12m`` per as-of month, on matured rows.

    Returns
    -------
    DataFrame
        One row per as-of month of the frame (ascending): ``as_of``, ``matured`` (bool: the
        month has matured rows), ``n`` matured rows, ``defaults``, ``auc`` (ROC AUC of the PD
        against ``defaulted_{window}m``), ``ece`` (``training.metrics.compute_ece``, ``bins``
        equal-count bins), ``mean_pd`` and ``observed_rate``, ``note``. A month without
        matured rows, or whose rows are all one class, has NaN AUC (and NaN ECE when not
        matured) and a note saying why; months with few defaults give noisy AUCs, read them
        with ``defaults``.
    """
    _require(frame, (AS_OF, PD, defaulted_column(window), matured_column(window)))
    frame = performing(frame)
    frame = _select_months(frame, months, window)
    rows = []
    for as_of, month in frame.groupby(AS_OF, sort=True):
        stamp = pd.Timestamp(as_of)
        matured = month[month[matured_column(window)].to_numpy(dtype=bool)]
        y = matured[defaulted_column(window)].to_numpy(dtype=bool).astype(int)
        p = _probability(matured)
        n, events = int(y.size), int(y.sum())
        note = ""
        if n == 0:
            note = f"not matured: {window}-month outcomes complete at {_shift(stamp, window):%Y-%m}"
        elif events == 0:
            note = "no defaults: AUC undefined"
        elif events == n:
            note = "every row defaulted: AUC undefined"
        rows.append(
            {
                AS_OF: stamp,
                "matured": n > 0,
                "n": n,
                "defaults": events,
                "auc": _auc(y, p) if n else float("nan"),
                "ece": compute_ece(y, p, bins) if n else float("nan"),
                "mean_pd": float(p.mean()) if n else float("nan"),
                "observed_rate": events / n if n else float("nan"),
                "note": note,
            }
        )
    columns = [AS_OF, "matured", "n", "defaults", "auc", "ece", "mean_pd", "observed_rate", "note"]
    return pd.DataFrame(rows, columns=columns)


# -- early reads --------------------------------------------------------------------------------


def early_reads(
    frame: pd.DataFrame,
    term_structure: TermStructure,
    windows: Sequence[int] = EARLY_WINDOWS,
    by: str | Sequence[str] | None = None,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Observed h-month defaults against what the PDs imply for h months, per month.

    Expected defaults are the sum of ``term_structure.implied(pd_12m, h)`` over the rows whose
    h-month window has matured; the test, intervals and verdict are those of
    ``observed_vs_expected`` (one loan per row within a month, so independent Bernoulli sums).

    Parameters
    ----------
    frame : DataFrame
        A scored frame joined to outcomes (``defaulted_{h}m`` / ``matured_{h}m`` per window).
    term_structure : TermStructure
        Fitted on the champion's development months (``fit_term_structure``).
    windows : sequence of int
        Early windows to read (each fitted in ``term_structure``).
    by : str, sequence of str or None
        Extra group columns within each month (a segment dimension); None for the book.

    Returns
    -------
    DataFrame
        ``window`` (int, months), ``as_of``, the ``by`` columns, then the columns of
        ``observed_vs_expected`` (``expected`` is the implied h-month count). Months whose
        h-month window has not matured have no row.
    """
    for h in windows:
        _require(frame, (AS_OF, LOAN_KEY, PD, defaulted_column(h), matured_column(h)))
    frame = performing(frame)
    return _early_reads(_Rows.of(frame, segments=False), term_structure, windows, by, level)


def _early_reads(
    rows: _Rows,
    term_structure: TermStructure,
    windows: Sequence[int],
    by: str | Sequence[str] | None,
    level: float,
) -> pd.DataFrame:
    frame, extra = rows.frame, _names(by)
    p = _probability(frame)
    parts = []
    for h in windows:
        mask = frame[matured_column(h)].to_numpy(dtype=bool)
        observed = frame[defaulted_column(h)].to_numpy(dtype=bool)[mask]
        implied = term_structure.implied(p[mask], h)
        table = _compare(rows, mask, observed, implied, [AS_OF, *extra], level)
        table.insert(0, "window", h)
        parts.append(table)
    columns = ["window", AS_OF, *extra, *COMPARISON_COLUMNS]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


# -- label-free estimates -----------------------------------------------------------------------


def expected_auc(p: np.ndarray | pd.Series, score: np.ndarray | pd.Series | None = None) -> float:
    """The AUC to expect if each row defaults with its own (calibrated) probability.

    E[AUC] ~= sum_{i != j} p_i (1 - p_j) 1[s_i > s_j] / sum_{i != j} p_i (1 - p_j), ties of the
    score ``s`` (default: ``p`` itself) counted half: the ratio of expected concordant pairs to
    expected defaulter / non-defaulter pairs (CBPE's idea: calibrated probabilities predict
    their own performance). Sorting once makes it O(n log n): for each row, the non-default
    mass below its score is a cumulative sum. NaN with fewer than two rows or no pair.
    """
    prob = np.asarray(p, dtype=float).reshape(-1)
    s = prob if score is None else np.asarray(score, dtype=float).reshape(-1)
    if s.shape != prob.shape:
        raise PerformanceError(f"score and probability lengths differ ({s.size} vs {prob.size})")
    if prob.size < 2:
        return float("nan")
    order = np.argsort(s, kind="stable")
    ps, ss, q = prob[order], s[order], 1 - prob[order]
    _, start, counts = np.unique(ss, return_index=True, return_counts=True)
    below = np.concatenate(([0.0], np.cumsum(q)))[start]  # non-default mass of lower scores
    tied = np.add.reduceat(q, start)  # non-default mass of each score level
    level = np.repeat(np.arange(start.size), counts)
    numerator = float((ps * (below[level] + 0.5 * (tied[level] - q))).sum())
    total = prob.sum()
    denominator = float(total * (prob.size - total) - (prob * (1 - prob)).sum())
    return numerator / denominator if denominator > 0 else float("nan")


def estimated_performance(frame: pd.DataFrame, window: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """Label-free default rate and AUC per as-of month, next to the realized ones.

    Returns
    -------
    DataFrame
        One row per as-of month (ascending): ``as_of``; ``n`` rows that are predictions;
        ``expected_default_rate`` (mean ``pd_12m``) and ``auc_estimated`` (``expected_auc``)
        over all of them, known at once; ``matured`` (bool); ``n_matured``,
        ``realized_default_rate`` and ``auc_realized`` over the matured rows (NaN before);
        ``default_rate_gap`` = realized - expected and ``auc_gap`` = realized - estimated,
        the columns that join both (a large gap on matured months says the estimates of
        the recent months should not be trusted either); ``note``.
    """
    _require(frame, (AS_OF, PD))
    frame = performing(frame)
    p_all = _probability(frame)
    estimated = (
        pd.DataFrame({AS_OF: frame[AS_OF].to_numpy(), "p": p_all})
        .groupby(AS_OF, sort=True)["p"]
        .agg(n="size", expected_default_rate="mean", auc_estimated=expected_auc)
        .reset_index()
    )
    if {defaulted_column(window), matured_column(window)} <= set(frame.columns):
        realized = auc_and_calibration_by_month(frame, window)
    else:
        realized = pd.DataFrame({AS_OF: estimated[AS_OF], "matured": False, "n": 0})
        realized["auc"] = realized["observed_rate"] = np.nan
        realized["note"] = "no outcomes joined"
    realized = realized.rename(
        columns={"n": "n_matured", "observed_rate": "realized_default_rate", "auc": "auc_realized"}
    )
    table = estimated.merge(
        realized[[AS_OF, "matured", "n_matured", "realized_default_rate", "auc_realized", "note"]],
        on=AS_OF,
        how="left",
    )
    table["default_rate_gap"] = table["realized_default_rate"] - table["expected_default_rate"]
    table["auc_gap"] = table["auc_realized"] - table["auc_estimated"]
    table[AS_OF] = pd.to_datetime(table[AS_OF])
    order = [
        AS_OF,
        "n",
        "expected_default_rate",
        "auc_estimated",
        "matured",
        "n_matured",
        "realized_default_rate",
        "auc_realized",
        "default_rate_gap",
        "auc_gap",
        "note",
    ]
    return table[order]


# -- the dashboard's table ----------------------------------------------------------------------


def _segment_name(dimension: str | None, value: object) -> str:
    return BOOK if dimension is None else Segment(dimension, str(value)).name


def performance_figures(
    frame: pd.DataFrame,
    term_structure: TermStructure | None = None,
    window: int = DEFAULT_HORIZON,
    early_windows: Sequence[int] = EARLY_WINDOWS,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every performance figure per as-of month, book and segments, as one tidy table.

    Parameters
    ----------
    frame : DataFrame
        A scored frame joined to outcomes, any number of as-of months.
    term_structure : TermStructure, optional
        For the early reads; without it they are left out.
    window, early_windows : int, sequence of int
        The PD's window and the early ones.
    dimensions : sequence of str, optional
        Segment dimensions (default: all of ``frames``, crossed included).

    Returns
    -------
    DataFrame
        Columns ``as_of`` (month end), ``figure``, ``segment`` (``"book"`` or
        ``"dimension=value"`` as ``frames.Segment.name``), ``label`` (the window, ``"12m"``,
        ``"3m"``, ``"6m"``), ``value`` (float), ``n`` (rows the figure rests on). Figures
        (``FIGURES``): ``expected_default_rate`` (mean PD of every scored row, every month),
        ``observed_default_rate`` and ``oe_ratio`` (matured months), book and each segment;
        ``early_read_observed`` / ``early_read_expected`` (observed and implied h-month rate,
        months whose h-month window matured), book and each segment; ``auc_estimated``
        (every month) and ``auc_realized`` (matured months with both classes), book only.
    """
    _require(frame, (AS_OF, LOAN_KEY, PD))
    frame = performing(frame)
    if term_structure is not None:
        _require(
            frame, [c for h in early_windows for c in (defaulted_column(h), matured_column(h))]
        )
    label = f"{window}m"
    dims: list[str | None] = [None, *(dimensions or (*SEGMENT_DIMENSIONS, CROSSED_NAME))]
    rows = _Rows.of(frame, segments=len(dims) > 1)
    labels = rows.labels
    p = _probability(frame)
    parts = []

    def add(table: pd.DataFrame, dim: str | None, figure: str, value: str, n: str, lab: str):
        if len(table) == 0:
            return
        segment = (
            [BOOK] * len(table) if dim is None else [_segment_name(dim, v) for v in table[dim]]
        )
        parts.append(
            pd.DataFrame(
                {
                    AS_OF: pd.to_datetime(table[AS_OF]).to_numpy(),
                    "figure": figure,
                    "segment": segment,
                    "label": lab,
                    "value": table[value].to_numpy(dtype=float),
                    "n": table[n].to_numpy(dtype=np.int64),
                }
            )
        )

    for dim in dims:
        keys = [AS_OF] if dim is None else [AS_OF, dim]
        scored = pd.DataFrame({AS_OF: frame[AS_OF].to_numpy(), "p": p})
        if dim is not None:
            scored[dim] = labels[dim].to_numpy()
        mean_pd = scored.groupby(keys, sort=True)["p"].agg(value="mean", n="size").reset_index()
        add(mean_pd, dim, "expected_default_rate", "value", "n", label)
        if {defaulted_column(window), matured_column(window)} <= set(frame.columns):
            table = _observed_vs_expected(rows, keys, window, LEVEL)
            add(table, dim, "observed_default_rate", "observed_rate", "n", label)
            add(table, dim, "oe_ratio", "oe_ratio", "n", label)
        if term_structure is not None:
            reads = _early_reads(rows, term_structure, early_windows, dim, LEVEL)
            for h in early_windows:
                of_h = reads[reads["window"] == h]
                add(of_h, dim, "early_read_observed", "observed_rate", "n", f"{h}m")
                add(of_h, dim, "early_read_expected", "expected_rate", "n", f"{h}m")
    book = estimated_performance(frame, window)
    add(book, None, "auc_estimated", "auc_estimated", "n", label)
    add(
        book[book["auc_realized"].notna()], None, "auc_realized", "auc_realized", "n_matured", label
    )
    if not parts:
        return pd.DataFrame(columns=list(FIGURE_COLUMNS))
    figures = pd.concat(parts, ignore_index=True)
    figures["figure"] = pd.Categorical(figures["figure"], categories=FIGURES, ordered=True)
    figures["not_book"] = figures["segment"] != BOOK  # the book first, then its segments
    figures = figures.sort_values(["figure", "label", AS_OF, "not_book", "segment"], kind="stable")
    figures["figure"] = figures["figure"].astype(str)
    return figures.reset_index(drop=True)[list(FIGURE_COLUMNS)]

"""Discrimination and calibration metrics of a probability against a binary outcome.

ROC AUC, Gini (2 AUC - 1), KS (largest gap between the score distributions of defaulters and
non-defaulters), Brier score and expected calibration error (ECE: the weighted mean absolute
gap between predicted and observed rates over equal-count bins; equal-count bins because PDs
crowd near zero and equal-width bins would leave most of them empty).

Calibration is also *tested*, because an ECE alone cannot say whether a gap is noise: the same
ECE is unremarkable on 40 defaults and damning on 4,000, and an ECE of 0.009 is small at a 10%
default rate and huge at 1.4%. Both tests take the null hypothesis "the PDs are calibrated":

* ``ece_p_value``: the share of test windows simulated from the PDs themselves (outcomes drawn
  from each row's PD, ``CALIBRATION_DRAWS`` draws with the fixed seed ``CALIBRATION_SEED``)
  whose ECE is at least the observed one; small means the observed gaps are larger than
  calibrated PDs produce by chance on these rows;
* calibration in the large: ``oe_ratio`` = observed defaults / expected defaults (sum y / sum p)
  with its 95% interval ``oe_low``-``oe_high``, the exact Poisson (Garwood) interval of the
  observed count, widened by ``oe_design_effect`` (below).

Rows are not independent when a borrower appears in several as-of months: the test window of a
retraining run holds each loan at up to six monthly snapshots with overlapping 12-month outcome
windows, so one default is counted up to six times (seed-31 demo-size book: 163 defaulted rows
were 45 defaulted borrowers). Treating rows as independent would overstate the evidence about
3.6 times. Given ``groups`` (one label per borrower), the null draws one uniform number per
borrower and every row of that borrower defaults when it falls below the row's PD: each row
keeps its own PD, and the rows of a borrower are as dependent as their PDs allow (the most
dependence possible, so the test errs towards not rejecting). The variance of the observed count
under that null, divided by the expected count, is the design effect; the Poisson interval is
computed on the effective count (count / design effect) and scaled back (quasi-Poisson). Without
``groups`` rows are independent and the design effect is 1. ``clusters`` records how many groups
the tests saw (``n`` when rows were treated as independent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

#: Simulated test windows behind ``ece_p_value`` (p-values resolve to 1 / 1001).
CALIBRATION_DRAWS = 1000
#: Fixed seed of those draws: the same rows and PDs always give the same p-value.
CALIBRATION_SEED = 20261127
#: Confidence of the O/E interval recorded in the metrics (the gates use their own level).
OE_CONFIDENCE = 0.95
#: Most cells simulated at once (one chunk of draws: about 20 MB of uniforms and booleans).
_CHUNK_CELLS = 4_000_000

_NAN = float("nan")


@dataclass(frozen=True)
class BinaryMetrics:
    """Metrics of one probability column against one binary outcome.

    The calibration-test fields default to NaN so that metrics recorded by older runs (without
    them) still load.
    """

    n: int
    events: int
    auc: float
    gini: float
    ks: float
    brier: float
    ece: float
    mean_predicted: float
    observed_rate: float
    ece_p_value: float = _NAN
    oe_ratio: float = _NAN
    oe_low: float = _NAN
    oe_high: float = _NAN
    oe_design_effect: float = _NAN
    # Groups the calibration tests saw (0 in metrics recorded before). A count, typed float
    # because segment tables carry every metric column as a float (NaN when not judged).
    clusters: float = 0

    @property
    def expected_events(self) -> float:
        """Defaults the PDs expect on these rows (sum of the PDs)."""
        return self.n * self.mean_predicted


def _bins(n: int, bins: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n), min(bins, n))


def compute_ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-count bins of ``p``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, min(bins, p.size))
    return float(sum(len(g) * abs(p[g].mean() - y[g].mean()) for g in groups if len(g)) / p.size)


def _group_codes(groups: np.ndarray | None, n: int) -> np.ndarray:
    """0..G-1 per row (rows of one borrower share a code); each row its own without groups."""
    if groups is None:
        return np.arange(n)
    values = np.asarray(groups)
    if values.shape != (n,):
        raise ValueError(f"groups must give one label per row ({values.size} vs {n})")
    _, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1)


def ece_p_value(
    y: np.ndarray,
    p: np.ndarray,
    groups: np.ndarray | None = None,
    bins: int = 10,
    draws: int = CALIBRATION_DRAWS,
    seed: int = CALIBRATION_SEED,
) -> float:
    """P-value of the observed ECE under calibrated PDs (see module docstring).

    ``(1 + #{simulated ECE >= observed}) / (draws + 1)``: the simulated windows keep the rows,
    their PDs, the bins and the borrower structure, and redraw only the outcomes.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    n = p.size
    order = np.argsort(p, kind="stable")
    p_sorted = p[order]
    p_single = p_sorted.astype(np.float32)  # draws in single precision: half the memory
    codes = _group_codes(groups, n)[order]
    starts = np.array([b[0] for b in _bins(n, bins)])
    expected = np.add.reduceat(p_sorted, starts)
    observed = np.abs(np.add.reduceat(y[order], starts) - expected).sum() / n
    rng = np.random.default_rng(seed)
    clusters = int(codes.max()) + 1
    chunk = max(1, min(draws, _CHUNK_CELLS // max(n, clusters)))
    at_least = 0
    done = 0
    while done < draws:
        size = min(chunk, draws - done)
        defaults = rng.random((size, clusters), dtype=np.float32)[:, codes] < p_single
        counts = np.add.reduceat(defaults, starts, axis=1, dtype=np.int64)
        simulated = np.abs(counts - expected).sum(axis=1) / n
        at_least += int(np.count_nonzero(simulated >= observed - 1e-12))
        done += size
    return (1 + at_least) / (draws + 1)


def design_effect(p: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Variance of the default count under the clustered null / the expected count, at least 1.

    For a borrower with PDs sorted ascending p(1) <= ... <= p(m), rows defaulting together when
    one uniform falls below their PDs gives Var = sum_r p(r) (2 (m - r) + 1) - (sum p)^2.
    """
    p = np.asarray(p, dtype=float)
    expected = float(p.sum())
    if expected <= 0:
        return 1.0
    codes = _group_codes(groups, p.size)
    order = np.lexsort((p, codes))
    ps, cs = p[order], codes[order]
    sizes = np.bincount(cs)
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(p.size) - first[cs] + 1  # 1-based, ascending within the borrower
    weights = 2 * (sizes[cs] - rank) + 1
    per_group = np.bincount(cs, weights=ps)
    variance = float((ps * weights).sum() - (per_group**2).sum())
    return max(1.0, variance / expected)


def oe_interval(
    events: float, expected: float, design: float = 1.0, confidence: float = OE_CONFIDENCE
) -> tuple[float, float]:
    """Interval of observed / expected defaults: exact Poisson (Garwood) on the effective count
    ``events / design``, scaled back; infinite when defaults occur where none are expected."""
    if not expected > 0:
        return (_NAN, _NAN) if events == 0 else (float("inf"), float("inf"))
    alpha = 1 - confidence
    effective, scale = events / design, design / expected
    low = chi2.ppf(alpha / 2, 2 * effective) / 2 if effective > 0 else 0.0
    high = chi2.ppf(1 - alpha / 2, 2 * effective + 2) / 2
    return float(low * scale), float(high * scale)


def compute_binary_metrics(
    y: np.ndarray, p: np.ndarray, bins: int = 10, groups: np.ndarray | None = None
) -> BinaryMetrics:
    """All metrics of ``p`` against ``y``; raises naming the problem if ``y`` has one class.

    ``groups``: one label per row (the borrower), so the calibration tests count a borrower's
    repeated monthly rows as one cluster; without it rows are treated as independent.
    """
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"outcome and probability lengths differ ({y.size} vs {p.size})")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1] with no missing values")
    if y.min() == y.max():
        raise ValueError("the outcome has a single class; discrimination is undefined")
    codes = _group_codes(groups, p.size)
    auc = float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    events, expected = int(y.sum()), float(p.sum())
    design = design_effect(p, codes)
    low, high = oe_interval(events, expected, design)
    return BinaryMetrics(
        n=int(y.size),
        events=events,
        auc=auc,
        gini=2 * auc - 1,
        ks=float(np.max(tpr - fpr)),
        brier=float(brier_score_loss(y, p)),
        ece=compute_ece(y, p, bins),
        mean_predicted=float(p.mean()),
        observed_rate=float(y.mean()),
        ece_p_value=ece_p_value(y, p, codes, bins),
        oe_ratio=events / expected if expected > 0 else float("inf"),
        oe_low=low,
        oe_high=high,
        oe_design_effect=design,
        clusters=int(codes.max()) + 1,
    )

"""The delinquency ladder: monthly transition probabilities shared by the book and the oracle.

State ``k`` is how many months the oldest unpaid instalment is overdue (0 = current). With due
days between the 5th and the 20th, ``k`` maps exactly onto month-end DPD buckets:
k=1 -> 1-29, k=2 -> 30-59, k=3 -> 60-89, k>=4 -> 90+. Each month:

* from ``k = 0`` the borrower misses the instalment with ``p_miss = sigmoid(a - b*z)``;
* from ``k >= 1`` the loan rolls one bucket further with ``p_roll[k] = sigmoid(r[k] - b_r*z)``;
  otherwise it cures (pays all arrears), steps back (pays two instalments) or stays (pays one,
  the partial payment that keeps DPD level). After maturity there is no new instalment, so a loan
  that does not roll pays the whole balance and cures;
* closures: ``k = 7`` is charged off; a loan 60+ DPD may be restructured for distress; a loan
  reaching maturity current is repaid (or renewed); one reaching maturity 1-89 DPD may be renewed
  anyway (借新还旧), which repays it on paper and hides its arrears.

The simulator samples from these functions and the oracle (``truth.py``) propagates them
exactly, so the ground truth is the law the data were drawn from, not an estimate of it.
"""

from __future__ import annotations

import numpy as np

from features.simulator.config import HazardParams

#: Highest transient state; k = CHARGE_OFF is absorbing.
N_DELINQUENT = 6
CHARGE_OFF = 7
DEFAULT_STATE = 4  # 90+ DPD
RESTRUCTURE_FROM = 3  # 60+ DPD


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def severity_of_state(k: np.ndarray) -> np.ndarray:
    """Outcome severity of month-end state ``k``: 0 none, 1 (1-29), 2 (30-89), 3 (90+)."""
    return np.select([k >= DEFAULT_STATE, k >= 2, k >= 1], [3, 2, 1], 0)


def miss_probability(capacity: np.ndarray, intercept: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance that a current loan misses this month's instalment."""
    return sigmoid(intercept - params.miss_slope * capacity)


def roll_probabilities(capacity: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance of rolling from k to k+1, for k = 1..6 (columns)."""
    r = np.asarray(params.roll_intercept)[None, :]
    return sigmoid(r - params.roll_slope * capacity[:, None])


def outgoing(
    k: np.ndarray,
    capacity: np.ndarray,
    intercept: np.ndarray,
    due_now: np.ndarray,
    params: HazardParams,
) -> np.ndarray:
    """Distribution of next month's state (columns k' = 0..7) for loans now in state ``k``.

    Parameters
    ----------
    k : int array
        Current state of each loan, 0..6.
    capacity, intercept : float arrays
        Repayment capacity this month and the loan's miss-hazard intercept.
    due_now : bool array
        Whether an instalment falls due this month (False after maturity).
    """
    n = k.shape[0]
    out = np.zeros((n, CHARGE_OFF + 1))
    rows = np.arange(n)
    current = k == 0
    p_miss = miss_probability(capacity, intercept, params)
    out[rows, 0] += np.where(current, 1.0 - p_miss, 0.0)
    out[rows, 1] += np.where(current, p_miss, 0.0)

    kk = np.clip(k, 1, N_DELINQUENT) - 1  # index into the k = 1..6 parameter tuples
    p_roll = np.take_along_axis(roll_probabilities(capacity, params), kk[:, None], axis=1)[:, 0]
    cure = np.asarray(params.cure_share)[kk]
    back = np.asarray(params.back_share)[kk]
    cure = np.where(due_now, cure, 1.0)
    back = np.where(due_now, back, 0.0)
    late = ~current
    rest = 1.0 - p_roll
    out[rows, np.minimum(k + 1, CHARGE_OFF)] += np.where(late, p_roll, 0.0)
    out[rows, 0] += np.where(late, rest * cure, 0.0)
    out[rows, np.maximum(k - 1, 0)] += np.where(late, rest * back, 0.0)
    out[rows, k] += np.where(late, rest * (1.0 - cure - back), 0.0)
    return out


def evergreen_probability(k_next: np.ndarray, at_maturity: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance a loan in state ``k_next`` at its maturity month is renewed despite arrears."""
    eligible = at_maturity & (k_next >= 1) & (k_next < DEFAULT_STATE)
    return np.where(eligible, params.evergreen_prob, 0.0)


def restructure_probability(k_next: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance a loan 60+ DPD (and not charged off) is restructured this month."""
    eligible = (k_next >= RESTRUCTURE_FROM) & (k_next < CHARGE_OFF)
    return np.where(eligible, params.restructure_prob, 0.0)

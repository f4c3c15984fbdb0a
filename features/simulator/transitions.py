"""The delinquency ladder: monthly transition probabilities shared by the book and the oracle.

State ``k`` is how many months the oldest unpaid instalment is overdue (0 = current). With due
days between the 5th and the 20th, ``k`` maps exactly onto month-end DPD buckets:
k=1 -> 1-29, k=2 -> 30-59, k=3 -> 60-89, k>=4 -> 90+ (non-performing). Each month:

* from ``k = 0`` the borrower misses the instalment with ``p_miss = sigmoid(a - b*z)``;
* from ``k = 1..3`` the loan rolls one bucket further with ``p_roll[k] = sigmoid(r[k] - b_r*z)``;
  otherwise it cures (pays all arrears), steps back (pays two instalments) or stays (pays one,
  the partial payment that keeps DPD level). After maturity there is no new instalment, so a loan
  that does not roll pays the whole balance and cures;
* from ``k >= 4`` (90+ DPD, non-performing) the loan is in collections: it cures only rarely,
  ``p_cure = sigmoid(n - b_n*z)`` (the borrower pays all arrears), and otherwise goes one more
  month past due, so its DPD keeps growing month by month. Collections may recover part of the
  balance (``book.py``); recoveries reduce the balance, not the arrears, so they do not move k;
* closures: at ``k = write_off_months`` the loan is written off (status ``charged_off``), a
  policy period rather than a hazard; a loan 60+ DPD may be restructured for distress each
  month; a loan reaching maturity current is repaid (or renewed); one reaching maturity 1-89 DPD
  may be renewed anyway (借新还旧), which repays it on paper and hides its arrears.

The simulator samples from these functions and the oracle (``truth.py``) propagates them
exactly, so the ground truth is the law the data were drawn from, not an estimate of it. The
oracle's outcome absorbs every path at ``k >= 4`` into S3, so what happens inside the
non-performing states matters to it only for loan-months that start there.
"""

from __future__ import annotations

import numpy as np

from features.simulator.config import HazardParams

#: States k = 1..LADDER_STATES have their own roll, cure and step-back parameters.
LADDER_STATES = 3
DEFAULT_STATE = 4  # 90+ DPD
RESTRUCTURE_FROM = 3  # 60+ DPD


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def write_off_state(params: HazardParams) -> int:
    """State at which a loan is written off (absorbing); every state below it is open."""
    return params.write_off_months


def severity_of_state(k: np.ndarray) -> np.ndarray:
    """Outcome severity of month-end state ``k``: 0 none, 1 (1-29), 2 (30-89), 3 (90+)."""
    return np.select([k >= DEFAULT_STATE, k >= 2, k >= 1], [3, 2, 1], 0)


def miss_probability(
    capacity: np.ndarray, intercept: np.ndarray, params: HazardParams
) -> np.ndarray:
    """Chance that a current loan misses this month's instalment."""
    return sigmoid(intercept - params.miss_slope * capacity)


def roll_probabilities(capacity: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance of rolling from k to k+1, for k = 1..3 (columns)."""
    r = np.asarray(params.roll_intercept)[None, :]
    return sigmoid(r - params.roll_slope * capacity[:, None])


def npl_cure_probability(capacity: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance that a non-performing loan (90+ DPD) pays all its arrears this month."""
    return sigmoid(params.npl_cure_intercept + params.npl_cure_slope * capacity)


def next_state_probabilities(
    k: int,
    p_miss: np.ndarray,
    p_roll: np.ndarray,
    p_cure_npl: np.ndarray,
    due_now: np.ndarray,
    params: HazardParams,
) -> dict[int, np.ndarray]:
    """Next month's state distribution ``{k': probability}`` for loans now in state ``k``.

    Parameters
    ----------
    k : int
        Current state, 0 .. write_off_months - 1.
    p_miss : float array
        ``miss_probability`` of each loan this month.
    p_roll : float array (loans x 3)
        ``roll_probabilities`` of each loan this month.
    p_cure_npl : float array
        ``npl_cure_probability`` of each loan this month (used from k >= 4).
    due_now : bool array
        Whether an instalment falls due this month (False after maturity).
    """
    if k == 0:
        return {0: 1.0 - p_miss, 1: p_miss}
    if k >= DEFAULT_STATE:
        return {0: p_cure_npl, min(k + 1, write_off_state(params)): 1.0 - p_cure_npl}
    roll = p_roll[:, k - 1]
    rest = 1.0 - roll
    cure = np.where(due_now, params.cure_share[k - 1], 1.0)
    back = np.where(due_now, params.back_share[k - 1], 0.0)
    out = {k + 1: roll, 0: rest * cure}
    out[k - 1] = out.get(k - 1, 0.0) + rest * back
    out[k] = rest * (1.0 - cure - back)
    return out


def outgoing(
    k: np.ndarray,
    capacity: np.ndarray,
    intercept: np.ndarray,
    due_now: np.ndarray,
    params: HazardParams,
) -> np.ndarray:
    """Next month's state distribution (columns k' = 0 .. write_off_months) for states ``k``."""
    out = np.zeros((k.shape[0], write_off_state(params) + 1))
    p_miss = miss_probability(capacity, intercept, params)
    p_roll = roll_probabilities(capacity, params)
    p_cure = npl_cure_probability(capacity, params)
    for state in np.unique(k):
        rows = k == state
        probs = next_state_probabilities(
            int(state), p_miss[rows], p_roll[rows], p_cure[rows], due_now[rows], params
        )
        for k_next, prob in probs.items():
            out[rows, k_next] += prob
    return out


def evergreen_probability(
    k_next: np.ndarray, at_maturity: np.ndarray, params: HazardParams
) -> np.ndarray:
    """Chance a loan in state ``k_next`` at its maturity month is renewed despite arrears."""
    eligible = at_maturity & (k_next >= 1) & (k_next < DEFAULT_STATE)
    return np.where(eligible, params.evergreen_prob, 0.0)


def restructure_probability(k_next: np.ndarray, params: HazardParams) -> np.ndarray:
    """Chance a loan 60+ DPD (and not written off) is restructured this month.

    Only the 60-89 DPD value enters the oracle: a loan 90+ DPD is already S3.
    """
    npl = (k_next >= DEFAULT_STATE) & (k_next < write_off_state(params))
    return np.select(
        [k_next == RESTRUCTURE_FROM, npl],
        [params.restructure_prob, params.npl_restructure_prob],
        0.0,
    )

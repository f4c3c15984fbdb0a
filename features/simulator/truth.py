"""The oracle: exact outcome probabilities of every open loan-month, as the generator defines them.

For a loan open at the end of month ``t`` in state ``k_t``, the ground truth is the probability
of each outcome severity over the next ``H`` months (DOMAIN.md section 4: the worst month-end DPD
in ``(t, t+H]``, with charge-off and distressed restructuring counted as S3), *conditional on
the loan's state at t and on the realised path of its borrower's repayment capacity over
t+1..t+H*. It is computed by propagating the transition law of ``transitions.py`` exactly
(no sampling), so the realised outcome in the data is a single draw from these probabilities.

Because the oracle knows the future capacity path (macro, industry, area and idiosyncratic
shocks not yet happened at t), its discrimination is an upper bound on what any model of
point-in-time data can reach; the gap is the irreducible part a bank cannot know. Closing a
loan (repaid, renewed) ends its outcome window: severity after closure is not counted.

Code under ``features/`` other than the simulator must never read this table.
"""

from __future__ import annotations

import numpy as np

from features.simulator.calendar import Calendar
from features.simulator.config import HazardParams
from features.simulator.transitions import (
    DEFAULT_STATE,
    RESTRUCTURE_FROM,
    evergreen_probability,
    miss_probability,
    next_state_probabilities,
    restructure_probability,
    roll_probabilities,
    severity_of_state,
)

CHUNK_ROWS = 200_000
#: Severity shown by an open loan in state k' = 0..3 (k' >= 4 is absorbed into S3).
_SEV = tuple(int(s) for s in severity_of_state(np.arange(DEFAULT_STATE)))
#: Transient cells (state k, worst severity so far w).
_CELLS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (3, 2))


def _propagate(
    k0: np.ndarray,
    capacity_path: np.ndarray,
    inst0: np.ndarray,
    term: np.ndarray,
    intercept: np.ndarray,
    params: HazardParams,
) -> np.ndarray:
    """Severity distribution (rows x 4) over the horizon covered by ``capacity_path`` columns.

    The first month starts from each loan's own state ``k0`` (worst-so-far 0: the state at t is
    not part of the window); later months move mass between the transient cells, absorbing it
    into "closed" (repaid or renewed, keeping its worst severity) or S3.
    """
    n, horizon = capacity_path.shape
    closed = np.zeros((n, 3))
    bad = np.zeros(n)
    mass: dict[tuple[int, int], np.ndarray] = {}
    for step in range(horizon):
        inst = inst0 + step + 1
        due_now = inst <= term
        ended = inst >= term
        p_evergreen = evergreen_probability(np.ones(n, dtype=np.int64), inst == term, params)
        p_restructure = restructure_probability(np.full(n, RESTRUCTURE_FROM), params)
        z = capacity_path[:, step]
        p_miss = miss_probability(z, intercept, params)
        p_roll = roll_probabilities(z, params)
        if step == 0:
            sources = [(int(k), 0, (k0 == k).astype(np.float64)) for k in np.unique(k0)]
        else:
            sources = [(k, w, m) for (k, w), m in mass.items()]
        new = {cell: np.zeros(n) for cell in _CELLS}
        for k, w, weight in sources:
            probs = next_state_probabilities(k, p_miss, p_roll, due_now, params)
            for k_next, prob in probs.items():
                flow = weight * prob
                if k_next >= DEFAULT_STATE:
                    bad += flow
                    continue
                if k_next == 0:
                    closed[:, w] += np.where(ended, flow, 0.0)
                    new[(0, w)] += np.where(ended, 0.0, flow)
                    continue
                renewed = flow * p_evergreen
                closed[:, w] += renewed
                flow = flow - renewed
                if k_next == RESTRUCTURE_FROM:
                    restructured = flow * p_restructure
                    bad += restructured
                    flow = flow - restructured
                new[(k_next, max(w, _SEV[k_next]))] += flow
        mass = new
    out = np.zeros((n, 4))
    out[:, :3] = closed
    for (_, w), m in mass.items():
        out[:, w] += m
    out[:, 3] = bad
    return out


def compute_truth(
    open_months: dict[str, np.ndarray],
    capacity: np.ndarray,
    credit: np.ndarray,
    calendar: Calendar,
    params: HazardParams,
) -> dict[str, np.ndarray]:
    """Oracle probabilities for every open loan-month (see module docstring).

    Returns arrays ``p_s0 .. p_s3`` (exact severity, summing to 1), ``latent_credit`` at t and
    ``miss_hazard_next`` (the chance a current loan misses the instalment of month t+1).
    """
    horizon = calendar.horizon
    b = open_months["borrower"]
    t = open_months["as_of"]
    n = b.shape[0]
    probs = np.empty((n, 4))
    steps = np.arange(1, horizon + 1)
    for lo in range(0, n, CHUNK_ROWS):
        sl = slice(lo, min(lo + CHUNK_ROWS, n))
        cols = calendar.col(t[sl][:, None] + steps[None, :])
        path = capacity[b[sl][:, None], cols].astype(np.float64)
        inst0 = t[sl] - open_months["orig_m"][sl]
        probs[sl] = _propagate(
            open_months["k"][sl],
            path,
            inst0,
            open_months["term"][sl],
            open_months["intercept"][sl],
            params,
        )
    next_capacity = capacity[b, calendar.col(t + 1)].astype(np.float64)
    return {
        "p_s0": probs[:, 0],
        "p_s1": probs[:, 1],
        "p_s2": probs[:, 2],
        "p_s3": probs[:, 3],
        "latent_credit": credit[b, calendar.col(t)],
        "miss_hazard_next": miss_probability(next_capacity, open_months["intercept"], params),
    }

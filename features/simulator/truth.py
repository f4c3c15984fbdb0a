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
    evergreen_probability,
    miss_probability,
    outgoing,
    restructure_probability,
)

CHUNK_ROWS = 250_000
# Transient (k, worst-so-far) cells; k >= 4 is absorbed into S3.
_CELLS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (3, 2))
_SEV = (0, 1, 2, 2)


def _closure(
    probs: np.ndarray, inst: np.ndarray, term: np.ndarray, params: HazardParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a next-state distribution into open k'=0..3, closed-without-severity and S3."""
    at_maturity = inst == term
    bad = probs[:, DEFAULT_STATE:].sum(axis=1)
    open_ = probs[:, :DEFAULT_STATE].copy()
    closed = np.where(inst >= term, open_[:, 0], 0.0)
    open_[:, 0] -= closed
    for kk in (1, 2, 3):
        kvec = np.full(inst.shape[0], kk)
        ever = open_[:, kk] * evergreen_probability(kvec, at_maturity, params)
        closed += ever
        open_[:, kk] -= ever
    restructured = open_[:, 3] * restructure_probability(np.full(inst.shape[0], 3), params)
    bad += restructured
    open_[:, 3] -= restructured
    return open_, closed, bad


def _propagate(
    k0: np.ndarray,
    capacity_path: np.ndarray,
    inst0: np.ndarray,
    term: np.ndarray,
    intercept: np.ndarray,
    params: HazardParams,
) -> np.ndarray:
    """Severity distribution (rows x 4) over the horizon covered by ``capacity_path`` columns."""
    n, horizon = capacity_path.shape
    mass = {cell: np.zeros(n) for cell in _CELLS}
    closed = np.zeros((n, 3))
    bad = np.zeros(n)
    for step in range(horizon):
        inst = inst0 + step + 1
        due_now = inst <= term
        z = capacity_path[:, step]
        if step == 0:
            sources = [(k0, None)]
        else:
            sources = [(np.full(n, kk), kk) for kk in range(4)]
        new = {cell: np.zeros(n) for cell in _CELLS}
        for kvec, kk in sources:
            open_, shut, lost = _closure(outgoing(kvec, z, intercept, due_now, params), inst, term, params)
            weights = [(0, np.ones(n))] if kk is None else [
                (w, mass[(kk, w)]) for w in range(3) if (kk, w) in mass
            ]
            for w, weight in weights:
                bad += weight * lost
                closed[:, w] += weight * shut
                for k_next in range(4):
                    cell = (k_next, max(w, _SEV[k_next]))
                    new[cell] += weight * open_[:, k_next]
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
            open_months["k"][sl], path, inst0, open_months["term"][sl],
            open_months["intercept"][sl], params,
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

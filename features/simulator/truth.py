"""The oracle: exact outcome probabilities of every open loan-month, as the generator defines them.

For a loan open at the end of month ``t`` in state ``k_t``, the ground truth is the probability
of each outcome severity over the next ``H`` months (docs/domain.md, outcomes: the worst month-end
DPD in ``(t, t+H]``, with charge-off and distressed restructuring counted as S3), *conditional on
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
    npl_cure_probability,
    restructure_probability,
    roll_probabilities,
    severity_of_state,
)

CHUNK_ROWS = 200_000
#: Severity shown by an open loan in state k' = 0..3 (k' >= 4 is absorbed into S3).
_SEV = tuple(int(s) for s in severity_of_state(np.arange(DEFAULT_STATE)))
#: Transient cells (state k, worst severity so far w).
_CELLS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (3, 2))


Cells = dict[tuple[int, int], np.ndarray]


def initial_sources(k0: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Mass of each loan's own state ``k0`` with worst-so-far 0 (the state at t is not counted).

    Every state 90+ DPD moves alike (a rare cure, else S3), so they start as one source at
    ``DEFAULT_STATE``: a loan years past due costs the oracle no more than one 90 days past due.
    """
    k0 = np.minimum(k0, DEFAULT_STATE)
    return [(int(k), 0, (k0 == k).astype(np.float64)) for k in np.unique(k0)]


def advance_month(
    sources: list[tuple[int, int, np.ndarray]],
    z: np.ndarray,
    inst: np.ndarray,
    term: np.ndarray,
    intercept: np.ndarray,
    params: HazardParams,
    closed: np.ndarray,
    bad: np.ndarray,
) -> Cells:
    """One month of the transition law for the mass in ``sources`` ``[(k, w, mass)]``.

    Returns the mass of each transient cell after the month and adds what is absorbed this
    month to ``closed`` (rows x 3, by worst severity) and ``bad`` (S3) in place. ``inst`` is the
    instalment number of the month. This is the generic form, built on the same
    ``next_state_probabilities`` the book samples from, for any open starting state: a loan
    90+ DPD (k >= 4, possibly for many months) either cures or stays in S3.
    """
    n = z.shape[0]
    due_now = inst <= term
    ended = inst >= term
    p_evergreen = evergreen_probability(np.ones(n, dtype=np.int64), inst == term, params)
    p_restructure = restructure_probability(np.full(n, RESTRUCTURE_FROM), params)
    p_miss = miss_probability(z, intercept, params)
    p_roll = roll_probabilities(z, params)
    p_cure = npl_cure_probability(z, params)
    new = {cell: np.zeros(n) for cell in _CELLS}
    for k, w, weight in sources:
        probs = next_state_probabilities(k, p_miss, p_roll, p_cure, due_now, params)
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
    return new


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
    sources = initial_sources(k0)
    mass: Cells = {}
    for step in range(horizon):
        mass = advance_month(
            sources, capacity_path[:, step], inst0 + step + 1, term, intercept, params, closed, bad
        )
        sources = [(k, w, m) for (k, w), m in mass.items()]
    out = np.zeros((n, 4))
    out[:, :3] = closed
    for (_, w), m in mass.items():
        out[:, w] += m
    out[:, 3] = bad
    return out


def _ladder_coefficients(due: np.ndarray, params: HazardParams) -> tuple[np.ndarray | float, ...]:
    """Cure, back and stay shares of k = 1..3 as ``next_state_probabilities`` applies them.

    After maturity there is no new instalment, so a loan that does not roll pays everything
    (cure 1, back 0). Scalars when every row is before maturity, else (rows x 1) columns.
    """
    out: list[np.ndarray | float] = []
    for k in range(3):
        cure, back = params.cure_share[k], params.back_share[k]
        if due.all():
            out += [cure, back, 1.0 - cure - back]
        else:
            c = np.where(due, cure, 1.0).astype(np.float32)[:, None]
            b = np.where(due, back, 0.0).astype(np.float32)[:, None]
            out += [c, b, 1.0 - c - b]
    return tuple(out)


def path_odds(
    capacity: np.ndarray, intercept: np.ndarray, params: HazardParams
) -> tuple[np.ndarray, np.ndarray]:
    """Hazard odds that ``propagate_paths`` takes, from capacity (months x rows x paths).

    ``miss = exp(b z - a)`` gives ``p_miss = 1 / (1 + miss)`` and ``roll = exp(b_r z)`` gives
    ``p_roll[k] = 1 / (1 + exp(-r_k) roll)``: the logistic hazards of ``transitions.py``.
    """
    z = capacity.astype(np.float32)
    miss = np.exp(params.miss_slope * z - intercept.astype(np.float32)[None, :, None])
    return miss, np.exp(params.roll_slope * z)


def propagate_paths(
    mass: Cells,
    closed: np.ndarray,
    bad: np.ndarray,
    miss_odds: np.ndarray,
    roll_odds: np.ndarray,
    inst0: np.ndarray,
    term: np.ndarray,
    weights: np.ndarray,
    params: HazardParams,
) -> np.ndarray:
    """Severity distribution (rows x 4) averaged over capacity paths, after the first month.

    ``mass``, ``closed`` and ``bad`` are the state after the first month (``advance_month``,
    which the paths share because its capacity is known). ``miss_odds`` and ``roll_odds``
    (months 2..H x rows x paths, float32, see ``path_odds``) carry each path's capacity, and
    ``weights`` (paths, summing to 1) weigh the paths.

    The same law as ``advance_month``, written out cell by cell for the seven transient cells
    so that rows x paths run through a few dozen float32 array operations a month and no
    ``exp``: the point-in-time oracle propagates every loan-month along many paths, and the
    generic form is too slow for that. Rolling from k = 3 is absorbed into S3, so only the three
    roll hazards of the ladder matter (and a cure from 90+ DPD only in the shared first
    month). Probabilities are averaged over paths, never the paths
    themselves: the ladder is nonlinear in capacity. A test checks this against ``_propagate``.
    """
    rows, paths = miss_odds.shape[1:]
    f32 = np.float32

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(f32)[:, None], paths, axis=1)

    a, b, c, d, e, f, g = (spread(mass[cell]) for cell in _CELLS)
    shut = np.zeros((3, rows, paths), dtype=f32)
    lost = np.zeros((rows, paths), dtype=f32)
    roll_scale = [f32(np.exp(-r)) for r in params.roll_intercept[:3]]
    p_restructure = f32(restructure_probability(np.array([RESTRUCTURE_FROM]), params)[0])
    for step in range(miss_odds.shape[0]):
        inst = inst0 + step + 2
        due = inst <= term
        keep_current = miss_odds[step] / (1.0 + miss_odds[step])
        p_miss = 1.0 - keep_current
        q1, q2, q3 = (1.0 / (1.0 + scale * roll_odds[step]) for scale in roll_scale)
        c1, b1, s1, c2, b2, s2, c3, b3, s3 = _ladder_coefficients(due, params)
        d1, e1, f1, g1 = d * (1.0 - q1), e * (1.0 - q1), f * (1.0 - q2), g * (1.0 - q3)
        lost += g * q3
        na = a * keep_current
        nb = b * keep_current + d1 * (c1 + b1)
        nc = c * keep_current + e1 * (c1 + b1) + f1 * c2 + g1 * c3
        nd = (a + b) * p_miss + d1 * s1
        ne = c * p_miss + e1 * s1 + f1 * b2
        nf = (d + e) * q1 + f1 * s2 + g1 * b3
        ng = f * q2 + g1 * s3
        ended = inst >= term
        if ended.any():
            # A renewal at maturity despite arrears closes the loan at the worst severity seen
            # *before* this month (its statement shows DPD 0), so it is split by source cell.
            done = ended.astype(f32)[:, None]
            p_ever = evergreen_probability(np.ones(rows, dtype=np.int64), inst == term, params)
            ever = p_ever.astype(f32)[:, None]
            from_w0 = a * p_miss * ever
            from_w1 = (b * p_miss + d1 * s1 + d * q1) * ever
            from_w2 = (ne + e * q1 + f1 * s2 + g1 * b3 + ng) * ever
            shut[0] += na * done + from_w0
            shut[1] += nb * done + from_w1
            shut[2] += nc * done + from_w2
            na, nb, nc = na * (1.0 - done), nb * (1.0 - done), nc * (1.0 - done)
            nd, ne, nf, ng = (x * (1.0 - ever) for x in (nd, ne, nf, ng))
        a, b, c, d, e, f = na, nb, nc, nd, ne, nf
        lost += ng * p_restructure
        g = ng * (1.0 - p_restructure)
    by_severity = np.stack([shut[0] + a, shut[1] + b + d, shut[2] + c + e + f + g, lost])
    out = (by_severity.astype(np.float64) @ weights).T
    out[:, :3] += closed
    out[:, 3] += bad
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

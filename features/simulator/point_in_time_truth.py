"""The point-in-time oracle: outcome probabilities given only what is known at the as-of month.

The path-conditional oracle (``truth.py``) conditions on the borrower's realised repayment
capacity over the outcome window, shocks that had not happened at as_of included, so no model
of point-in-time data can match it. This oracle conditions on everything the generator knows at
the end of month ``t`` and integrates over the rest:

* **known**: the loan's state ``k_t``, its instalment schedule (maturity, renewal at maturity),
  its segment intercept, the borrower's base creditworthiness, every AR(1) component of
  creditworthiness at ``t`` (macro, industry, area, idiosyncratic), realised creditworthiness up
  to ``t`` (so capacity of month t+1, a mean of ``c[t-2..t]``, is known exactly), the farming-
  year cycle, and every scenario shock that has *started* by ``t``, with its declared duration
  and fade-out;
* **integrated over**: the AR(1) innovations of months t+1 .. t+H-1 and scenario shocks that
  start after ``t`` (a scenario is a stress the generator imposes, not a law it draws from, so
  before its start month the oracle expects the baseline).

Given ``t`` the future creditworthiness is Gaussian: the mean decays each component by its own
``phi**h`` and the deviation has a covariance that is the same for every borrower and month. The
ladder is nonlinear in capacity, so probabilities are averaged over capacity paths, never
propagated along the mean path. Each borrower gets ``N_PATHS`` equally weighted paths of its
own (seeded, independent across borrowers, shared by its loan-months): the leading principal
component of the deviation, which carries about 77% of its variance, is stratified into
``N_PATHS`` equal-probability strata, the rest is drawn normally, and the paths come in
antithetic pairs, so every borrower's paths have mean exactly zero. The estimate is unbiased
for each row; the noise left in a row (rms, against 800 brute-force futures) is about 1% of its
P(S>=1) and 7% of its P(S>=3), independent across borrowers, so it averages out over a book and
hardly moves a ranking (P(S>=3) spans orders of magnitude across loan-months).

This is still an oracle (it sees the latent state, which a bank cannot), so it bounds any
point-in-time model from above, but fairly. Code under ``features/`` other than the simulator
must never read its table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from features.simulator.calendar import Calendar
from features.simulator.config import HazardParams, LatentParams
from features.simulator.latent import (
    CommonFactors,
    LatentPaths,
    creditworthiness,
    draw_components,
    shock_matrix,
)
from features.simulator.population import Population
from features.simulator.scenario import Scenario
from features.simulator.truth import advance_month, initial_sources, propagate_paths

#: Capacity paths per borrower (an even number: they come in antithetic pairs).
N_PATHS = 16
#: Row-path pairs per chunk: float32 working arrays of 256 KiB keep the kernel in cache.
CHUNK_ROW_PATHS = 1 << 16
#: Largest tolerated gap between replayed and drawn creditworthiness (float32 rounding).
_REPLAY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class KnownLatent:
    """What the generator knows about every borrower's creditworthiness, month by month.

    Factor arrays span the calendar (columns as ``Calendar.col``); ``shocks`` holds, per
    scenario shock, its start month index and the severity it inflicts on each borrower.
    """

    paths: LatentPaths
    base_credit: np.ndarray
    industry: np.ndarray
    area: np.ndarray
    macro_factor: np.ndarray
    industry_factor: np.ndarray
    area_factor: np.ndarray
    idio_factor: np.ndarray
    season: np.ndarray
    shocks: tuple[tuple[int, np.ndarray], ...]


def replay_latent(
    population: Population,
    latent: LatentPaths,
    calendar: Calendar,
    params: LatentParams,
    scenario: Scenario,
    rng: np.random.Generator,
    common: CommonFactors | None = None,
) -> KnownLatent:
    """Recover the AR(1) components behind ``latent`` by replaying its random stream
    (with the book's ``common`` factors when the population is a later block of it).

    ``draw_latent_paths`` keeps only their sum, but the conditional mean needs each component
    (they decay at different rates). ``rng`` must be a fresh generator on the same seed as the
    one ``draw_latent_paths`` used; the components are redrawn in its order and the rebuilt
    creditworthiness is checked against ``latent.credit``, so a change to that draw order fails
    loudly here instead of silently skewing the oracle. ``params`` are the configuration's; the
    scenario's switched-off common innovations are applied as ``draw_latent_paths`` applies
    them (``compute_point_in_time_truth`` must then be given ``scenario.latent_params(params)``).

    Raises
    ------
    RuntimeError
        If the replay does not rebuild ``latent.credit``.
    """
    parts = draw_components(
        population.base_credit.shape[0], calendar, scenario.latent_params(params), rng, common
    )
    rebuilt = creditworthiness(population, parts, latent.shock)
    gap = float(np.abs(rebuilt - latent.credit).max()) if rebuilt.size else 0.0
    if gap > _REPLAY_TOLERANCE:
        raise RuntimeError(
            f"replayed latent components miss latent.credit by {gap:.3g}: "
            "draw_latent_paths changed its draws; update replay_latent to match"
        )
    shocks = tuple(
        (
            shock.start_index(calendar.start),
            shock_matrix(population, calendar, Scenario(shocks=(shock,))),
        )
        for shock in scenario.shocks
    )
    return KnownLatent(
        paths=latent,
        base_credit=population.base_credit,
        industry=population.industry,
        area=population.area,
        macro_factor=parts.macro,
        industry_factor=parts.industry,
        area_factor=parts.area,
        idio_factor=parts.idio,
        season=parts.season,
        shocks=shocks,
    )


def expected_capacity(
    known: KnownLatent,
    borrower: np.ndarray,
    as_of: np.ndarray,
    calendar: Calendar,
    params: LatentParams,
) -> np.ndarray:
    """Expected capacity of months as_of+1 .. as_of+H (rows x H) given the end of as_of.

    ``c[t+j]`` has mean ``c0 + season + phi_k**j x_k[t]`` summed over the four AR(1) components,
    minus the shocks already started; capacity mixes the realised ``c[t-2..t]`` with these. The
    first column equals the realised capacity of month t+1 (tested).
    """
    horizon = calendar.horizon
    ahead = np.arange(1, horizon)
    now = calendar.col(as_of)
    future = calendar.col(as_of[:, None] + ahead[None, :])
    ind = known.industry[borrower]
    mean = known.base_credit[borrower][:, None] + known.season[ind[:, None], future]
    for phi, level in (
        (params.macro_phi, known.macro_factor[now]),
        (params.industry_phi, known.industry_factor[ind, now]),
        (params.area_phi, known.area_factor[known.area[borrower], now]),
        (params.idio_phi, known.idio_factor[borrower, now]),
    ):
        mean += level[:, None] * phi ** ahead[None, :]
    for start, severity in known.shocks:
        mean -= np.where((start <= as_of)[:, None], severity[borrower[:, None], future], 0.0)
    past = known.paths.credit[borrower[:, None], calendar.col(as_of[:, None] + np.arange(-2, 1))]
    credit = np.concatenate([past.astype(np.float64), mean], axis=1)  # months t-2 .. t+H-1
    w1, w2, w3 = params.capacity_weights
    return w1 * credit[:, 2:] + w2 * credit[:, 1:-1] + w3 * credit[:, :-2]


def deviation_loading(params: LatentParams, horizon: int) -> np.ndarray:
    """Matrix ``L`` (H x H-1) with capacity deviation ``L @ xi``, ``xi ~ N(0, I)``, given t.

    Creditworthiness deviations of months t+1 .. t+H-1 sum four independent AR(1) innovation
    streams; capacity is a fixed linear mix of them. Columns are principal components, largest
    first, so the first coordinate of ``xi`` is the one worth stratifying. The first row (month
    t+1, known) is zero.
    """
    ahead = horizon - 1
    lag = np.arange(ahead)[:, None] - np.arange(ahead)[None, :]
    credit_cov = np.zeros((ahead, ahead))
    for phi, sd in (
        (params.macro_phi, params.macro_sd),
        (params.industry_phi, params.industry_sd),
        (params.area_phi, params.area_sd),
        (params.idio_phi, params.idio_stationary_sd * np.sqrt(1 - params.idio_phi**2)),
    ):
        impulse = np.where(lag >= 0, sd * phi ** np.maximum(lag, 0), 0.0)
        credit_cov += impulse @ impulse.T
    mix = np.zeros((horizon, ahead))
    for back, weight in enumerate(params.capacity_weights, start=1):
        for h in range(horizon):
            if 0 <= h - back < ahead:
                mix[h, h - back] = weight
    values, vectors = np.linalg.eigh(mix @ credit_cov @ mix.T)
    top = np.argsort(values)[::-1][:ahead]
    loading = vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    loading[0] = 0.0
    return loading


def draw_nodes(n_borrowers: int, n_paths: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Standard-normal path coordinates (borrowers x paths x dim), float32.

    Coordinate 0 is stratified (path ``p`` of a pair draws from stratum ``p`` of the lower
    half, its twin from the mirrored stratum), the others are normal; twins are antithetic.
    """
    if n_paths % 2:
        raise ValueError("n_paths must be even (antithetic pairs)")
    half = n_paths // 2
    u = (np.arange(half) + rng.random((n_borrowers, half))) / n_paths
    rest = rng.standard_normal((n_borrowers, half, max(dim - 1, 0)))
    lower = np.concatenate([ndtri(u)[:, :, None], rest], axis=2)[:, :, :dim]
    return np.concatenate([lower, -lower], axis=1).astype(np.float32)


def _borrower_factors(
    n_borrowers: int,
    latent_params: LatentParams,
    hazard: HazardParams,
    horizon: int,
    n_paths: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``exp(slope x deviation)`` of each borrower's paths, for the miss and roll hazards.

    A hazard's odds are ``exp(slope z)`` with ``z`` = row mean + borrower deviation, so they
    factor into a row part and a borrower part; computing the borrower part once (borrowers x
    months 2..H x paths) spares the ``exp`` of every loan-month x path.
    """
    ahead = horizon - 1
    loading = deviation_loading(latent_params, horizon)[1:]
    nodes = draw_nodes(n_borrowers, n_paths, ahead, rng)
    deviation = np.einsum("bpd,hd->bhp", nodes, loading.astype(np.float32))
    return (
        np.exp(np.float32(hazard.miss_slope) * deviation),
        np.exp(np.float32(hazard.roll_slope) * deviation),
    )


def compute_point_in_time_truth(
    open_months: dict[str, np.ndarray],
    known: KnownLatent,
    calendar: Calendar,
    latent_params: LatentParams,
    hazard: HazardParams,
    rng: np.random.Generator,
    n_paths: int = N_PATHS,
) -> dict[str, np.ndarray]:
    """Point-in-time severity probabilities ``pit_p_s0 .. pit_p_s3`` of every open loan-month.

    Same rows and order as ``open_months``; see the module docstring for what is known.
    """
    b, t = open_months["borrower"], open_months["as_of"]
    horizon, n = calendar.horizon, b.shape[0]
    weights = np.full(n_paths, 1.0 / n_paths)
    miss_dev, roll_dev = _borrower_factors(
        known.base_credit.shape[0], latent_params, hazard, horizon, n_paths, rng
    )
    probs = np.empty((n, 4))
    step = max(CHUNK_ROW_PATHS // n_paths, 1)
    for lo in range(0, n, step):
        sl = slice(lo, min(lo + step, n))
        bs, ts = b[sl], t[sl]
        rows = bs.shape[0]
        inst0, term = ts - open_months["orig_m"][sl], open_months["term"][sl]
        intercept = open_months["intercept"][sl]
        closed = np.zeros((rows, 3))
        bad = np.zeros(rows)
        first = known.paths.capacity[bs, calendar.col(ts + 1)].astype(np.float64)
        mass = advance_month(
            initial_sources(open_months["k"][sl]),
            first,
            inst0 + 1,
            term,
            intercept,
            hazard,
            closed,
            bad,
        )
        # Odds of months 2..H (months x rows x paths): row part x borrower-path part.
        mean = expected_capacity(known, bs, ts, calendar, latent_params)[:, 1:].T
        miss_row = np.exp(hazard.miss_slope * mean - intercept[None, :]).astype(np.float32)
        roll_row = np.exp(hazard.roll_slope * mean).astype(np.float32)
        miss_odds = np.empty((horizon - 1, rows, n_paths), dtype=np.float32)
        roll_odds = np.empty_like(miss_odds)
        np.multiply(miss_dev[bs].transpose(1, 0, 2), miss_row[:, :, None], out=miss_odds)
        np.multiply(roll_dev[bs].transpose(1, 0, 2), roll_row[:, :, None], out=roll_odds)
        probs[sl] = propagate_paths(
            mass, closed, bad, miss_odds, roll_odds, inst0, term, weights, hazard
        )
    probs /= probs.sum(axis=1, keepdims=True)  # float32 paths leave ~1e-7; sum to 1 as p_s*
    return {f"pit_p_s{s}": probs[:, s] for s in range(4)}

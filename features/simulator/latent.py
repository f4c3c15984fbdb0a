"""The monthly latent creditworthiness of every borrower, and the repayment capacity it gives.

``c[i, m] = c0[i] + macro[m] + industry[j(i), m] + area[a(i), m] + idio[i, m]
+ season[j(i), month of year] - shock[i, m]``: AR(1) factors for the economy, each industry and
each area, a persistent AR(1) of the borrower's own fortunes, a farming-year cycle for seasonal
industries, and scenario shocks. Repayment capacity ``z[m]`` is a weighted mean of ``c`` over the
three previous months: cash buffers delay distress, so operating signals (driven by ``c[m]``)
lead missed payments (driven by ``z``). Arrays span the calendar's lead and look-ahead months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulator.calendar import Calendar
from features.simulator.config import LatentParams
from features.simulator.population import Population
from features.simulator.scenario import Scenario
from features.vocab import AREAS, INDUSTRIES, SEASONAL_INDUSTRIES


@dataclass(frozen=True)
class LatentPaths:
    """``credit`` and ``capacity`` are float32 arrays (borrowers x calendar span)."""

    credit: np.ndarray
    capacity: np.ndarray
    shock: np.ndarray


def _ar1(
    rng: np.random.Generator,
    shape: tuple[int, int],
    phi: float,
    sd: float,
    *,
    mean_through: int | None = None,
) -> np.ndarray:
    """AR(1) paths along axis 1, with innovation sd ``sd``.

    By default the first value is drawn from the stationary law ``N(0, sd^2 / (1 - phi^2))``,
    so every column has that law. With ``mean_through = k`` columns ``0 .. k`` sit at the mean
    (0) and innovations start in column ``k + 1``: column ``k + t`` has variance
    ``(1 - phi^(2t))`` times the stationary one. Every column's draw is taken either way, so
    both choices consume the same stream.
    """
    eps = rng.standard_normal(shape)
    out = np.empty(shape)
    if mean_through is None:
        out[:, 0] = eps[:, 0] * sd / np.sqrt(1 - phi**2)
        first = 1
    else:
        out[:, : mean_through + 1] = 0.0
        first = mean_through + 1
    for t in range(first, shape[1]):
        out[:, t] = phi * out[:, t - 1] + sd * eps[:, t]
    return out


#: Month of the year in which each seasonal industry's cash flow peaks, just after its harvest
#: is sold: rice and rapeseed in October, pond fish and crabs drained and sold before the Spring
#: Festival (December), Anji white tea picked and sold in spring (May). The trough is six months
#: later. Out-of-phase cycles also keep the farming year from moving the whole book at once.
HARVEST_PEAK_MONTH = {"agriculture_crops": 10, "aquaculture": 12, "tea_bamboo": 5}


def seasonal_profile(calendar: Calendar, amplitude: float) -> np.ndarray:
    """Cash-flow cycle per industry and month: ``amplitude * cos`` peaking in the industry's
    ``HARVEST_PEAK_MONTH``; 0 for industries outside ``SEASONAL_INDUSTRIES``."""
    moy = calendar.month_of_year
    out = np.zeros((len(INDUSTRIES), moy.size))
    for name in SEASONAL_INDUSTRIES:
        peak = HARVEST_PEAK_MONTH[name]
        out[INDUSTRIES.index(name)] = amplitude * np.cos(2 * np.pi * (moy - peak) / 12)
    return out


def shock_matrix(population: Population, calendar: Calendar, scenario: Scenario) -> np.ndarray:
    """Severity of every scenario shock felt by each borrower in each covered month."""
    n = population.base_credit.shape[0]
    out = np.zeros((n, calendar.span), dtype=np.float32)
    months = calendar.span - (-calendar.first)
    for shock in scenario.shocks:
        hit = np.ones(n, dtype=bool)
        if shock.industry is not None:
            hit &= population.industry == INDUSTRIES.index(shock.industry)
        if shock.area is not None:
            hit &= population.area == AREAS.index(shock.area)
        profile = np.zeros(calendar.span)
        profile[calendar.col(0) :] = shock.profile(months, calendar.start)
        out[hit] += profile.astype(np.float32)
    return out


@dataclass(frozen=True)
class LatentComponents:
    """The AR(1) components of creditworthiness and the seasonal profile, kept apart because
    they decay at different rates (the point-in-time oracle needs each one)."""

    macro: np.ndarray  # (months,)
    industry: np.ndarray  # (industries, months)
    area: np.ndarray  # (areas, months)
    idio: np.ndarray  # (borrowers, months)
    season: np.ndarray  # (industries, months)


#: The book-wide factors (macro, industry by month, area by month) a block of borrowers shares.
CommonFactors = tuple[np.ndarray, np.ndarray, np.ndarray]


def draw_components(
    n_borrowers: int,
    calendar: Calendar,
    params: LatentParams,
    rng: np.random.Generator,
    common: CommonFactors | None = None,
) -> LatentComponents:
    """Draw every component in one fixed order (the order is part of the seed's meaning).

    The common factors (macro, industry, area) sit at their mean through the lead months and
    the window's first month and move from the second month on; the idiosyncratic factor is
    stationary from the start. A common factor is one draw per book, so a stationary start
    makes the book's opening economy a lottery: the default seed drew the macro factor 1.75
    stationary sd below its mean, and its lead-month innovations took it to 2.8 sd below by the
    window's first month, so its 12-month default rate fell from 5.7% (2023Q1) to 1.9% (2024Q3)
    as the factor came back, a drift no scenario asked for. Starting at the mean gives every
    book an average opening economy; the factors then wander by their innovations and reach
    90% of their stationary variance after about a year (``1 - phi^(2t)``). The idiosyncratic
    factor needs no such care: it is drawn per borrower, so its cross-section has its
    stationary law in every month and no book opens extreme. A common factor whose
    innovations a scenario switches off (``Scenario.latent_params``) stays at 0 throughout.

    ``common`` replaces the common factors after they are drawn (so the stream's position,
    hence the idiosyncratic draws, do not depend on it): a book simulated in blocks of
    borrowers gives every block the first block's economy (``draw_common_factors``).
    """
    span = calendar.span
    start = int(calendar.col(0))
    macro = _ar1(rng, (1, span), params.macro_phi, params.macro_sd, mean_through=start)[0]
    industry = _ar1(
        rng,
        (len(INDUSTRIES), span),
        params.industry_phi,
        params.industry_sd,
        mean_through=start,
    )
    area = _ar1(rng, (len(AREAS), span), params.area_phi, params.area_sd, mean_through=start)
    if common is not None:  # a later block of a large book: the first block's economy
        macro, industry, area = common
    innovation_sd = params.idio_stationary_sd * np.sqrt(1 - params.idio_phi**2)
    idio = _ar1(rng, (n_borrowers, span), params.idio_phi, innovation_sd)
    season = seasonal_profile(calendar, params.seasonal_amplitude)
    return LatentComponents(macro, industry, area, idio, season)


def draw_common_factors(
    calendar: Calendar, params: LatentParams, rng: np.random.Generator
) -> CommonFactors:
    """The common factors ``draw_components`` draws first from a fresh ``rng``."""
    parts = draw_components(0, calendar, params, rng)
    return parts.macro, parts.industry, parts.area


def creditworthiness(
    population: Population, components: LatentComponents, shock: np.ndarray
) -> np.ndarray:
    """Sum of base credit, components and seasonality, less scenario shocks (float64)."""
    return (
        components.idio
        + population.base_credit[:, None]
        + components.macro[None, :]
        + components.industry[population.industry]
        + components.area[population.area]
        + components.season[population.industry]
        - shock
    )


def draw_latent_paths(
    population: Population,
    calendar: Calendar,
    params: LatentParams,
    scenario: Scenario,
    rng: np.random.Generator,
    common: CommonFactors | None = None,
) -> LatentPaths:
    """Simulate creditworthiness and capacity for every borrower over the whole calendar.

    ``params`` are the configuration's; the scenario's switches on common innovations are
    applied here (``Scenario.latent_params``), its shocks after the draw. ``common``: the
    book's common factors when this population is a later block of it.
    """
    params = scenario.latent_params(params)
    components = draw_components(population.base_credit.shape[0], calendar, params, rng, common)
    shock = shock_matrix(population, calendar, scenario)
    credit = creditworthiness(population, components, shock).astype(np.float32)

    w1, w2, w3 = params.capacity_weights
    capacity = np.empty_like(credit)
    capacity[:, :3] = credit[:, :3]
    capacity[:, 3:] = w1 * credit[:, 2:-1] + w2 * credit[:, 1:-2] + w3 * credit[:, :-3]
    return LatentPaths(credit=credit, capacity=capacity, shock=shock)

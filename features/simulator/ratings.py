"""Party-building ratings: each area's native level, drawn from latent quality.

An area awards ratings once a year in its own award month. The observed strength is
``q + leniency[area] + noise[area]`` (plus, for awards inside the window, a small move with the
borrower's change in creditworthiness), then cut into the area's native scale. Lenient areas
give high levels to weaker organizations, so the same raw level means different things in
different areas: the reason for a unified index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.party_scales import AREA_STANDARD, STANDARDS
from features.simulator.calendar import Calendar
from features.simulator.config import RatingParams
from features.simulator.latent import LatentPaths
from features.simulator.population import Population
from features.vocab import AREAS, BORROWER_TYPES, LIST_LEVELS

# Cut points on observed strength for the ordinal scales (worst level first).
_CUTS = {
    "star5": (-1.5, -0.5, 0.3, 1.1),
    "letter4": (-1.0, 0.0, 1.0),
    "tier4": (-1.2, -0.1, 1.0),
    "grade3": (-0.6, 0.6),
}
_ORGANIZATION_TYPES = ("private_enterprise", "social_organization", "farmer")


def native_level(standard: str, strength: np.ndarray) -> np.ndarray:
    """Map observed strength onto the levels of ``standard`` (string array)."""
    levels = np.asarray(STANDARDS[standard].levels)
    if standard == "score100":
        return np.clip(np.round(78 + 9 * strength), 0, 100).astype(np.int64).astype(str)
    return levels[np.searchsorted(np.asarray(_CUTS[standard]), strength)]


def draw_ratings(
    population: Population,
    latent: LatentPaths,
    calendar: Calendar,
    params: RatingParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """All ratings awarded up to the end of the window (award dates may precede the window)."""
    n = population.base_credit.shape[0]
    first_year = calendar.year_of(0) - params.years_before_window
    last_year = calendar.year_of(calendar.n_months - 1)
    years = np.arange(first_year, last_year + 1)
    eligible = population.affiliated

    other = rng.random(n) < params.other_area_prob
    shift = rng.integers(1, len(AREAS) - 1, size=n)
    pilot_other = (population.area + shift) % (len(AREAS) - 1)
    outside = population.area == AREAS.index("outside_pilot")
    issuing = np.where(other & ~outside, pilot_other, population.area)

    rated = rng.random((n, years.size)) < params.yearly_rating_prob
    noise = rng.standard_normal((n, years.size))
    list_noise = rng.standard_normal((n, years.size))
    award_dom = rng.integers(10, 29, size=(n, years.size))

    leniency = np.array([params.leniency[a] for a in AREAS])[issuing]
    noise_sd = np.array([params.noise_sd[a] for a in AREAS])[issuing]
    award_moy = np.array([params.award_month[a] for a in AREAS])[issuing]
    epoch_month = (years[None, :] - 1970) * 12 + (award_moy[:, None] - 1)
    award_m = epoch_month - ((calendar.start.year - 1970) * 12 + calendar.start.month - 1)
    award_day = epoch_month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    award_day = award_day + award_dom - 1
    in_window = (award_m >= 0) & (award_m < calendar.n_months)
    award_col = np.clip(award_m, 0, calendar.n_months - 1)

    change = (
        latent.credit[np.arange(n)[:, None], calendar.col(award_col)]
        - population.base_credit[:, None]
    )
    strength = (
        np.nan_to_num(population.party_quality)[:, None]
        + leniency[:, None]
        + noise_sd[:, None] * noise
        + np.where(in_window, params.deterioration_slope * change, 0.0)
    )
    keep = (
        eligible[:, None]
        & rated
        & (award_m < calendar.n_months)
        & (award_day >= population.founding_day[:, None] + 365)
    )
    bi, yi = np.nonzero(keep)
    area_codes = issuing[bi]
    levels = np.empty(bi.size, dtype=object)
    for code, area in enumerate(AREAS):
        sel = area_codes == code
        levels[sel] = native_level(AREA_STANDARD[area], strength[bi[sel], yi[sel]])

    quality = np.nan_to_num(population.party_quality)[bi] + 0.3 * list_noise[bi, yi]
    organization = (
        np.isin(
            population.borrower_type[bi], [BORROWER_TYPES.index(t) for t in _ORGANIZATION_TYPES]
        )
        & population.has_party_org[bi]
    )
    list_code = np.select([quality > 2.0, quality > 1.4, strength[bi, yi] > 0.9], [0, 1, 2], 3)
    list_code = np.where(organization, list_code, LIST_LEVELS.index("none"))

    frame = pd.DataFrame(
        {
            "borrower_idx": bi,
            "issuing_area": np.asarray(AREAS)[area_codes],
            "native_standard": np.asarray([AREA_STANDARD[a] for a in AREAS])[area_codes],
            "native_level": levels.astype(str),
            "award_day": award_day[bi, yi],
            "list_level": np.asarray(LIST_LEVELS)[list_code],
        }
    )
    return frame.sort_values(["borrower_idx", "award_day"], kind="stable").reset_index(drop=True)

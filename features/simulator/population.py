"""Draw the borrowers: who they are, and their latent Party-building quality and credit.

Each borrower gets observable attributes (type, area, industry, size, founding date, Party
organization and members) and two latent traits the bank never sees: Party-building quality
``q`` and base creditworthiness ``c0``. ``c0`` is correlated with ``q`` (the product's premise)
but mostly independent of it, so ratings inform without giving the outcome away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulator.calendar import Calendar
from features.simulator.config import PopulationParams
from features.vocab import AREAS, BORROWER_TYPES

# Industry mix by borrower type (rows follow BORROWER_TYPES, columns INDUSTRIES).
_INDUSTRY_MIX = np.array(
    [
        [0.38, 0.10, 0.16, 0.06, 0.14, 0.05, 0.04, 0.03, 0.04],  # private enterprise
        [0.02, 0.00, 0.05, 0.08, 0.65, 0.08, 0.04, 0.03, 0.05],  # social organization
        [0.08, 0.06, 0.34, 0.16, 0.26, 0.04, 0.02, 0.02, 0.02],  # individual entrepreneur
        [0.00, 0.00, 0.03, 0.05, 0.02, 0.40, 0.22, 0.13, 0.15],  # farmer / new agri entity
    ]
)
_SIZE_MIX = np.array(
    [
        [0.55, 0.35, 0.10],
        [0.70, 0.25, 0.05],
        [0.92, 0.08, 0.00],
        [0.90, 0.09, 0.01],
    ]
)
_PARTY_ORG_PROB = np.array(
    [[0.25, 0.60, 0.90], [0.45, 0.70, 0.90], [0.0, 0.0, 0.0], [0.10, 0.30, 0.5]]
)
_MEMBER_PROB = np.array([0.0, 0.0, 0.45, 0.40])  # proprietor is a Party member (individuals)
_AGE_YEARS_MEAN = np.array([9.0, 8.0, 6.0, 10.0])


@dataclass(frozen=True)
class Population:
    """Borrower attributes as integer codes into the vocabularies, plus latent traits."""

    borrower_type: np.ndarray
    area: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    founding_day: np.ndarray
    has_party_org: np.ndarray
    party_members: np.ndarray
    party_quality: np.ndarray
    base_credit: np.ndarray

    @property
    def affiliated(self) -> np.ndarray:
        """Has a Party organization or is a Party member: can hold a rating and a red loan."""
        return self.has_party_org | (self.party_members > 0)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1)."""
    u = np.asarray(rng.random(probs.shape[0]))
    return (u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, probs.shape[1] - 1)


def draw_population(
    n: int, calendar: Calendar, params: PopulationParams, rng: np.random.Generator
) -> Population:
    """Draw ``n`` borrowers."""
    type_p = np.array([params.type_shares[t] for t in BORROWER_TYPES])
    area_p = np.array([params.area_shares[a] for a in AREAS])
    btype = rng.choice(len(BORROWER_TYPES), size=n, p=type_p / type_p.sum())
    area = rng.choice(len(AREAS), size=n, p=area_p / area_p.sum())
    industry = _categorical(rng, _INDUSTRY_MIX[btype] / _INDUSTRY_MIX[btype].sum(1, keepdims=True))
    size = _categorical(rng, _SIZE_MIX[btype])

    # Ages past 60 years are capped: no registered borrower predates 1949-10-01.
    age_years = np.minimum(rng.gamma(2.0, _AGE_YEARS_MEAN[btype] / 2.0) + 0.5, 60.0)
    window_start = int(calendar.month_start_day[calendar.col(0)])
    founding_day = (window_start - age_years * 365.25).astype(np.int64)

    has_org = rng.random(n) < _PARTY_ORG_PROB[btype, size]
    members_if_org = 3 + rng.poisson(np.array([4.0, 9.0, 25.0])[size])
    is_member = rng.random(n) < _MEMBER_PROB[btype]
    party_members = np.where(has_org, members_if_org, is_member.astype(np.int64)).astype(np.int64)

    quality = rng.standard_normal(n)
    rho = params.party_quality_credit_corr
    affiliated = has_org | (party_members > 0)
    base = np.where(
        affiliated,
        rho * quality + np.sqrt(1 - rho**2) * rng.standard_normal(n),
        rng.standard_normal(n) + params.unaffiliated_credit_shift,
    )
    return Population(
        borrower_type=btype,
        area=area,
        industry=industry,
        size=size,
        founding_day=founding_day,
        has_party_org=has_org,
        party_members=party_members,
        party_quality=np.where(affiliated, quality, np.nan),
        base_credit=base,
    )

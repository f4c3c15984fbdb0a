"""Operating signals: monthly government-platform data per borrower, with lags and gaps.

Each signal responds to the borrower's creditworthiness in the month it describes (its
deviation from the borrower's own base level most of all), so a borrower heading for distress
shows falling revenue and electricity, shrinking payroll and new arrears *before* its capacity
to repay (a lagged mean of creditworthiness) gives way. Each source has its own reporting lag
(``available_at``), some borrowers are not covered by some sources at all (farmers rarely pay
VAT or social insurance) and some months are missing. Output is long: one row per
borrower, month and signal, ordered by signal, then borrower, then month.

Reporting itself worsens with distress, as it does in a firm whose bookkeeping, tax filings and
utility accounts fall behind when money runs short: the chance that a source's month is missing
and the chance that a value is filed 60-120 days late are logistic in creditworthiness
``c[m]`` (``SignalParams``), and a deeply distressed borrower may stop reporting altogether
(no source has its months until it resumes, a two-state chain whose entry hazard is logistic in
``c[m]``). A gap is therefore itself a warning sign, as it is on the government platforms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulator.calendar import Calendar, days_to_datetime
from features.simulator.config import SignalParams
from features.simulator.latent import LatentPaths, seasonal_profile
from features.simulator.population import Population
from features.vocab import SIGNALS


def _logistic(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def stopped_reporting(credit: np.ndarray, params: SignalParams, uniform: np.ndarray) -> np.ndarray:
    """Which borrowers have stopped reporting in each month (borrowers x months, bool).

    A reporting borrower stops in month ``m`` with ``sigmoid(stop_intercept - stop_slope
    c[m])`` and a stopped one resumes with ``resume_prob``. The first month is drawn from the
    chain's stationary share at that month's hazard, ``h / (h + resume_prob)``, so the book
    does not open with everybody reporting and the stopped share starts near its steady level
    (on a calm book it creeps from 2.1% to 2.3% of borrowers: spells of distress put the true
    steady share a little above the first month's ``h / (h + resume_prob)``). ``uniform``
    holds one uniform draw per borrower and month.
    """
    hazard = _logistic(params.stop_intercept - params.stop_slope * credit)
    stopped = np.empty(credit.shape, dtype=bool)
    stopped[:, 0] = uniform[:, 0] < hazard[:, 0] / (hazard[:, 0] + params.resume_prob)
    for m in range(1, credit.shape[1]):
        stopped[:, m] = np.where(
            stopped[:, m - 1], uniform[:, m] >= params.resume_prob, uniform[:, m] < hazard[:, m]
        )
    return stopped


# Coverage of each source by borrower type (rows BORROWER_TYPES, columns SIGNALS).
_COVERAGE = np.array(
    [
        [0.97, 0.97, 0.95, 0.95, 0.95, 0.90],  # private enterprise
        [0.50, 0.50, 0.92, 0.90, 0.90, 0.90],  # social organization
        [0.85, 0.85, 0.93, 0.45, 0.45, 0.90],  # individual entrepreneur
        [0.40, 0.30, 0.90, 0.10, 0.10, 0.85],  # farmer
    ]
)
_REVENUE_MONTHLY = np.array(  # median monthly revenue, yuan (rows types, columns sizes)
    [[3.0e5, 2.0e6, 1.2e7], [1.0e5, 4.0e5, 1.5e6], [6.0e4, 2.0e5, 6.0e5], [3.0e4, 1.5e5, 5.0e5]]
)
_HEADCOUNT = np.array([[8, 45, 160], [6, 25, 80], [2, 6, 15], [2, 8, 30]])
_KWH_PER_YUAN = np.array([0.12, 0.03, 0.02, 0.04, 0.02, 0.05, 0.06, 0.08, 0.05])  # by industry


def draw_signals(
    population: Population,
    latent: LatentPaths,
    calendar: Calendar,
    params: SignalParams,
    borrower_ids: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The ``operating_signals`` table over the window."""
    n, months = population.base_credit.shape[0], calendar.n_months
    window = slice(calendar.col(0), calendar.col(months))
    credit = latent.credit[:, window].astype(np.float64)
    deviation = credit - population.base_credit[:, None]
    smooth = deviation.copy()
    for m in range(1, months):  # payroll reacts slowly
        smooth[:, m] = 0.7 * smooth[:, m - 1] + 0.3 * deviation[:, m]
    season = seasonal_profile(calendar, 0.35)[population.industry][:, window]

    btype, size = population.borrower_type, population.size
    level = _REVENUE_MONTHLY[btype, size] * np.exp(0.5 * rng.standard_normal(n))
    revenue = level[:, None] * np.exp(
        params.revenue_deviation_slope * deviation
        + params.revenue_level_slope * population.base_credit[:, None]
        + season
        + params.revenue_noise_sd * rng.standard_normal((n, months))
    )
    tax_rate = np.asarray(rng.uniform(0.01, 0.05, n)) * (rng.random(n) > 0.1)
    tax = revenue * tax_rate[:, None] * np.exp(0.25 * rng.standard_normal((n, months)))
    kwh_level = level * _KWH_PER_YUAN[population.industry] * np.exp(0.3 * rng.standard_normal(n))
    kwh = kwh_level[:, None] * np.exp(
        params.electricity_deviation_slope * deviation
        + 0.8 * season
        + params.electricity_noise_sd * rng.standard_normal((n, months))
    )
    base_heads = _HEADCOUNT[btype, size] * np.exp(0.4 * rng.standard_normal(n))
    heads = np.round(
        base_heads[:, None] * np.exp(params.headcount_deviation_slope * smooth)
        + 0.3 * rng.standard_normal((n, months))
    ).clip(0)
    wage_hit = rng.random((n, months)) < 1 / (1 + np.exp(5.2 + 1.5 * credit))
    wages = wage_hit * heads * 6000.0 * rng.uniform(0.5, 2.0, (n, months))
    utility_hit = rng.random((n, months)) < 1 / (1 + np.exp(4.6 + 1.1 * credit))
    utilities = utility_hit * kwh * 0.8 * rng.uniform(0.5, 2.0, (n, months))

    covered = rng.random((n, len(SIGNALS))) < _COVERAGE[btype]
    reporting = ~stopped_reporting(credit, params, rng.random((n, months)))
    missing_prob = _logistic(params.missing_intercept - params.missing_slope * credit).astype(
        np.float32
    )
    late_prob = _logistic(params.late_intercept - params.late_slope * credit).astype(np.float32)
    month_end = calendar.month_end_day[window]
    start = days_to_datetime(calendar.month_start_day[window])
    parts = []
    # One signal at a time, compressed to its present rows at once: a (borrower x month x
    # signal) cube of every draw would triple peak memory on a 100,000-borrower book.
    for code, (name, values) in enumerate(
        zip(SIGNALS, (revenue, tax, kwh, heads, wages, utilities), strict=True)
    ):
        present = (
            covered[:, code, None]
            & reporting
            & (rng.random((n, months), dtype=np.float32) >= missing_prob)
        )
        lo, hi = params.lag_days[name]
        lag = rng.integers(lo, hi + 1, size=(n, months), dtype=np.int16)
        late = rng.random((n, months), dtype=np.float32) < late_prob
        lag += late * rng.integers(60, 121, size=(n, months), dtype=np.int16)
        b_idx, m_idx = np.nonzero(present)
        parts.append(
            pd.DataFrame(
                {
                    "borrower_idx": b_idx.astype(np.int32),
                    "month": m_idx.astype(np.int16),
                    "signal": np.full(b_idx.size, code, dtype=np.int8),
                    "value": np.round(values[b_idx, m_idx], 2),
                    "available_day": (month_end[m_idx] + lag[b_idx, m_idx]).astype(np.int32),
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    del parts
    table = pd.DataFrame(
        {
            "borrower_id": pd.Categorical.from_codes(
                long.pop("borrower_idx").to_numpy(), categories=list(borrower_ids)
            ),
            "period": start[long.pop("month").to_numpy()],
            "signal": pd.Categorical.from_codes(
                long.pop("signal").to_numpy(), categories=list(SIGNALS)
            ),
            "value": long.pop("value").to_numpy(),
            "available_at": days_to_datetime(long.pop("available_day").to_numpy().astype(np.int64)),
        }
    )
    return table

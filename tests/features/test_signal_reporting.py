"""Reporting of operating signals worsens with distress: gaps, late filings, stopped reporting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.simulator import simulate_portfolio
from features.simulator.calendar import Calendar
from features.simulator.config import PopulationParams, SignalParams
from features.simulator.latent import LatentPaths
from features.simulator.population import draw_population
from features.simulator.signals import draw_signals, stopped_reporting
from features.vocab import SIGNALS

CALENDAR = Calendar(start=pd.Period("2023-01", freq="M"), n_months=36, horizon=12)
HEALTHY, DISTRESSED = 0.5, -2.5


@pytest.fixture(scope="module")
def two_groups():
    """Signals of 6,000 borrowers, the first half steadily healthy, the rest deeply distressed."""
    n = 6000
    pop = draw_population(n, CALENDAR, PopulationParams(), np.random.default_rng(5))
    credit = np.where(np.arange(n) < n // 2, HEALTHY, DISTRESSED)[:, None] * np.ones(CALENDAR.span)
    credit = credit.astype(np.float32)
    latent = LatentPaths(credit=credit, capacity=credit, shock=np.zeros_like(credit))
    ids = np.array([f"B{i:07d}" for i in range(1, n + 1)])
    signals = draw_signals(pop, latent, CALENDAR, SignalParams(), ids, np.random.default_rng(6))
    signals = signals.assign(borrower_id=signals["borrower_id"].astype(str))
    distressed = pd.Series(np.arange(n) >= n // 2, index=ids)
    return signals, distressed


def _by_group(values: pd.Series, distressed: pd.Series) -> pd.Series:
    return values.groupby(distressed.loc[values.index].to_numpy()).mean()


def test_distressed_borrowers_miss_more_months(two_groups):
    signals, distressed = two_groups
    months = CALENDAR.n_months
    # Share of months missing of each (borrower, source) the platform covers (has any month).
    present = signals.groupby(["borrower_id", "signal"], observed=True).size()
    missing = (1 - present / months).groupby(level="borrower_id").mean()
    share = _by_group(missing, distressed)
    assert share[False] < 0.03
    assert share[True] > 5 * share[False]


def test_distressed_borrowers_file_late_more_often(two_groups):
    signals, distressed = two_groups
    regular = signals[signals["signal"] != "wage_arrears"]  # its on-time lag reaches 60 days
    month_end = regular["period"] + pd.offsets.MonthEnd(0)
    late = (regular["available_at"] - month_end).dt.days > 60
    share = _by_group(late.groupby(regular["borrower_id"].to_numpy()).mean(), distressed)
    assert share[False] < 0.015
    assert share[True] > 5 * share[False]


def test_deeply_distressed_borrowers_stop_reporting_for_months(two_groups):
    signals, distressed = two_groups
    months = pd.period_range(CALENDAR.start, periods=CALENDAR.n_months, freq="M")
    reported = (
        pd.crosstab(signals["borrower_id"], signals["period"].dt.to_period("M"))
        .reindex(index=distressed.index, columns=months, fill_value=0)
        .to_numpy()
        > 0
    )
    # Longest run of months in which no source at all reported the borrower.
    longest = np.zeros(len(reported), dtype=int)
    run = np.zeros(len(reported), dtype=int)
    for m in range(reported.shape[1]):
        run = np.where(reported[:, m], 0, run + 1)
        longest = np.maximum(longest, run)
    silent = pd.Series(longest >= 6, index=distressed.index)
    share = _by_group(silent, distressed)
    assert share[False] < 0.005
    assert share[True] > 0.2


def test_stopped_share_does_not_ramp_up_over_the_window():
    params = SignalParams()
    credit = np.full((40_000, 36), DISTRESSED)
    stopped = stopped_reporting(credit, params, np.random.default_rng(7).random(credit.shape))
    hazard = 1 / (1 + np.exp(-(params.stop_intercept - params.stop_slope * DISTRESSED)))
    steady = hazard / (hazard + params.resume_prob)
    assert stopped[:, 0].mean() == pytest.approx(steady, abs=0.01)
    assert stopped[:, -1].mean() == pytest.approx(steady, abs=0.01)
    # Spells persist: a stopped borrower is still stopped next month with 1 - resume_prob.
    still = stopped[:, 1:][stopped[:, :-1]].mean()
    assert still == pytest.approx(1 - params.resume_prob, abs=0.01)


def test_in_a_simulated_book_weaker_borrowers_leave_more_gaps():
    book = simulate_portfolio(3000, 24, 11)
    signals = book.tables["operating_signals"]
    present = signals.groupby(["borrower_id", "signal"], observed=True).size()
    missing = (1 - present / 24).groupby(level="borrower_id", observed=True).mean()
    base = book.truth["borrowers"].set_index("borrower_id")["base_credit"]
    base = base.loc[missing.index.astype(str)]
    weak = missing[(base <= base.quantile(0.1)).to_numpy()].mean()
    strong = missing[(base >= base.median()).to_numpy()].mean()
    assert weak > 2 * strong
    assert set(signals["signal"].astype(str)) == set(SIGNALS)

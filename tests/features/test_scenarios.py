"""Scenarios: the shipped files, the calm book, where common factors start, shocks' reach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.simulator import (
    CommonInnovations,
    Scenario,
    ScenarioError,
    load_scenario,
    simulate_portfolio,
)
from features.simulator.calendar import Calendar
from features.simulator.config import LatentParams, PopulationParams
from features.simulator.latent import (
    HARVEST_PEAK_MONTH,
    draw_components,
    draw_latent_paths,
    seasonal_profile,
)
from features.simulator.population import draw_population
from features.vocab import INDUSTRIES, SEASONAL_INDUSTRIES

SCENARIOS = Path(__file__).parents[2] / "features" / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
SEED = 20261127
CALENDAR = Calendar(start=pd.Period("2023-01", freq="M"), n_months=36, horizon=12)


def test_the_graded_scenarios_ship():
    names = {path.stem for path in SHIPPED}
    assert {"calm", "changxing_manufacturing_shock"} <= names
    severities = sorted(s.severity for p in SHIPPED for s in load_scenario(p).shocks)
    assert severities[0] <= 0.5 and severities[-1] >= 1.2  # a moderate and a strong shock
    whole_industry = [
        s for p in SHIPPED for s in load_scenario(p).shocks if s.industry and s.area is None
    ]
    assert whole_industry, "one scenario hits an industry in every area"


def test_calm_holds_the_common_factors_still():
    calm = load_scenario(SCENARIOS / "calm.yaml")
    assert calm.shocks == ()
    assert calm.common_innovations == CommonInnovations(macro=False, industry=False, area=False)
    params = calm.latent_params(LatentParams())
    assert (params.macro_sd, params.industry_sd, params.area_sd) == (0.0, 0.0, 0.0)
    assert params.idio_stationary_sd == LatentParams().idio_stationary_sd
    assert Scenario().latent_params(LatentParams()) == LatentParams()
    parts = draw_components(500, CALENDAR, params, np.random.default_rng(1))
    assert not parts.macro.any() and not parts.industry.any() and not parts.area.any()


def test_common_factors_start_at_their_mean_and_grow_to_the_stationary_law():
    params = LatentParams()
    draws = [draw_components(1, CALENDAR, params, np.random.default_rng(s)) for s in range(400)]
    macro = np.array([d.macro for d in draws])
    industry = np.array([d.industry for d in draws])
    start = CALENDAR.col(0)  # at the mean through the lead months and the first window month
    assert not macro[:, : start + 1].any() and not industry[:, :, : start + 1].any()
    for t in (3, 30):  # variance sd^2 (1 - phi^(2t)) / (1 - phi^2) t months later
        phi = params.macro_phi
        expected = params.macro_sd**2 * (1 - phi ** (2 * t)) / (1 - phi**2)
        assert macro[:, start + t].var() == pytest.approx(expected, rel=0.2)
    # The borrowers' own factor is stationary from the first month: no book opens extreme.
    idio = draw_components(20_000, CALENDAR, params, np.random.default_rng(2)).idio
    assert idio[:, 0].std() == pytest.approx(params.idio_stationary_sd, rel=0.03)
    assert idio[:, -1].std() == pytest.approx(params.idio_stationary_sd, rel=0.03)


def test_calm_book_creditworthiness_has_the_same_law_every_month():
    calendar = Calendar(start=pd.Period("2023-01", freq="M"), n_months=36, horizon=12)
    pop = draw_population(20_000, calendar, PopulationParams(), np.random.default_rng(3))
    steady = ~np.isin(pop.industry, [INDUSTRIES.index(n) for n in SEASONAL_INDUSTRIES])

    def cross_section(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(4)
        credit = draw_latent_paths(pop, calendar, LatentParams(), scenario, rng).credit[steady]
        return credit.mean(axis=0), credit.std(axis=0)

    calm_mean, calm_sd = cross_section(load_scenario(SCENARIOS / "calm.yaml"))
    moving_mean, _ = cross_section(Scenario())
    assert np.ptp(calm_mean) < 0.02 and np.ptp(calm_sd) < 0.02
    assert np.ptp(moving_mean) > 0.1  # the same seed with the economy moving


def test_seasonal_industries_peak_in_their_harvest_month():
    profile = seasonal_profile(CALENDAR, 0.45)
    moy = CALENDAR.month_of_year
    for name in INDUSTRIES:
        row = profile[INDUSTRIES.index(name)]
        if name in SEASONAL_INDUSTRIES:
            assert set(moy[row == row.max()]) == {HARVEST_PEAK_MONTH[name]}
        else:
            assert not row.any()


def test_bad_common_innovations_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncommon_innovations:\n  macro: sometimes\nshocks: []\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml: common_innovations\.macro: .*boolean"):
        load_scenario(bad)
    bad.write_text("name: x\ncommon_innovations:\n  gdp: false\n")
    with pytest.raises(ScenarioError, match=r"common_innovations\.gdp: Extra inputs"):
        load_scenario(bad)
    bad.write_text("- calm\n")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(bad)
    message = ""
    try:
        load_scenario(bad)
    except ScenarioError as exc:
        message = str(exc)
    assert "\n" not in message


def _by_borrower(table: pd.DataFrame, owner: pd.Series, keep: set[str]) -> pd.DataFrame:
    """Rows of ``table`` whose borrower (via ``owner``: key -> borrower) is in ``keep``."""
    rows = table[owner.isin(keep).to_numpy()].reset_index(drop=True)
    return rows.assign(
        **{c: rows[c].astype(str) for c in rows.columns if rows[c].dtype == "category"}
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shocks_change_their_segment_and_leave_the_rest_identical(path):
    scenario = load_scenario(path)
    unshocked = scenario.model_copy(update={"shocks": ()})
    hit = simulate_portfolio(2500, 30, SEED, scenario=scenario)
    base = simulate_portfolio(2500, 30, SEED, scenario=unshocked)
    shocked = set(
        hit.truth["borrowers"].loc[hit.truth["borrowers"]["shock_months"] > 0, "borrower_id"]
    )
    borrowers = base.tables["borrowers"]
    expected = np.zeros(len(borrowers), dtype=bool)
    for shock in scenario.shocks:
        mask = np.ones(len(borrowers), dtype=bool)
        if shock.industry:
            mask &= (borrowers["industry"] == shock.industry).to_numpy()
        if shock.area:
            mask &= (borrowers["area"] == shock.area).to_numpy()
        expected |= mask
    assert shocked == set(borrowers.loc[expected, "borrower_id"])
    assert bool(shocked) == bool(scenario.shocks)
    rest = set(borrowers["borrower_id"]) - shocked

    def owners(p, name: str) -> pd.Series:
        table = p.tables[name]
        if "borrower_id" in table:
            return table["borrower_id"].astype(str)
        loans = p.tables["loans"].set_index(p.tables["loans"]["loan_id"].astype(str))
        return loans.loc[table["loan_id"].astype(str), "borrower_id"].astype(str)

    for name in ("loans", "repayments", "operating_signals", "events", "party_ratings"):
        a = _by_borrower(base.tables[name], owners(base, name), rest)
        b = _by_borrower(hit.tables[name], owners(hit, name), rest)
        ids = [c for c in ("rating_id", "event_id") if c in a]  # numbered over the whole book
        pd.testing.assert_frame_equal(a.drop(columns=ids), b.drop(columns=ids), obj=name)
    if scenario.shocks:
        signals = [
            _by_borrower(p.tables["operating_signals"], owners(p, "operating_signals"), shocked)
            for p in (base, hit)
        ]
        revenue = [
            np.log1p(s.loc[(s["signal"] == "vat_revenue") & (s["period"] >= "2024-08-01"), "value"])
            for s in signals
        ]
        assert revenue[1].mean() < revenue[0].mean() - 0.05

"""The point-in-time oracle: the law it integrates, calibration, discrimination, the PIT property.

Books are small and seeded. Calibration against realised outcomes uses the calm scenario's
book, without common (macro, industry, area) innovations: those are one draw per book, so one
book's realised rates can sit far from an expectation over them. Their share of the law is
checked directly instead, against simulated AR(1) paths and against brute-force futures of the
generator, which also tell averaging over paths from plugging in the mean path (realised rates
barely can).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.labels import build_outcomes
from features.simulator import Scenario, Shock, load_scenario, simulate_portfolio
from features.simulator.book import simulate_book
from features.simulator.calendar import Calendar
from features.simulator.config import HazardParams, LatentParams, SimulationConfig
from features.simulator.latent import LatentPaths, _ar1, draw_latent_paths
from features.simulator.point_in_time_truth import (
    compute_point_in_time_truth,
    deviation_loading,
    expected_capacity,
    replay_latent,
)
from features.simulator.population import draw_population
from features.simulator.report import read_ground_truth, write_simulation
from features.simulator.scenario import BASELINE
from features.simulator.truth import (
    _propagate,
    advance_month,
    compute_truth,
    initial_sources,
    path_odds,
    propagate_paths,
)

SEED = 20261127
#: Only the idiosyncratic AR(1) moves: borrowers' futures are independent of each other.
NO_COMMON_FACTORS = SimulationConfig(
    latent=LatentParams(macro_sd=0.0, industry_sd=0.0, area_sd=0.0)
)
#: Nothing random after as_of: the point-in-time oracle must equal the path oracle.
NO_FUTURE_RANDOMNESS = SimulationConfig(
    latent=LatentParams(macro_sd=0.0, industry_sd=0.0, area_sd=0.0, idio_stationary_sd=0.0)
)
#: The shipped calm scenario: no macro, industry or area innovations, no shocks.
CALM = load_scenario(Path(__file__).parents[2] / "features" / "scenarios" / "calm.yaml")
MANUFACTURING_SHOCK = Scenario(
    name="t",
    shocks=(
        Shock(industry="manufacturing", start_month="2024-03", duration_months=6, severity=1.5),
    ),
)


def _latent_book(n: int, months: int, seed: int, config: SimulationConfig = SimulationConfig()):
    """The simulator's internals (as ``simulate_portfolio`` wires them) for direct checks."""
    calendar = Calendar(
        start=pd.Period("2023-01", freq="M"), n_months=months, horizon=config.horizon_months
    )
    seeds = np.random.SeedSequence(seed).spawn(7)  # component order of simulate_portfolio
    pop = draw_population(n, calendar, config.population, np.random.default_rng(seeds[0]))
    latent = draw_latent_paths(
        pop, calendar, config.latent, BASELINE, np.random.default_rng(seeds[1])
    )
    book = simulate_book(
        pop, latent, calendar, config.hazard, config.book, np.random.default_rng(seeds[3])
    )
    known = replay_latent(
        pop, latent, calendar, config.latent, BASELINE, np.random.default_rng(seeds[1])
    )
    return SimpleNamespace(
        calendar=calendar,
        config=config,
        pop=pop,
        latent=latent,
        om=book.open_months,
        known=known,
        seeds=seeds,
    )


def _rows(open_months: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[keep] for name, values in open_months.items()}


def _labelled(portfolio, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Matured outcomes of performing loan-months joined to both oracles (cumulative)."""
    out = build_outcomes(portfolio.tables["repayments"])
    out = out[out["matured"] & (out["dpd"] < 90)]
    if truth is None:
        path = portfolio.truth["loan_months"]
        pit = portfolio.truth["oracle_point_in_time"]
        truth = path[["loan_id", "as_of"]].assign(
            path_p_ge3=path["p_s3"], pit_p_ge3=pit["pit_p_s3"]
        )
        for k in (1, 2):
            truth[f"path_p_ge{k}"] = path[[f"p_s{s}" for s in range(k, 4)]].sum(axis=1)
            truth[f"pit_p_ge{k}"] = pit[[f"pit_p_s{s}" for s in range(k, 4)]].sum(axis=1)
    keys = ["loan_id", "as_of"]
    out = out.assign(loan_id=out["loan_id"].astype(str))
    truth = truth.assign(loan_id=truth["loan_id"].astype(str))
    return out.merge(truth, on=keys, how="left", validate="one_to_one")


def _borrower_of(portfolio, frame: pd.DataFrame) -> np.ndarray:
    loans = portfolio.tables["loans"].set_index(portfolio.tables["loans"]["loan_id"].astype(str))
    return loans.loc[frame["loan_id"].astype(str), "borrower_id"].astype(str).to_numpy()


@pytest.fixture(scope="module")
def default_book(tmp_path_factory):
    """A default-configuration book written to disk, as training would find it."""
    portfolio = simulate_portfolio(6000, 30, SEED)
    folder = tmp_path_factory.mktemp("book")
    write_simulation(portfolio, folder, {"seed": SEED}, BASELINE)
    return SimpleNamespace(portfolio=portfolio, folder=folder)


def test_multi_path_kernel_is_the_transition_law():
    rng = np.random.default_rng(1)
    params = HazardParams()
    rows, paths, horizon = 2000, 5, 12
    k0 = rng.integers(0, 7, rows)  # every starting state, 90+ DPD included
    term = rng.choice([12, 24, 36], rows)
    inst0 = np.minimum(rng.integers(0, 36, rows), term + 3)  # many mature inside the window
    intercept = rng.normal(-4.0, 1.0, rows)
    first = rng.normal(0.0, 1.5, rows)
    later = rng.normal(0.0, 1.5, (rows, paths, horizon - 1))
    weights = rng.random(paths)
    weights /= weights.sum()
    expected = sum(
        weights[p]
        * _propagate(k0, np.column_stack([first, later[:, p]]), inst0, term, intercept, params)
        for p in range(paths)
    )
    closed, bad = np.zeros((rows, 3)), np.zeros(rows)
    mass = advance_month(
        initial_sources(k0), first, inst0 + 1, term, intercept, params, closed, bad
    )
    miss, roll = path_odds(later.transpose(2, 0, 1), intercept, params)
    got = propagate_paths(mass, closed, bad, miss, roll, inst0, term, weights, params)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)


def test_deviation_loading_is_the_law_of_future_capacity():
    params = LatentParams()
    horizon, now, n = 12, 4, 40_000
    rng = np.random.default_rng(2)
    credit_dev = np.zeros((n, horizon - 1))
    ahead = np.arange(1, horizon)
    for phi, sd in (
        (params.macro_phi, params.macro_sd),
        (params.industry_phi, params.industry_sd),
        (params.area_phi, params.area_sd),
        (params.idio_phi, params.idio_stationary_sd * np.sqrt(1 - params.idio_phi**2)),
    ):
        x = _ar1(rng, (n, now + horizon), phi, sd)
        credit_dev += x[:, now + 1 : now + horizon] - x[:, [now]] * phi**ahead
    w1, w2, w3 = params.capacity_weights
    padded = np.column_stack([np.zeros((n, 3)), credit_dev])  # months t-2 .. t+H-1 (t-2..t: 0)
    capacity_dev = w1 * padded[:, 2:] + w2 * padded[:, 1:-1] + w3 * padded[:, :-2]
    loading = deviation_loading(params, horizon)
    law = loading @ loading.T
    np.testing.assert_allclose(loading[0], 0.0)
    empirical = np.cov(capacity_dev[:, 1:], rowvar=False)
    np.testing.assert_allclose(np.diag(empirical), np.diag(law)[1:], rtol=0.04)
    corr_law = law[1:, 1:] / np.sqrt(np.outer(np.diag(law)[1:], np.diag(law)[1:]))
    corr_emp = np.corrcoef(capacity_dev[:, 1:], rowvar=False)
    np.testing.assert_allclose(corr_emp, corr_law, atol=0.02)


def test_expected_capacity_is_the_conditional_mean():
    sim = _latent_book(3000, 24, 3, NO_COMMON_FACTORS)
    b, t = sim.om["borrower"], sim.om["as_of"]
    first_row = np.unique(b, return_index=True)[1]  # one row per borrower: independent futures
    b, t = b[first_row], t[first_row]
    horizon = sim.calendar.horizon
    realised = sim.latent.capacity[b[:, None], sim.calendar.col(t[:, None] + np.arange(1, 13))]
    residual = realised - expected_capacity(sim.known, b, t, sim.calendar, sim.config.latent)
    np.testing.assert_allclose(residual[:, 0], 0.0, atol=1e-5)  # month t+1 is known
    loading = deviation_loading(sim.config.latent, horizon)
    sd = np.sqrt(np.diag(loading @ loading.T))[1:]
    later = residual[:, 1:]
    assert np.all(np.abs(later.mean(axis=0)) < 4 * sd / np.sqrt(b.size))
    np.testing.assert_allclose(later.std(axis=0), sd, rtol=0.06)


def test_replay_refuses_a_stream_that_did_not_draw_the_latent_paths():
    sim = _latent_book(300, 14, 4)
    with pytest.raises(RuntimeError, match="draw_latent_paths changed"):
        replay_latent(
            sim.pop,
            sim.latent,
            sim.calendar,
            sim.config.latent,
            BASELINE,
            np.random.default_rng(sim.seeds[2]),
        )


def _brute_force_point_in_time(sim, rows, n_paths: int, rng: np.random.Generator) -> np.ndarray:
    """E[path oracle | end of as_of], by stepping each AR(1) component forward as latent.py does.

    Independent of the oracle's own machinery: no loading matrix, no conditional-mean formula,
    no multi-path kernel; just the generator's recursions and the generic ``_propagate``.
    """
    cal, lp, known = sim.calendar, sim.config.latent, sim.known
    b, t, horizon = rows["borrower"], rows["as_of"], sim.calendar.horizon
    now, ind = cal.col(t), known.industry[b]
    level = np.column_stack(
        [
            known.macro_factor[now],
            known.industry_factor[ind, now],
            known.area_factor[known.area[b], now],
            known.idio_factor[b, now],
        ]
    )
    phi = np.array([lp.macro_phi, lp.industry_phi, lp.area_phi, lp.idio_phi])
    sd = np.array(
        [lp.macro_sd, lp.industry_sd, lp.area_sd, lp.idio_stationary_sd * np.sqrt(1 - phi[3] ** 2)]
    )
    future = cal.col(t[:, None] + np.arange(1, horizon))
    fixed = known.base_credit[b][:, None] + known.season[ind[:, None], future]
    past = known.paths.credit[b[:, None], cal.col(t[:, None] + np.arange(-2, 1))]
    w1, w2, w3 = lp.capacity_weights
    total = np.zeros((b.size, 4))
    for _ in range(n_paths):
        x, credit = level, [past.astype(np.float64)]
        for j in range(horizon - 1):
            x = phi * x + sd * rng.standard_normal(x.shape)
            credit.append(fixed[:, [j]] + x.sum(axis=1, keepdims=True))
        c = np.concatenate(credit, axis=1)
        z = w1 * c[:, 2:] + w2 * c[:, 1:-1] + w3 * c[:, :-2]
        total += _propagate(
            rows["k"], z, t - rows["orig_m"], rows["term"], rows["intercept"], sim.config.hazard
        )
    return total / n_paths


def test_point_in_time_oracle_is_the_path_oracle_averaged_over_simulated_futures():
    sim = _latent_book(2000, 24, 9)
    first_rows = np.unique(sim.om["borrower"], return_index=True)[1]
    rows = _rows(sim.om, np.sort(np.random.default_rng(0).choice(first_rows, 400, replace=False)))
    reference = _brute_force_point_in_time(sim, rows, 800, np.random.default_rng(1))
    out = compute_point_in_time_truth(
        rows,
        sim.known,
        sim.calendar,
        sim.config.latent,
        sim.config.hazard,
        np.random.default_rng(2),
    )
    estimate = np.column_stack([out[f"pit_p_s{s}"] for s in range(4)])
    # Plugging in the mean path instead of averaging over paths misses by 4% (S>=1) and 11%
    # (S3) on average and by 5% and 24% per row (rms of the log ratio): both bounds catch it.
    for k, row_tolerance in ((1, 0.03), (3, 0.12)):
        got, want = estimate[:, k:].sum(axis=1), reference[:, k:].sum(axis=1)
        assert abs(got.mean() / want.mean() - 1) < 0.02, k
        assert np.sqrt(np.mean(np.log(got / want) ** 2)) < row_tolerance, k


def test_point_in_time_oracle_ignores_the_future_and_is_seeded():
    sim = _latent_book(1500, 24, 5)
    as_of = 10
    rows = _rows(sim.om, sim.om["as_of"] == as_of)
    cal, cfg = sim.calendar, sim.config

    def pit(known, seed=0):
        out = compute_point_in_time_truth(
            rows, known, cal, cfg.latent, cfg.hazard, np.random.default_rng(seed)
        )
        return np.column_stack([out[f"pit_p_s{s}"] for s in range(4)])

    before = pit(sim.known)
    # Rewrite everything after as_of: creditworthiness, its components, capacity after t+1.
    noise = np.random.default_rng(6)
    k = sim.known

    def scramble(values: np.ndarray, after: int) -> np.ndarray:
        out = values.copy()
        out[..., after:] = noise.normal(-1.0, 1.0, out[..., after:].shape)
        return out

    cut = cal.col(as_of) + 1
    future = LatentPaths(
        credit=scramble(k.paths.credit, cut).astype(np.float32),
        capacity=scramble(k.paths.capacity, cut + 1).astype(np.float32),
        shock=k.paths.shock,
    )
    other_future = replace(
        k,
        paths=future,
        macro_factor=scramble(k.macro_factor, cut),
        industry_factor=scramble(k.industry_factor, cut),
        area_factor=scramble(k.area_factor, cut),
        idio_factor=scramble(k.idio_factor, cut),
    )
    np.testing.assert_array_equal(pit(other_future), before)
    # ... while the path-conditional oracle, which reads the future, moves.
    path_before = compute_truth(rows, k.paths.capacity, k.paths.credit, cal, cfg.hazard)
    path_after = compute_truth(rows, future.capacity, future.credit, cal, cfg.hazard)
    assert np.abs(path_after["p_s3"] - path_before["p_s3"]).max() > 0.05

    np.testing.assert_array_equal(pit(sim.known), before)  # same seed, same numbers
    reseeded = pit(sim.known, seed=1)
    assert not np.array_equal(reseeded, before)
    at_least_one = slice(1, None)
    rel = np.abs(reseeded[:, at_least_one].sum(1) / before[:, at_least_one].sum(1) - 1)
    assert np.median(rel) < 0.02  # paths differ, the estimate barely does


def test_without_future_randomness_the_two_oracles_agree():
    portfolio = simulate_portfolio(1500, 18, 7, config=NO_FUTURE_RANDOMNESS)
    path = portfolio.truth["loan_months"]
    pit = portfolio.truth["oracle_point_in_time"]
    assert path[["loan_id", "as_of"]].equals(pit[["loan_id", "as_of"]])
    for s in range(4):
        np.testing.assert_allclose(pit[f"pit_p_s{s}"], path[f"p_s{s}"], atol=1e-5)


def test_a_shock_is_known_from_its_start_month_only():
    start = pd.Timestamp(MANUFACTURING_SHOCK.shocks[0].start_month)
    base = simulate_portfolio(3000, 24, SEED)
    hit = simulate_portfolio(3000, 24, SEED, scenario=MANUFACTURING_SHOCK)
    keys = ["loan_id", "as_of"]

    def both(table: str, column: str) -> pd.DataFrame:
        b, h = (
            p.truth[table][[*keys, column]].assign(loan_id=lambda f: f["loan_id"].astype(str))
            for p in (base, hit)
        )
        return b.merge(h, on=keys, how="outer", suffixes=("_base", "_hit"), validate="1:1")

    pit, path = both("oracle_point_in_time", "pit_p_s3"), both("loan_months", "p_s3")
    assert pit[keys].equals(path[keys])
    industry = base.tables["borrowers"].set_index("borrower_id")["industry"].astype(str)
    loans = pd.concat(
        [p.tables["loans"][["loan_id", "borrower_id"]].astype(str) for p in (base, hit)]
    )
    owner = loans.drop_duplicates().set_index("loan_id")["borrower_id"]
    manufacturing = industry.loc[owner.loc[pit["loan_id"]]].to_numpy() == "manufacturing"
    before = (pit["as_of"] < start).to_numpy()
    # Borrowers the shock misses keep identical histories and truth (common random numbers).
    for frame, column in ((pit, "pit_p_s3"), (path, "p_s3")):
        untouched = frame[~manufacturing]
        np.testing.assert_array_equal(untouched[f"{column}_base"], untouched[f"{column}_hit"])
    # Until the shock starts the point-in-time oracle cannot tell the books apart ...
    np.testing.assert_array_equal(pit["pit_p_s3_base"][before], pit["pit_p_s3_hit"][before])
    # ... while the path oracle sees it coming during the year before.
    year_before = before & manufacturing & (pit["as_of"] >= start - pd.DateOffset(months=12))
    gap = path["p_s3_hit"] - path["p_s3_base"]
    assert gap[year_before].mean() > 0.005
    # From its start month on, the point-in-time oracle knows the declared shock too.
    during = (
        manufacturing & (pit["as_of"] >= start) & (pit["as_of"] < start + pd.DateOffset(months=6))
    )
    assert (pit["pit_p_s3_hit"] - pit["pit_p_s3_base"])[during].mean() > 0.01


def test_the_calm_scenario_is_the_book_without_common_factors():
    """The calm scenario switches the common innovations off for the draw *and* the oracle:
    its book and both oracles equal those of a configuration without common factors."""
    calm = simulate_portfolio(1500, 18, 9, scenario=CALM)
    plain = simulate_portfolio(1500, 18, 9, config=NO_COMMON_FACTORS)
    for name, table in plain.tables.items():
        pd.testing.assert_frame_equal(calm.tables[name], table, obj=name)
    for name, table in plain.truth.items():
        pd.testing.assert_frame_equal(calm.truth[name], table, obj=name)
    # With the common factors still, the oracle integrates over the borrower's own future only.
    assert CALM.latent_params(LatentParams()) == NO_COMMON_FACTORS.latent


def test_point_in_time_oracle_is_calibrated():
    portfolio = simulate_portfolio(8000, 30, 8, scenario=CALM)
    rows = _labelled(portfolio)
    borrower = _borrower_of(portfolio, rows)
    for k in (1, 2, 3):
        realised = (rows["severity"] >= k).astype(float)
        residual = realised - rows[f"pit_p_ge{k}"]
        # Loan-months of one borrower share its future: cluster the standard error by borrower.
        by_borrower = residual.groupby(borrower).sum()
        se = np.sqrt((by_borrower**2).sum()) / len(rows)
        assert se < 0.08 * realised.mean(), "the check has the power to see a 25% miss"
        assert abs(residual.mean()) < 4 * se, (k, realised.mean(), rows[f"pit_p_ge{k}"].mean())


def test_point_in_time_auc_sits_between_chance_and_the_path_oracle(default_book):
    rows = _labelled(default_book.portfolio, read_ground_truth(default_book.folder))
    default = rows["severity"] >= 3
    path_auc = roc_auc_score(default, rows["path_p_ge3"])
    pit_auc = roc_auc_score(default, rows["pit_p_ge3"])
    assert 0.85 < pit_auc < path_auc, (pit_auc, path_auc)


def test_read_ground_truth_gives_both_oracles_per_snapshot_key(default_book):
    truth = read_ground_truth(default_book.folder)
    assert list(truth.columns) == [
        "loan_id",
        "as_of",
        "path_p_ge1",
        "path_p_ge2",
        "path_p_ge3",
        "pit_p_ge1",
        "pit_p_ge2",
        "pit_p_ge3",
    ]
    assert truth["as_of"].dtype == "datetime64[ns]"
    assert truth["as_of"].dt.is_month_end.all()
    assert not truth.duplicated(["loan_id", "as_of"]).any()
    for prefix in ("path_p_ge", "pit_p_ge"):
        p = truth[[f"{prefix}{k}" for k in (1, 2, 3)]].to_numpy()
        assert (p[:, 0] >= p[:, 1] - 1e-9).all() and (p[:, 1] >= p[:, 2] - 1e-9).all()
        assert ((p >= -1e-9) & (p <= 1 + 1e-9)).all()
    memory = default_book.portfolio.truth
    np.testing.assert_allclose(truth["path_p_ge3"], memory["loan_months"]["p_s3"])
    np.testing.assert_allclose(
        truth["pit_p_ge1"], 1.0 - memory["oracle_point_in_time"]["pit_p_s0"], atol=1e-9
    )
    # Every open statement month (the snapshots' rows) has a truth row.
    rows = _labelled(default_book.portfolio, truth)
    assert rows["pit_p_ge3"].notna().all()

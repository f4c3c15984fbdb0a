"""Behaviour of the portfolio simulator: contract, determinism, realism, scenarios, oracle."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.labels import build_outcomes
from features.simulator import Scenario, ScenarioError, Shock, load_scenario, simulate_portfolio
from features.simulator.calibration import BASE_RATE_BANDS, NPL_STOCK_BANDS
from features.simulator.config import HazardParams, SimulationConfig
from features.simulator.report import anchor_figures, loan_scores, write_simulation
from features.summary import compute_default_rates, compute_npl_stock, performing_outcomes

SEED = 20261127


@pytest.fixture(scope="module")
def book():
    return simulate_portfolio(12_000, 36, SEED)


def _outcomes_with_truth(portfolio) -> pd.DataFrame:
    out = build_outcomes(portfolio.tables["repayments"])
    truth = portfolio.truth["loan_months"]
    out = out.assign(loan_id=out["loan_id"].astype(str))
    truth = truth.assign(loan_id=truth["loan_id"].astype(str))
    return out.merge(truth, on=["loan_id", "as_of"], how="left", validate="one_to_one")


def test_simulated_book_passes_validation(book):
    from features.validation import validate_tables

    report = validate_tables(book.tables)
    assert report.ok, [f"{v.table}.{v.column}: {v.message}" for v in report.violations]


def test_same_arguments_give_byte_identical_files(tmp_path):
    shas = []
    for name in ("a", "b"):
        p = simulate_portfolio(1500, 18, 3)
        manifest = write_simulation(p, tmp_path / name, {"seed": 3}, Scenario())
        shas.append({k: v["sha256"] for k, v in manifest["files"].items()})
    assert shas[0] == shas[1]
    for f in (tmp_path / "a").rglob("*"):
        if f.is_file():
            assert (
                f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes()
            ), f
    other = simulate_portfolio(1500, 18, 4)
    assert not other.tables["repayments"].equals(
        simulate_portfolio(1500, 18, 3).tables["repayments"]
    )


def test_ground_truth_is_a_separate_folder(tmp_path):
    p = simulate_portfolio(800, 14, 1)
    write_simulation(p, tmp_path, {"seed": 1}, Scenario())
    raw = sorted(f.name for f in tmp_path.glob("*.parquet"))
    assert raw == sorted(f"{t}.parquet" for t in p.tables)
    assert (tmp_path / "ground_truth" / "loan_months.parquet").is_file()


def test_anchor_figures_of_a_written_book(tmp_path):
    p = simulate_portfolio(1500, 18, 2)
    write_simulation(p, tmp_path, {"seed": 2}, Scenario())
    figures = anchor_figures(tmp_path)
    assert set(figures) == {"npl_stock", "default_flow", "pricing", "risk", "approval"}
    stock = figures["npl_stock"]
    assert stock.index[0] == "all" and {"farmer", "private_enterprise"} <= set(stock.index)
    assert ((stock["npl_count_ratio"] >= 0) & (stock["npl_count_ratio"] < 1)).all()
    approval = figures["approval"]
    assert approval.loc["first", "applications"] == 1500
    assert 0 < approval.loc["first", "approved"] < 1
    assert figures["risk"]["value"].notna().all()


def test_base_rates_inside_documented_bands(book):
    outcomes = performing_outcomes(book.tables)
    overall = compute_default_rates(outcomes).loc["all", "default_rate"]
    lo, hi = BASE_RATE_BANDS["all"]
    assert lo <= overall <= hi
    by_type = compute_default_rates(outcomes, "borrower_type")["default_rate"]
    for segment, rate in by_type.items():
        lo, hi = BASE_RATE_BANDS[segment]
        assert lo <= rate <= hi, (segment, rate)
    assert by_type["farmer"] > by_type["private_enterprise"]
    assert by_type["individual_entrepreneur"] > by_type["private_enterprise"]


def test_npl_stock_inside_documented_bands_and_ordered_by_type(book):
    whole = compute_npl_stock(book.tables).loc["all"]
    by_type = compute_npl_stock(book.tables, "borrower_type")
    for measure in ("count", "balance"):
        column = f"npl_{measure}_ratio"
        bands = NPL_STOCK_BANDS[measure]
        lo, hi = bands["all"]
        assert lo <= whole[column] <= hi, (measure, whole[column])
        for segment in ("private_enterprise", "individual_entrepreneur", "farmer"):
            lo, hi = bands[segment]
            assert lo <= by_type.loc[segment, column] <= hi, (measure, segment)
        for segment in ("individual_entrepreneur", "farmer"):
            assert by_type.loc[segment, column] > by_type.loc["private_enterprise", column]
    # Bad loans stay on the books: the stock is of the order of a year's flow, not a month's.
    flow = compute_default_rates(performing_outcomes(book.tables)).loc["all", "default_rate"]
    assert whole["npl_count_ratio"] > 0.6 * flow


def _loan_default(tables) -> pd.DataFrame:
    """Loans with whether they were ever 90+ DPD, charged off or restructured."""
    rep = tables["repayments"]
    bad = (rep["dpd"] >= 90) | rep["status"].astype(str).isin(["charged_off", "restructured"])
    defaulted = set(rep.loc[bad, "loan_id"].astype(str))
    loans = tables["loans"].astype({"loan_id": str, "borrower_id": str})
    borrowers = tables["borrowers"].astype({"borrower_id": str})
    loans = loans.merge(borrowers[["borrower_id", "borrower_type", "size"]], on="borrower_id")
    return loans.assign(defaulted=loans["loan_id"].isin(defaulted))


def test_rate_and_size_carry_risk_and_red_credit_is_cheaper(book):
    loans = _loan_default(book.tables)
    assert np.corrcoef(loans["annual_rate"], loans["defaulted"])[0, 1] > 0.1
    # Line size follows the score: within type and size, larger lines go to better credit.
    credit = book.truth["borrowers"].set_index("borrower_id")["base_credit"]
    log_amount = np.log(loans["amount"])
    relative = log_amount - log_amount.groupby([loans["borrower_type"], loans["size"]]).transform(
        "mean"
    )
    assert np.corrcoef(relative, credit.loc[loans["borrower_id"]])[0, 1] > 0.1
    # ... and both follow the application score the bank saw.
    score = loan_scores(loans, book.truth["applications"])
    assert not np.isnan(score).any()
    assert np.corrcoef(score, loans["annual_rate"])[0, 1] < -0.5
    assert np.corrcoef(score, relative)[0, 1] > 0.15
    assert (loans["amount"] <= 10_000_000).all()
    # Red Financial Credit is priced at 80-92% of the ordinary rate of the same type.
    mean_rate = loans.groupby(["borrower_type", "product"], observed=True)["annual_rate"].mean()
    ratio = mean_rate.xs("red_financial_credit", level="product") / mean_rate.xs(
        "ordinary", level="product"
    )
    assert ratio.between(0.78, 0.92).all(), ratio


def test_approval_selects_the_book(book):
    apps = book.truth["applications"].astype({"borrower_id": str})
    credit = book.truth["borrowers"].set_index("borrower_id")["base_credit"]
    apps = apps.assign(base_credit=credit.loc[apps["borrower_id"]].to_numpy())
    by_kind = apps.groupby(apps["kind"].astype(str))["approved"].mean()
    assert 0.7 < by_kind["first"] < 0.9
    assert by_kind["renewal"] > 0.9  # renewals of a performing loan are mostly approved
    decided = apps[apps["kind"].astype(str) != "evergreen"]
    approved = decided.groupby("approved")["base_credit"].mean()
    assert approved[True] > approved[False] + 0.5
    # Applicants never approved stay in the borrowers table without a loan.
    borrowers = book.tables["borrowers"]["borrower_id"].astype(str)
    with_loan = borrowers.isin(book.tables["loans"]["borrower_id"].astype(str))
    never = set(borrowers[~with_loan])
    assert 0.03 < len(never) / len(borrowers) < 0.3
    assert never <= set(apps.loc[~apps["approved"], "borrower_id"])


def test_non_performing_loans_age_in_collections(book):
    rep = book.tables["repayments"]
    same_loan = rep["loan_id"].to_numpy()[1:] == rep["loan_id"].to_numpy()[:-1]
    dpd, balance = rep["dpd"].to_numpy(), rep["outstanding_balance"].to_numpy()
    both_npl = same_loan & (dpd[1:] >= 90) & (dpd[:-1] >= 90)
    assert both_npl.sum() > 1000
    # DPD grows by one month each month a loan stays 90+ DPD ...
    step = (dpd[1:] - dpd[:-1])[both_npl]
    assert step.min() >= 28 and step.max() <= 31
    assert dpd.max() > 360, "some loans stay on the books a year or more past due"
    # ... while collections recover part of the balance now and then, never adding to it.
    fall = (balance[:-1] - balance[1:])[both_npl]
    recovered = rep["amount_paid"].to_numpy()[1:][both_npl] > 0
    assert (fall >= -0.01).all()
    assert recovered.mean() > 0.1 and (fall[recovered] > 0).all()


def test_write_off_after_the_policy_period():
    months = 8
    config = SimulationConfig(hazard=HazardParams(write_off_months=months))
    rep = simulate_portfolio(3000, 30, 11, config=config).tables["repayments"]
    status = rep["status"].astype(str)
    written_off = rep.loc[status == "charged_off", "dpd"]
    assert len(written_off) > 20
    # Written off when the oldest unpaid instalment is `months` months overdue, never before.
    assert written_off.min() >= 30 * (months - 1) and written_off.max() <= 31 * months
    open_dpd = rep.loc[status.isin(["current", "delinquent"]), "dpd"]
    assert open_dpd.max() < written_off.min() + 31
    assert open_dpd.max() <= 31 * (months - 1)


def test_oracle_probabilities_match_realised_outcomes(book):
    merged = _outcomes_with_truth(book)
    assert merged["p_s3"].notna().all(), "every open statement month has a ground-truth row"
    deep = merged["months_past_due"] >= 7
    assert deep.sum() > 500, "loans stay open many months past due"
    assert (merged.loc[deep, "p_s3"] > 0.9).all()
    probs = merged[["p_s0", "p_s1", "p_s2", "p_s3"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert (probs >= -1e-12).all()
    matured = merged[merged["matured"]]
    for s in (1, 2, 3):
        realised = (matured["severity"] >= s).mean()
        oracle = matured[[f"p_s{j}" for j in range(s, 4)]].sum(axis=1).mean()
        assert abs(realised - oracle) < 0.1 * oracle + 0.002, (s, realised, oracle)


def test_dpd_follows_the_delinquency_ladder(book):
    rep = book.tables["repayments"]
    bucket = np.select(
        [rep["dpd"] >= 90, rep["dpd"] >= 60, rep["dpd"] >= 30, rep["dpd"] >= 1], [4, 3, 2, 1], 0
    )
    same_loan = rep["loan_id"].to_numpy()[1:] == rep["loan_id"].to_numpy()[:-1]
    step = np.diff(bucket)[same_loan]
    assert step.max() <= 1, "a loan skips a DPD bucket"
    assert (step < 0).any(), "cures and partial catch-ups happen"
    statuses = set(rep["status"].astype(str))
    assert {"charged_off", "restructured", "renewed", "repaid", "delinquent"} <= statuses
    partial = (rep["amount_paid"] > 0) & (rep["amount_paid"] < rep["amount_due"])
    assert partial.any()


def test_book_covers_areas_types_vintages_and_renewals(book):
    b, loans = book.tables["borrowers"], book.tables["loans"]
    assert set(b["area"].astype(str)) == {
        "wuxing",
        "nanxun",
        "nantaihu",
        "deqing",
        "changxing",
        "anji",
        "outside_pilot",
    }
    assert b["borrower_type"].nunique() == 4
    assert set(loans["term_months"]) == {12, 24, 36}
    assert loans["origination_date"].dt.to_period("Q").nunique() >= 10
    assert loans["renewal_of"].notna().mean() > 0.1
    individual = loans.merge(b, on="borrower_id")
    red_ind = individual[
        (individual["product"] == "red_financial_credit")
        & individual["borrower_type"].isin(["farmer", "individual_entrepreneur"])
    ]
    assert (red_ind["amount"] <= 300_000).all()


def test_areas_differ_in_rating_leniency(book):
    ratings = book.tables["party_ratings"].merge(book.truth["borrowers"], on="borrower_id")
    stars = ratings[ratings["native_standard"] == "star5"]
    top = stars[stars["native_level"] == "5"]
    q_top = top.groupby(top["issuing_area"].astype(str))["party_quality"].mean()
    share_top = (stars["native_level"] == "5").groupby(stars["issuing_area"].astype(str)).mean()
    # Anji (lenient) gives five stars more often, and to weaker organizations, than Wuxing.
    assert share_top["anji"] > share_top["wuxing"] + 0.05
    assert q_top["anji"] < q_top["wuxing"] - 0.2
    # Yet quality and rating agree within an area, and quality relates moderately to credit.
    rank = stars["native_level"].astype(int)
    assert np.corrcoef(rank, stars["party_quality"])[0, 1] > 0.5
    latent = book.truth["borrowers"].dropna()
    corr = np.corrcoef(latent["party_quality"], latent["base_credit"])[0, 1]
    assert 0.2 < corr < 0.5


def _event_time_profile(book, signal: str, first_distress: pd.Series) -> pd.Series:
    """Mean within-borrower z-score of log(signal) by months relative to first distress."""
    sig = book.tables["operating_signals"]
    frame = sig[sig["signal"] == signal].copy()
    frame["borrower_id"] = frame["borrower_id"].astype(str)
    frame["log_value"] = np.log1p(frame["value"])
    by_borrower = frame.groupby("borrower_id")["log_value"]
    frame["z"] = (frame["log_value"] - by_borrower.transform("mean")) / (
        by_borrower.transform("std") + 1e-9
    )
    distress = first_distress.rename("first").reset_index().astype({"borrower_id": str})
    frame = frame.merge(distress, on="borrower_id")
    frame["rel"] = (frame["period"].dt.to_period("M") - frame["first"]).apply(lambda d: d.n)
    return frame.groupby("rel")["z"].mean()


def test_operating_signals_lead_distress(book):
    rep = book.tables["repayments"].merge(
        book.tables["loans"][["loan_id", "borrower_id"]], on="loan_id"
    )
    # First month at 30+ DPD; the first missed instalment is the month before it.
    first = rep[rep["dpd"] >= 30].groupby("borrower_id", observed=True)["due_date"].min()
    first = first.dt.to_period("M")
    for signal in ("vat_revenue", "electricity_kwh"):
        profile = _event_time_profile(book, signal, first)
        before_first_miss = profile.loc[-4:-2].mean()
        a_year_before = profile.loc[-12:-8].mean()
        # Already below the borrower's own norm before the first missed payment ...
        assert before_first_miss < -0.12, (signal, before_first_miss)
        # ... and down from a year earlier.
        assert before_first_miss < a_year_before - 0.15, (signal, a_year_before)


def test_shock_raises_defaults_in_shocked_segment_only():
    shock = Scenario(
        name="t",
        shocks=(Shock(industry="manufacturing", start_month=10, duration_months=8, severity=1.5),),
    )
    base = simulate_portfolio(10_000, 30, SEED)
    hit = simulate_portfolio(10_000, 30, SEED, scenario=shock)

    def rates(p):
        out = performing_outcomes(p.tables)
        loans = p.tables["loans"][["loan_id", "borrower_id"]].astype(str)
        ind = p.tables["borrowers"][["borrower_id", "industry"]].astype(str)
        seg = loans.merge(ind, on="borrower_id")
        out = out.merge(seg[["loan_id", "industry"]], on="loan_id", suffixes=("", "_b"))
        return out.groupby(out["industry"] == "manufacturing")["severity"].apply(
            lambda s: (s == 3).mean()
        )

    before, after = rates(base), rates(hit)
    assert after[True] > 1.5 * before[True]
    assert after[False] == pytest.approx(before[False], abs=1e-12)
    # Untouched borrowers have byte-identical histories (common random numbers).
    manuf = set(
        base.tables["borrowers"].loc[
            base.tables["borrowers"]["industry"] == "manufacturing", "borrower_id"
        ]
    )
    keep = ~base.tables["loans"]["borrower_id"].isin(manuf)
    pd.testing.assert_frame_equal(
        base.tables["loans"][keep].reset_index(drop=True),
        hit.tables["loans"][~hit.tables["loans"]["borrower_id"].isin(manuf)].reset_index(drop=True),
    )

    # Operating signals of the shocked segment shift down during the shock.
    def revenue(p):
        s = p.tables["operating_signals"]
        s = s[(s["signal"] == "vat_revenue") & s["borrower_id"].astype(str).isin(manuf)]
        return np.log1p(s.loc[s["period"].between("2023-12-01", "2024-04-30"), "value"]).mean()

    assert revenue(hit) < revenue(base) - 0.3


def test_scenario_file_errors_name_the_field(tmp_path):
    good = (
        Path(__file__).parents[2] / "features" / "scenarios" / "changxing_manufacturing_shock.yaml"
    )
    assert load_scenario(good).shocks[0].area == "changxing"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nshocks:\n  - industry: steel\n"
        "    start_month: 3\n    duration_months: 2\n    severity: 1\n"
    )
    with pytest.raises(ScenarioError, match=r"shocks\.0\.industry: .*unknown industry 'steel'"):
        load_scenario(bad)
    bad.write_text("shocks: [1, 2")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")


def test_ground_truth_is_read_only_by_the_simulator():
    root = Path(__file__).parents[2] / "features"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "simulator" not in path.parts
        and re.search(r"ground_truth|loan_months|\.truth\b", path.read_text())
    ]
    assert offenders == []

"""Performance monitoring on synthetic scored frames whose outcomes are drawn from known PDs."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from monitoring.outcomes import defaulted_column, matured_column
from monitoring.performance import (
    ABOVE,
    FIGURE_COLUMNS,
    FIGURES,
    NotMaturedError,
    auc_and_calibration_by_month,
    early_reads,
    estimated_performance,
    expected_auc,
    fit_term_structure,
    maturity,
    observed_vs_expected,
    performance_figures,
    require_matured,
)
from training.metrics import compute_ece, design_effect, oe_interval

#: Share of a 12-month default that happens within 3 and 6 months in the synthetic books.
SHARE = {3: 0.3, 6: 0.6}
AREAS = np.array(["anji", "deqing", "wuxing"])


def _book(
    loans: int,
    months: int,
    seed: int,
    *,
    matured_to: int | None = None,
    scale: float = 1.0,
    same_draw: bool = False,
    early_rise: float = 1.0,
    rise_area: str | None = None,
) -> pd.DataFrame:
    """A joined scored frame: ``loans`` loans at each of ``months`` month ends from 2023-01.

    The true 12-month PD of a row is ``true_pd``; the model states ``pd_12m = scale * true_pd``.
    A row defaults within 12 months when its uniform falls below the truth, within h < 12
    months below ``SHARE[h] * early_rise * truth`` (nested windows; the rise only in
    ``rise_area`` when given). ``same_draw`` gives a
    loan one uniform for all its months (its rows default together, as overlapping windows
    do); otherwise rows draw independently. Windows mature for month indices up to
    ``matured_to - h`` (all when None).
    """
    rng = np.random.default_rng(seed)
    loan = np.repeat(np.arange(loans), months)
    month = np.tile(np.arange(months), loans)
    risk = rng.normal(size=loans)[loan] + 0.3 * rng.normal(size=loans * months)
    truth = 1 / (1 + np.exp(-(1.2 * risk - 3.3)))
    u = rng.random(loans)[loan] if same_draw else rng.random(loans * months)
    frame = pd.DataFrame(
        {
            "as_of": pd.date_range("2023-01-31", periods=months, freq="ME")[month],
            "loan_key": loan.astype(str),
            "pd_12m": np.clip(scale * truth, 0, 1),
            "true_pd": truth,
            "area": AREAS[rng.integers(0, AREAS.size, loans)][loan],
            "borrower_type": "farmer",
            "industry": "services",
            "defaulted_12m": u < truth,
            "dpd_now": 0,
        }
    )
    rise = np.where(rise_area is None or frame["area"] == rise_area, early_rise, 1.0)
    for h, share in SHARE.items():
        frame[defaulted_column(h)] = u < np.minimum(1, share * rise) * truth
    for h in (3, 6, 12):
        frame[matured_column(h)] = True if matured_to is None else month + h <= matured_to
    return frame


# -- observed against expected ----------------------------------------------------------------


def test_calibrated_pds_give_oe_near_one_and_no_verdict_above():
    frame = _book(2000, 12, seed=1)
    book = observed_vs_expected(frame).iloc[0]
    assert book["n"] == 24_000 and book["loans"] == 2000 and book["months"] == 12
    assert abs(book["oe_ratio"] - 1) < 0.05
    assert book["oe_low"] < 1 < book["oe_high"]
    assert book["verdict"] != ABOVE
    monthly = observed_vs_expected(frame, by="as_of")
    assert len(monthly) == 12 and (monthly["months"] == 1).all()
    assert (monthly["design_effect"] == 1).all()  # one row per loan: independent Bernoullis
    assert not (monthly["verdict"] == ABOVE).any()
    by_area = observed_vs_expected(frame, by="area")
    assert by_area["area"].tolist() == sorted(AREAS)
    assert not (by_area["verdict"] == ABOVE).any()


def test_loans_already_in_default_are_not_counted_as_predictions():
    frame = _book(2000, 6, seed=19)
    in_default = frame.sample(300, random_state=0).index
    planted = frame.copy()
    planted.loc[in_default, ["dpd_now", "pd_12m"]] = [120, 0.01]
    planted.loc[in_default, [defaulted_column(h) for h in (3, 6, 12)]] = True
    kept = frame.drop(index=in_default)
    pd.testing.assert_frame_equal(observed_vs_expected(planted), observed_vs_expected(kept))
    pd.testing.assert_frame_equal(
        auc_and_calibration_by_month(planted), auc_and_calibration_by_month(kept)
    )
    fitted = fit_term_structure(planted)
    np.testing.assert_array_equal(fitted.transform(kept), fit_term_structure(kept).transform(kept))
    assert fitted.n_rows_[3] == len(kept)
    with pytest.raises(ValueError, match="dpd_now"):
        observed_vs_expected(frame.drop(columns="dpd_now"))


def test_false_alarm_rate_of_monthly_cohorts_is_near_the_level():
    # 400 calibrated one-month cohorts: "above" is the one-sided 2.5% tail of a 5% test.
    monthly = observed_vs_expected(_book(1000, 400, seed=2), by="as_of")
    share_above = (monthly["verdict"] == ABOVE).mean()
    assert share_above < 0.05
    # ... and the p-values of calibrated cohorts are about uniform.
    assert 0.4 < monthly["p_worse"].median() < 0.6


def test_pd_halved_against_the_truth_is_found_above_expectation():
    frame = _book(2000, 12, seed=3, scale=0.5)
    book = observed_vs_expected(frame).iloc[0]
    assert book["verdict"] == ABOVE
    assert 1.8 < book["oe_ratio"] < 2.2 and book["oe_low"] > 1
    assert book["p_worse"] < 1e-6
    monthly = observed_vs_expected(frame, by="as_of")
    assert (monthly["verdict"] == ABOVE).all()
    assert (monthly["z"] > 3).all()


def test_wilson_and_oe_intervals_cover_the_truth_about_95_percent():
    frame = _book(400, 600, seed=4)
    frame["true_rate"] = frame.groupby("as_of")["true_pd"].transform("mean")
    monthly = observed_vs_expected(frame, by="as_of")
    truth = frame.groupby("as_of")["true_rate"].first().to_numpy()
    covered = (monthly["rate_low"] <= truth) & (truth <= monthly["rate_high"])
    assert 0.93 <= covered.mean() <= 0.99
    oe_covered = (monthly["oe_low"] <= 1) & (monthly["oe_high"] >= 1)
    assert 0.93 <= oe_covered.mean() <= 0.995


def test_pooled_months_count_a_loan_once_in_the_variance():
    # A loan's rows default together (one draw per loan), as overlapping windows make them.
    replicate = []
    for seed in range(30):
        frame = _book(300, 12, seed=100 + seed, same_draw=True)
        frame["replicate"] = seed
        frame["loan_key"] = f"{seed}-" + frame["loan_key"]
        replicate.append(frame)
    pooled = observed_vs_expected(pd.concat(replicate, ignore_index=True), by="replicate")
    assert (pooled["design_effect"] > 5).all()
    # With the clustered variance calibrated books are not flagged; with the variance of
    # independent rows a quarter of them would be (|z| inflated by sqrt(design effect)).
    assert (pooled["verdict"] == ABOVE).mean() <= 0.1
    naive_z = pooled["z"] * np.sqrt(pooled["design_effect"])
    assert (np.abs(naive_z) > 1.96).mean() > 0.25


def test_oe_interval_is_the_training_metrics_one_and_the_verdict_agrees_with_it():
    tables = [
        observed_vs_expected(_book(300, 40, seed=16), by="as_of"),
        observed_vs_expected(_book(300, 40, seed=17, scale=0.7), by="as_of"),
        observed_vs_expected(_book(300, 12, seed=18, same_draw=True), by="area"),
    ]
    table = pd.concat(tables, ignore_index=True)
    for row in table.itertuples():
        dispersion = max(1.0, row.variance / row.expected)
        low, high = oe_interval(row.observed, row.expected, dispersion)
        assert (row.oe_low, row.oe_high) == pytest.approx((low, high), rel=1e-9)
    above = table["verdict"] == ABOVE
    assert above.any() and (~above).any()
    np.testing.assert_array_equal(above, table["oe_low"] > 1)
    np.testing.assert_array_equal(table["verdict"] == "below expectation", table["oe_high"] < 1)


def test_clustered_variance_is_the_training_metrics_null():
    frame = _book(200, 6, seed=5)
    row = observed_vs_expected(frame).iloc[0]
    expected = design_effect(frame["pd_12m"].to_numpy(), frame["loan_key"].to_numpy())
    assert row["variance"] / row["expected"] == pytest.approx(expected, rel=1e-9)


def test_vintage_and_crossed_groups():
    frame = _book(500, 3, seed=6)
    frame["vintage"] = np.where(frame["loan_key"].astype(int) % 2, "2023Q1", "2023Q2")
    by_vintage = observed_vs_expected(frame, by="vintage")
    assert by_vintage["vintage"].tolist() == ["2023Q1", "2023Q2"]
    assert by_vintage["n"].sum() == len(frame)
    crossed = observed_vs_expected(frame, by=("as_of", "area x industry"))
    assert len(crossed) == 3 * AREAS.size
    assert crossed["area x industry"].iloc[0] == "anji x services"


# -- maturity --------------------------------------------------------------------------------


def test_not_matured_error_names_the_month_and_when_it_matures():
    require_matured(["2024-05", "2024-06"], "2025-06", window=12)  # both matured
    with pytest.raises(NotMaturedError, match="2025-03") as caught:
        require_matured(["2024-05", "2025-03"], "2025-06", window=12)
    assert isinstance(caught.value, ValueError)
    assert "2026-03" in str(caught.value) and "2025-06" in str(caught.value)
    assert caught.value.matures == pd.Timestamp("2026-03-31")


def test_asking_for_a_running_month_raises_naming_it():
    frame = _book(200, 12, seed=7, matured_to=14)  # months 0-2 matured for 12m
    assert len(observed_vs_expected(frame, by="as_of", months=["2023-02"])) == 1
    with pytest.raises(NotMaturedError, match="2023-04"):
        observed_vs_expected(frame, by="as_of", months=["2023-02", "2023-04"])
    with pytest.raises(NotMaturedError, match="2023-05"):
        auc_and_calibration_by_month(frame, months=["2023-05"])


def test_maturity_table_per_window():
    table = maturity(["2024-01-31", "2024-04-30", "2024-07-31"], "2024-10-31", 12, (3, 6))
    assert table["matured_3m"].tolist() == [True, True, True]
    assert table["matured_6m"].tolist() == [True, True, False]
    assert table["matured_12m"].tolist() == [False, False, False]
    assert table["matures_6m"].iloc[2] == pd.Timestamp("2025-01-31")


# -- AUC and calibration by month ---------------------------------------------------------------


def test_auc_and_ece_by_month_match_the_metrics_and_say_why_when_undefined():
    frame = _book(600, 4, seed=8, matured_to=15)  # months 0-3 matured, none after
    frame.loc[frame["as_of"] == frame["as_of"].min(), "defaulted_12m"] = False
    table = auc_and_calibration_by_month(frame)
    first, second = table.iloc[0], table.iloc[1]
    assert np.isnan(first["auc"]) and "no defaults" in first["note"]
    rows = frame[frame["as_of"] == second["as_of"]]
    assert second["auc"] == pytest.approx(roc_auc_score(rows["defaulted_12m"], rows["pd_12m"]))
    assert second["ece"] == pytest.approx(compute_ece(rows["defaulted_12m"], rows["pd_12m"]))
    assert second["n"] == 600 and second["defaults"] == rows["defaulted_12m"].sum()
    later = _book(100, 6, seed=8, matured_to=16)
    late = auc_and_calibration_by_month(later).iloc[-1]
    assert not late["matured"] and "2024-06" in late["note"]


# -- expected AUC ---------------------------------------------------------------------------------


def _brute_force_expected_auc(p: np.ndarray, s: np.ndarray) -> float:
    num = den = 0.0
    for i, j in product(range(p.size), repeat=2):
        if i == j:
            continue
        weight = p[i] * (1 - p[j])
        den += weight
        num += weight * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
    return num / den


def test_expected_auc_equals_the_pairwise_formula_with_ties():
    p = np.array([0.1, 0.1, 0.3, 0.5, 0.5, 0.5, 0.9, 0.02])
    assert expected_auc(p) == pytest.approx(_brute_force_expected_auc(p, p), abs=1e-12)
    score = np.array([3, 1, 1, 2, 2, 5, 0, 2])
    assert expected_auc(p, score) == pytest.approx(_brute_force_expected_auc(p, score), abs=1e-12)
    assert np.isnan(expected_auc(p[:1]))


def test_expected_auc_is_close_to_the_realized_auc_on_calibrated_data():
    frame = _book(20_000, 1, seed=9)
    realized = roc_auc_score(frame["defaulted_12m"], frame["pd_12m"])
    assert expected_auc(frame["pd_12m"]) == pytest.approx(realized, abs=0.015)


def test_estimated_performance_shows_realized_next_to_estimated_where_matured():
    frame = _book(3000, 4, seed=10, matured_to=13)  # months 0 and 1 matured
    table = estimated_performance(frame)
    assert table["matured"].tolist() == [True, True, False, False]
    assert table["expected_default_rate"].iloc[3] == pytest.approx(
        frame.loc[frame["as_of"] == frame["as_of"].max(), "pd_12m"].mean()
    )
    done = table[table["matured"]]
    assert (done["auc_gap"].abs() < 0.03).all()
    assert (done["default_rate_gap"].abs() < 0.01).all()
    assert table.loc[~table["matured"], "auc_realized"].isna().all()
    assert table["auc_estimated"].notna().all()


# -- term structure and early reads -----------------------------------------------------------


def test_term_structure_is_monotone_nested_and_fitted_on_matured_rows_only():
    reference = _book(3000, 12, seed=11, matured_to=12)
    fitted = fit_term_structure(reference)
    grid = np.linspace(0, 0.6, 301)
    curves = fitted.transform(grid)
    assert list(fitted.get_feature_names_out()) == ["pd_3m", "pd_6m"]
    assert (np.diff(curves, axis=0) >= 0).all()  # monotone in the PD
    assert (curves[:, 0] <= curves[:, 1]).all() and (curves[:, 1] <= grid).all()
    # The fitted shares sit near the planted ones at typical PDs.
    mid = (grid > 0.05) & (grid < 0.2)
    assert np.median(curves[mid, 0] / grid[mid]) == pytest.approx(SHARE[3], abs=0.08)
    # Running windows are ignored: corrupting their outcomes changes nothing.
    corrupted = reference.copy()
    corrupted.loc[~corrupted["matured_3m"], "defaulted_3m"] = True
    np.testing.assert_array_equal(fit_term_structure(corrupted).transform(grid), curves)
    assert fitted.n_rows_[3] == int(reference["matured_3m"].sum()) < len(reference)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "isotonic_")


def test_early_reads_find_a_planted_rise_in_three_month_defaults():
    reference = _book(3000, 12, seed=12)
    fitted = fit_term_structure(reference)
    calm = early_reads(_book(3000, 6, seed=13, matured_to=8), fitted)
    assert set(calm["window"]) == {3, 6}
    assert len(calm[calm["window"] == 3]) == 6 and len(calm[calm["window"] == 6]) == 3
    assert not (calm["verdict"] == ABOVE).any()
    risen = early_reads(_book(3000, 6, seed=13, matured_to=8, early_rise=1.6), fitted)
    threes = risen[risen["window"] == 3]
    assert (threes["verdict"] == ABOVE).all() and (threes["oe_ratio"] > 1.3).all()
    # A rise planted in one area is found there, month after month, and not elsewhere.
    one_area = _book(3000, 6, seed=14, early_rise=2.0, rise_area="deqing")
    by_area = early_reads(one_area, fitted, windows=(3,), by="area")
    assert len(by_area) == 6 * AREAS.size
    flagged = by_area.groupby("area")["verdict"].apply(lambda v: (v == ABOVE).mean())
    assert flagged["deqing"] == 1 and flagged.drop("deqing").max() <= 1 / 6


# -- the dashboard's table ----------------------------------------------------------------------


def test_performance_figures_is_the_tidy_table_the_dashboard_takes():
    reference = _book(2000, 12, seed=14)
    fitted = fit_term_structure(reference)
    frame = _book(1500, 8, seed=15, matured_to=15)  # 12m matured for months 0-3
    figures = performance_figures(frame, fitted, dimensions=("area",))
    assert tuple(figures.columns) == FIGURE_COLUMNS
    assert set(figures["figure"]) == set(FIGURES)
    assert set(figures["segment"]) == {"book", "area=anji", "area=deqing", "area=wuxing"}
    assert (figures["as_of"] == figures["as_of"] + pd.offsets.MonthEnd(0)).all()
    labels = figures.groupby("figure")["label"].unique()
    assert set(labels["early_read_observed"]) == {"3m", "6m"}
    assert set(labels["oe_ratio"]) == {"12m"}
    oe = figures[(figures["figure"] == "oe_ratio") & (figures["segment"] == "area=deqing")]
    table = observed_vs_expected(frame, by=("as_of", "area"))
    deqing = table[table["area"] == "deqing"]
    np.testing.assert_allclose(oe["value"], deqing["oe_ratio"])
    assert oe["n"].tolist() == deqing["n"].tolist()
    assert len(oe) == 4  # matured months only
    assert len(figures[figures["figure"] == "expected_default_rate"]) == 8 * 4
    assert set(figures.loc[figures["figure"].str.startswith("auc"), "segment"]) == {"book"}
    assert len(figures[figures["figure"] == "auc_realized"]) == 4
    assert len(figures[figures["figure"] == "auc_estimated"]) == 8

"""Point-in-time snapshots: no leakage, one code path, explicit missing data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.months import day_number, month_end
from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import (
    SnapshotError,
    borrower_tables,
    build_snapshots,
    check_as_of_covered,
    parse_months,
)


@pytest.fixture(scope="module")
def book():
    return simulate_portfolio(400, 24, 3).tables


@pytest.fixture(scope="module")
def unifier(book):
    return fit_party_index(book["party_ratings"], "2023-06-30", min_area_ratings=5)


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as plain objects, so frames built from different category sets compare."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out


def _after(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> np.ndarray:
    return (frame[column] > as_of).to_numpy()


def _perturb_future(tables: dict, as_of: pd.Timestamp, rng: np.random.Generator) -> dict:
    """Change, delete and add records that became known only after ``as_of``."""
    out = {name: frame.copy() for name, frame in tables.items()}
    month_after = (as_of + pd.offsets.MonthEnd(1)).normalize()

    rep = out["repayments"]
    future = (rep["due_date"] > as_of).to_numpy()
    rep.loc[future, "dpd"] = rng.integers(0, 400, future.sum())
    rep.loc[future, "amount_paid"] = rng.random(future.sum()) * 1e5
    rep.loc[future, "outstanding_balance"] = rng.random(future.sum()) * 1e6
    keep = ~future | (rng.random(len(rep)) > 0.3)
    out["repayments"] = rep[keep]

    sig = out["operating_signals"]
    late = _after(sig, "available_at", as_of)
    sig.loc[late, "value"] = rng.random(late.sum()) * 1e7
    extra = sig[~late].sample(frac=0.05, random_state=int(rng.integers(1 << 30))).copy()
    extra["available_at"] = month_after + pd.Timedelta(days=3)  # a late correction of old months
    extra["value"] = 1.0
    out["operating_signals"] = pd.concat(
        [sig[~late | (rng.random(len(sig)) > 0.3)], extra], ignore_index=True
    ).drop_duplicates(["borrower_id", "period", "signal"], keep="first")

    ev = out["events"]
    late = _after(ev, "available_at", as_of)
    ev.loc[late, "amount"] = 9.0
    extra = ev.head(20).copy()
    extra["event_id"] = [f"X{i}" for i in range(len(extra))]
    extra["event_date"] = as_of - pd.Timedelta(days=5)  # happened before, published after
    extra["available_at"] = month_after
    out["events"] = pd.concat([ev[~late | (rng.random(len(ev)) > 0.5)], extra], ignore_index=True)

    ratings = out["party_ratings"]
    late = _after(ratings, "award_date", as_of)
    extra = ratings.head(20).copy()
    extra["rating_id"] = [f"Y{i}" for i in range(len(extra))]
    extra["award_date"] = month_after
    out["party_ratings"] = pd.concat([ratings[~late], extra], ignore_index=True)

    loans = out["loans"]
    out["loans"] = loans[~((loans["origination_date"] > as_of) & (rng.random(len(loans)) < 0.5))]
    return out


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    month=st.sampled_from(["2023-08", "2024-01", "2024-06", "2024-10"]), seed=st.integers(0, 10**6)
)
def test_records_after_as_of_never_change_a_snapshot(book, unifier, month, seed):
    before = build_snapshots(book, month, unifier, with_labels=False)
    as_of = pd.Period(month, freq="M").end_time.normalize()
    changed = _perturb_future(book, as_of, np.random.default_rng(seed))
    after = build_snapshots(changed, month, unifier, with_labels=False)
    pd.testing.assert_frame_equal(_comparable(before), _comparable(after))


def test_one_borrower_path_matches_the_batch_rows(book, unifier):
    # Label maturity is relative to the book's last month, so a subset is told where data ends.
    batch = build_snapshots(book, "2023-06:2024-12", unifier, data_end="2024-12")
    for borrower in batch["borrower_id"].drop_duplicates().sample(5, random_state=1):
        own = borrower_tables(book, borrower)
        single = build_snapshots(own, "2023-06:2024-12", unifier, data_end="2024-12")
        expected = batch[batch["borrower_id"] == borrower]
        pd.testing.assert_frame_equal(_comparable(expected), _comparable(single))


def test_missing_data_becomes_indicators_not_zeros(book, unifier):
    tables = dict(book)
    borrower = book["loans"]["borrower_id"].astype(str).iloc[0]
    signals = book["operating_signals"]
    tables["operating_signals"] = signals[signals["borrower_id"].astype(str) != borrower]
    snap = build_snapshots(tables, "2023-03:2024-12", unifier)
    rows = snap[snap["borrower_id"] == borrower]
    assert rows["vat_revenue_last"].isna().all() and rows["vat_revenue_trend_yoy"].isna().all()
    assert rows["vat_revenue_months_stale"].isna().all()
    assert (rows["vat_revenue_missing_12m"] == 12).all()
    fresh = snap[snap["statements_so_far"] == 0]
    assert len(fresh) > 0, "loans in their origination month have no statement yet"
    assert (fresh["months_on_book"] == 0).all() and (fresh["utilisation"] == 1.0).all()
    unrated = snap[snap["party_unrated"]]
    assert unrated["party_index"].isna().all() and unrated["party_native_level"].isna().all()


def test_labels_are_marked_unlabeled_until_the_window_matures(book, unifier):
    snap = build_snapshots(book, "2023-01:2024-12", unifier, horizon=12)
    last_labeled = snap.loc[snap["labeled"], "as_of"].max()
    assert last_labeled == pd.Timestamp("2023-12-31")  # data end 2024-12 minus 12 months
    assert snap.loc[~snap["labeled"], "severity"].isna().all()
    assert set(snap.loc[snap["labeled"], "severity"].unique()) <= {0, 1, 2, 3}


def test_as_of_outside_the_data_is_refused_with_the_range(book):
    with pytest.raises(
        SnapshotError,
        match=r"2025-01, 2025-02, 2025-03 and 10 more outside the data \(2023-01 to 2024-12\)",
    ):
        check_as_of_covered(book, parse_months("2024-11:2026-01"))
    with pytest.raises(SnapshotError, match="not a month range"):
        parse_months("2024-13:2025-01")
    with pytest.raises(SnapshotError, match="empty"):
        parse_months("2025-01:2024-01")


def test_features_only_read_available_values(book, unifier):
    snap = build_snapshots(book, "2024-03", unifier, with_labels=False)
    cutoff = day_number(month_end(np.array([2024 * 12 + 2])))[0]
    signals = book["operating_signals"]
    known = signals[day_number(signals["available_at"]) <= cutoff]
    row = snap.iloc[0]
    own = known[
        (known["borrower_id"] == row["borrower_id"]) & (known["signal"] == "electricity_kwh")
    ]
    if len(own):
        latest = own.sort_values("period")["value"].iloc[-1]
        assert row["electricity_kwh_last"] == pytest.approx(latest)

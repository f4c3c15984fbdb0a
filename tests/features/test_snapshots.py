"""Point-in-time snapshots: no leakage, one code path, explicit missing data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.months import day_number, month_end, month_index
from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import (
    HISTORY_MONTHS,
    SnapshotError,
    borrower_tables,
    build_snapshots,
    check_as_of_covered,
    parse_months,
    recent_history,
)
from tests.features.portfolio_factory import simulate_long_history_book

#: As-of months of the history-window tests: 36 to 47 months into the long-history book.
LATE_MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def book():
    return simulate_portfolio(400, 24, 3).tables


@pytest.fixture(scope="module")
def unifier(book):
    return fit_party_index(book["party_ratings"], "2023-06-30", min_area_ratings=5)


@pytest.fixture(scope="module")
def long_book():
    return simulate_long_history_book()


@pytest.fixture(scope="module")
def long_unifier(long_book):
    return fit_party_index(long_book["party_ratings"], "2024-06-30", min_area_ratings=5)


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


def _borrowers_rows(tables: dict, borrower_ids: np.ndarray) -> dict:
    """Every table's rows of some borrowers, as a request for several borrowers carries them."""
    own = {
        name: frame[frame["borrower_id"].isin(borrower_ids).to_numpy()]
        for name, frame in tables.items()
        if "borrower_id" in frame.columns
    }
    repayments = tables["repayments"]
    own["repayments"] = repayments[repayments["loan_id"].isin(own["loans"]["loan_id"]).to_numpy()]
    return own


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    month=st.sampled_from(LATE_MONTHS),
    spelling=st.sampled_from(["text", "period", "mid-month timestamp"]),
    seed=st.integers(0, 10**6),
)
def test_recent_history_gives_the_snapshot_of_the_whole_history(
    long_book, long_unifier, month, spelling, seed
):
    # What an online request carries (24 months of statements and signals) must score exactly
    # as the whole book does, or the service and training would see different features.
    rng = np.random.default_rng(seed)
    ids = long_book["borrowers"]["borrower_id"].to_numpy(dtype=object)
    chosen = ids[rng.random(ids.size) < 0.5]
    whole = build_snapshots(long_book, month, long_unifier, with_labels=False)
    expected = whole[whole["borrower_id"].isin(chosen)].reset_index(drop=True)
    period = pd.Period(month, freq="M")
    as_of = {
        "text": month,
        "period": period,
        "mid-month timestamp": period.start_time + pd.Timedelta(days=14, hours=9),
    }[spelling]
    request = recent_history(_borrowers_rows(long_book, chosen), as_of)
    got = build_snapshots(request, month, long_unifier, with_labels=False)
    pd.testing.assert_frame_equal(expected, got, check_exact=True)


def test_the_long_history_book_reaches_beyond_the_window(long_book, long_unifier):
    """The property above can fail only if the book holds, at its as-of months, every case a
    feature reading older history would get wrong; this keeps the book honest."""
    snap = build_snapshots(long_book, f"{LATE_MONTHS[0]}:{LATE_MONTHS[-1]}", long_unifier)
    as_of_month = month_index(snap["as_of"])
    assert (snap["statements_so_far"] > HISTORY_MONTHS).sum() > 50  # older than the window
    renewed_long_ago = snap["renewed_from_delinquent_loan"] & (
        snap["months_on_book"] >= HISTORY_MONTHS
    )
    assert renewed_long_ago.sum() > 5  # the flag reads statements outside the window
    rep = long_book["repayments"]
    late = rep[(rep["dpd"] > 0).to_numpy()]
    past_due = pd.DataFrame(
        {"loan_id": late["loan_id"].astype(str), "m": month_index(late["due_date"])}
    )
    clean = pd.DataFrame({"loan_id": snap["loan_id"].astype(str), "as_of_month": as_of_month})[
        ~snap["delinquent_24m"].to_numpy()
    ]
    pairs = clean.merge(past_due, on="loan_id")
    age = pairs["as_of_month"] - pairs["m"]
    assert ((age >= HISTORY_MONTHS) & (age < 36)).sum() > 5  # past due only before the window
    ended = rep["status"].isin(["repaid", "renewed", "charged_off", "restructured"]).to_numpy()
    first = parse_months(LATE_MONTHS[0])[0]
    assert (month_index(rep["due_date"])[ended] <= first - HISTORY_MONTHS).sum() > 20


def test_recent_history_keeps_the_window_and_the_renewed_loans_last_statements(long_book):
    as_of, month = "2026-06", parse_months("2026-06")[0]
    request = recent_history(long_book, as_of)
    for spelling in (pd.Period(as_of, freq="M"), pd.Timestamp("2026-06-30 23:00"), month):
        again = recent_history(long_book, spelling)
        for name, frame in request.items():
            pd.testing.assert_frame_equal(frame, again[name])
    cutoff = pd.Timestamp("2026-06-30")
    rep = request["repayments"]
    due = month_index(rep["due_date"])
    assert due.max() == month
    old = rep[due <= month - HISTORY_MONTHS]
    assert len(old) > 0 and old.groupby("loan_id", observed=True).size().max() <= 3
    renewed = set(request["loans"]["renewal_of"].dropna().astype(str))
    ending = old["status"].isin(["repaid", "renewed", "charged_off", "restructured"])
    assert set(old.loc[~ending.to_numpy(), "loan_id"].astype(str)) <= renewed
    # Every loan that ended before the window keeps its ending statement, and only that one.
    assert (
        ending.any()
        and (old[~old["loan_id"].isin(renewed)].groupby("loan_id", observed=True).size() == 1).all()
    )
    signals = request["operating_signals"]
    assert (month_index(signals["period"]) > month - HISTORY_MONTHS).all()
    assert (signals["available_at"] <= cutoff).all() and len(signals) > 0
    assert (request["events"]["available_at"] <= cutoff).all()
    assert (request["party_ratings"]["award_date"] <= cutoff).all()
    assert (request["loans"]["origination_date"] <= cutoff).all()
    assert len(request["party_ratings"]) < len(long_book["party_ratings"])
    pd.testing.assert_frame_equal(request["borrowers"], long_book["borrowers"])
    with pytest.raises(SnapshotError, match="not a month range"):
        recent_history(long_book, "2026-1x")
    with pytest.raises(SnapshotError, match="a range, not one month"):
        recent_history(long_book, "2026-01:2026-06")


def test_a_request_without_any_statement_yet_scores(book, unifier):
    # A borrower's first loan in its origination month: the request carries no statement.
    loans = book["loans"].sort_values("origination_date")
    borrower = loans["borrower_id"].iloc[0]
    month = str(loans["origination_date"].iloc[0].to_period("M"))
    request = recent_history(borrower_tables(book, borrower), month)
    assert request["repayments"].empty
    got = build_snapshots(request, month, unifier, with_labels=False)
    whole = build_snapshots(book, month, unifier, with_labels=False)
    expected = whole[whole["borrower_id"] == borrower].reset_index(drop=True)
    pd.testing.assert_frame_equal(_comparable(expected), _comparable(got), check_exact=True)
    assert (got["statements_so_far"] == 0).all() and (got["dpd_now"] == 0).all()

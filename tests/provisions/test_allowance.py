"""A month's allowance on a small book worked by hand, and the movement table summing to the
change in allowance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from provisions.allowance import ExposureError, provide, ratios, totals
from provisions.movement import CLOSING, OPENING, movement_table
from provisions.policy import load_policy, parse_policy

POLICY = load_policy()


def exposures(**changes) -> pd.DataFrame:
    """Three loans: a performing committed line, a term loan 45 days past due, a defaulted one."""
    frame = pd.DataFrame(
        {
            "loan_id": ["L1", "L2", "L3"],
            "borrower_type": ["private_enterprise", "farmer", "individual_entrepreneur"],
            "area": ["deqing", "anji", "anji"],
            "industry": ["manufacturing", "agriculture", "retail"],
            "product": ["red_financial_credit", "ordinary", "ordinary"],
            "balance": [600_000.0, 100_000.0, 50_000.0],
            "amount": [1_000_000.0, 200_000.0, 80_000.0],
            "annual_rate": [0.04, 0.06, 0.06],
            "remaining_months": [24, 6, 3],
            "dpd": [0, 45, 120],
            "pd_12m": [0.02, 0.30, 0.90],
            "grade": ["green", "orange", "red"],
            "pd_origination": [0.015, 0.05, np.nan],
            "impaired_event": [False, False, False],
        }
    )
    return frame.assign(**changes)


def test_each_loan_by_hand() -> None:
    loans = provide(exposures(), POLICY)
    assert loans["ead"].tolist() == [600_000 + 0.5 * 400_000, 100_000.0, 50_000.0]
    assert loans["lgd"].tolist() == [0.45, 0.50, 0.50]
    assert loans["stage"].tolist() == [1, 2, 3]
    assert loans["category"].tolist() == ["normal", "special_mention", "substandard"]
    assert loans["horizon_months"].tolist() == [12, 6, 3]
    # the defaulted loan loses LGD x EAD in every scenario except where the LGD multiplier moves
    weights = {s.name: s for s in POLICY.scenarios}
    expected = sum(s.weight * min(0.5 * s.lgd_multiplier, 1.0) * 50_000 for s in weights.values())
    assert loans.loc[2, "ecl"] == pytest.approx(expected)
    assert loans["ecl"].gt(0).all()
    assert loans.loc[0, "stage_reason"].startswith("stage 1")


def test_totals_and_ratios() -> None:
    loans = provide(exposures(), POLICY)
    by_stage = totals(loans, "stage").set_index("stage")
    assert by_stage["ecl"].sum() == pytest.approx(loans["ecl"].sum())
    assert by_stage.loc[3, "balance"] == 50_000.0
    coverage, ratio = ratios(loans, loans["ecl"].sum(), POLICY)
    assert coverage.value == pytest.approx(loans["ecl"].sum() / 50_000.0)
    assert ratio.value == pytest.approx(loans["ecl"].sum() / 750_000.0)


def test_undiscounted_policy_gives_more() -> None:
    document = POLICY.model_dump(mode="json") | {"discounting": "none"}
    plain = provide(exposures(), parse_policy(document))
    discounted = provide(exposures(), POLICY)
    assert (plain["ecl"][:2] > discounted["ecl"][:2]).all()
    assert plain.loc[2, "ecl"] == pytest.approx(discounted.loc[2, "ecl"])


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"dpd": [0, -1, 3]}, "dpd is negative or missing for loan L2"),
        ({"pd_12m": [0.1, 1.5, 0.1]}, "pd_12m outside 0..1 for loan L2"),
        ({"loan_id": ["L1", "L1", "L3"]}, "loans appear twice: L1"),
    ],
)
def test_bad_exposures_are_named(changes, named) -> None:
    with pytest.raises(ExposureError, match=named):
        provide(exposures(**changes), POLICY)
    with pytest.raises(ExposureError, match="lack columns: grade"):
        provide(exposures().drop(columns="grade"), POLICY)


def test_movement_sums_to_the_change_in_allowance() -> None:
    before = provide(exposures(), POLICY)
    after = provide(
        pd.concat([exposures(), exposures(loan_id=["L4", "L5", "L6"]).iloc[:1]], ignore_index=True)
        .assign(dpd=[35, 45, 120, 0], pd_12m=[0.05, 0.25, 0.90, 0.01])
        .drop(index=1)
        .reset_index(drop=True),
        POLICY,
    )
    table = movement_table(before, after, overlays_previous=1_000.0, overlays_current=5_000.0)
    lines = table.set_index("movement")["amount"]
    assert lines[OPENING] == pytest.approx(before["ecl"].sum() + 1_000.0)
    assert lines[CLOSING] == pytest.approx(after["ecl"].sum() + 5_000.0)
    middle = lines.drop([OPENING, CLOSING]).sum()
    assert lines[OPENING] + middle == pytest.approx(lines[CLOSING], abs=1e-6)
    assert lines["repaid or derecognised"] == pytest.approx(-before.loc[1, "ecl"])
    assert lines["new loans"] == pytest.approx(after.set_index("loan_id").loc["L4", "ecl"])
    assert "transfer stage 1 to stage 2" in lines.index  # L1 went 35 days past due
    assert lines["overlays approved, net"] == 4_000.0


def test_segment_changes_rank_the_largest_relative_rise_first() -> None:
    from provisions.movement import segment_changes

    before = provide(exposures(), POLICY)
    worse = exposures(pd_12m=[0.10, 0.30, 0.90], dpd=[45, 45, 120])  # the Deqing loan slips
    after = provide(worse, POLICY)
    table = segment_changes(before, after, min_loans=1).set_index("segment")
    top = table.index[0]
    assert top in {
        "area x industry=deqing x manufacturing",
        "area=deqing",
        "industry=manufacturing",
        "borrower_type=private_enterprise",
    }
    deqing = table.loc["area=deqing"]
    assert deqing["change"] == pytest.approx(after.loc[0, "ecl"] - before.loc[0, "ecl"])
    assert deqing["stage23_before"] == 0.0 and deqing["stage23_after"] == 1.0
    assert table.loc["area=anji", "change"] == pytest.approx(0.0)
    # each dimension adds up to the whole change
    for dimension in ("area x industry", "area", "industry", "borrower_type"):
        rows = table[table.index.str.startswith(f"{dimension}=")]
        assert rows["change"].sum() == pytest.approx(after["ecl"].sum() - before["ecl"].sum())
    # below the size floor a segment ranks after every sizeable one, whatever its rise
    assert segment_changes(before, after, min_loans=2)["loans_before"].iloc[0] >= 2

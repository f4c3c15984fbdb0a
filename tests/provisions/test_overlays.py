"""Overlays from monitoring evidence, sized by hand on a small book.

The policy here has one scenario at multiplier 1 and no discounting, so a stage-1 loan's ECL
is LGD x EAD x PD_12m and its lifetime ECL over T months is LGD x EAD x (1 - (1 - PD)^(T/12)).
"""

from __future__ import annotations

import pandas as pd
import pytest

from provisions.allowance import provide
from provisions.overlays import CALIBRATION, PRECAUTIONARY, EvidenceError, propose_overlays
from provisions.policy import load_policy, parse_policy

DOCUMENT = load_policy().model_dump(mode="json")
POLICY = parse_policy(
    {
        **DOCUMENT,
        "scenarios": [{"name": "base", "weight": 1.0, "pd_multiplier": 1.0, "lgd_multiplier": 1.0}],
        "discounting": "none",
    }
)
CROSSED = "area x industry=deqing x manufacturing"
LGD_EAD = 0.45 * 100_000


def book() -> pd.DataFrame:
    """Three Deqing loans (two manufacturers, one retailer) and one in Anji, all stage 1 at a
    2% PD, 36 months to run, term loans of 100,000 yuan."""
    n = 4
    return provide(
        pd.DataFrame(
            {
                "loan_id": [f"L{i}" for i in range(n)],
                "borrower_type": ["private_enterprise"] * n,
                "area": ["deqing", "deqing", "deqing", "anji"],
                "industry": ["manufacturing", "manufacturing", "retail", "agriculture"],
                "product": ["ordinary"] * n,
                "balance": [100_000.0] * n,
                "amount": [100_000.0] * n,
                "annual_rate": [0.05] * n,
                "remaining_months": [36] * n,
                "dpd": [0] * n,
                "pd_12m": [0.02] * n,
                "grade": ["green"] * n,
                "pd_origination": [0.02] * n,
                "impaired_event": [False] * n,
            }
        ),
        POLICY,
    )


def calibration_alert(segment: str, cohort: str = "2024-06", **changes) -> dict:
    alert = {
        "table": "oe_by_segment",
        "as_of": cohort,
        "window": 12,
        "group": segment,
        "n": 300,
        "observed": 25,
        "expected": 16.7,
        "oe_ratio": 1.5,
        "p_worse": 0.01,
    }
    return {**alert, **changes}


def drift_breach(segment: str, month: str = "2025-06", **changes) -> dict:
    breach = {
        "as_of": month,
        "segment": segment,
        "n_current": 350,
        "n_reference": 1000,
        "pd_psi": 0.31,
        "pd_noise": 0.12,
        "grade_psi": 0.2,
        "mean_pd_reference": 0.011,
        "mean_pd_current": 0.019,
        "action_share_reference": 0.03,
        "action_share_current": 0.09,
        "reason": "PD distribution moved",
    }
    return {**breach, **changes}


def performance(*alerts: dict) -> dict:
    return {"kind": "performance", "alerts": list(alerts), "months": ["2024-06"]}


def drift(*breaches: dict) -> dict:
    return {"kind": "drift", "breaches": list(breaches), "current": {"months": ["2025-06"]}}


def test_a_calibration_overlay_scales_the_pd_by_credibility_weighted_oe() -> None:
    loans = book()
    (overlay,) = propose_overlays(
        loans, POLICY, "2025-06", performance=performance(calibration_alert("area=deqing"))
    )
    # Z = sqrt(25 / 100) = 0.5, multiplier 1 + 0.5 x (1.5 - 1) = 1.25: PD 2% -> 2.5% on 3 loans.
    assert overlay["kind"] == CALIBRATION and overlay["segment"] == "area=deqing"
    assert overlay["evidence"]["credibility"] == pytest.approx(0.5)
    assert overlay["evidence"]["pd_multiplier"] == pytest.approx(1.25)
    assert overlay["amount"] == pytest.approx(3 * LGD_EAD * 0.005)
    assert overlay["pd_points"] == pytest.approx(0.5)
    assert overlay["evidence"]["loans_counted"] == 3
    assert overlay["evidence"]["events"][0]["observed"] == 25
    assert "25 observed against 16.7 expected" in overlay["rationale"]


def test_full_credibility_and_a_pd_that_crosses_the_sicr_test_move_loans_to_lifetime() -> None:
    loans = book()
    alert = calibration_alert(CROSSED, observed=144, oe_ratio=3.0, expected=48.0)
    (overlay,) = propose_overlays(loans, POLICY, "2025-06", performance=performance(alert))
    assert overlay["evidence"]["credibility"] == 1.0  # capped: 144 defaults > 100
    # PD 6% >= 2 x 2% and 4 points up: stage 2, lifetime over 36 months.
    assert overlay["evidence"]["loans_moved_to_a_higher_stage"] == 2
    lifetime = LGD_EAD * (1 - (1 - 0.06) ** 3)
    assert overlay["amount"] == pytest.approx(2 * (lifetime - LGD_EAD * 0.02), abs=0.01)


def test_a_precautionary_overlay_provides_lifetime_for_the_stage_one_loans() -> None:
    loans = book()
    (overlay,) = propose_overlays(loans, POLICY, "2025-06", drift=drift(drift_breach(CROSSED)))
    lifetime = LGD_EAD * (1 - 0.98**3)
    assert overlay["kind"] == PRECAUTIONARY and overlay["segment"] == CROSSED
    assert overlay["amount"] == pytest.approx(2 * (lifetime - LGD_EAD * 0.02), abs=0.01)
    assert overlay["pd_points"] == pytest.approx(100 * (lifetime / LGD_EAD - 0.02), abs=1e-6)
    assert overlay["evidence"]["stage1_loans"] == 2
    assert "PSI 0.31" in overlay["rationale"]


def test_half_the_lifetime_share_halves_the_overlay() -> None:
    loans = book()
    half = parse_policy(
        {
            **POLICY.model_dump(mode="json"),
            "overlays": {**DOCUMENT["overlays"], "precautionary_lifetime_share": 0.5},
        }
    )
    full = propose_overlays(loans, POLICY, "2025-06", drift=drift(drift_breach(CROSSED)))
    halved = propose_overlays(loans, half, "2025-06", drift=drift(drift_breach(CROSSED)))
    assert halved[0]["amount"] == pytest.approx(full[0]["amount"] / 2, abs=0.01)


def test_early_reads_above_the_term_structure_propose_a_precautionary_overlay() -> None:
    early = calibration_alert(CROSSED, cohort="2025-01", table="early_reads", window=3)
    (overlay,) = propose_overlays(book(), POLICY, "2025-06", performance=performance(early))
    assert overlay["kind"] == PRECAUTIONARY
    assert "3-month defaults of the 2025-01 cohort" in overlay["rationale"]


def test_no_loan_is_counted_twice_and_the_broader_overlay_says_so() -> None:
    loans = book()
    overlays = propose_overlays(
        loans,
        POLICY,
        "2025-06",
        performance=performance(calibration_alert(CROSSED)),
        drift=drift(drift_breach("area=deqing"), drift_breach("book")),
    )
    by_segment = {o["segment"]: o for o in overlays}
    assert [o["kind"] for o in overlays] == [CALIBRATION, PRECAUTIONARY, PRECAUTIONARY]
    deqing, whole = by_segment["area=deqing"], by_segment["book"]
    lifetime_less_12m = LGD_EAD * (1 - 0.98**3) - LGD_EAD * 0.02
    assert deqing["evidence"]["loans_counted"] == 1  # the retailer: manufacturers are covered
    assert deqing["amount"] == pytest.approx(lifetime_less_12m, abs=0.01)
    assert deqing["evidence"]["already_covered_by"] == [f"{CROSSED} (calibration)"]
    assert "2 of its loans are covered" in deqing["rationale"]
    assert whole["evidence"]["loans_counted"] == 1  # only Anji is left for the book
    counted = sum(o["evidence"]["loans_counted"] for o in overlays)
    assert counted == len(loans)


@pytest.mark.parametrize(
    ("evidence", "why"),
    [
        (drift(drift_breach(CROSSED, month="2025-07")), "observed after the provision month"),
        (drift(drift_breach(CROSSED, month="2025-03")), "older than the 3-month lookback"),
        (drift(drift_breach(CROSSED, mean_pd_current=0.005)), "the PD moved down"),
        (performance(calibration_alert(CROSSED, cohort="2024-07")), "outcome not matured yet"),
        (performance(calibration_alert(CROSSED, p_worse=0.2)), "not significant at alpha"),
        (performance(calibration_alert(CROSSED, oe_ratio=0.8)), "outcomes below expectation"),
    ],
)
def test_evidence_that_does_not_count_proposes_nothing(evidence: dict, why: str) -> None:
    kind = {"kind": evidence["kind"]}
    assert propose_overlays(book(), POLICY, "2025-06", **{kind["kind"]: evidence}) == [], why


def test_the_lookback_edge_counts() -> None:
    edge = drift(drift_breach(CROSSED, month="2025-04"))  # 2 months before: inside 3
    assert len(propose_overlays(book(), POLICY, "2025-06", drift=edge)) == 1


def test_a_summary_of_the_wrong_kind_or_an_unknown_segment_is_refused() -> None:
    with pytest.raises(EvidenceError, match="ews-monitor drift run, got kind 'performance'"):
        propose_overlays(book(), POLICY, "2025-06", drift=performance())
    with pytest.raises(EvidenceError, match="segment 'region=north'"):
        propose_overlays(book(), POLICY, "2025-06", drift=drift(drift_breach("region=north")))

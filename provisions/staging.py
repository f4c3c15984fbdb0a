"""IFRS 9 stage of each loan, with its reason in words.

Single responsibility: apply the policy's staging rules to arrays of loan facts. Stage 3 when
the loan is credit-impaired (more than ``stage3_dpd_over`` days past due, or an impairment
event such as court enforcement within the policy's window); stage 2 when credit risk has
risen significantly since origination (more than ``stage2_dpd_over`` days past due, the
model-based SICR test, or a warning grade the policy names); stage 1 otherwise. The first rule
that applies gives the reason, in the order above, so an auditor reads why, not only what.

The model-based SICR test needs the PD at origination: the first score the ledger holds for
the loan. A loan with none (``NaN``) is staged on the other rules, and its reason says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from provisions.policy import StagingPolicy


@dataclass(frozen=True)
class Stages:
    """Stage (1, 2, 3) of each loan and the rule that set it, in words."""

    stage: np.ndarray
    reason: list[str]


def sicr(pd_now: np.ndarray, pd_origination: np.ndarray, policy: StagingPolicy) -> np.ndarray:
    """The model-based SICR test: PD now at least ``sicr_pd_ratio`` times the PD at
    origination and at least ``sicr_pd_increase`` higher (both, so a tiny PD doubling does not
    move a loan). False where the origination PD is unknown."""
    pd_now = np.asarray(pd_now, dtype=float)
    origin = np.asarray(pd_origination, dtype=float)
    with np.errstate(invalid="ignore"):
        test = (pd_now >= policy.sicr_pd_ratio * origin) & (
            pd_now - origin >= policy.sicr_pd_increase - 1e-12
        )
    return test & ~np.isnan(origin)


def assign_stages(
    dpd: np.ndarray,
    pd_now: np.ndarray,
    pd_origination: np.ndarray,
    grade: np.ndarray,
    impaired_event: np.ndarray,
    policy: StagingPolicy,
) -> Stages:
    """The stage of every loan.

    Parameters
    ----------
    dpd : array of int
        Days past due at the as-of month end.
    pd_now, pd_origination : array of float
        12-month PD now and at origination (``NaN``: no origination score).
    grade : array of str
        Warning grade now.
    impaired_event : array of bool
        An impairment event (``policy.impaired_events``) known within the window.
    policy : StagingPolicy
    """
    dpd = np.asarray(dpd, dtype=np.int64)
    pd_now = np.asarray(pd_now, dtype=float)
    origin = np.asarray(pd_origination, dtype=float)
    grade = np.asarray(grade, dtype=object)
    event = np.asarray(impaired_event, dtype=bool)
    past_90 = dpd > policy.stage3_dpd_over
    past_30 = dpd > policy.stage2_dpd_over
    model = sicr(pd_now, origin, policy)
    graded = np.isin(grade, list(policy.stage2_grades))
    stage = np.select([past_90 | event, past_30 | model | graded], [3, 2], 1).astype(np.int64)
    reason = [
        _reason(d, e, m, g, gr, p, o, policy)
        for d, e, m, g, gr, p, o in zip(
            dpd, event, model, graded, grade, pd_now, origin, strict=True
        )
    ]
    return Stages(stage, reason)


def _reason(
    dpd: int,
    event: bool,
    model: bool,
    graded: bool,
    grade: str,
    pd_now: float,
    origin: float,
    policy: StagingPolicy,
) -> str:
    if dpd > policy.stage3_dpd_over:
        return f"stage 3: {dpd} days past due, more than {policy.stage3_dpd_over} presumes default"
    if event:
        events = " or ".join(policy.impaired_events)
        return f"stage 3: credit-impaired ({events} within {policy.impaired_event_months} months)"
    if dpd > policy.stage2_dpd_over:
        return f"stage 2: {dpd} days past due, more than {policy.stage2_dpd_over} presumes SICR"
    if model:
        times = f"{pd_now / origin:.1f}x" if origin > 0 else "more than any multiple of"
        return (
            f"stage 2: PD {pd_now:.2%} is {times} the origination PD "
            f"{origin:.2%} (SICR at {policy.sicr_pd_ratio:g}x and "
            f"+{policy.sicr_pd_increase:.0%} points)"
        )
    if graded:
        return f"stage 2: warning grade {grade}"
    basis = (
        "no origination PD, staged on backstops and grade"
        if np.isnan(origin)
        else f"PD {pd_now:.2%} against {origin:.2%} at origination"
    )
    return f"stage 1: no significant increase in credit risk ({basis})"

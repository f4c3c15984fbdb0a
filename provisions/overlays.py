"""Overlays from monitoring evidence: management adjustments proposed, sized and explained.

Single responsibility: read the evidence of ``ews-monitor drift`` and ``ews-monitor
performance`` (their ``summary.json`` documents) as of a provision month and turn it into
proposed overlays on that month's provided loans. No IO, no decisions: people approve or
reject each overlay in the store; only approved ones enter the booked allowance.

Two kinds, each with its own trigger and size:

* **calibration**: a segment's matured 12-month defaults ran significantly above what the
  model expected (the performance run's O/E verdict, at the policy's ``calibration_alpha``).
  The PD is scaled by the credibility-weighted O/E, ``1 + Z (O/E - 1)`` with
  ``Z = min(1, sqrt(defaults / full_credibility_defaults))`` (limited-fluctuation credibility:
  a handful of defaults moves the PD a little, a hundred move it all the way), and the
  overlay is the segment's ECL at the scaled PD (stages re-tested) less the modelled ECL.
* **precautionary**: the segment deteriorates before its outcomes mature: its PD drift
  breaches with the mean PD up (drift run), or its 3- or 6-month early reads run
  significantly above the term structure (performance run). The overlay is the lifetime
  less the 12-month ECL of the segment's stage-1 loans, times
  ``precautionary_lifetime_share``: the collective SICR assessment IFRS 9 B5.5.1-6 asks for
  when loan-level evidence lags.

Point in time: an event counts only once it was observable by the provision month (drift at
its month; an outcome read when its window has closed) and no longer than
``evidence_lookback_months`` before. No loan is counted twice: calibration overlays come
first (matured outcomes are the stronger evidence), most specific segment first (an area's
industry before the area, the area before the book); a broader overlay covers only loans no
earlier overlay covered, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from monitoring.frames import BOOK, CROSSED_NAME, segment_labels
from provisions.allowance import EXPOSURE_COLUMNS, provide
from provisions.ecl import scenario_weighted_ecl
from provisions.policy import ProvisionPolicy

CALIBRATION: Final = "calibration"
PRECAUTIONARY: Final = "precautionary"
KINDS: Final = (CALIBRATION, PRECAUTIONARY)
#: The outcome window of a calibration verdict (months from scoring to a matured outcome).
OUTCOME_MONTHS: Final = 12


class EvidenceError(ValueError):
    """A monitoring summary cannot be read as evidence; the message names what is wrong."""


def propose_overlays(
    loans: pd.DataFrame,
    policy: ProvisionPolicy,
    as_of: str,
    performance: Mapping[str, Any] | None = None,
    drift: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The overlays the evidence supports for month ``as_of`` on ``loans`` (the output of
    :func:`provisions.allowance.provide`), each with ``kind``, ``segment``, ``amount``
    (yuan), ``pd_points`` (the amount as a PD uplift on the covered loans' LGD x EAD, in
    percentage points), ``evidence`` and ``rationale``. Overlays of zero size are not
    proposed.

    Raises
    ------
    EvidenceError
        If a summary is of the wrong kind or names a segment the loans cannot be cut by.
    """
    _check_kind(performance, "performance")
    _check_kind(drift, "drift")
    calibration, precautionary = _observable_events(as_of, policy, performance, drift)
    labels = segment_labels(loans)
    covered = np.zeros(len(loans), dtype=bool)
    covered_by: list[tuple[str, np.ndarray]] = []
    proposed: list[dict[str, Any]] = []
    for kind, events in ((CALIBRATION, calibration), (PRECAUTIONARY, precautionary)):
        for segment in sorted({e["segment"] for e in events}, key=_specificity):
            own = [e for e in events if e["segment"] == segment]
            in_segment = _mask(labels, segment, len(loans))
            counted = in_segment & ~covered
            overlaps = [name for name, mask in covered_by if (mask & in_segment).any()]
            size = (
                _calibration(loans, counted, own, policy)
                if kind == CALIBRATION
                else _precautionary(loans, counted, own, policy)
            )
            if size["amount"] <= 0.0:
                continue
            weight = float((loans["lgd"] * loans["ead"])[counted].sum())
            evidence = {
                "events": own,
                "loans_in_segment": int(in_segment.sum()),
                "loans_counted": int(counted.sum()),
                "already_covered_by": overlaps,
                **size["figures"],
                "sources": _sources(performance, drift),
            }
            rationale = size["rationale"]
            if overlaps:
                rationale += (
                    f" {int((in_segment & covered).sum())} of its loans are covered by the"
                    f" overlay on {', '.join(overlaps)} and are not counted again."
                )
            proposed.append(
                {
                    "kind": kind,
                    "segment": segment,
                    "amount": round(size["amount"], 2),
                    "pd_points": 100.0 * size["amount"] / weight if weight > 0 else 0.0,
                    "evidence": evidence,
                    "rationale": rationale,
                }
            )
            covered |= counted
            covered_by.append((f"{segment} ({kind})", counted))
    return proposed


# ---------------------------------------------------------------------- evidence


def _check_kind(summary: Mapping[str, Any] | None, kind: str) -> None:
    if summary is not None and summary.get("kind") != kind:
        raise EvidenceError(
            f"expected the summary.json of an ews-monitor {kind} run, got kind "
            f"{summary.get('kind')!r}"
        )


def _months(earlier: str, later: str) -> int:
    return (pd.Period(later, freq="M") - pd.Period(earlier, freq="M")).n


def _observable_events(
    as_of: str,
    policy: ProvisionPolicy,
    performance: Mapping[str, Any] | None,
    drift: Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Calibration and precautionary events observable by ``as_of`` within the lookback."""
    lookback = policy.overlays.evidence_lookback_months
    alpha = policy.overlays.calibration_alpha

    def recent(month: str, window: int) -> bool:
        seen = str(pd.Period(month, freq="M") + window)
        return 0 <= _months(seen, as_of) < lookback

    calibration: list[dict[str, Any]] = []
    precautionary: list[dict[str, Any]] = []
    for alert in (performance or {}).get("alerts", []):
        window = int(alert.get("window", OUTCOME_MONTHS))
        if not recent(alert["as_of"], window):
            continue
        if not (alert["oe_ratio"] > 1.0 and alert["p_worse"] <= alpha):
            continue
        event = {
            "source": "performance",
            "table": alert["table"],
            "segment": alert.get("group", BOOK),
            "cohort": alert["as_of"],
            "window_months": window,
            "loans": int(alert["n"]),
            "observed": int(alert["observed"]),
            "expected": float(alert["expected"]),
            "oe_ratio": float(alert["oe_ratio"]),
            "p_worse": float(alert["p_worse"]),
        }
        (precautionary if alert["table"] == "early_reads" else calibration).append(event)
    for breach in (drift or {}).get("breaches", []):
        up = (breach.get("mean_pd_current") or 0.0) > (breach.get("mean_pd_reference") or 0.0)
        if not (up and recent(breach["as_of"], 0)):
            continue
        precautionary.append(
            {
                "source": "drift",
                "segment": breach["segment"],
                "month": breach["as_of"],
                "loans": breach.get("n_current"),
                "reference_rows": breach.get("n_reference"),
                "pd_psi": breach.get("pd_psi"),
                "pd_noise": breach.get("pd_noise"),
                "grade_psi": breach.get("grade_psi"),
                "mean_pd_reference": breach.get("mean_pd_reference"),
                "mean_pd_current": breach.get("mean_pd_current"),
                "action_share_reference": breach.get("action_share_reference"),
                "action_share_current": breach.get("action_share_current"),
                "reason": breach.get("reason"),
            }
        )
    return calibration, precautionary


def _sources(
    performance: Mapping[str, Any] | None, drift: Mapping[str, Any] | None
) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for name, summary in (("performance", performance), ("drift", drift)):
        if summary is not None:
            sources[name] = {
                "model": summary.get("model"),
                "months": summary.get("months") or (summary.get("current") or {}).get("months"),
                "reference_run_id": summary.get("reference_run_id")
                or (summary.get("reference") or {}).get("run_id"),
            }
    return sources


def _specificity(segment: str) -> tuple[int, str]:
    if segment == BOOK:
        return 2, segment
    return (0 if segment.startswith(f"{CROSSED_NAME}=") else 1), segment


def _mask(labels: Mapping[str, pd.Series], segment: str, rows: int) -> np.ndarray:
    if segment == BOOK:
        return np.ones(rows, dtype=bool)
    dimension, _, value = segment.partition("=")
    if dimension not in labels or not value:
        known = ", ".join(labels)
        raise EvidenceError(f"segment {segment!r}: not 'book' or one of {known} '=' a label")
    return np.asarray(labels[dimension].to_numpy() == value, dtype=bool)


# ---------------------------------------------------------------------- sizes


def _calibration(
    loans: pd.DataFrame, counted: np.ndarray, events: Sequence[dict[str, Any]], policy
) -> dict[str, Any]:
    latest = max(events, key=lambda e: e["cohort"])
    overlays = policy.overlays
    credibility = min(1.0, float(np.sqrt(latest["observed"] / overlays.full_credibility_defaults)))
    multiplier = 1.0 + credibility * (latest["oe_ratio"] - 1.0)
    if not counted.any():
        return {"amount": 0.0, "figures": {}, "rationale": ""}
    part = loans.loc[counted, list(EXPOSURE_COLUMNS)]
    scaled = part.assign(pd_12m=np.minimum(part["pd_12m"].to_numpy(float) * multiplier, 1.0))
    recalibrated = provide(scaled, policy)
    modelled = float(loans.loc[counted, "ecl"].sum())
    amount = float(recalibrated["ecl"].sum()) - modelled
    moved = int((recalibrated["stage"].to_numpy() > loans.loc[counted, "stage"].to_numpy()).sum())
    figures = {
        "sized_on_cohort": latest["cohort"],
        "credibility": credibility,
        "pd_multiplier": multiplier,
        "modelled_ecl": modelled,
        "recalibrated_ecl": float(recalibrated["ecl"].sum()),
        "loans_moved_to_a_higher_stage": moved,
    }
    rationale = (
        f"Matured 12-month defaults ran above the model: {latest['observed']} observed against"
        f" {latest['expected']:.1f} expected (O/E {latest['oe_ratio']:.2f},"
        f" p = {latest['p_worse']:.3g}) in the {latest['cohort']} cohort of"
        f" {latest['loans']:,} loans. With credibility {credibility:.2f}"
        f" (sqrt of {latest['observed']} defaults over {overlays.full_credibility_defaults})"
        f" the PD is scaled by {multiplier:.3f}; the overlay is the ECL of the"
        f" {int(counted.sum()):,} loans at the scaled PD, stages re-tested ({moved} move up),"
        " less their modelled ECL."
    )
    return {"amount": amount, "figures": figures, "rationale": rationale}


def _precautionary(
    loans: pd.DataFrame, counted: np.ndarray, events: Sequence[dict[str, Any]], policy
) -> dict[str, Any]:
    stage1 = counted & (loans["stage"].to_numpy() == 1)
    share = policy.overlays.precautionary_lifetime_share
    if not stage1.any() or share == 0.0:
        return {"amount": 0.0, "figures": {}, "rationale": ""}
    part = loans.loc[stage1]
    rate = part["annual_rate"].to_numpy(float) if policy.discounting == "effective_rate" else None
    lifetime, _ = scenario_weighted_ecl(
        part["pd_12m"].to_numpy(float),
        part["lgd"].to_numpy(float),
        part["ead"].to_numpy(float),
        np.full(len(part), 2),
        part["remaining_months"].to_numpy(np.int64),
        rate,
        policy.scenarios,
    )
    twelve_month = float(part["ecl"].sum())
    amount = share * (float(lifetime.sum()) - twelve_month)
    figures = {
        "stage1_loans": int(stage1.sum()),
        "stage1_ecl_12m": twelve_month,
        "stage1_ecl_lifetime": float(lifetime.sum()),
        "lifetime_share": share,
    }
    rationale = (
        f"The segment deteriorates before its outcomes mature: {_describe(events)}. The overlay"
        f" provides {share:.0%} of the lifetime instead of the 12-month ECL for its"
        f" {int(stage1.sum()):,} stage-1 loans, a collective significant-increase assessment,"
        " until matured outcomes confirm or clear it."
    )
    return {"amount": amount, "figures": figures, "rationale": rationale}


def _describe(events: Sequence[dict[str, Any]]) -> str:
    """The precautionary events in words, latest first (a figure the summary lacks is
    shown as n/a)."""

    def number(value: Any, spec: str) -> str:
        return "n/a" if value is None else format(value, spec)

    said = []
    for e in sorted(
        events, key=lambda e: str(e.get("month") or e.get("cohort") or ""), reverse=True
    ):
        if e["source"] == "drift":
            said.append(
                f"PD drift in {e['month']} (PSI {number(e['pd_psi'], '.2f')}, mean PD"
                f" {number(e['mean_pd_reference'], '.2%')} ->"
                f" {number(e['mean_pd_current'], '.2%')}, {number(e['loans'], ',')} loans)"
            )
        else:
            said.append(
                f"{e['window_months']}-month defaults of the {e['cohort']} cohort"
                f" {e['observed']} against {e['expected']:.1f} expected (O/E {e['oe_ratio']:.2f},"
                f" p = {e['p_worse']:.3g})"
            )
    return "; ".join(said)

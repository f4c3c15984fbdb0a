"""Promotion gates: when a challenger may replace the champion.

A decision is made on metrics measured on the same test window for both models and is recorded
with every reason, passed or failed, so an auditor can see why a model went live. Gates
(documented defaults, editable; docs/training.md says why these rules and values):

* discrimination: the challenger's AUC of the 12-month PD is not more than ``max_auc_drop``
  below the champion's;
* calibration, judged against what calibrated PDs would show on the same rows (a fixed ECE
  bound judged noise on small windows and was blind to the default rate's scale):

  - shape: fails when the ECE is larger than calibrated PDs produce by chance
    (``ece_p_value`` below ``calibration_alpha``) **and** material (above ``ece_tolerance``
    times the observed default rate);
  - in the large: fails when the ``1 - calibration_alpha`` interval of observed / expected
    defaults excludes 1 **and** O/E lies outside ``1 +- oe_tolerance``;
  - ``max_ece``, if set, is an absolute ceiling on top (the gate of earlier versions);

* segment floors: in every segment with enough defaults to judge, its AUC is at least
  ``segment_auc_floor``.

With no champion yet, only the absolute gates apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from features.io import read_json_model
from training.metrics import BinaryMetrics, oe_interval


class GatePolicy(BaseModel):
    """Thresholds of the promotion gates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_auc_drop: float = 0.005
    calibration_alpha: float = Field(
        0.01,
        ge=0,
        lt=1,
        description="Significance level of both calibration tests (0: they never fail).",
    )
    ece_tolerance: float = Field(
        0.10, ge=0, description="An ECE up to this share of the observed default rate never fails."
    )
    oe_tolerance: float = Field(
        0.10, ge=0, description="An observed/expected ratio within 1 +- this never fails."
    )
    max_ece: float | None = Field(
        None, gt=0, description="Optional absolute ECE ceiling, failed whatever the tests say."
    )
    segment_auc_floor: float = 0.65
    segment_min_defaults: int = 30

    @classmethod
    def load(cls, path: Path) -> GatePolicy:
        """Gate thresholds from a JSON file edited by risk staff; unknown keys are refused."""
        return read_json_model(cls, path, "gate policy")


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, and one line per gate saying why."""

    promote: bool
    reasons: tuple[str, ...]


def _verdict(passed: bool) -> str:
    return "passed" if passed else "FAILED"


def _tested(metrics: BinaryMetrics) -> bool:
    figures = (metrics.ece_p_value, metrics.oe_ratio, metrics.oe_design_effect)
    return not any(math.isnan(v) for v in figures)


def _rows(metrics: BinaryMetrics) -> str:
    if metrics.clusters and metrics.clusters < metrics.n:
        return f"{metrics.n:,} rows of {int(metrics.clusters):,} borrowers"
    return f"{metrics.n:,} rows taken as independent"


def calibration_reasons(metrics: BinaryMetrics, policy: GatePolicy) -> tuple[bool, list[str]]:
    """Whether the PD passes both calibration rules, and one reason line for each."""
    alpha = policy.calibration_alpha
    if not _tested(metrics):
        return False, [
            "calibration FAILED: the metrics carry no calibration tests (recorded by an older "
            "ews-train); re-score the challenger"
        ]
    floor = policy.ece_tolerance * metrics.observed_rate
    shape_ok = not (metrics.ece_p_value < alpha and metrics.ece > floor)
    ceiling = ""
    if policy.max_ece is not None:
        shape_ok &= metrics.ece <= policy.max_ece
        ceiling = f"; and always if ECE > max_ece {policy.max_ece:.4f}"
    shape = (
        f"calibration {_verdict(shape_ok)}: ECE {metrics.ece:.4f}, "
        f"p={metrics.ece_p_value:.3f} under calibrated PDs on {_rows(metrics)} "
        f"(fails if p < {alpha:g} and ECE > {policy.ece_tolerance:g} x the observed rate "
        f"{100 * metrics.observed_rate:.2f}% = {floor:.4f}{ceiling})"
    )
    low, high = oe_interval(
        metrics.events, metrics.expected_events, metrics.oe_design_effect, 1 - alpha
    )
    ratio, tolerance = metrics.oe_ratio, policy.oe_tolerance
    excludes_one = low > 1 or high < 1
    level_ok = not (excludes_one and abs(ratio - 1) > tolerance)
    level = (
        f"calibration in the large {_verdict(level_ok)}: {metrics.events:,} defaults observed, "
        f"{metrics.expected_events:,.1f} expected, O/E {ratio:.2f} [{low:.2f}, {high:.2f}] "
        f"({100 * (1 - alpha):g}% interval, design effect {metrics.oe_design_effect:.2f}) "
        f"(fails if the interval excludes 1 and O/E is outside "
        f"{max(0.0, 1 - tolerance):.2f}-{1 + tolerance:.2f})"
    )
    return shape_ok and level_ok, [shape, level]


def evaluate_gates(
    challenger: BinaryMetrics,
    champion: BinaryMetrics | None,
    segments: dict[str, BinaryMetrics],
    policy: GatePolicy | None = None,
) -> GateDecision:
    """Apply every gate to the challenger's 12-month PD metrics (see module docstring)."""
    policy = policy or GatePolicy()
    reasons: list[str] = []
    ok = True
    if champion is None:
        reasons.append("discrimination: no champion yet, absolute gates only")
    else:
        floor = champion.auc - policy.max_auc_drop
        passed = challenger.auc >= floor
        ok &= passed
        reasons.append(
            f"discrimination {_verdict(passed)}: AUC {challenger.auc:.4f} vs "
            f"champion {champion.auc:.4f} (floor {floor:.4f})"
        )
    passed, lines = calibration_reasons(challenger, policy)
    ok &= passed
    reasons.extend(lines)
    for name, metrics in sorted(segments.items()):
        if metrics.events < policy.segment_min_defaults:
            reasons.append(f"segment {name}: {metrics.events} defaults, too few to judge")
            continue
        passed = metrics.auc >= policy.segment_auc_floor
        ok &= passed
        reasons.append(
            f"segment {name} {_verdict(passed)}: AUC {metrics.auc:.4f} "
            f"(floor {policy.segment_auc_floor:.2f})"
        )
    return GateDecision(promote=bool(ok), reasons=tuple(reasons))

"""Promotion gates: when a challenger may replace the champion.

A decision is made on metrics measured on the same test window for both models and is recorded
with every reason, passed or failed, so an auditor can see why a model went live. Gates
(documented defaults, editable):

* discrimination: the challenger's AUC of the 12-month PD is not more than ``max_auc_drop``
  below the champion's;
* calibration: its expected calibration error is at most ``max_ece`` (absolute);
* segment floors: in every segment with enough defaults to judge, its AUC is at least
  ``segment_auc_floor``.

With no champion yet, only the absolute gates apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from features.io import read_json_model
from training.metrics import BinaryMetrics


class GatePolicy(BaseModel):
    """Thresholds of the promotion gates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_auc_drop: float = 0.005
    max_ece: float = 0.01
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
            f"discrimination {'passed' if passed else 'FAILED'}: AUC {challenger.auc:.4f} vs "
            f"champion {champion.auc:.4f} (floor {floor:.4f})"
        )
    passed = challenger.ece <= policy.max_ece
    ok &= passed
    reasons.append(
        f"calibration {'passed' if passed else 'FAILED'}: ECE {challenger.ece:.4f} "
        f"(at most {policy.max_ece:.4f})"
    )
    for name, metrics in sorted(segments.items()):
        if metrics.events < policy.segment_min_defaults:
            reasons.append(f"segment {name}: {metrics.events} defaults, too few to judge")
            continue
        passed = metrics.auc >= policy.segment_auc_floor
        ok &= passed
        reasons.append(
            f"segment {name} {'passed' if passed else 'FAILED'}: AUC {metrics.auc:.4f} "
            f"(floor {policy.segment_auc_floor:.2f})"
        )
    return GateDecision(promote=bool(ok), reasons=tuple(reasons))

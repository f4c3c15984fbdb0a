"""Documented base-rate bands of the default configuration.

The realised 12-month default (S3) rate of performing loan-months must fall inside these bands
for the default configuration; ``docs/simulator.md`` quotes them with the measured values and
the public anchors they are set against (docs/domain.md, realism anchors: inclusive small and
micro loans 3.56-3.75% NPL, a Party-screened product at or below that, individuals and farmers
above enterprises). Tests check the simulator against them.
"""

from __future__ import annotations

from typing import Final

#: (low, high) of the realised 12-month S3 rate of performing loan-months, by segment.
BASE_RATE_BANDS: Final[dict[str, tuple[float, float]]] = {
    "all": (0.018, 0.045),
    "private_enterprise": (0.010, 0.040),
    "social_organization": (0.005, 0.040),
    "individual_entrepreneur": (0.020, 0.065),
    "farmer": (0.025, 0.080),
}

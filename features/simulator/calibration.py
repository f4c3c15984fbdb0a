"""Documented base-rate bands of the default configuration: the default flow and the NPL stock.

The realised 12-month default (S3) rate of performing loan-months (the *flow*) and the share of
open loans 90+ DPD at month end over the last year of the window (the non-performing *stock*)
must fall inside these bands for the default configuration; ``docs/simulator.md`` quotes them
with the measured values and the public anchors they are set against (docs/domain.md, realism
anchors: inclusive small and micro loans 3.56-3.75% NPL, a Party-screened product somewhat below
that, all commercial-bank loans about 1.5%, individuals and farmers above enterprises). Tests
check the simulator against them.
"""

from __future__ import annotations

from typing import Final

#: (low, high) of the realised 12-month S3 rate of performing loan-months, by segment.
BASE_RATE_BANDS: Final[dict[str, tuple[float, float]]] = {
    "all": (0.020, 0.040),
    "private_enterprise": (0.012, 0.035),
    "social_organization": (0.005, 0.035),
    "individual_entrepreneur": (0.020, 0.055),
    "farmer": (0.022, 0.065),
}

#: (low, high) of the NPL stock (open loans 90+ DPD at month end, last 12 months of a 36-month
#: window), by count and by outstanding balance.
NPL_STOCK_BANDS: Final[dict[str, dict[str, tuple[float, float]]]] = {
    "count": {
        "all": (0.020, 0.040),
        "private_enterprise": (0.010, 0.035),
        "individual_entrepreneur": (0.020, 0.055),
        "farmer": (0.025, 0.065),
    },
    "balance": {
        "all": (0.010, 0.030),
        "private_enterprise": (0.008, 0.030),
        "individual_entrepreneur": (0.015, 0.050),
        "farmer": (0.020, 0.055),
    },
}

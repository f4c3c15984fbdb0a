"""The regulatory provision ratios and whether they sit in their bands.

Single responsibility: provision coverage (allowance / non-performing balance) and loan
provision ratio (allowance / gross loans) against the policy's bands (CBRC 2018: 120-150% and
1.5-2.5%; the regulator sets each bank's requirement inside the band). Below the band is the
flag a risk committee must see; inside it, the bank's own requirement decides; above it is
well provided.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from provisions.policy import Band, RatioPolicy

BELOW, WITHIN, ABOVE, UNDEFINED = "below band", "within band", "above band", "undefined"


@dataclass(frozen=True)
class Ratio:
    name: str
    value: float  # NaN when the denominator is zero
    low: float
    high: float
    flag: str

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["value"] = None if math.isnan(self.value) else self.value
        return record


def _ratio(name: str, numerator: float, denominator: float, band: Band, empty: str) -> Ratio:
    if denominator <= 0:
        return Ratio(name, math.nan, band.low, band.high, f"{UNDEFINED}: {empty}")
    value = numerator / denominator
    flag = BELOW if value < band.low else ABOVE if value > band.high else WITHIN
    return Ratio(name, value, band.low, band.high, flag)


def regulatory_ratios(
    allowance: float, npl_balance: float, gross_balance: float, policy: RatioPolicy
) -> tuple[Ratio, Ratio]:
    """Provision coverage and loan provision ratio of one allowance."""
    return (
        _ratio(
            "provision_coverage",
            allowance,
            npl_balance,
            policy.provision_coverage,
            "no non-performing loans",
        ),
        _ratio("loan_provision", allowance, gross_balance, policy.loan_provision, "no loans"),
    )

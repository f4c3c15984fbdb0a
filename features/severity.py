"""The outcome severity rule and the day-count thresholds every stage reads, defined once.

Severity of a loan-month (docs/domain.md, outcomes): S0 nothing missed, S1 1-29 days past due,
S2 30-89, S3 (default) 90 or more, or charged off / restructured for distress. The same day
counts are the grade policy's DPD backstops (a loan already 90+ DPD is red, 30-89 at least
orange, 1-29 at least yellow) and the line between a prediction and a loan already in default
(training measures PDs on loans under 90 DPD). IFRS 9's backstops are worded "more than 30" and
"more than 90" days (5.5.11, B5.5.37): the same numbers, compared strictly.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Days past due at which severities S1, S2 and S3 start (S3 is default).
SEVERITY_DPD: Final = (1, 30, 90)
#: Days past due from which a loan is in default, not predicted.
DEFAULT_DPD: Final = SEVERITY_DPD[-1]
#: Statements that end a loan in distress: severity S3 whatever their days past due.
DEFAULTED_STATUSES: Final = ("charged_off", "restructured")
#: IFRS 9 presumptions: more than this many days past due is a significant increase in credit
#: risk (stage 2), and more than this many is credit-impaired (stage 3).
IFRS9_SICR_DPD: Final = SEVERITY_DPD[1]
IFRS9_IMPAIRED_DPD: Final = SEVERITY_DPD[2]


def severity_from_dpd(dpd: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Month-end severity of statement rows (0..3; charge-off and restructuring are S3)."""
    s1, s2, s3 = SEVERITY_DPD
    sev = np.select([dpd >= s3, dpd >= s2, dpd >= s1], [3, 2, 1], 0).astype(np.int8)
    return np.where(np.isin(status, DEFAULTED_STATUSES), np.int8(3), sev)


def severity_label(k: int) -> str:
    """``S>=k`` in days past due, for reports: ``"S>=2: 30+ DPD"``."""
    if k >= 3:
        return f"S>=3: default ({DEFAULT_DPD}+ DPD, charged off or restructured)"
    return f"S>={k}: {SEVERITY_DPD[k - 1]}+ DPD"

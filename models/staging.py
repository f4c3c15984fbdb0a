"""IFRS 9 stage hints from a score: what the warning suggests for the provision run.

IFRS 9 presumes a significant increase in credit risk (stage 2) beyond 30 days past due and
default (stage 3) beyond 90 (5.5.11, B5.5.37; docs/domain.md, provisions). Between those backstops a
model-based test is usual; the hint uses an absolute one, a 12-month PD at or above the SICR
threshold (by default the PD at which the grade policy starts "orange"). The relative test (PD
now against PD at origination) needs the loan's first score, which the provision run reads from
the warning ledger; so this is a hint, and the provision run decides.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from features.severity import IFRS9_IMPAIRED_DPD, IFRS9_SICR_DPD
from models.grade_policy import MASTER_SCALE_PD, GradePolicy

STAGE3_DPD: Final = IFRS9_IMPAIRED_DPD  # more than 90 days past due: credit-impaired
STAGE2_DPD: Final = IFRS9_SICR_DPD  # more than 30 days past due: SICR presumption
DEFAULT_SICR_PD: Final = MASTER_SCALE_PD["orange"]


def sicr_threshold(policy: GradePolicy) -> float:
    """The 12-month PD the policy's orange grade starts at, else the default 10%."""
    cut = policy.rules["orange"].p_s3
    return float(cut) if cut is not None else DEFAULT_SICR_PD


def stage_hints(
    pd_12m: np.ndarray, dpd: np.ndarray, sicr_pd: float
) -> tuple[np.ndarray, list[str], list[str]]:
    """Stage (1, 2 or 3) of each loan and the basis in words, in English and in Chinese (the
    post-loan manager reads it in the language of the answer).

    Parameters
    ----------
    pd_12m : array
        12-month PD, P(S>=3).
    dpd : array
        Days past due at as_of.
    sicr_pd : float
        12-month PD at or above which the hint presumes a significant increase in credit risk.
    """
    pd_12m = np.asarray(pd_12m, dtype=float)
    dpd = np.asarray(dpd, dtype=float)
    stage = np.where(dpd > STAGE3_DPD, 3, np.where((dpd > STAGE2_DPD) | (pd_12m >= sicr_pd), 2, 1))
    basis_en, basis_zh = [], []
    for s, d, p in zip(stage, dpd, pd_12m, strict=True):
        if s == 3:
            basis_en.append(f"{d:.0f} days past due: more than {STAGE3_DPD} presumes default")
            basis_zh.append(f"逾期{d:.0f}天：超过{STAGE3_DPD}天推定违约")
        elif d > STAGE2_DPD:
            basis_en.append(f"{d:.0f} days past due: more than {STAGE2_DPD} presumes SICR")
            basis_zh.append(f"逾期{d:.0f}天：超过{STAGE2_DPD}天推定信用风险显著增加")
        elif s == 2:
            basis_en.append(f"12-month PD {p:.1%} at or above the SICR threshold {sicr_pd:.1%}")
            basis_zh.append(f"12个月违约概率{p:.1%}，达到信用风险显著增加阈值{sicr_pd:.1%}")
        else:
            basis_en.append(f"12-month PD {p:.1%} below the SICR threshold {sicr_pd:.1%}")
            basis_zh.append(f"12个月违约概率{p:.1%}，低于信用风险显著增加阈值{sicr_pd:.1%}")
    return stage.astype(np.int64), basis_en, basis_zh

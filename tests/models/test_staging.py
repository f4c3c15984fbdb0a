"""IFRS 9 stage hints: the day-past-due backstops, the PD test between them, and the basis in
both languages."""

from __future__ import annotations

import numpy as np
import pytest

from models.staging import STAGE2_DPD, STAGE3_DPD, stage_hints


def test_backstops_and_the_pd_test_set_the_stage_and_say_why():
    pd_12m = np.array([0.01, 0.01, 0.01, 0.20, 0.10, 0.0999, 0.5])
    dpd = np.array([0, STAGE2_DPD, STAGE2_DPD + 1, 0, 0, 0, STAGE3_DPD + 1])
    stage, en, zh = stage_hints(pd_12m, dpd, sicr_pd=0.10)
    assert stage.tolist() == [1, 1, 2, 2, 2, 1, 3]
    assert stage.dtype == np.int64
    assert en[0] == "12-month PD 1.0% below the SICR threshold 10.0%"
    assert en[2] == "31 days past due: more than 30 presumes SICR"
    assert en[4] == "12-month PD 10.0% at or above the SICR threshold 10.0%"
    assert en[6] == "91 days past due: more than 90 presumes default"
    assert zh[0] == "12个月违约概率1.0%，低于信用风险显著增加阈值10.0%"
    assert zh[2] == "逾期31天：超过30天推定信用风险显著增加"
    assert zh[3] == "12个月违约概率20.0%，达到信用风险显著增加阈值10.0%"
    assert zh[6] == "逾期91天：超过90天推定违约"


@pytest.mark.parametrize("n", [0, 3])
def test_one_basis_per_loan_in_each_language(n):
    stage, en, zh = stage_hints(np.full(n, 0.5), np.zeros(n), sicr_pd=0.1)
    assert len(stage) == len(en) == len(zh) == n

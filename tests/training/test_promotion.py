"""Promotion judges challenger and champion on the same rows, with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.gates import GatePolicy
from training.promotion import PromotionError, judge


def _window(n: int = 4_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    pd_true = 1 / (1 + np.exp(-(risk * 1.5 - 3.5)))
    severity = np.where(rng.random(n) < pd_true, 3, 0)
    window = pd.DataFrame(
        {
            "severity": severity,
            "dpd_now": np.where(rng.random(n) < 0.02, 120.0, 0.0),
            "borrower_type": rng.choice(["private_enterprise", "farmer"], n),
            "area": rng.choice(["wuxing", "outside_pilot"], n),
            "bank": rng.choice(["bank_1", "bank_2"], n),
        }
    )
    return window, pd_true


def test_the_better_model_on_the_same_rows_is_promoted():
    window, pd_true = _window()
    noisy = np.clip(pd_true * np.exp(np.random.default_rng(1).normal(0, 1.0, pd_true.size)), 0, 1)
    relaxed = GatePolicy(max_ece=0.05, segment_auc_floor=0.5)
    assert judge(window, pd_true, noisy, 3, relaxed).promote
    worse = judge(window, noisy, pd_true, 3, relaxed)
    assert not worse.promote
    assert any(r.startswith("discrimination FAILED") for r in worse.reasons)


def test_defaulted_loans_are_not_judged():
    window, pd_true = _window()
    # a model that only "finds" loans already in default gains nothing
    cheat = np.where(window["dpd_now"] >= 90, 0.99, pd_true)
    honest = judge(window, pd_true, None, 3, GatePolicy(max_ece=0.05))
    cheating = judge(window, cheat, None, 3, GatePolicy(max_ece=0.05))
    assert honest.reasons == cheating.reasons


def test_a_window_without_outcomes_cannot_be_judged():
    window, pd_true = _window()
    with pytest.raises(PromotionError, match="severity"):
        judge(window.drop(columns="severity"), pd_true, None, 3)


def test_calibration_is_judged_per_borrower_when_the_window_numbers_them():
    window, pd_true = _window()
    plain = judge(window, pd_true, None, 3)
    assert plain.reasons[0].startswith("the test window has no borrower_group column")
    assert "rows taken as independent" in " ".join(plain.reasons)
    grouped = window.assign(borrower_group=np.arange(len(window)) // 4)
    decision = judge(grouped, pd_true, None, 3, GatePolicy(segment_auc_floor=0.5))
    assert decision.promote, decision.reasons
    assert not decision.reasons[0].startswith("the test window has no")
    assert "rows of 1,000 borrowers" in " ".join(decision.reasons)


def test_a_miscalibrated_challenger_is_refused_on_calibration_alone():
    window, pd_true = _window()
    relaxed = GatePolicy(segment_auc_floor=0.5)
    assert judge(window, pd_true, None, 3, relaxed).promote
    low = judge(window, pd_true / 3, None, 3, relaxed)  # same ranking, a third of the level
    assert not low.promote
    failed = [r for r in low.reasons if "FAILED" in r]
    assert [r.split(":")[0] for r in failed] == [
        "calibration FAILED",
        "calibration in the large FAILED",
    ]

"""Credit metrics on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import compute_binary_metrics, compute_ece


def test_perfect_ranking_and_calibration():
    y = np.array([0] * 90 + [1] * 10)
    p = np.where(y == 1, 1.0, 0.0)
    m = compute_binary_metrics(y, p)
    assert m.auc == 1.0 and m.gini == 1.0 and m.ks == 1.0
    assert m.brier == 0.0 and m.ece == 0.0


def test_random_scores_have_no_discrimination():
    rng = np.random.default_rng(0)
    y = rng.random(20_000) < 0.05
    m = compute_binary_metrics(y, rng.random(20_000))
    assert abs(m.auc - 0.5) < 0.03 and m.ks < 0.05


def test_ece_sees_a_constant_bias():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.0, 0.2, 50_000)
    y = rng.random(p.size) < p
    assert compute_ece(y, p) < 0.005
    assert compute_ece(y, np.clip(p + 0.05, 0, 1)) == pytest.approx(0.05, abs=0.006)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="single class"):
        compute_binary_metrics(np.zeros(5), np.full(5, 0.1))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        compute_binary_metrics(np.array([0, 1]), np.array([0.5, 1.5]))

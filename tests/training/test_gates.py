"""Promotion gates decide with reasons."""

from __future__ import annotations

import pytest

from training.gates import GatePolicy, evaluate_gates
from training.metrics import BinaryMetrics


def _m(auc: float, ece: float = 0.005, events: int = 100) -> BinaryMetrics:
    return BinaryMetrics(
        n=10_000,
        events=events,
        auc=auc,
        gini=2 * auc - 1,
        ks=0.4,
        brier=0.02,
        ece=ece,
        mean_predicted=0.02,
        observed_rate=0.02,
    )


def test_first_model_needs_only_the_absolute_gates():
    decision = evaluate_gates(_m(0.80), None, {"farmer": _m(0.75)})
    assert decision.promote
    assert decision.reasons[0].startswith("discrimination: no champion yet")


def test_a_worse_challenger_is_refused_and_says_why():
    decision = evaluate_gates(_m(0.790), _m(0.800), {})
    assert not decision.promote
    assert any(r.startswith("discrimination FAILED") for r in decision.reasons)
    assert evaluate_gates(_m(0.797), _m(0.800), {}).promote  # within the allowed drop


def test_calibration_and_segment_floors():
    assert not evaluate_gates(_m(0.85, ece=0.02), None, {}).promote
    weak = evaluate_gates(_m(0.85), None, {"outside_pilot": _m(0.60)})
    assert not weak.promote and "segment outside_pilot FAILED" in " ".join(weak.reasons)
    thin = evaluate_gates(_m(0.85), None, {"social_organization": _m(0.50, events=5)})
    assert thin.promote and "too few to judge" in " ".join(thin.reasons)
    strict = GatePolicy(segment_auc_floor=0.9)
    assert not evaluate_gates(_m(0.85), None, {"farmer": _m(0.85)}, strict).promote


def test_gate_policy_file_is_validated(tmp_path):
    good = tmp_path / "gates.json"
    good.write_text('{"max_ece": 0.02}')
    assert GatePolicy.load(good).max_ece == 0.02
    bad = tmp_path / "bad.json"
    bad.write_text('{"max_ece": 0.02, "typo_gate": 1}')
    with pytest.raises(ValueError, match="typo_gate"):
        GatePolicy.load(bad)
    with pytest.raises(ValueError, match="missing.json"):
        GatePolicy.load(tmp_path / "missing.json")

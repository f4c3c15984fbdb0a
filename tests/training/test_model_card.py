"""The model card states the run's facts in readable Markdown and refuses inconsistent ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tests.training.calibration_cases import calibrated_metrics
from training.gates import GateDecision
from training.metrics import BinaryMetrics
from training.model_card import ModelCard, render_model_card


def _metrics(auc: float, ece: float = 0.0042, n: int = 12_345, events: int = 321) -> BinaryMetrics:
    return calibrated_metrics(
        auc,
        n=n,
        events=events,
        ks=0.4567,
        brier=0.0234,
        ece=ece,
        mean_predicted=0.026,
        observed_rate=0.026,
        ece_p_value=0.4321,
        oe_low=0.8765,
        oe_high=1.1234,
        oe_design_effect=2.5,
        clusters=2_345,
    )


def _card(**overrides: object) -> ModelCard:
    grades = pd.DataFrame(
        {
            "loans": [9_000, 2_000, 800, 400, 145],
            "observed_default_rate": [0.004, 0.02, 0.06, 0.15, np.nan],
            "default_capture": [0.1, 0.2, 0.3, 0.4, 0.0],
        },
        index=["green", "blue", "yellow", "orange", "red"],
    )
    facts: dict[str, object] = {
        "model_name": "red-credit-warning",
        "first_as_of": "2021-03",
        "train_until": "2023-02",
        "calibrate_until": "2023-05",
        "test_until": "2023-11",
        "horizon": 12,
        "data_fingerprint": "f" * 64,
        "row_counts": {"train": 80_000, "calibrate": 9_000, "test": 12_345},
        "calibration_method": "isotonic",
        "metrics": {"s1": _metrics(0.7001), "s2": _metrics(0.7502), "s3": _metrics(0.81236)},
        "grade_table": grades,
        "grade_policy_version": "2026.11-default",
        "baselines": {"WoE scorecard": _metrics(0.7712), "default LightGBM": _metrics(0.8011)},
    }
    facts.update(overrides)
    return ModelCard(**facts)  # type: ignore[arg-type]


def test_card_states_window_metrics_and_baselines():
    text = render_model_card(_card())
    for month in ("2021-03 to 2023-02", "2023-03 to 2023-05", "2023-06 to 2023-11", "2024-11"):
        assert month in text
    assert "| 0.8124 | 0.6247 | 0.4567 | 0.0234 | 0.0042 |" in text  # AUC Gini KS Brier ECE
    assert "12,345" in text and "80,000" in text
    assert "| WoE scorecard | 0.7712 | 0.0042 | 1.00 [0.88, 1.12] | +0.0412 |" in text
    # the calibration tests: ECE p, then mean predicted, observed rate and O/E [95%]
    assert "| 0.0042 | 0.432 | 2.60% | 2.60% | 1.00 [0.88, 1.12] |" in text
    assert "each of the 2,345 borrowers' monthly rows one cluster" in text
    assert "| default LightGBM | 0.8011 |" in text
    assert "version assigned at registration, see the run" in text
    assert "| red | 145 | n/a |" in text  # an empty rate is not shown as 0%
    assert "isotonic" in text and "2026.11-default" in text and "f" * 64 in text
    assert "oracle" in text and "AUC ratio" not in text
    assert "Not decided when this card was written" in text


def test_oracle_ratio_version_limits_and_decision_when_given():
    decision = GateDecision(promote=False, reasons=("calibration FAILED: ECE 0.0200",))
    card = _card(
        oracle_auc=0.9,
        model_version="7",
        run_id="abc123",
        limitations=["Only two banks reported operating data."],
        decision=decision,
    )
    text = render_model_card(card)
    assert card.oracle_ratio == pytest.approx(0.81236 / 0.9)
    assert "AUC 0.9000; model/oracle AUC ratio 0.903." in text
    assert "version 7 (run `abc123`)" in text
    assert "- Only two banks reported operating data." in text
    assert "LightGBM feature contributions" in text  # a standard limitation is always there
    assert "**do not promote**" in text and "- calibration FAILED: ECE 0.0200" in text


def test_segment_table_and_pipes_in_values_are_escaped():
    segments = pd.DataFrame(
        {
            "segment": ["area", "area"],
            "value": ["anji", "a|b"],
            "n": [5_000, 10],
            "events": [120, 0],
            "auc": [0.7777, np.nan],
            "ece": [0.0031, np.nan],
            "mean_predicted": [0.024, np.nan],
            "observed_rate": [0.024, np.nan],
            "note": ["", "fewer than 50 rows (10): too few to measure"],
        }
    )
    text = render_model_card(_card(segments=segments))
    assert "| area | anji | 5,000 | 120 | 0.7777 | 0.0031 |" in text
    assert "| area | a\\|b | 10 | 0 | n/a | n/a | n/a | n/a | fewer than 50 rows (10)" in text


def test_metrics_recorded_before_the_calibration_tests_show_n_a():
    old = dataclasses.replace(
        _metrics(0.81), ece_p_value=float("nan"), oe_ratio=float("nan"), clusters=0
    )
    text = render_model_card(_card(metrics={"s3": old}, baselines={}))
    assert "| 0.0042 | n/a | 2.60% | 2.60% | n/a |" in text
    assert "clusters not recorded" in text


def test_rendering_is_deterministic():
    assert render_model_card(_card()) == render_model_card(_card())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train_until": "2020-12"}, "window months must increase"),
        ({"test_until": "November"}, "test_until must be a month like 2024-06"),
        ({"first_as_of": "2021-13"}, "first_as_of must be a month like 2024-06"),
        ({"horizon": 0}, "horizon must be at least 1 month"),
        ({"metrics": {"s1": _metrics(0.7)}}, "metrics lack the PD threshold 's3'"),
        ({"oracle_auc": 1.2}, r"oracle_auc must lie in \(0, 1\]"),
        (
            {"baselines": {"WoE scorecard": _metrics(0.77, n=999)}},
            "baseline 'WoE scorecard' was measured on 999 rows",
        ),
    ],
)
def test_inconsistent_facts_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _card(**overrides)


def test_card_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _card().horizon = 6  # type: ignore[misc]

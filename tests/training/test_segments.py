"""Per-segment metrics: equal to the whole-book metrics on each subset, never a crash."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.vocab import AREAS
from training.metrics import compute_binary_metrics
from training.segments import metrics_by_segment, pilot_segment, segment_metrics


def _book(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pd_ = rng.uniform(0.0, 0.3, n)
    frame = pd.DataFrame(
        {
            "bank": rng.choice(["bank_1", "bank_2", "bank_3"], n),
            "area": pd.Categorical(rng.choice(["wuxing", "anji", "outside_pilot"], n), AREAS),
            "defaulted": rng.random(n) < pd_,
            "p_s3": pd_,
        }
    )
    return frame.assign(pilot=pilot_segment(frame["area"]))


def test_each_segment_equals_the_metrics_of_its_rows():
    book = _book()
    table = segment_metrics(book, "defaulted", "p_s3", ["bank", "pilot"])
    row = table.set_index(["segment", "value"]).loc[("bank", "bank_2")]
    rows = book["bank"] == "bank_2"
    direct = compute_binary_metrics(book.loc[rows, "defaulted"], book.loc[rows, "p_s3"])
    assert row["n"] == direct.n and row["events"] == direct.events
    for name in ("auc", "gini", "ks", "brier", "ece", "mean_predicted", "observed_rate"):
        assert row[name] == pytest.approx(getattr(direct, name))
    assert row["note"] == ""
    assert list(table["value"]) == ["bank_1", "bank_2", "bank_3", "inside", "outside"]
    assert table.groupby("segment")["n"].sum().eq(len(book)).all()


def test_single_class_and_thin_segments_get_nan_and_a_reason():
    book = _book()
    book.loc[book["bank"] == "bank_3", "defaulted"] = False
    table = segment_metrics(book, "defaulted", "p_s3", ["bank", "area"]).set_index(
        ["segment", "value"]
    )
    clean = table.loc[("bank", "bank_3")]
    assert math.isnan(clean["auc"]) and math.isnan(clean["ece"])
    assert clean["events"] == 0 and clean["n"] > 50
    assert "single outcome class (no events)" in clean["note"]
    empty = table.loc[("area", "nanxun")]  # a declared area with no test rows is still listed
    assert empty["n"] == 0 and "fewer than 50 rows (0)" in empty["note"]

    few = segment_metrics(book.head(120), "defaulted", "p_s3", ["bank"], min_rows=100)
    assert few["note"].str.startswith("fewer than 100 rows").all()
    assert few["auc"].isna().all()


def test_gate_input_keeps_only_judged_segments():
    book = _book()
    book.loc[book["bank"] == "bank_3", "defaulted"] = False
    table = segment_metrics(book, "defaulted", "p_s3", ["bank", "pilot"])
    gates = metrics_by_segment(table)
    assert set(gates) == {"bank=bank_1", "bank=bank_2", "pilot=inside", "pilot=outside"}
    judged = table.set_index(["segment", "value"]).loc[("pilot", "outside")]
    assert gates["pilot=outside"].auc == pytest.approx(judged["auc"])
    assert isinstance(gates["pilot=outside"].events, int)


def test_pilot_segment_splits_the_six_areas_from_the_widened_scope():
    areas = pd.Series(["anji", "outside_pilot", "deqing", "nantaihu"], index=[7, 8, 9, 10])
    pilot = pilot_segment(areas)
    assert list(pilot) == ["inside", "outside", "inside", "inside"]
    assert list(pilot.index) == [7, 8, 9, 10]
    with pytest.raises(ValueError, match=r"unknown area values.*'huzhou'"):
        pilot_segment(pd.Series(["anji", "huzhou"]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="bank"), r"columns missing from the frame: \['bank'\]"),
        (lambda f: f.assign(defaulted=2), "outcome column 'defaulted' must hold only 0/1"),
        (lambda f: f.assign(p_s3=1.5), r"probability column 'p_s3' must lie in \[0, 1\]"),
        (lambda f: f.assign(p_s3=np.nan), r"probability column 'p_s3' must lie in \[0, 1\]"),
    ],
)
def test_bad_input_is_named(change, message):
    with pytest.raises(ValueError, match=message):
        segment_metrics(change(_book(200)), "defaulted", "p_s3", ["bank"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="sequence of column names"):
        segment_metrics(_book(200), "defaulted", "p_s3", "bank")
    with pytest.raises(ValueError, match="min_rows must be at least 1"):
        segment_metrics(_book(200), "defaulted", "p_s3", ["bank"], min_rows=0)
    with pytest.raises(ValueError, match="not a segment_metrics table"):
        metrics_by_segment(pd.DataFrame({"segment": ["bank"]}))

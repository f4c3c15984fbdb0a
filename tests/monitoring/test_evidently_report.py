"""The Evidently drift report: a planted shift is found, the test stays pinned at any size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.evidently_report import (
    DriftReportError,
    build_drift_report,
    drift_scores,
    save_report_html,
)
from monitoring.psi import population_stability

NUMERICAL = ["income", "utilisation"]
CATEGORICAL = ["area"]


def scored_frame(n: int, seed: int, *, income_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.lognormal(10.0, 0.5, n) * np.exp(income_shift),
            "utilisation": rng.beta(2, 5, n),
            "area": rng.choice(["deqing", "anji", "changxing"], n, p=[0.5, 0.3, 0.2]),
            "pd_12m": rng.beta(1, 40, n),
            "grade": rng.choice(["green", "blue", "yellow", "orange", "red"], n),
        }
    )


def config_of(snapshot, metric_type: str) -> list[dict]:
    return [
        m["config"]
        for m in snapshot.dict()["metrics"]
        if m["config"]["type"] == f"evidently:metric_v2:{metric_type}"
    ]


@pytest.mark.parametrize("n_reference", [300, 4000])  # either side of Evidently's 1,000-row switch
def test_planted_shift_is_found_and_the_quantile_psi_is_pinned(n_reference):
    reference = scored_frame(n_reference, seed=1)
    current = scored_frame(1500, seed=2, income_shift=0.6)
    snapshot = build_drift_report(reference, current, NUMERICAL, CATEGORICAL)

    scores = drift_scores(snapshot).set_index("column")
    assert list(scores.index) == ["income", "utilisation", "pd_12m", "area", "grade"]
    assert (scores["method"] == "ews_psi_q10").all()
    assert (scores["threshold"] == 0.25).all()
    assert scores.loc["income", "score"] >= 0.25
    assert scores.loc[["utilisation", "pd_12m", "area", "grade"], "score"].max() < 0.10
    # Evidently's score is our PSI, bins and all (no missing values here).
    ours = population_stability(reference["income"], current["income"], bins=10).value
    assert scores.loc["income", "score"] == pytest.approx(ours, rel=1e-12)

    (count,) = config_of(snapshot, "DriftedColumnsCount")
    assert set(count["per_column_method"].values()) == {"ews_psi_q10"}
    assert set(count["per_column_threshold"].values()) == {0.25}
    count_value = next(m["value"] for m in snapshot.dict()["metrics"] if m["config"] is count)
    assert count_value["count"] == 1.0
    assert count_value["share"] == pytest.approx(1 / 5)


@pytest.mark.parametrize("n_reference", [300, 4000])
def test_an_evidently_method_is_pinned_too(n_reference):
    reference = scored_frame(n_reference, seed=3)
    current = scored_frame(1500, seed=4, income_shift=0.6)
    snapshot = build_drift_report(
        reference, current, NUMERICAL, CATEGORICAL, method="jensenshannon", threshold=0.1
    )
    scores = drift_scores(snapshot).set_index("column")
    assert (scores["method"] == "jensenshannon").all()
    assert (scores["threshold"] == 0.1).all()
    assert scores.loc["income", "score"] >= 0.1
    assert scores.drop(index="income")["score"].max() < 0.1


def test_bins_are_part_of_the_test_name_and_change_the_score():
    reference = scored_frame(3000, seed=5)
    current = scored_frame(3000, seed=6, income_shift=0.3)
    five = drift_scores(build_drift_report(reference, current, NUMERICAL, [], bins=5))
    assert set(five["method"]) == {"ews_psi_q5"}
    ours = population_stability(reference["income"], current["income"], bins=5).value
    assert five.set_index("column").loc["income", "score"] == pytest.approx(ours, rel=1e-12)


def test_the_summary_table_variant_records_the_same_pinned_metrics():
    reference, current = scored_frame(500, seed=7), scored_frame(500, seed=8, income_shift=0.6)
    plain = drift_scores(build_drift_report(reference, current, NUMERICAL, CATEGORICAL))
    table = drift_scores(
        build_drift_report(reference, current, NUMERICAL, CATEGORICAL, summary_table=True)
    )
    pd.testing.assert_frame_equal(plain, table)


def test_bad_inputs_are_named():
    frame = scored_frame(200, seed=9)
    with pytest.raises(DriftReportError, match="current frame lacks columns: utilisation"):
        build_drift_report(frame, frame.drop(columns="utilisation"), NUMERICAL, CATEGORICAL)
    with pytest.raises(DriftReportError, match="'wasserstein'.*categorical"):
        build_drift_report(frame, frame, NUMERICAL, CATEGORICAL, method="wasserstein")
    with pytest.raises(DriftReportError, match="'no_such_test'"):
        build_drift_report(frame, frame, NUMERICAL, CATEGORICAL, method="no_such_test")
    with pytest.raises(DriftReportError, match="more than once: income"):
        build_drift_report(frame, frame, NUMERICAL, ["income"])
    with pytest.raises(DriftReportError, match="bins"):
        build_drift_report(frame, frame, NUMERICAL, CATEGORICAL, bins=1)


def test_html_is_self_contained_and_replaced_atomically(tmp_path):
    reference, current = scored_frame(400, seed=10), scored_frame(400, seed=11)
    snapshot = build_drift_report(reference, current, NUMERICAL, CATEGORICAL)
    target = tmp_path / "reports" / "drift.html"
    target.parent.mkdir()
    target.write_text("previous report")
    assert save_report_html(snapshot, target) == target
    html = target.read_text()
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "window.drawDashboard" in html and "<script src=" not in html  # script inline
    assert "ews_psi_q10" in html or "reference-quantile bins" in html
    assert [p.name for p in target.parent.iterdir()] == ["drift.html"]  # no temp file left


def test_unpinned_evidently_switches_test_with_the_reference_size():
    """Why pinning matters: the same column, left to Evidently, gets another test past 1,000
    rows (so the 300/4000 cases above straddle the switch)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    definition = DataDefinition(numerical_columns=["income"])
    resolved = []
    for n_reference in (300, 4000):
        reference, current = scored_frame(n_reference, seed=12), scored_frame(1500, seed=13)
        snapshot = Report([ValueDrift(column="income")]).run(
            Dataset.from_pandas(current[["income"]], data_definition=definition),
            Dataset.from_pandas(reference[["income"]], data_definition=definition),
        )
        (config,) = config_of(snapshot, "ValueDrift")
        resolved.append((config["method"], config["threshold"]))
    assert resolved[0] != resolved[1], resolved

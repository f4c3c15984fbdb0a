"""The monitoring project in an Evidently workspace: panels once, one snapshot per month, and
the series Evidently's UI storage serves from it."""

from __future__ import annotations

import asyncio
import json
import math

import pandas as pd
import pytest
from evidently.ui.service.base import SeriesFilter
from evidently.ui.service.storage.local.base import InMemoryDataStorage

from monitoring.dashboard import (
    DASHBOARD_PANELS,
    FIGURE_METRIC,
    PANEL_FIGURES,
    PROVISION_PANEL_FIGURES,
    FiguresError,
    WorkspaceError,
    ensure_project,
    figure_snapshots,
    months_published,
    open_workspace,
    publish_figures,
)
from tests.monitoring.figures_factory import REALIZED_MONTHS, figures_table


def served_series(path, project_id, labels: dict[str, str]) -> tuple[list, list]:
    """What ``POST /api/v2/snapshots/<project>/data_series_batch`` answers for one filter:
    the UI's own storage class over the workspace directory, read afresh."""
    storage = InMemoryDataStorage(str(path))
    flt = SeriesFilter(tags=[], metadata={}, metric=FIGURE_METRIC, metric_labels=labels)
    response = asyncio.run(storage.get_data_series(project_id, [flt], None, None))
    return response.sources, response.series


@pytest.fixture
def published(tmp_path):
    ws = open_workspace(tmp_path / "ws", create=True)
    project = ensure_project(ws)
    figures = figures_table(months=5)
    publish_figures(ws, project, figures)
    return ws, project, figures, tmp_path / "ws"


def test_the_panels_cover_every_figure_the_run_produces():
    assert set(PANEL_FIGURES) == {
        "drifted_input_share", "pd_psi", "grade_share", "worst_segment_pd_psi",
        "segments_in_breach", "action_share",
        "observed_default_rate", "expected_default_rate", "oe_ratio",
        "early_read_observed", "early_read_expected", "auc_estimated", "auc_realized",
    }  # fmt: skip
    assert len({p.title for p in DASHBOARD_PANELS}) == len(DASHBOARD_PANELS)


def test_the_provision_panels_show_what_the_provision_run_publishes():
    from provisions.figures import PROVISION_FIGURES

    assert set(PROVISION_PANEL_FIGURES) == set(PROVISION_FIGURES)


def test_ensure_project_is_idempotent(tmp_path):
    ws = open_workspace(tmp_path / "ws", create=True)
    first = ensure_project(ws)
    dashboard_file = tmp_path / "ws" / str(first.id) / "dashboard.json"
    written = dashboard_file.stat().st_mtime_ns
    second = ensure_project(ws)
    assert second.id == first.id
    assert len(ws.list_projects()) == 1
    panels = ws.get_dashboard(first.id).panels
    assert [p.title for p in panels] == [p.title for p in DASHBOARD_PANELS]
    assert dashboard_file.stat().st_mtime_ns == written  # unchanged: not rewritten
    # A dashboard edited (or duplicated) by hand is put back to the defined one.
    model = ws.get_dashboard(first.id)
    model.panels = model.panels + model.panels
    ws.save_dashboard(first.id, model)
    ensure_project(ws)
    assert [p.title for p in ws.get_dashboard(first.id).panels] == [
        p.title for p in DASHBOARD_PANELS
    ]


def test_publishing_twice_keeps_one_snapshot_per_month(published):
    ws, project, figures, path = published
    months = sorted(f"{d:%Y-%m-%d}" for d in figures["as_of"].unique())
    assert months_published(ws, project) == months
    changed = figures.copy()
    changed.loc[changed["figure"] == "pd_psi", "value"] += 1.0
    publish_figures(ws, project, changed)
    assert months_published(ws, project) == months
    assert len(ws.list_runs(project.id)) == len(months)
    sources, series = served_series(path, project.id, {"figure": "pd_psi", "segment": "book"})
    assert len(sources) == len(months)
    (line,) = series
    expected = changed[(changed.figure == "pd_psi") & (changed.segment == "book")]
    assert line.values == pytest.approx(expected.sort_values("as_of")["value"].tolist())


def test_the_served_series_hold_every_figure_with_its_months(published):
    ws, project, figures, path = published
    months = sorted(figures["as_of"].unique())
    for (figure, segment, label), rows in figures.groupby(["figure", "segment", "label"]):
        sources, series = served_series(
            path, project.id, {"figure": figure, "segment": segment, "label": label}
        )
        (line,) = series
        assert line.params["figure"] == figure
        by_month = dict(zip(rows["as_of"], rows["value"], strict=True))
        stamps = [pd.Timestamp(s.timestamp) for s in sources]
        got = dict(zip(stamps, line.values, strict=True))
        assert got == pytest.approx(by_month), (figure, segment, label)
    # Realized AUC exists for the matured months only: a gap, not a zero.
    sources, (auc,) = served_series(path, project.id, {"figure": "auc_realized"})
    assert len(auc.values) == REALIZED_MONTHS
    assert len(months) > REALIZED_MONTHS
    # The book panel of PD PSI leaves the segment out; grade shares are one line per grade.
    _, pd_psi = served_series(path, project.id, {"figure": "pd_psi", "segment": "book"})
    assert [s.params.get("segment") for s in pd_psi] == ["book"]
    _, grades = served_series(path, project.id, {"figure": "grade_share", "segment": "book"})
    assert sorted(s.params["label"] for s in grades) == sorted(
        ["green", "blue", "yellow", "orange", "red"]
    )
    first_month_total = sum(s.values[0] for s in grades)
    assert math.isclose(first_month_total, 1.0, rel_tol=1e-9)


def test_every_panel_series_has_points(published):
    ws, project, _, path = published
    for panel in ws.get_dashboard(project.id).panels:
        for value in panel.values:
            _, series = served_series(path, project.id, value.metric_labels)
            points = [v for s in series for v in s.values if v is not None]
            assert points, f"panel {panel.title!r}: no points for {value.metric_labels}"


def test_a_snapshot_reads_back_without_this_module(published):
    """The stored snapshot is Evidently's own result type plus a dict of parameters."""
    ws, project, _, path = published
    snapshot_file = next((path / str(project.id) / "snapshots").glob("*.json"))
    stored = json.loads(snapshot_file.read_text())
    result = next(iter(stored["metric_results"].values()))
    assert result["type"] == "evidently:metric_result_v2:SingleValue"
    assert result["metric_value_location"]["metric"]["params"]["type"] == FIGURE_METRIC
    assert "(n=" in result["display_name"]


def test_bad_figures_are_named(tmp_path):
    ws = open_workspace(tmp_path / "ws", create=True)
    project = ensure_project(ws)
    figures = figures_table(months=2)
    with pytest.raises(FiguresError, match="lacks columns: n"):
        publish_figures(ws, project, figures.drop(columns="n"))
    twice = pd.concat([figures, figures.iloc[[0]]])
    with pytest.raises(FiguresError, match="twice for one month: 2025-01-31 drifted_input_share"):
        publish_figures(ws, project, twice)
    mid_month = figures.assign(as_of=pd.Timestamp("2025-01-15"))
    with pytest.raises(FiguresError, match="month ends"):
        publish_figures(ws, project, mid_month)
    assert ws.list_runs(project.id) == []  # nothing half-published


def test_missing_and_corrupt_workspaces_are_named(tmp_path):
    missing = tmp_path / "no-such-workspace"
    with pytest.raises(WorkspaceError, match=f"no Evidently workspace at {missing}"):
        open_workspace(missing)
    assert not missing.exists()  # Evidently would have created it

    path = tmp_path / "ws"
    project = ensure_project(open_workspace(path, create=True))
    metadata = path / str(project.id) / "metadata.json"
    metadata.write_text("garbage{")
    with pytest.raises(WorkspaceError, match=f"project file {metadata} is unreadable"):
        open_workspace(path)


def test_a_corrupt_snapshot_is_named(published):
    ws, project, _, path = published
    snapshot_file = next((path / str(project.id) / "snapshots").glob("*.json"))
    snapshot_file.write_text('{"not": "a snapshot"}')
    with pytest.raises(WorkspaceError, match=f"snapshot file {snapshot_file} is unreadable"):
        open_workspace(path)
    snapshot_file.write_text("garbage{")
    with pytest.raises(WorkspaceError, match=f"snapshot file {snapshot_file} is unreadable"):
        open_workspace(path)


def test_figure_snapshots_ignore_other_snapshots(published):
    ws, project, figures, _ = published
    from evidently import Report
    from evidently.metrics import RowCount

    other = Report([RowCount()]).run(pd.DataFrame({"x": [1, 2]}), None)
    ws.add_run(project.id, other)
    assert len(figure_snapshots(ws, project)) == figures["as_of"].nunique()


def test_a_drift_run_and_a_performance_run_of_the_same_months_add_up(tmp_path):
    from monitoring.dashboard import FIGURES_FILE, months_published, publish_merged

    path = tmp_path / "ws"
    ws = open_workspace(path, create=True)
    project = ensure_project(ws)
    figures = figures_table(months=3)
    drift = figures[figures["figure"].isin(["pd_psi", "worst_segment_pd_psi"])]
    outcome = figures[figures["figure"].isin(["oe_ratio", "auc_estimated"])]
    publish_merged(path, ws, project, drift)
    publish_merged(path, ws, project, outcome)
    assert len(months_published(ws, project)) == 3  # one snapshot a month, both runs in it
    stored = pd.read_parquet(path / FIGURES_FILE)
    assert set(stored["figure"]) == {"pd_psi", "worst_segment_pd_psi", "oe_ratio", "auc_estimated"}
    _, series = served_series(path, project.id, {"figure": "oe_ratio", "segment": "book"})
    assert series and all(len(s.values) == 3 for s in series)
    # A new drift run of the first month replaces that month's worst segments as a whole.
    first = drift["as_of"].min()
    again = drift[(drift["as_of"] == first) & (drift["figure"] == "worst_segment_pd_psi")].head(1)
    publish_merged(path, ws, project, again)
    stored = pd.read_parquet(path / FIGURES_FILE)
    worst = stored[(stored["as_of"] == first) & (stored["figure"] == "worst_segment_pd_psi")]
    assert len(worst) == 1
    assert len(stored[(stored["as_of"] == first) & (stored["figure"] == "pd_psi")]) == len(
        drift[(drift["as_of"] == first) & (drift["figure"] == "pd_psi")]
    )

"""The Evidently workspace project the monitoring runs feed, and its dashboard.

Single responsibility: keep one Evidently project (``red-credit-monitoring``) in a local
workspace, with its dashboard panels defined once, and store each month's monitoring figures
in it as one snapshot per as-of month, so the Evidently UI (monitoring/ui.py) draws every figure
over the months.

How a figure becomes an Evidently value
    Evidently 0.7 plots only values of metric results stored in snapshots, each series named
    by its metric type and the metric's parameters. A figure is published as a
    :class:`MonitoringFigure` metric (type ``evidently:metric_v2:MonitoringFigure``) with the
    parameters ``figure``, ``segment`` and ``label``; its calculation reads the ``value`` from
    a one-row-per-figure dataset of that month. The value is data, not a parameter, so one
    (figure, segment, label) is one series across months, and a panel selects a figure by its
    labels (``{"figure": "grade_share", "segment": "book"}`` gives one line per grade).

    Why a custom metric and not a built-in one over a made-up dataset (``MeanValue`` of one
    column per figure): built-in metrics name series by column, so every figure, segment and
    grade would need its own column and its own panel filter, and a new segment label (a new
    worst segment) would need a new column. The custom metric is also robust where it matters:
    a stored snapshot holds the *result* (Evidently's own ``SingleValue``) and the metric's
    parameters as a plain dict, so reading the workspace (the UI, ``Workspace.get_run``) does
    not need this module imported; only publishing does. It was checked against a plain
    ``evidently ui`` process.

One snapshot per month
    A month's snapshot has the month end as its timestamp and the metadata
    ``{"ews_snapshot": "monitoring-figures", "as_of": "YYYY-MM-DD"}``. Publishing a month again
    adds the new snapshot, then deletes the month's earlier ones: a reader sees the old or the
    new figures, never none, and never two points for one month afterwards. A figure absent in
    a month (realized AUC before the outcomes mature) is simply not published: its line has no
    point there. Each value's sample size ``n`` is shown in the snapshot's report view (the
    metric's display name), not as a series.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently._pydantic_compat import ValidationError
from evidently.core.datasets import Dataset as EvidentlyDataset
from evidently.core.metric_types import SingleValue, SingleValueCalculation, SingleValueMetric
from evidently.core.report import Snapshot
from evidently.core.serialization import SnapshotModel
from evidently.sdk.models import DashboardModel, DashboardPanelPlot, PanelMetric, ProjectModel
from evidently.sdk.panels import counter_panel, line_plot_panel, text_panel
from evidently.ui.workspace import Project, Workspace

from monitoring.frames import BOOK

PROJECT_NAME: Final = "red-credit-monitoring"
PROJECT_DESCRIPTION: Final = (
    "Monthly drift, grade mix, calibration and discrimination of the champion early-warning "
    "model on the Red Financial Credit book."
)
FIGURE_METRIC: Final = "evidently:metric_v2:MonitoringFigure"
#: Columns of the tidy figures table :func:`publish_figures` takes.
FIGURE_COLUMNS: Final = ("as_of", "figure", "segment", "label", "value", "n")
SNAPSHOT_KIND_KEY: Final = "ews_snapshot"
SNAPSHOT_KIND: Final = "monitoring-figures"

# Local workspace layout (evidently/ui/storage/local/base.py).
_PROJECT_FILE = "metadata.json"
_DASHBOARD_FILE = "dashboard.json"
_SNAPSHOTS_DIR = "snapshots"


class WorkspaceError(ValueError):
    """A workspace is missing or unreadable; the message names the path and what is wrong."""


class FiguresError(ValueError):
    """A figures table cannot be published; the message names the rows or columns at fault."""


# --------------------------------------------------------------------------- the metric


class MonitoringFigure(SingleValueMetric):
    """One monitoring figure of one month, read from that month's figures dataset.

    ``figure``, ``segment`` and ``label`` name the series; the value comes from the dataset's
    row with the same three, so it is never part of the series name.
    """

    class Config:
        type_alias = FIGURE_METRIC  # pinned: stored snapshots keep it whatever the class name

    figure: str
    segment: str
    label: str = ""


class MonitoringFigureCalculation(SingleValueCalculation[MonitoringFigure]):
    def calculate(
        self,
        context: Any,
        current_data: EvidentlyDataset,
        reference_data: EvidentlyDataset | None,
    ) -> SingleValue:
        rows = current_data.as_dataframe()
        m = self.metric
        row = rows[(rows["figure"] == m.figure) & (rows["segment"] == m.segment)]
        row = row[row["label"] == m.label]
        if len(row) != 1:
            raise FiguresError(
                f"{len(row)} rows for figure {m.figure!r}, segment {m.segment!r}, "
                f"label {m.label!r} in one month (need exactly 1)"
            )
        self._n = int(row["n"].iloc[0])
        return self.result(float(row["value"].iloc[0]))

    def display_name(self) -> str:
        m = self.metric
        parts = [m.figure, m.segment] + ([m.label] if m.label else [])
        n = getattr(self, "_n", None)
        return " | ".join(parts) + (f" (n={n:,})" if n is not None else "")


# --------------------------------------------------------------------------- the workspace


def _check_json(path: Path, model: Any, what: str) -> None:
    try:
        with path.open(encoding="utf-8") as handle:
            model.parse_obj(json.load(handle))
    except (OSError, json.JSONDecodeError, ValidationError, UnicodeDecodeError) as exc:
        raise WorkspaceError(
            f"corrupt Evidently workspace: {what} {path} is unreadable ({exc})"
        ) from None


def open_workspace(path: str | Path, *, create: bool = False) -> Workspace:
    """Open a local Evidently workspace, with errors that name the path and the file.

    Evidently itself creates an empty workspace for any path it is given (a typo serves an
    empty UI); ``Workspace(path)`` parses every project and snapshot file at once, and a
    garbage one surfaces as a bare ``JSONDecodeError`` or ``ValueError: <id> is malformed``;
    the UI even starts on such a workspace and then answers 500 to every project list, with
    nothing in its log. Here each case is a :class:`WorkspaceError`.

    Parameters
    ----------
    path : str or Path
        The workspace directory.
    create : bool
        Create the directory if it is missing (publishing); reading and serving leave it False.

    Raises
    ------
    WorkspaceError
        If the directory is missing (and ``create`` is False), is not a directory, or a
        project's metadata, dashboard or snapshot file does not parse.
    """
    root = Path(path)
    if not root.exists():
        if not create:
            raise WorkspaceError(f"no Evidently workspace at {root}: the directory does not exist")
        root.mkdir(parents=True)
    if not root.is_dir():
        raise WorkspaceError(f"Evidently workspace {root} is not a directory")
    projects = sorted(p for p in root.iterdir() if p.is_dir() and _is_uuid(p.name))
    for project_dir in projects:
        metadata = project_dir / _PROJECT_FILE
        if not metadata.exists():
            raise WorkspaceError(
                f"corrupt Evidently workspace: project directory {project_dir} has no "
                f"{_PROJECT_FILE}"
            )
        _check_json(metadata, ProjectModel, "project file")
        dashboard = project_dir / _DASHBOARD_FILE
        if dashboard.exists():
            _check_json(dashboard, DashboardModel, "dashboard file")
    try:
        return Workspace(str(root))  # parses every snapshot
    except (ValueError, OSError) as exc:  # JSONDecodeError is a ValueError
        problem = exc
    for project_dir in projects:  # only on failure: find the file to name
        for snapshot in sorted((project_dir / _SNAPSHOTS_DIR).glob("*.json")):
            if _is_uuid(snapshot.stem):
                _check_json(snapshot, SnapshotModel, "snapshot file")
    raise WorkspaceError(f"corrupt Evidently workspace {root}: {problem}")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


# --------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Series:
    """One line of a panel: a figure (of the book, or of any segment when ``segment`` is
    None) and its legend (``{{label}}`` is replaced by the series' label)."""

    figure: str
    legend: str
    segment: str | None = BOOK
    label: str | None = None


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    kind: str  # "text", "counter" or "line"
    description: str = ""
    series: tuple[Series, ...] = ()
    size: str = "full"


READING_GUIDE: Final = (
    "PSI and CSI compare this month with the reference the model was trained on: below 0.10 "
    "stable, 0.10-0.25 worth watching, above 0.25 shifted, each only when also above what "
    "sampling alone gives at that sample size (the drifted-input share counts inputs shifted "
    "so). A segment breaches when its PD, grade mix or orange/red share shifts. Grade shares "
    "sum to 1. Observed/expected near 1 means the PD is calibrated; early reads compare "
    "defaults 3 and 6 months after the as-of with what the PD implied for that horizon. "
    "Estimated AUC is what the model expects of itself; realized AUC appears once 12-month "
    "outcomes have matured. A month without a figure has no point."
)

PANELS: Final[tuple[Panel, ...]] = (
    Panel("guide", "How to read this dashboard", "text", READING_GUIDE),
    Panel(
        "drifted-latest",
        "Latest share of drifted model inputs",
        "counter",
        "Share of model inputs with PSI >= 0.25 in the latest month",
        (Series("drifted_input_share", "drifted inputs"),),
        "half",
    ),
    Panel(
        "drifted",
        "Share of drifted model inputs",
        "line",
        "Inputs with PSI >= 0.25 against the reference, as a share of all inputs",
        (Series("drifted_input_share", "drifted inputs"),),
        "half",
    ),
    Panel(
        "pd-psi",
        "PD stability: PSI of pd_12m",
        "line",
        "PSI of the 12-month PD against the reference (bands 0.10 / 0.25)",
        (Series("pd_psi", "book", label=""),),
        "half",
    ),
    Panel(
        "worst-segment",
        "Worst segment: PD PSI",
        "line",
        "The segment with the highest PD PSI each month (legend: the segment)",
        (Series("worst_segment_pd_psi", "{{label}}", segment=None),),
        "half",
    ),
    Panel(
        "breaches",
        "Segments in breach",
        "line",
        "Segment-months whose PD, grade mix or orange/red share shifted (the run's exit code 1)",
        (Series("segments_in_breach", "segments in breach"),),
        "half",
    ),
    Panel(
        "action-share",
        "Orange/red share of the book",
        "line",
        "Share of performing loans graded orange or red: the post-loan managers' work list",
        (Series("action_share", "orange/red", label="current"),),
        "half",
    ),
    Panel(
        "grades",
        "Grade mix",
        "line",
        "Share of the book in each warning grade",
        (Series("grade_share", "{{label}}"),),
    ),
    Panel(
        "default-rates",
        "Default rate: observed vs expected",
        "line",
        "12-month default rate of matured cohorts and the mean PD that predicted it",
        (
            Series("observed_default_rate", "observed"),
            Series("expected_default_rate", "expected"),
        ),
        "half",
    ),
    Panel(
        "oe",
        "Observed / expected default ratio",
        "line",
        "Near 1: calibrated; above 1: the PD understates risk",
        (Series("oe_ratio", "observed / expected"),),
        "half",
    ),
    Panel(
        "early-read",
        "Early read: observed vs expected defaults",
        "line",
        "Defaults 3 and 6 months after the as-of against the PD's expectation for that horizon",
        (
            Series("early_read_observed", "observed {{label}}"),
            Series("early_read_expected", "expected {{label}}"),
        ),
        "half",
    ),
    Panel(
        "auc",
        "AUC: estimated vs realized",
        "line",
        "Realized AUC appears once 12-month outcomes have matured",
        (Series("auc_estimated", "estimated"), Series("auc_realized", "realized")),
        "half",
    ),
)
#: The provision panels, below the monitoring ones: what the evidence did to the allowance.
PROVISION_PANELS: Final[tuple[Panel, ...]] = (
    Panel(
        "allowance",
        "Allowance: modelled and booked (yuan)",
        "line",
        "Modelled ECL of the month, and booked = modelled + approved overlays",
        (
            Series("allowance", "modelled", label="modelled"),
            Series("allowance", "booked", label="booked"),
        ),
        "half",
    ),
    Panel(
        "overlays",
        "Overlays: proposed and approved (yuan)",
        "line",
        "Overlays the monitoring evidence supports: still proposed, and approved by people",
        (
            Series("overlays", "proposed", label="proposed"),
            Series("overlays", "approved", label="approved"),
        ),
        "half",
    ),
    Panel(
        "allowance-stage",
        "Allowance by IFRS 9 stage (yuan)",
        "line",
        "Stage 1: 12-month ECL; stages 2 and 3: lifetime ECL",
        (Series("allowance_by_stage", "{{label}}"),),
        "half",
    ),
    Panel(
        "allowance-area",
        "Allowance by area (yuan)",
        "line",
        "Modelled ECL of each area's loans",
        (Series("allowance_by_area", "{{label}}"),),
        "half",
    ),
    Panel(
        "stage23-area",
        "Stage 2 and 3 share of balance by area",
        "line",
        "Share of each area's drawn balance in stages 2 and 3: where credit risk has risen",
        (Series("stage23_share_by_area", "{{label}}"),),
        "half",
    ),
    Panel(
        "coverage",
        "Provision coverage (modelled allowance / non-performing loans)",
        "line",
        "The regulator's band is 120%-150%",
        (Series("provision_coverage", "coverage"),),
        "half",
    ),
    Panel(
        "loan-provision",
        "Loan provision ratio (modelled allowance / loans)",
        "line",
        "The regulator's band is 1.5%-2.5%",
        (Series("loan_provision_ratio", "loan provision ratio"),),
        "half",
    ),
)
#: Every figure name a monitoring panel shows (the figures the monitoring runs must produce).
PANEL_FIGURES: Final = tuple(dict.fromkeys(s.figure for p in PANELS for s in p.series))
#: Every figure name a provision panel shows (what ``ews-provision run`` publishes).
PROVISION_PANEL_FIGURES: Final = tuple(
    dict.fromkeys(s.figure for p in PROVISION_PANELS for s in p.series)
)
#: The dashboard, top to bottom.
DASHBOARD_PANELS: Final = (*PANELS, *PROVISION_PANELS)


def _panel_metric(series: Series) -> PanelMetric:
    labels = {"figure": series.figure}
    if series.segment is not None:
        labels["segment"] = series.segment
    if series.label is not None:
        labels["label"] = series.label
    return PanelMetric(metric=FIGURE_METRIC, metric_labels=labels, legend=series.legend)


def dashboard_model(project_id: uuid.UUID) -> DashboardModel:
    """The project's dashboard: :data:`DASHBOARD_PANELS` in order, ids derived from the project id
    and the panel key, so building it twice gives the same model (what makes
    :func:`ensure_project` idempotent)."""
    plots: list[DashboardPanelPlot] = []
    for panel in DASHBOARD_PANELS:
        values = [_panel_metric(s) for s in panel.series]
        if panel.kind == "text":
            plot = text_panel(panel.title, panel.description, size=panel.size)
        elif panel.kind == "counter":
            plot = counter_panel(panel.title, values, panel.description, panel.size, "last")
        else:
            plot = line_plot_panel(panel.title, values, panel.description, panel.size)
        plot.id = uuid.uuid5(project_id, f"panel:{panel.key}")
        plots.append(plot)
    return DashboardModel(tabs=[], panels=plots)


def ensure_project(ws: Workspace, name: str = PROJECT_NAME) -> Project:
    """Get or create the monitoring project, with its dashboard as :data:`PANELS` defines it.

    The dashboard is written only when it differs from :func:`dashboard_model`, so calling
    this every run neither duplicates panels nor rewrites the file under a running UI; a
    dashboard edited by hand is put back to the defined one.

    Raises
    ------
    WorkspaceError
        If the workspace holds more than one project of that name.
    """
    found = ws.search_project(name)
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise WorkspaceError(f"workspace {ws.path} has {len(found)} projects named {name!r}: {ids}")
    project = found[0] if found else ws.create_project(name, description=PROJECT_DESCRIPTION)
    wanted = dashboard_model(project.id)
    if ws.get_dashboard(project.id).dict() != wanted.dict():
        ws.save_dashboard(project.id, wanted)
    return project


# --------------------------------------------------------------------------- publishing


def _checked_figures(figures: pd.DataFrame) -> pd.DataFrame:
    absent = [c for c in FIGURE_COLUMNS if c not in figures.columns]
    if absent:
        raise FiguresError(f"figures table lacks columns: {', '.join(absent)}")
    table = figures.loc[:, list(FIGURE_COLUMNS)].copy()
    table["as_of"] = pd.to_datetime(table["as_of"])
    stamps = table["as_of"]
    not_month_end = stamps[~stamps.dt.is_month_end | (stamps.dt.normalize() != stamps)]
    if not not_month_end.empty:
        raise FiguresError(
            f"as_of must be month ends at midnight, got {sorted(set(map(str, not_month_end)))}"
        )
    for column in ("figure", "segment"):
        if table[column].isna().any() or (table[column].astype(str) == "").any():
            raise FiguresError(f"figures table has rows with an empty {column}")
    table["label"] = table["label"].fillna("").astype(str)
    table["figure"] = table["figure"].astype(str)
    table["segment"] = table["segment"].astype(str)
    table["value"] = pd.to_numeric(table["value"], errors="raise").astype(float)
    table = table[table["value"].notna()]  # not computable this month: no point
    table["n"] = pd.to_numeric(table["n"], errors="raise").fillna(0).astype("int64")
    key = ["as_of", "figure", "segment", "label"]
    repeated = table[table.duplicated(key, keep=False)]
    if not repeated.empty:
        names = sorted(
            {f"{r.as_of:%Y-%m-%d} {r.figure}/{r.segment}/{r.label}" for r in repeated.itertuples()}
        )
        raise FiguresError(f"figures published twice for one month: {', '.join(names)}")
    return table


def month_snapshot(month: pd.DataFrame, as_of: pd.Timestamp) -> Snapshot:
    """The snapshot of one month's figures: one :class:`MonitoringFigure` per row, its
    timestamp the month end."""
    rows = month.loc[:, ["figure", "segment", "label", "value", "n"]].reset_index(drop=True)
    definition = DataDefinition(
        numerical_columns=["value", "n"], categorical_columns=["figure", "segment", "label"]
    )
    metrics = [
        MonitoringFigure(figure=r.figure, segment=r.segment, label=r.label)
        for r in rows.itertuples()
    ]
    return Report(metrics).run(
        Dataset.from_pandas(rows, data_definition=definition),
        None,
        timestamp=as_of.to_pydatetime(),
        metadata={SNAPSHOT_KIND_KEY: SNAPSHOT_KIND, "as_of": f"{as_of:%Y-%m-%d}"},
        name=f"monitoring figures {as_of:%Y-%m}",
    )


def figure_snapshots(ws: Workspace, project: Project) -> dict[str, list[uuid.UUID]]:
    """The project's figure snapshots by as-of date (``YYYY-MM-DD``), other snapshots left
    out."""
    months: dict[str, list[uuid.UUID]] = {}
    for snapshot_id in ws.list_runs(project.id):
        model = ws.get_run(project.id, snapshot_id)
        if model is not None and model.metadata.get(SNAPSHOT_KIND_KEY) == SNAPSHOT_KIND:
            months.setdefault(str(model.metadata.get("as_of")), []).append(snapshot_id)
    return months


def publish_figures(
    ws: Workspace, project: Project, figures: pd.DataFrame
) -> dict[pd.Timestamp, uuid.UUID]:
    """Store every month of ``figures`` as that month's one snapshot in ``project``.

    Parameters
    ----------
    ws : Workspace
        The local workspace (:func:`open_workspace`).
    project : Project
        The monitoring project (:func:`ensure_project`).
    figures : DataFrame
        Tidy: ``as_of`` (month end), ``figure``, ``segment`` (``"book"``, ``"area=deqing"``,
        ...), ``label`` (may be empty), ``value`` (float; NaN means no point) and ``n``
        (sample size).

    Returns
    -------
    dict
        The new snapshot id of each month published.

    Raises
    ------
    FiguresError
        If a column is missing, an ``as_of`` is not a month end, a figure or segment is empty,
        or one (month, figure, segment, label) appears twice.
    """
    table = _checked_figures(figures)
    earlier = figure_snapshots(ws, project)
    published: dict[pd.Timestamp, uuid.UUID] = {}
    for as_of, month in table.groupby("as_of", sort=True):
        stamp = pd.Timestamp(as_of)
        ref = ws.add_run(project.id, month_snapshot(month, stamp), include_data=False)
        for old in earlier.get(f"{stamp:%Y-%m-%d}", []):
            ws.delete_run(project.id, old)
        published[stamp] = ref.id
    return published


def months_published(ws: Workspace, project: Project) -> list[str]:
    """As-of dates with a figure snapshot, sorted (one entry per snapshot, so a month
    published twice shows up twice if the replacement ever failed)."""
    return sorted(d for d, ids in figure_snapshots(ws, project).items() for _ in ids)


#: The figures published so far, beside the workspace's projects: a month's snapshot is
#: rebuilt from it, so a drift run and a performance run of the same month add up instead of
#: the later one replacing the earlier.
FIGURES_FILE: Final = "ews-figures.parquet"


def publish_merged(
    workspace: str | Path, ws: Workspace, project: Project, figures: pd.DataFrame
) -> dict[pd.Timestamp, uuid.UUID]:
    """Publish ``figures`` on top of what the months already show.

    A figure name given for a month replaces that figure's earlier values of the month (all
    segments and labels, so a segment no longer among the worst drops out); figures of other
    names stay. The merged table is kept in ``FIGURES_FILE`` (written atomically) and the
    touched months are republished from it.
    """
    from features.io import stage_file

    new = _checked_figures(figures)
    store = Path(workspace) / FIGURES_FILE
    merged = new
    if store.exists():
        try:
            old = _checked_figures(pd.read_parquet(store))
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"{store} cannot be read ({exc}); move it away") from None
        replaced = old.set_index(["as_of", "figure"]).index.isin(
            new.set_index(["as_of", "figure"]).index
        )
        merged = pd.concat([old[~replaced], new], ignore_index=True)
    staged = stage_file(store, lambda p: merged.to_parquet(p, index=False))
    months = set(new["as_of"])
    published = publish_figures(ws, project, merged[merged["as_of"].isin(months)])
    staged.replace(store)
    return published

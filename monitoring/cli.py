"""``ews-monitor``: drift and outcome monitoring of the scored book, and its dashboard.

Thin commands: parse options, call one run function, print a short result. Exit codes, for a
scheduler: 0 nothing breached, 1 a breach was found (drift, or outcomes above expectation),
2 bad input (nothing written), 3 a store (registry, ledger, workspace) cannot be used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.cluster import ClusterOption
from serving.cli import (
    LedgerOption,
    TrackingOption,
    err,
    load_book,
    month_list,
    refuse,
    serving_settings,
)

app = typer.Typer(
    name="ews-monitor",
    help="Watch the scored book month by month: drift against the champion's reference, "
    "outcomes against its probabilities, on an Evidently dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()

AsOfOption = Annotated[
    str, typer.Option(help="Months to monitor: YYYY-MM or a range YYYY-MM:YYYY-MM.")
]
VersionOption = Annotated[
    str | None,
    typer.Option(help="Model version whose reference to use (default: the champion)."),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(help="Evidently workspace of the dashboard (default: EWS_HOME/evidently)."),
]
DashboardOption = Annotated[
    bool, typer.Option("--dashboard/--no-dashboard", help="Publish the months to the dashboard.")
]


@app.callback()
def _main() -> None:
    from features.settings import start_command

    start_command()


def _reference(settings: Any, version: str | None) -> Any:
    from monitoring.reference import ReferenceUnusable, load_reference
    from serving.registry import RegistryUnavailable, ServingError

    try:
        return load_reference(settings.resolved_tracking_uri, settings.model_name, version)
    except ReferenceUnusable as exc:
        refuse(str(exc))
    except RegistryUnavailable as exc:
        refuse(str(exc), 3)
    except ServingError as exc:
        refuse(str(exc), 3)


def dashboard_publisher(settings: Any, workspace: Path | None, enabled: bool) -> Any:
    """A function publishing figures to the dashboard, or None. An existing workspace is
    checked now, before anything is computed (a corrupt one is exit 3); a new one is created
    only when the run publishes, so a refused run leaves none behind."""
    if not enabled:
        return None
    from monitoring.dashboard import WorkspaceError, ensure_project, open_workspace, publish_merged

    path = workspace or settings.home / "evidently"
    if path.exists():
        try:
            open_workspace(path)
        except WorkspaceError as exc:
            refuse(str(exc), 3)

    def publish(figures: Any) -> None:
        ws = open_workspace(path, create=True)
        publish_merged(path, ws, ensure_project(ws), figures)

    return publish


def _mlflow_logger(settings: Any, run_name: str) -> Any:
    from monitoring.tracking import log_monitoring_run

    def log(params: dict[str, Any], figures: Any, folder: Path) -> str:
        return log_monitoring_run(
            settings.resolved_tracking_uri,
            settings.artifact_root,
            run_name,
            params,
            figures,
            folder,
        )

    return log


@app.command()
def drift(
    as_of: AsOfOption,
    book: Annotated[
        list[Path] | None,
        typer.Option(
            help="Read these ews-serve score-portfolio folders (one per month, or a folder of "
            "assessment-YYYY-MM folders) instead of the ledger."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: EWS_HOME/reports/monitoring/drift-FIRST_LAST)."),
    ] = None,
    model_version: VersionOption = None,
    workspace: WorkspaceOption = None,
    dashboard: DashboardOption = True,
    evidently_reports: Annotated[
        bool,
        typer.Option(
            "--evidently-reports/--no-evidently-reports",
            help="Write an Evidently HTML report of the whole book per month.",
        ),
    ] = True,
    min_rows: Annotated[
        int, typer.Option(min=1, help="Fewest loans a segment needs on each side for a verdict.")
    ] = 200,
    alpha: Annotated[
        float, typer.Option(min=1e-9, max=0.5, help="Level of the no-drift noise bound.")
    ] = 0.001,
    tracking_uri: TrackingOption = None,
    ledger_url: LedgerOption = None,
    cluster: ClusterOption = None,
) -> None:
    """PSI of every input, the PD and the grade mix, per month and segment, against the
    champion's reference; exit 1 if a segment-month breaches. With --cluster each month is
    read, measured and reported on Dask (months are independent given the reference)."""
    from monitoring.current import CurrentDataError, read_ledger_months, read_run_folders
    from monitoring.drift import DriftRule
    from monitoring.drift_run import run_drift
    from serving.ledger import LedgerError
    from serving.stores import open_ledger

    settings = serving_settings(tracking_uri, ledger_url)
    months = month_list(as_of)
    reference = _reference(settings, model_version)
    publish = dashboard_publisher(settings, workspace, dashboard)
    folder = out or settings.reports_dir / "monitoring" / f"drift-{months[0]}_{months[-1]}"
    rule = DriftRule(min_rows=min_rows, alpha=alpha)
    logger = _mlflow_logger(settings, f"drift {months[0]}..{months[-1]}")
    if cluster is not None:
        run = _drift_on_cluster(
            cluster,
            settings,
            reference,
            book,
            months,
            folder,
            rule,
            evidently_reports,
            logger,
            publish,
        )
        _print_drift(run)
        if run.breached:
            raise typer.Exit(1)
        return
    try:
        if book:
            folders = _run_folders(book, months)
            current = read_run_folders(folders, reference.model_version)
            source = "portfolio runs " + ", ".join(str(p) for p in book)
        else:
            ledger = open_ledger(settings)
            try:
                current = read_ledger_months(ledger, months, reference.model_version)
            finally:
                ledger.dispose()
            source = "ledger " + ledger.url
    except CurrentDataError as exc:
        refuse(str(exc))
    except LedgerError as exc:
        refuse(str(exc), 3)
    run = run_drift(
        reference,
        current,
        months,
        folder,
        source=source,
        rule=rule,
        evidently_reports=evidently_reports,
        log_run=logger,
        publish=publish,
    )
    _print_drift(run)
    if run.breached:
        raise typer.Exit(1)


def _drift_on_cluster(
    cluster: str,
    settings: Any,
    reference: Any,
    book: list[Path] | None,
    months: list[str],
    folder: Path,
    rule: Any,
    evidently_reports: bool,
    log_run: Any,
    publish: Any,
) -> Any:
    """The drift run with one Dask task per month, each reading its own month."""
    from features.cluster import ClusterError, dask_client, partition_mapper
    from monitoring.current import CurrentDataError, FolderMonthReader, LedgerMonthReader
    from monitoring.drift_run import run_drift_by_month
    from serving.ledger import LedgerError

    if book:
        folders = _run_folders(book, months)
        reader: Any = FolderMonthReader(
            dict(zip(months, folders, strict=True)), reference.model_version
        )
        source = "portfolio runs " + ", ".join(str(p) for p in book)
    else:
        from sqlalchemy.engine import make_url

        reader = LedgerMonthReader(settings, reference.model_version)
        url = make_url(settings.resolved_ledger_url).render_as_string(hide_password=True)
        source = "ledger " + url
    try:
        with dask_client(cluster, err) as client:
            mapper = partition_mapper(client, "drift by month", err)
            return run_drift_by_month(
                reference,
                reader,
                months,
                folder,
                source=source,
                mapper=mapper,
                rule=rule,
                evidently_reports=evidently_reports,
                log_run=log_run,
                publish=publish,
            )
    except ClusterError as exc:
        refuse(str(exc), 3)
    except CurrentDataError as exc:
        refuse(str(exc))
    except LedgerError as exc:
        refuse(str(exc), 3)


def _run_folders(book: list[Path], months: list[str]) -> list[Path]:
    """One portfolio-run folder per month: given one each, or found as assessment-YYYY-MM."""
    if len(book) == 1 and not (book[0] / "run.json").exists():
        found = [book[0] / f"assessment-{m}" for m in months]
        missing = [m for m, p in zip(months, found, strict=True) if not p.is_dir()]
        if missing:
            refuse(f"{book[0]} has no assessment folder for {', '.join(missing)}")
        return found
    if len(book) != len(months):
        refuse(f"--book names {len(book)} folders for {len(months)} months")
    return book


def _print_drift(run: Any) -> None:
    summary = run.summary
    table = Table(title=f"drift of the book against version {summary['model']['version']}")
    for column in ("month", "loans", "PD PSI", "grade PSI", "inputs shifted", "mean PD", "status"):
        table.add_column(column, justify="right" if column != "status" else "left")
    for row in summary["book"]:
        table.add_row(
            row["as_of"],
            f"{row['n_current']:,}",
            f"{row['pd_psi']:.3f} {row['pd_band']}",
            f"{row['grade_psi']:.3f}",
            f"{(row['drifted_input_share'] or 0):.0%}",
            f"{row['mean_pd_current']:.2%}",
            row["status"],
        )
    console.print(table)
    console.print(f"rule: {summary['rule']['text']}")
    console.print(
        f"{summary['segment_months_judged']:,} segment-months judged: "
        f"{summary['breach_count']} breach, {summary['watch_count']} watch"
    )
    for event in summary["breaches"][:20]:
        console.print(
            f"  [red]breach[/red] {event['as_of']} {escape(event['segment'])}: {event['reason']} "
            f"(PD PSI {event['pd_psi']:.3f}, noise {event['pd_noise']:.3f}, "
            f"{event['n_current']} loans)"
        )
    console.print(f"wrote {run.folder}/ (summary.json, segments.csv, psi.parquet, reports/)")
    if run.mlflow_run_id:
        console.print(f"MLflow run {run.mlflow_run_id} (experiment red-credit-monitoring)")


@app.command()
def performance(
    data: Annotated[Path, typer.Option(help="The book's folder, read further than the months.")],
    as_of: AsOfOption,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: EWS_HOME/reports/monitoring/performance-...)."),
    ] = None,
    model_version: VersionOption = None,
    workspace: WorkspaceOption = None,
    dashboard: DashboardOption = True,
    level: Annotated[
        float, typer.Option(min=1e-9, max=0.5, help="Level of the 'above expectation' alert.")
    ] = 0.001,
    tracking_uri: TrackingOption = None,
    ledger_url: LedgerOption = None,
) -> None:
    """Observed against expected defaults (12-month and early 3- and 6-month reads), AUC and
    calibration over time, and label-free estimates; exit 1 if outcomes run above expectation."""
    from features.io import first_line
    from monitoring.current import CurrentDataError, read_ledger_months
    from monitoring.outcomes import OutcomeError
    from monitoring.performance import PerformanceError
    from monitoring.performance_run import run_performance
    from serving.ledger import LedgerError
    from serving.stores import open_ledger

    settings = serving_settings(tracking_uri, ledger_url)
    months = month_list(as_of)
    tables = load_book(data)
    reference = _reference(settings, model_version)
    publish = dashboard_publisher(settings, workspace, dashboard)
    try:
        ledger = open_ledger(settings)
        try:
            current = read_ledger_months(ledger, months, reference.model_version)
        finally:
            ledger.dispose()
    except CurrentDataError as exc:
        refuse(str(exc))
    except LedgerError as exc:
        refuse(str(exc), 3)

    def loan_keys(loan_ids: Any) -> Mapping[object, str]:
        return {ledger.pseudonym_of_loan(str(i)): str(i) for i in loan_ids.unique()}

    folder = out or settings.reports_dir / "monitoring" / f"performance-{months[0]}_{months[-1]}"
    try:
        run = run_performance(
            reference,
            current,
            tables,
            loan_keys,
            months,
            folder,
            level=level,
            log_run=_mlflow_logger(settings, f"performance {months[0]}..{months[-1]}"),
            publish=publish,
        )
    except (PerformanceError, OutcomeError) as exc:
        refuse(first_line(exc))
    _print_performance(run)
    if run.breached:
        raise typer.Exit(1)


def _print_performance(run: Any) -> None:
    summary = run.summary
    table = Table(title="observed vs expected 12-month defaults (matured months)")
    for column in ("month", "loans", "observed", "expected", "O/E [95%]", "verdict"):
        table.add_column(column, justify="left" if column == "verdict" else "right")
    for row in summary["book"]:
        table.add_row(
            row["as_of"],
            f"{row['n']:,}",
            f"{row['observed_rate']:.2%}",
            f"{row['expected_rate']:.2%}",
            f"{row['oe_ratio']:.2f} [{row['oe_low']:.2f}, {row['oe_high']:.2f}]",
            row["verdict"],
        )
    console.print(table)
    estimated = Table(title="label-free estimates (CBPE idea) beside realized figures")
    for column in ("month", "est. default rate", "realized", "est. AUC", "realized AUC"):
        estimated.add_column(column, justify="right")
    for row in summary["estimated"]:
        estimated.add_row(
            str(row["as_of"])[:7],
            f"{row['expected_default_rate']:.2%}",
            "" if row["realized_default_rate"] is None else f"{row['realized_default_rate']:.2%}",
            f"{row['auc_estimated']:.3f}",
            "" if row["auc_realized"] is None else f"{row['auc_realized']:.3f}",
        )
    console.print(estimated)
    console.print(f"{len(summary['alerts'])} alert(s) at level {summary['alert_level']}")
    for alert in summary["alerts"][:20]:
        console.print(
            f"  [red]above expectation[/red] {alert['as_of']} {escape(alert['group'])} "
            f"({alert['window']}-month window): observed {alert['observed']}, expected "
            f"{alert['expected']:.1f} (O/E {alert['oe_ratio']:.2f}, {alert['n']} loans)"
        )
    console.print(f"wrote {run.folder}/")
    if run.mlflow_run_id:
        console.print(f"MLflow run {run.mlflow_run_id} (experiment red-credit-monitoring)")


@app.command()
def ui(
    workspace: WorkspaceOption = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8011,
) -> None:
    """Serve the dashboard (the Evidently UI) on 127.0.0.1. Writes need the secret in
    EWS_MONITOR_UI_SECRET (the header evidently-secret); without one it does not start."""
    from monitoring.dashboard import WorkspaceError
    from monitoring.ui import SECRET_ENV, UiError, serve

    settings = serving_settings(None, None)
    path = workspace or settings.home / "evidently"
    if not os.environ.get(SECRET_ENV):
        refuse(
            f"set {SECRET_ENV} to the secret that writes must carry (reads are open on "
            "127.0.0.1); the UI never starts open to writes"
        )
    console.print(f"dashboard: http://127.0.0.1:{port}  (workspace {path}; Ctrl-C stops it)")
    try:
        serve(path, port=port)
    except UiError as exc:
        refuse(str(exc))
    except WorkspaceError as exc:
        refuse(str(exc), 3)

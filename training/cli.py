"""``ews-train``: retrain the graded warning model and register it in MLflow.

Thin commands: parse options, call the pipeline and the tracking edge, print where the run
went, exit non-zero with a one-line reason on bad input or an unusable tracking store.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.cluster import ClusterOption

if TYPE_CHECKING:
    import pandas as pd

    from models.grade_policy import GradePolicy
    from training.gates import GatePolicy
    from training.metrics import BinaryMetrics

app = typer.Typer(
    name="ews-train",
    help="Retrain the graded warning classifiers on a validated book: point-in-time features, "
    "out-of-time split, fit, calibration, evaluation, MLflow tracking and registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
GatesOption = Annotated[
    Path | None,
    typer.Option("--gates", help="Gate policy JSON (default: the documented gates)."),
]
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _main() -> None:
    from features.settings import start_command

    start_command()


@app.command()
def fit(
    data: Annotated[
        Path | None, typer.Option("--data", help="Portfolio folder (validated first).")
    ] = None,
    features_table: Annotated[
        Path | None,
        typer.Option(help="Or: your own feature table, CSV or Parquet, one row per loan."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Feature table: target column, binary or ordinal severity 0..K."),
    ] = None,
    fold_column: Annotated[
        str | None, typer.Option(help="Feature table: one model per fold of this column.")
    ] = None,
    group_column: Annotated[
        str | None,
        typer.Option(
            help="Feature table with several rows per loan or borrower (e.g. loan x month): "
            "the loan or borrower column; no split puts one group on both sides."
        ),
    ] = None,
    oof_out: Annotated[
        Path | None,
        typer.Option(help="Feature table: write out-of-fold predictions (.csv or .parquet)."),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking URI (default: $EWS_TRACKING_URI, else SQLite under $EWS_HOME)."
        ),
    ] = None,
    n_estimators: Annotated[
        int | None, typer.Option(min=10, help="Trees per severity threshold (default 200).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed: same data and seed, same model.")] = 0,
    n_jobs: Annotated[
        int, typer.Option(min=1, help="LightGBM threads (1 on a machine shared with others).")
    ] = 1,
    promote: Annotated[
        bool, typer.Option("--promote", help="Then judge it against the champion (as `promote`).")
    ] = False,
    gates: GatesOption = None,
    grade_policy: Annotated[
        Path | None,
        typer.Option(
            help="Grade policy JSON edited by risk staff (default: cut-offs derived from the "
            "calibration window against the master scale)."
        ),
    ] = None,
    cluster: ClusterOption = None,
    max_borrowers: Annotated[
        int | None,
        typer.Option(
            min=100,
            help="Train on at most this many borrowers: of a partitioned book, its first whole "
            "partitions (a random borrower sample: partitions hash the borrower id), read "
            "alone; the model then scores the whole book.",
        ),
    ] = None,
) -> None:
    """Train, evaluate out of time (or out of fold), register as ``challenger``.

    With ``--cluster`` the snapshots are built on Dask partitioned by borrower and every set
    of trees is grown by lightgbm.dask; the model is the same kind and registered the same way.
    """
    table_options = {
        "--target": target,
        "--fold-column": fold_column,
        "--group-column": group_column,
        "--oof-out": oof_out,
    }
    if (data is None) == (features_table is None):
        _refuse("give either --data DIR (a portfolio) or --features-table FILE, not both")
    if features_table is not None:
        portfolio_only: dict[str, object] = {
            "--promote": promote or None,
            "--grade-policy": grade_policy,
            "--gates": gates,
            "--n-estimators": n_estimators,
            "--cluster": cluster,
            "--max-borrowers": max_borrowers,
        }
        given = [name for name, value in portfolio_only.items() if value is not None]
        if given:
            _refuse(f"{', '.join(given)} apply to portfolio runs (--data), not to a feature table")
        if target is None:
            _refuse("--features-table needs --target COLUMN")
        _fit_feature_table(
            features_table, target, fold_column, group_column, oof_out, tracking_uri, seed, n_jobs
        )
        return
    given = [name for name, value in table_options.items() if value is not None]
    if given:
        _refuse(f"{', '.join(given)} apply to --features-table, not to a portfolio (--data)")
    assert data is not None
    from features.cluster import ClusterError, dask_client
    from features.settings import get_settings
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import (
        TrackingError,
        data_fingerprint,
        log_training,
        resolve_tracking_uri,
    )

    began = time.perf_counter()
    policy = _gate_policy(gates)  # bad policy files are refused before hours of training
    grading = _grade_policy(grade_policy)
    settings = get_settings()
    uri = resolve_tracking_uri(tracking_uri, settings.home)
    _check_store(uri)  # an unreachable tracking server is found before training, not after
    tables, sample = _training_book(data, max_borrowers)
    oracle = _ground_truth(data, sample)
    try:
        overrides = {} if n_estimators is None else {"n_estimators": n_estimators}
        config = TrainingConfig.for_book(tables, random_state=seed, n_jobs=n_jobs, **overrides)
        with contextlib.ExitStack() as stack:
            compute = None
            if cluster is not None:
                from training.distributed import on_cluster

                client = stack.enter_context(dask_client(cluster, err))
                compute = on_cluster(client, len(tables["borrowers"]))
            status = stack.enter_context(err.status("training"))
            result = train_warning_model(
                tables,
                config,
                policy=grading,
                oracle=oracle,
                on_stage=lambda stage: status.update(f"training: {stage}"),
                compute=compute,
            )
    except ClusterError as exc:
        _refuse(str(exc), 3)
    except ValueError as exc:
        _refuse(str(exc))
    try:
        with err.status("logging to MLflow"):
            run = log_training(result, uri, settings.artifact_root, data_fingerprint(tables))
    except TrackingError as exc:
        _refuse(str(exc), 3)

    table = Table(
        title="test window (held-out borrowers, performing loans)", show_edge=False, pad_edge=False
    )
    columns = ("threshold", "AUC", "KS", "Brier", "ECE", "ECE p", "O/E [95%]", "events")
    for column in columns:
        table.add_column(column, justify="left" if column == "threshold" else "right", no_wrap=True)
    for name, m in result.metrics.items():
        table.add_row(
            f"S>={name[1:]}",
            f"{m.auc:.3f}",
            f"{m.ks:.3f}",
            f"{m.brier:.4f}",
            f"{m.ece:.4f}",
            f"{m.ece_p_value:.3f}",
            _oe(m),
            f"{m.events:,}",
        )
    console.print(table)
    evaluation = result.evaluation
    compared = {**evaluation.baselines, **evaluation.oracle}
    console.print(
        f"12-month PD AUC on the same rows: model {evaluation.metrics[evaluation.top].auc:.3f}; "
        + ", ".join(f"{name} {m.auc:.3f}" for name, m in compared.items()),
        soft_wrap=True,
    )
    console.print(
        f"model {run.model_name} version {run.version} registered as challenger "
        f"(run {run.run_id}, calibration {result.calibration_method}, "
        f"{time.perf_counter() - began:.0f} s)\ntracking: {uri}\n"
        f"see it: {_how_to_see(uri, run.experiment_id, run.run_id)}",
        soft_wrap=True,
    )
    if promote:
        _promote(uri, run.model_name, policy, expected_version=run.version)


@app.command("promote")
def promote_command(
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking URI (default: $EWS_TRACKING_URI, else SQLite under $EWS_HOME)."
        ),
    ] = None,
    model_name: Annotated[str, typer.Option(help="Registered model name.")] = "red-credit-warning",
    gates: GatesOption = None,
) -> None:
    """Move ``champion`` to the challenger if it passes the gates on the same test window.

    Exit 0 when promoted (or already champion), 4 when the gates reject it; the decision and
    every reason are recorded as tags on the challenger's model version and run either way.
    """
    from features.settings import get_settings
    from training.tracking import resolve_tracking_uri

    policy = _gate_policy(gates)
    _promote(resolve_tracking_uri(tracking_uri, get_settings().home), model_name, policy)


def _refuse(message: str, code: int = 2) -> NoReturn:
    """One red line on stderr and the exit code: 2 bad input, 3 unusable store."""
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code) from None


def _fit_feature_table(
    path: Path,
    target: str,
    fold_column: str | None,
    group_column: str | None,
    oof_out: Path | None,
    tracking_uri: str | None,
    seed: int,
    n_jobs: int,
) -> None:
    """Bring-your-own feature table: validate, cross-fit, write out-of-fold predictions, fit
    on every row, track and register (``feature-table-warning@challenger``)."""
    import hashlib
    import warnings

    from features.settings import get_settings
    from training.cross_fit import (
        FeatureTableClassifier,
        check_oof_path,
        cross_fit,
        fit_final,
        write_oof,
    )
    from training.feature_table import PanelTableWarning, load_feature_table
    from training.tracking import TrackingError, log_feature_table_run, resolve_tracking_uri

    began = time.perf_counter()
    settings = get_settings()
    uri = resolve_tracking_uri(tracking_uri, settings.home)
    try:
        if oof_out is not None:
            check_oof_path(oof_out)
        with warnings.catch_warnings():  # printed below, once, with the notes
            warnings.simplefilter("ignore", PanelTableWarning)
            table = load_feature_table(path, target, fold_column, group_column)
    except ValueError as exc:
        _refuse(str(exc))
    _check_store(uri)  # after the table: a bad table leaves no trace, not even a new store
    for note in table.notes:
        err.print(f"[yellow]note:[/yellow] {escape(note)}")
    for warning in table.warnings:
        err.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")
    estimator = FeatureTableClassifier(random_state=seed, n_jobs=n_jobs)
    try:
        with err.status("cross-fitting one model per fold"):
            cross = cross_fit(table, seed, estimator=estimator)
        with err.status("fitting the final model on every row"):
            model = fit_final(table, seed, estimator=estimator)
    except ValueError as exc:
        _refuse(str(exc))
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with err.status("logging to MLflow"):
            run = log_feature_table_run(
                table, cross, model, uri, settings.artifact_root, fingerprint
            )
    except TrackingError as exc:
        _refuse(str(exc), 3)
    if oof_out is not None:  # last: a failed run leaves no fresh predictions behind
        write_oof(cross.oof, oof_out)

    grid = Table(title=f"out of fold: P(S>={table.max_severity})", show_edge=False, pad_edge=False)
    for column in ("fold", "train rows", "scored", "trees", "AUC", "KS", "ECE", "O/E [95%]"):
        grid.add_column(column, justify="left" if column == "fold" else "right", no_wrap=True)
    for f in cross.folds:
        m = f.metrics
        cells = (
            ("-", "-", "-", "-")
            if m is None
            else (f"{m.auc:.4f}", f"{m.ks:.3f}", f"{m.ece:.4f}", _oe(m))
        )
        grid.add_row(str(f.label), f"{f.train_rows:,}", f"{f.test_rows:,}", str(f.n_trees), *cells)
    m = cross.metrics
    grid.add_row("all", "", f"{m.n:,}", "", f"{m.auc:.4f}", f"{m.ks:.3f}", f"{m.ece:.4f}", _oe(m))
    console.print(grid)
    if oof_out is not None:
        console.print(f"out-of-fold predictions: {oof_out}")
    console.print(
        f"model {run.model_name} version {run.version} registered as challenger "
        f"(run {run.run_id}, {time.perf_counter() - began:.0f} s)\ntracking: {uri}\n"
        f"see it: {_how_to_see(uri, run.experiment_id, run.run_id)}",
        soft_wrap=True,
    )


def _oe(m: BinaryMetrics) -> str:
    """Observed / expected defaults with its 95% interval, as the tables print it."""
    return f"{m.oe_ratio:.2f} [{m.oe_low:.2f},{m.oe_high:.2f}]"


def _check_store(uri: str) -> None:
    from training.tracking import TrackingError, open_registry

    try:
        open_registry(uri)
    except TrackingError as exc:
        _refuse(str(exc), 3)


def _gate_policy(gates: Path | None) -> GatePolicy:
    from training.gates import GatePolicy

    try:
        return GatePolicy.load(gates) if gates is not None else GatePolicy()
    except ValueError as exc:
        _refuse(str(exc))


def _grade_policy(path: Path | None) -> GradePolicy | None:
    from features.io import read_json_model
    from models.grade_policy import GradePolicy

    try:
        return read_json_model(GradePolicy, path, "grade policy") if path is not None else None
    except ValueError as exc:
        _refuse(str(exc))


def _promote(
    uri: str, model_name: str, policy: GatePolicy, expected_version: str | None = None
) -> None:
    from training.promotion import PromotionError, promote_challenger
    from training.tracking import TrackingError

    try:
        with err.status("promotion: re-scoring challenger and champion on the same window"):
            outcome = promote_challenger(uri, model_name, policy, expected_version)
    except (PromotionError, TrackingError, ValueError) as exc:
        _refuse(str(exc), 3 if isinstance(exc, TrackingError) else 2)
    for reason in outcome.decision.reasons:
        console.print(f"  - {escape(reason)}", soft_wrap=True)
    if outcome.already_champion:
        console.print(f"version {outcome.challenger_version} is already champion")
    elif outcome.promoted:
        console.print(
            f"[green]promoted[/green]: {model_name} version {outcome.challenger_version} is now "
            f"champion (was {outcome.champion_version or 'none'}); decision tagged on the version",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[red]rejected[/red]: champion stays {outcome.champion_version or 'none'}; "
            f"decision tagged on version {outcome.challenger_version}",
            soft_wrap=True,
        )
        raise typer.Exit(4)


def _training_book(data: Path, max_borrowers: int | None) -> tuple[dict, list[int] | None]:
    """The validated tables training reads, and the partitions they are of (None: all).

    A partitioned book under ``--max-borrowers`` is read partition by partition until the next
    would pass the bound (at least one); any book larger than the bound otherwise is refused.
    """
    from features.cli import load_or_exit
    from features.io import partition_rows
    from features.validation import PortfolioValidationError, load_validated_portfolio

    counts = partition_rows(data)
    if max_borrowers is None or (counts and sum(counts.values()) <= max_borrowers):
        return load_or_exit(data), None
    if not counts:
        tables = load_or_exit(data)
        if len(tables["borrowers"]) > max_borrowers:
            _refuse(
                f"--max-borrowers {max_borrowers:,}: {data} holds "
                f"{len(tables['borrowers']):,} borrowers in one file per table; write it as "
                "a partitioned book (ews-data simulate --partitions, or the same layout) to "
                "train on a sample of it"
            )
        return tables, None
    chosen: list[int] = []
    total = 0
    for partition, borrowers in counts.items():
        if chosen and total + borrowers > max_borrowers:
            break
        chosen.append(partition)
        total += borrowers
    err.print(
        f"training on {total:,} of {sum(counts.values()):,} borrowers: partitions "
        f"{chosen[0]}..{chosen[-1]} of {len(counts)}",
        soft_wrap=True,
    )
    try:
        return load_validated_portfolio(data, chosen), chosen
    except PortfolioValidationError as exc:
        _refuse(
            f"{data} partitions {chosen[0]}..{chosen[-1]} failed validation "
            f"({len(exc.report.violations)} violations); run ews-data validate {data}",
            1,
        )


def _ground_truth(data: Path, partitions: list[int] | None = None) -> pd.DataFrame | None:
    """The simulator's oracles when ``data`` is a simulated book (never read by the model),
    of the loans of ``partitions`` when training reads only those."""
    from features.io import TableReadError
    from features.simulator.report import TRUTH_DIR, read_ground_truth

    if not (data / TRUTH_DIR).is_dir():
        return None
    try:
        return read_ground_truth(data, partitions)
    except TableReadError as exc:
        err.print(f"[yellow]note:[/yellow] no oracle comparison: {escape(str(exc))}")
        return None


def _how_to_see(uri: str, experiment_id: str, run_id: str) -> str:
    """The run's page on a server, or how to open the MLflow UI on an embedded store."""
    page = f"#/experiments/{experiment_id}/runs/{run_id}"
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{page}"
    mlflow = Path(sys.executable).with_name("mlflow")
    return (
        f"{mlflow if mlflow.exists() else 'mlflow'} ui --backend-store-uri {uri} "
        f"--host 127.0.0.1 --port 5000, then http://127.0.0.1:5000/{page}"
    )

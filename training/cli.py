"""``ews-train``: retrain the graded warning model and register it in MLflow.

Thin commands: parse options, call the pipeline and the tracking edge, print where the run
went, exit non-zero with a one-line reason on bad input or an unusable tracking store.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    name="ews-train",
    help="Retrain the graded warning classifiers on a validated book: point-in-time features, "
    "out-of-time split, fit, calibration, evaluation, MLflow tracking and registry.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _main() -> None:
    from features.settings import disable_telemetry

    disable_telemetry()


@app.command()
def fit(
    data: Annotated[Path, typer.Option("--data", help="Portfolio folder (validated first).")],
    tracking_uri: Annotated[
        str | None,
        typer.Option(help="MLflow tracking URI (default: SQLite store under $EWS_HOME)."),
    ] = None,
    n_estimators: Annotated[int, typer.Option(min=10, help="Trees per severity threshold.")] = 400,
    seed: Annotated[int, typer.Option(help="Seed: same data and seed, same model.")] = 0,
) -> None:
    """Train, evaluate on the last matured months, register as ``challenger``."""
    from features.cli import load_or_exit
    from features.settings import get_settings
    from training.pipeline import TrainingConfig, train_warning_model
    from training.tracking import (
        TrackingError,
        data_fingerprint,
        default_tracking_uri,
        log_training,
    )

    began = time.perf_counter()
    tables = load_or_exit(data)
    try:
        config = TrainingConfig.for_book(tables, n_estimators=n_estimators, random_state=seed)
        with err.status("training: features, split, fit, calibration, evaluation"):
            result = train_warning_model(tables, config)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    home = get_settings().home
    uri = tracking_uri or default_tracking_uri(home)
    try:
        with err.status("logging to MLflow"):
            run = log_training(result, uri, home / "mlartifacts", data_fingerprint(tables))
    except TrackingError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(3) from None

    table = Table(title="test window (held-out borrowers, performing loans)", show_edge=False)
    for column in ("threshold", "AUC", "KS", "Brier", "ECE", "events"):
        table.add_column(column, justify="left" if column == "threshold" else "right")
    for name, m in result.metrics.items():
        table.add_row(
            f"S>={name[1:]}",
            f"{m.auc:.3f}",
            f"{m.ks:.3f}",
            f"{m.brier:.4f}",
            f"{m.ece:.4f}",
            f"{m.events:,}",
        )
    console.print(table)
    console.print(
        f"model {run.model_name} version {run.version} registered as challenger "
        f"(run {run.run_id}, calibration {result.calibration_method}, "
        f"{time.perf_counter() - began:.0f} s)\ntracking: {uri}\n"
        f"see it: mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000",
        soft_wrap=True,
    )

"""Every monitoring run is an MLflow run, in its own experiment (an IO edge).

Single responsibility: log one drift or performance run: its parameters (model version,
reference run, months, the rule), its figures as metrics with the month as the step (so
MLflow's charts show each as a series over months), and its output folder (summary JSON,
tables, Evidently HTML reports) as artifacts. The run links back to the champion's training
run by a tag, so an auditor can walk from a warning to the model and to the drift seen on it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import pandas as pd

from monitoring.frames import AS_OF, BOOK

EXPERIMENT: Final = "red-credit-monitoring"
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-. /]")


def month_step(as_of: object) -> int:
    """The month as an MLflow step: months since year 0 (``2025-01`` -> 24300)."""
    stamp = pd.Timestamp(as_of)
    return stamp.year * 12 + stamp.month - 1


def metric_name(figure: str, segment: str, label: str) -> str:
    """``pd_psi``, ``grade_share/red``, ``oe_ratio/area=deqing``: MLflow's allowed characters."""
    parts = [figure, *([label] if label else []), *([segment] if segment != BOOK else [])]
    return _UNSAFE.sub("_", "/".join(parts).replace("=", "-"))


def log_monitoring_run(
    tracking_uri: str,
    artifact_root: Path,
    run_name: str,
    params: dict[str, Any],
    figures: pd.DataFrame,
    folder: Path,
    tags: dict[str, str] | None = None,
    experiment: str = EXPERIMENT,
    exclude: tuple[str, ...] = (),
) -> str:
    """Log one monitoring run; returns its run id.

    ``figures`` is the tidy figure table (``monitoring.figures``): each row becomes a metric
    value at its month's step. ``folder`` is logged as the run's artifacts, but for the
    file names in ``exclude`` (a per-loan table the run's folder keeps, too large to copy).
    """
    import mlflow
    from mlflow.entities import Metric

    from models.tracking_store import ensure_experiment
    from serving.registry import open_client

    client = open_client(tracking_uri)
    experiment_id = ensure_experiment(client, experiment, tracking_uri, artifact_root)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.set_tags(tags or {})
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        values = figures.dropna(subset=["value"])
        metrics = [
            Metric(
                metric_name(r.figure, r.segment, r.label), float(r.value), 0, month_step(r.as_of)
            )
            for r in values.rename(columns={AS_OF: "as_of"}).itertuples(index=False)
        ]
        for start in range(0, len(metrics), 1000):  # MLflow's batch limit
            client.log_batch(run.info.run_id, metrics=metrics[start : start + 1000])
        for path in sorted(folder.iterdir()) if exclude else ():
            if path.name in exclude:
                continue
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=path.name)
            else:
                mlflow.log_artifact(str(path))
        if not exclude:
            mlflow.log_artifacts(str(folder))
    return str(run.info.run_id)

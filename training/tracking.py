"""MLflow tracking and registry for a retraining run (the IO edge of ``training``).

The store is ``--tracking-uri``, else ``EWS_TRACKING_URI`` (the variable the scoring service
reads), else the embedded default: a SQLite store and an artifact folder under ``EWS_HOME``; any
tracking URI works, including an ``mlflow server`` over HTTP. A run logs the configuration and a
data fingerprint as params, the test metrics, the grade table, the grade policy, the Party-building
cross-walk and a reference sample for drift monitoring as artifacts, and the model with its
signature and explicit requirements, registered under one name with the alias ``challenger``
(never the removed registry "stages"). If anything fails before the alias is set, the run is
marked failed and no alias points at the half-made version.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.io import first_line
from features.settings import Settings
from models.names import CHALLENGER, MODEL_NAME
from models.names import CHAMPION as CHAMPION  # re-exported for promotion and the CLI
from models.tracking_store import (
    TrackingStoreError,
    checked_tracking_uri,
    ensure_experiment,
    masked,
)
from training.cross_fit import CrossFitResult
from training.feature_table import FeatureTable
from training.pipeline import TrainingResult
from training.run_evidence import write_evidence

EXPERIMENT = MODEL_NAME
FEATURE_TABLE_MODEL_NAME = "feature-table-warning"
FEATURE_TABLE_EXPERIMENT = "feature-table"


class TrackingError(RuntimeError):
    """The tracking server or store cannot be used; the message says which and why."""


@dataclass(frozen=True)
class RegisteredRun:
    """Where a run went."""

    run_id: str
    model_name: str
    version: str
    tracking_uri: str
    experiment_id: str


def resolve_tracking_uri(given: str | None, home: Path | None = None) -> str:
    """``given`` (``--tracking-uri``) if set, else the shared settings' store as the scoring
    service reads it: ``EWS_TRACKING_URI`` (unset or empty: not set), else the SQLite store
    under ``home`` (default ``EWS_HOME``)."""
    settings = Settings() if home is None else Settings(home=home)
    return given or settings.resolved_tracking_uri


def data_fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """SHA-256 over the row counts and content hashes of the raw tables."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        digest.update(name.encode())
        digest.update(str(len(frame)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def open_registry(tracking_uri: str) -> Any:
    """An MLflow client on ``tracking_uri`` (also made the process default, which model loading
    by ``models:/`` URI reads), checked by one cheap call so an unusable store fails here, as one
    ``TrackingError`` line, and not half-way through a run."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:  # a corrupt file, a missing driver, a server that does not answer: one line, fast
        uri = checked_tracking_uri(tracking_uri, must_exist=False)
    except TrackingStoreError as exc:
        raise TrackingError(str(exc)) from None
    import mlflow
    from mlflow import MlflowClient

    try:
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)
    except Exception as exc:  # any client failure means the store is unusable
        raise TrackingError(
            f"tracking store {masked(uri)} is not usable: {first_line(exc)}"
        ) from None
    return client


def _requirements() -> list[str]:
    from importlib.metadata import version

    packages = ("scikit-learn", "lightgbm", "pandas", "numpy", "pyarrow", "pydantic")
    return [f"{p}=={version(p)}" for p in packages]


def _register(
    tracking_uri: str,
    artifact_root: Path,
    experiment: str,
    model_name: str,
    model: Any,
    sample: pd.DataFrame,
    log_run: Callable[[Path], None],
) -> RegisteredRun:
    """One run: ``log_run`` logs params, metrics and files into a folder that becomes
    ``evidence/``; then the model is logged with its signature and registered as challenger.
    A failure tags the run failed and leaves every alias where it was."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    client = open_registry(tracking_uri)
    experiment_id = ensure_experiment(client, experiment, tracking_uri, artifact_root)
    with mlflow.start_run(experiment_id=experiment_id, run_name="retrain") as run:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                log_run(Path(tmp))
                mlflow.log_artifacts(tmp, artifact_path="evidence")
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format="cloudpickle",
                signature=infer_signature(sample, model.predict_cumulative(sample)),
                input_example=sample,
                pip_requirements=_requirements(),
                registered_model_name=model_name,
            )
            version = str(info.registered_model_version)
            client.set_registered_model_alias(model_name, CHALLENGER, version)
        except Exception as exc:
            mlflow.set_tag("status", "failed")
            raise TrackingError(
                f"run {run.info.run_id} failed while logging, no alias was moved: {first_line(exc)}"
            ) from exc
    return RegisteredRun(run.info.run_id, model_name, version, tracking_uri, experiment_id)


def log_training(
    result: TrainingResult,
    tracking_uri: str,
    artifact_root: Path,
    fingerprint: str,
    model_name: str = MODEL_NAME,
) -> RegisteredRun:
    """Log ``result`` as one MLflow run and register its model as ``challenger``."""
    import mlflow

    def log_run(folder: Path) -> None:
        evaluation = result.evaluation
        mlflow.log_params({**result.config.model_dump(), "calibration": result.calibration_method})
        mlflow.log_param("data_fingerprint", fingerprint)
        mlflow.log_param("grade_policy_version", result.policy.version)
        for threshold, metrics in result.metrics.items():
            mlflow.log_metrics({f"{threshold}_{k}": float(v) for k, v in asdict(metrics).items()})
        mlflow.log_metrics(
            {f"rows_{k}": v for k, v in result.row_counts.items()}
            | {f"baseline_{k}_auc": m.auc for k, m in evaluation.baselines.items()}
            | {f"baseline_{k}_ece": m.ece for k, m in evaluation.baselines.items()}
            | {f"{k}_auc": m.auc for k, m in evaluation.oracle.items()}
            | {f"model_over_{k}_auc": r for k, r in evaluation.oracle_ratio.items()}
        )
        write_evidence(result, folder, fingerprint, model_name)

    sample = result.test_inputs.head(5)
    return _register(
        tracking_uri, artifact_root, EXPERIMENT, model_name, result.model, sample, log_run
    )


def log_feature_table_run(
    table: FeatureTable,
    cross: CrossFitResult,
    model: Any,
    tracking_uri: str,
    artifact_root: Path,
    fingerprint: str,
    model_name: str = FEATURE_TABLE_MODEL_NAME,
) -> RegisteredRun:
    """Log a feature-table run (out-of-fold evidence, the model fitted on every row) in its
    own experiment and register it as ``challenger`` under its own name: its inputs are the
    bank's columns, not the snapshot contract, so it never competes with the portfolio model."""
    import mlflow

    def log_run(folder: Path) -> None:
        mlflow.log_params(
            {
                "source": table.source,
                "target": table.target,
                "target_levels": json.dumps([str(v) for v in table.levels], ensure_ascii=False),
                "fold_column": table.fold_column or "none",
                "group_column": table.group_column or "none",
                "evaluation": cross.scheme,
                "rows": int(table.y.size),
                "features": table.features.shape[1],
                "data_fingerprint": fingerprint,
                "random_state": model.random_state,
            }
        )
        mlflow.log_metrics({f"oof_{k}": float(v) for k, v in asdict(cross.metrics).items()})
        cross.oof.to_parquet(folder / "out_of_fold.parquet", index=False)
        (folder / "notes.txt").write_text("\n".join(table.notes) + "\n", encoding="utf-8")
        folds = [{**asdict(f), "label": str(f.label)} for f in cross.folds]
        (folder / "folds.json").write_text(json.dumps(folds, indent=2, default=str))

    sample = table.features.head(5)
    return _register(
        tracking_uri, artifact_root, FEATURE_TABLE_EXPERIMENT, model_name, model, sample, log_run
    )

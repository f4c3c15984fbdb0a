"""MLflow tracking and registry for a retraining run (the IO edge of ``training``).

The embedded default is a SQLite store and an artifact folder under ``EWS_HOME``; any tracking
URI works, including an ``mlflow server`` over HTTP. A run logs the configuration and a data
fingerprint as params, the test metrics, the grade table, the grade policy, the Party-building
cross-walk and a reference sample for drift monitoring as artifacts, and the model with its
signature and explicit requirements, registered under one name with the alias ``challenger``
(never the removed registry "stages"). If anything fails before the alias is set, the run is
marked failed and no alias points at the half-made version.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from training.pipeline import TrainingResult
from training.run_evidence import write_evidence

MODEL_NAME = "red-credit-warning"
EXPERIMENT = "red-credit-warning"
CHALLENGER, CHAMPION = "challenger", "champion"


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


def default_tracking_uri(home: Path) -> str:
    """SQLite store under ``EWS_HOME`` (four slashes: an absolute path)."""
    return f"sqlite:///{(home / 'mlflow.db').resolve()}"


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
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as exc:  # any client failure means the store is unusable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrackingError(f"tracking store {tracking_uri} is not usable: {reason}") from None
    return client


def _requirements() -> list[str]:
    from importlib.metadata import version

    packages = ("scikit-learn", "lightgbm", "pandas", "numpy", "pyarrow", "pydantic")
    return [f"{p}=={version(p)}" for p in packages]


def log_training(
    result: TrainingResult,
    tracking_uri: str,
    artifact_root: Path,
    fingerprint: str,
    model_name: str = MODEL_NAME,
) -> RegisteredRun:
    """Log ``result`` as one MLflow run and register its model as ``challenger``."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    client = open_registry(tracking_uri)
    # A tracking server stores artifacts itself (proxied as mlflow-artifacts:); only an embedded
    # store needs a folder of ours.
    served = tracking_uri.startswith(("http://", "https://"))
    artifact_location = None if served else artifact_root.resolve().as_uri()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    )

    config = result.config.model_dump()
    sample = result.reference.head(5)
    with mlflow.start_run(experiment_id=experiment_id, run_name="retrain") as run:
        try:
            mlflow.log_params({**config, "calibration": result.calibration_method})
            mlflow.log_param("data_fingerprint", fingerprint)
            mlflow.log_param("grade_policy_version", result.policy.version)
            for threshold, metrics in result.metrics.items():
                mlflow.log_metrics(
                    {f"{threshold}_{k}": float(v) for k, v in asdict(metrics).items()}
                )
            mlflow.log_metrics({f"rows_{k}": v for k, v in result.row_counts.items()})
            evaluation = result.evaluation
            mlflow.log_metrics(
                {f"baseline_{k}_auc": m.auc for k, m in evaluation.baselines.items()}
                | {f"baseline_{k}_ece": m.ece for k, m in evaluation.baselines.items()}
                | {f"{k}_auc": m.auc for k, m in evaluation.oracle.items()}
                | {f"model_over_{k}_auc": r for k, r in evaluation.oracle_ratio.items()}
            )
            with tempfile.TemporaryDirectory() as tmp:
                write_evidence(result, Path(tmp), fingerprint, model_name)
                mlflow.log_artifacts(tmp, artifact_path="evidence")
            info = mlflow.sklearn.log_model(
                result.model,
                name="model",
                serialization_format="cloudpickle",
                signature=infer_signature(sample, result.model.predict_cumulative(sample)),
                input_example=sample,
                pip_requirements=_requirements(),
                registered_model_name=model_name,
            )
            version = str(info.registered_model_version)
            client.set_registered_model_alias(model_name, CHALLENGER, version)
        except Exception:
            mlflow.set_tag("status", "failed")
            raise
    return RegisteredRun(run.info.run_id, model_name, version, tracking_uri, experiment_id)

"""Which model version to serve: the registry's champion, bundled into BentoML's model store.

At start the service asks the MLflow registry for ``models:/<name>@champion``. The version is
copied, with the run's Party-building cross-walk, grade policy and facts, into BentoML's model
store (under ``EWS_HOME``) once, and loaded from there. If the registry cannot be reached, the
service serves the most recently bundled copy and says so; it never starts on nothing. A
reachable registry without a champion is an error: serving an older copy then would hide that
someone removed the alias on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from features.io import atomic_write, first_line
from features.party_index import PartyIndexUnifier
from features.settings import disable_telemetry, keep_private
from models.grade_policy import GradePolicy
from models.names import CHAMPION
from models.tracking_store import TrackingStoreError, checked_tracking_uri, masked, shown_uri
from serving.bundle import ModelInfo, ScoringBundle
from serving.settings import ServingSettings

#: Run parameters that describe the training window.
WINDOW_PARAMS = ("first_as_of", "train_until", "calibrate_until", "test_until", "horizon")
MODEL_FOLDER = "mlflow_model"
#: Evidence files of the run that travel with the model: the cross-walk and the grade policy.
RUN_FILES = ("party_crosswalk.csv", "grade_policy.json")


class ServingError(RuntimeError):
    """No model can be served; the message says why in one line."""


class RegistryUnavailable(ServingError):
    """The registry cannot be reached or read."""


def configure_environment(settings: ServingSettings) -> None:
    """BentoML's store under ``EWS_HOME`` and quick registry failures (set before any import of
    bentoml or mlflow in this process; an operator's own values win)."""
    os.environ.setdefault("BENTOML_HOME", str(settings.bentoml_home))
    disable_telemetry()
    keep_private(settings.home)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _scrub(text: str, tracking_uri: str) -> str:
    password = urlsplit(tracking_uri).password
    return text.replace(password, "***") if password else text


def registry_id(tracking_uri: str) -> str:
    """Short stable id of a registry: version 3 of one store is not version 3 of another."""
    return hashlib.sha256(tracking_uri.encode()).hexdigest()[:12]


def open_client(tracking_uri: str) -> Any:
    """A client on the store, once it answers (a missing SQLite file is not created: that
    would be an empty registry); ``RegistryUnavailable`` in one line otherwise."""
    try:
        uri = checked_tracking_uri(tracking_uri, must_exist=True)
    except TrackingStoreError as exc:
        raise RegistryUnavailable(str(exc)) from None
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    return MlflowClient(uri)


def champion_version(tracking_uri: str, model_name: str) -> tuple[Any, Any]:
    """The client and the champion's model version, or ``ServingError`` /
    ``RegistryUnavailable``."""
    from mlflow.exceptions import MlflowException

    try:
        client = open_client(tracking_uri)
        return client, client.get_model_version_by_alias(model_name, CHAMPION)
    except RegistryUnavailable:
        raise
    except MlflowException as exc:
        if exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            raise ServingError(
                f"the registry at {masked(tracking_uri)} has no {model_name}@{CHAMPION}: "
                "train and promote one (ews-train fit --promote)"
            ) from None
        reason = _scrub(first_line(exc), tracking_uri)
        raise RegistryUnavailable(f"registry {masked(tracking_uri)}: {reason}") from None
    except Exception as exc:  # connection refused, timeouts, a broken store
        reason = _scrub(first_line(exc), tracking_uri)
        raise RegistryUnavailable(f"registry {masked(tracking_uri)}: {reason}") from None


def _bundled(model_name: str) -> list[Any]:
    import bentoml

    try:
        return sorted(bentoml.models.list(model_name), key=lambda m: m.info.creation_time)
    except Exception:  # no such model in the store yet
        return []


def _find(model_name: str, labels: dict[str, str]) -> Any | None:
    for model in reversed(_bundled(model_name)):
        if all(model.info.labels.get(k) == v for k, v in labels.items()):
            return model
    return None


def _model_info(client: Any, version: Any, tracking_uri: str, model: Any) -> ModelInfo:
    run = client.get_run(version.run_id)
    params, metrics = run.data.params, run.data.metrics
    policy_version = params.get("grade_policy_version", "")
    return ModelInfo(
        model_name=version.name,
        model_version=str(version.version),
        run_id=version.run_id,
        tracking_uri=shown_uri(tracking_uri),
        registered_at=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(),
        bundled_at=datetime.now(UTC).isoformat(),
        training_window={k: params[k] for k in WINDOW_PARAMS if k in params},
        metrics={k: float(v) for k, v in sorted(metrics.items())},
        calibration=params.get("calibration", ""),
        features=[str(c) for c in model.estimator.feature_names_in_],
        policy_version=policy_version,
        policy_fingerprint="",
    )


def bundle_version(client: Any, version: Any, tracking_uri: str) -> Any:
    """Copy one registered version and its run's cross-walk and policy into BentoML's store."""
    import bentoml
    import mlflow.artifacts
    import mlflow.sklearn

    labels = {"mlflow_version": str(version.version), "registry": registry_id(tracking_uri)}
    with bentoml.models.create(version.name, labels=labels) as ref:
        folder = Path(ref.path)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{version.name}/{version.version}",
            dst_path=str(folder / MODEL_FOLDER),
        )
        for name in RUN_FILES:
            fetched = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=f"evidence/{name}", dst_path=str(folder)
            )
            if Path(fetched).resolve() != (folder / name).resolve():
                Path(fetched).replace(folder / name)
        model = mlflow.sklearn.load_model(local)
        policy = GradePolicy.load(folder / "grade_policy.json")
        info = _model_info(client, version, tracking_uri, model).model_copy(
            update={"policy_fingerprint": policy.fingerprint}
        )
        relative = Path(local).resolve().relative_to(folder.resolve())
        (folder / "info.json").write_text(
            json.dumps({**info.model_dump(), "model_path": str(relative)}, indent=2)
        )
    return bentoml.models.get(ref.tag)


def load_bundled(model: Any, source: str) -> ScoringBundle:
    """A ``ScoringBundle`` from a copy in BentoML's store."""
    import mlflow.sklearn

    folder = Path(model.path)
    facts = json.loads((folder / "info.json").read_text())
    path = folder / facts.pop("model_path")
    crosswalk = pd.read_csv(folder / "party_crosswalk.csv")
    return ScoringBundle(
        model=mlflow.sklearn.load_model(str(path)),
        unifier=PartyIndexUnifier.from_crosswalk(crosswalk),
        policy=GradePolicy.load(folder / "grade_policy.json"),
        info=ModelInfo.model_validate(facts),
        source=source,
    )


def _marker(settings: ServingSettings) -> Path:
    """Where the copy last resolved as champion is remembered (the fallback serves it)."""
    return settings.bentoml_home / f"{settings.model_name}.last-champion.json"


def _remember(settings: ServingSettings, model: Any, uri: str) -> None:
    text = json.dumps({"tag": str(model.tag), "registry": registry_id(uri)})
    atomic_write(_marker(settings), lambda tmp: tmp.write_text(text))


def _last_champion(settings: ServingSettings, uri: str) -> Any | None:
    """The copy last served as this registry's champion; else this registry's newest copy (a
    copy bundled from another registry, or one demoted since, is never served by default)."""
    import bentoml

    path = _marker(settings)
    if path.exists():
        facts = json.loads(path.read_text())
        if facts.get("registry") == registry_id(uri):
            try:
                return bentoml.models.get(facts["tag"])
            except Exception:  # removed from the store since
                pass
    own = [
        m
        for m in _bundled(settings.model_name)
        if m.info.labels.get("registry") == registry_id(uri)
    ]
    return own[-1] if own else None


def champion_copy(settings: ServingSettings) -> tuple[Any, str]:
    """The BentoML copy to serve and where it came from: the registry's champion (bundled on
    first sight), or the copy last served as champion if the registry is unreachable;
    ``ServingError`` if neither exists."""
    uri, name = settings.resolved_tracking_uri, settings.model_name
    try:
        client, version = champion_version(uri, name)
    except RegistryUnavailable as exc:
        last = _last_champion(settings, uri)
        if last is None:
            raise ServingError(f"{exc}; and no bundled copy of {name} exists") from None
        version_label = last.info.labels.get("mlflow_version", "?")
        return last, f"bundled copy of version {version_label} (registry unreachable: {exc})"
    labels = {"mlflow_version": str(version.version), "registry": registry_id(uri)}
    model = _find(name, labels)
    if model is None:
        model = bundle_version(client, version, uri)
    _remember(settings, model, uri)
    return model, f"registry champion, version {version.version}"


def load_champion(settings: ServingSettings) -> ScoringBundle:
    """The champion's copy (see :func:`champion_copy`), loaded and ready to score."""
    model, source = champion_copy(settings)
    return load_bundled(model, source)

"""Loading the champion's monitoring reference from its MLflow run (an IO edge).

Single responsibility: find the model version monitoring judges (the champion, or a version
named), fetch the reference its training run logged (``training.reference``: every loan of the
calibration window with its inputs, probabilities, grade and outcomes) and check it can serve
as a yardstick. A version without one (trained before monitoring existed) or with a reference
too small to judge a segment is refused with its version named, never silently replaced by
whatever months happen to be at hand.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from models.names import CHAMPION
from monitoring.frames import AS_OF, GRADE, LOAN_KEY, PD, PROBABILITY_COLUMNS, missing_columns

#: Where the training run keeps the reference (``training.reference.REFERENCE_FILE``).
REFERENCE_ARTIFACT: Final = "evidence/monitoring_reference.parquet"
#: Columns of the reference file that are neither keys, scores nor model inputs.
OUTCOME_PREFIX: Final = "severity_"
#: Fewest reference rows a run accepts: below this no segment can have a verdict.
MIN_REFERENCE_ROWS: Final = 1_000


class ReferenceUnusable(ValueError):
    """The model version has no usable reference; the message names the version."""


@dataclass(frozen=True)
class Reference:
    """The reference of one model version: a scored frame and where it came from."""

    frame: pd.DataFrame
    model_name: str
    model_version: str
    run_id: str

    @property
    def inputs(self) -> list[str]:
        """The model inputs the reference holds (the champion's inputs)."""
        skip = {AS_OF, LOAN_KEY, *PROBABILITY_COLUMNS, PD, GRADE}
        return [c for c in self.frame.columns if c not in skip and not c.startswith(OUTCOME_PREFIX)]

    @property
    def months(self) -> list[str]:
        """The as-of months it covers, as ``YYYY-MM``."""
        return sorted(self.frame[AS_OF].dt.strftime("%Y-%m").unique())


def check_reference(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``frame`` if it is a usable reference, else ``ReferenceUnusable`` naming ``label``."""
    absent = missing_columns(frame, [AS_OF, LOAN_KEY, *PROBABILITY_COLUMNS, PD, GRADE])
    if absent:
        raise ReferenceUnusable(f"{label}: the reference lacks columns {', '.join(absent)}")
    if len(frame) < MIN_REFERENCE_ROWS:
        raise ReferenceUnusable(
            f"{label}: the reference holds {len(frame)} rows, fewer than {MIN_REFERENCE_ROWS}; "
            "retrain on a larger book"
        )
    return frame.assign(**{AS_OF: pd.to_datetime(frame[AS_OF])})


def read_reference_file(path: Path, label: str) -> pd.DataFrame:
    """The reference Parquet file at ``path``, checked."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ReferenceUnusable(f"{label}: the reference file cannot be read ({exc})") from None
    return check_reference(frame, label)


def load_reference(tracking_uri: str, model_name: str, version: str | None = None) -> Reference:
    """The reference of ``model_name`` version ``version`` (default: the champion).

    Raises
    ------
    ReferenceUnusable
        If the version does not exist or its run logged no usable reference.
    serving.registry.ServingError
        If there is no champion or the registry cannot be read.
    """
    from mlflow.exceptions import MlflowException

    from serving.registry import champion_version, open_client

    client: Any
    if version is None:
        client, found = champion_version(tracking_uri, model_name)
    else:
        client = open_client(tracking_uri)
        try:
            found = client.get_model_version(model_name, str(version))
        except MlflowException:
            raise ReferenceUnusable(f"{model_name} has no version {version}") from None
    label = f"{model_name} version {found.version}" + (f" ({CHAMPION})" if version is None else "")
    import mlflow

    with tempfile.TemporaryDirectory(prefix="ews-reference-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=found.run_id,
                artifact_path=REFERENCE_ARTIFACT,
                dst_path=tmp,
                tracking_uri=tracking_uri,
            )
        except (MlflowException, OSError):
            raise ReferenceUnusable(
                f"{label} has no monitoring reference ({REFERENCE_ARTIFACT} in run "
                f"{found.run_id}): it was trained before monitoring existed; retrain and "
                "promote a model (ews-train fit --promote)"
            ) from None
        frame = read_reference_file(Path(path), label)
    return Reference(frame, model_name, str(found.version), str(found.run_id))

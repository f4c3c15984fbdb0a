"""What one served model version is: the model, its cross-walk, its grade policy, its facts.

A registered model version alone cannot score raw history: the Party-building cross-walk it was
trained with and the grade policy that travels with it are artifacts of the same run. The
bundle holds the three together with the facts ``GET /model`` shows (version, training window,
metrics, features), so every answer names exactly what produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from features.party_index import PartyIndexUnifier
from models.grade_policy import GradePolicy


class ModelInfo(BaseModel):
    """Facts about the served version, read from the registry when it was bundled."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_name: str
    model_version: str
    run_id: str
    tracking_uri: str
    registered_at: str
    bundled_at: str
    training_window: dict[str, str]
    metrics: dict[str, float]
    calibration: str
    features: list[str]
    policy_version: str
    policy_fingerprint: str


@dataclass(frozen=True)
class ScoringBundle:
    """A loaded, ready-to-score model version.

    ``source`` says where it came from this time: the registry's champion, or the last bundled
    copy when the registry was unreachable (and why).
    """

    model: Any  # models.calibration.CalibratedGradedClassifier
    unifier: PartyIndexUnifier
    policy: GradePolicy
    info: ModelInfo
    source: str

    @property
    def features(self) -> list[str]:
        """The model's input columns, in order."""
        return list(self.info.features)

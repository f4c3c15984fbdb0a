"""The grade policy: from outcome probabilities and days past due to a warning grade.

The decision sits outside the probability model (as scikit-learn's ``FixedThresholdClassifier``
does): the model gives P(S>=1), P(S>=2), P(S>=3); ``assign_grades(proba, dpd, policy)`` gives
green / blue / yellow / orange / red, the national emergency-warning order (red highest). A
policy is data: explicit probability cut-offs per grade, DPD backstops (a loan already 90+ DPD is
red, 30-89 at least orange, 1-29 at least yellow: the severity thresholds of
``features.severity``; docs/domain.md, warning grades) and the actions each grade
triggers, in Chinese and English. It is versioned JSON that travels with each model version and
that risk staff can review and edit.

A grade is the highest one any of whose cut-offs is met, then raised to its DPD backstop, so a
grade never falls when a probability or the DPD rises.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.io import atomic_write
from features.severity import SEVERITY_DPD

GRADES: Final = ("green", "blue", "yellow", "orange", "red")
PROBABILITY_COLUMNS: Final = ("p_s1", "p_s2", "p_s3")  # P(S>=1), P(S>=2), P(S>=3) = 12-month PD
GRADE_DTYPE: Final = pd.CategoricalDtype(list(GRADES), ordered=True)
#: The default master scale: the 12-month PD from which each grade above green starts (bands
#: widening roughly geometrically with risk, the usual shape of a bank's master scale).
MASTER_SCALE_PD: Final = {"blue": 0.015, "yellow": 0.04, "orange": 0.10, "red": 0.25}
#: DPD backstops: a loan this many days past due is at least this grade.
DPD_BACKSTOPS: Final = dict(zip(("yellow", "orange", "red"), SEVERITY_DPD, strict=True))


def _scale_text() -> str:
    bands = " / ".join(f"{100 * v:g}%" for v in MASTER_SCALE_PD.values())
    backstops = " / ".join(str(d) for d in DPD_BACKSTOPS.values())
    return f"12-month PD (P(S>=3)) bands {bands} for blue to red; DPD backstops {backstops} days"


class GradeRule(BaseModel):
    """Cut-offs for one grade: met when any listed probability reaches its threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p_s1: float | None = Field(None, ge=0, le=1)
    p_s2: float | None = Field(None, ge=0, le=1)
    p_s3: float | None = Field(None, ge=0, le=1)
    min_dpd: int | None = Field(None, ge=0, description="DPD backstop: at least this grade.")
    action_zh: str
    action_en: str


def _default_rules() -> dict[str, GradeRule]:
    return {
        "green": GradeRule(action_zh="正常管理", action_en="Normal monitoring."),
        "blue": GradeRule(
            p_s1=0.20,
            p_s3=MASTER_SCALE_PD["blue"],
            action_zh="列入关注名单",
            action_en="Put on the watch list.",
        ),
        "yellow": GradeRule(
            p_s2=0.12,
            p_s3=MASTER_SCALE_PD["yellow"],
            min_dpd=DPD_BACKSTOPS["yellow"],
            action_zh="14日内联系借款人，核查资金用途，按月复核",
            action_en=(
                "Contact the borrower within 14 days, check the use of funds, review monthly."
            ),
        ),
        "orange": GradeRule(
            p_s3=MASTER_SCALE_PD["orange"],
            min_dpd=DPD_BACKSTOPS["orange"],
            action_zh="7日内实地走访，限制新增提款，每周复核",
            action_en="On-site visit within 7 days, restrict new drawdowns, review weekly.",
        ),
        "red": GradeRule(
            p_s3=MASTER_SCALE_PD["red"],
            min_dpd=DPD_BACKSTOPS["red"],
            action_zh="冻结未用额度，3个工作日内现场检查，上报处置",
            action_en=(
                "Freeze the undrawn line, on-site inspection within 3 working days, escalate."
            ),
        ),
    }


class GradePolicy(BaseModel):
    """A versioned grade policy (cut-offs, DPD backstops and actions per grade)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "2026.11-default"
    description: str = (
        f"Default master scale: {_scale_text()}; earlier-stage probabilities for blue and yellow."
    )
    rules: dict[str, GradeRule] = Field(default_factory=_default_rules)

    @field_validator("rules")
    @classmethod
    def _every_grade_once(cls, rules: dict[str, GradeRule]) -> dict[str, GradeRule]:
        if set(rules) != set(GRADES):
            raise ValueError(f"rules must list exactly the grades {', '.join(GRADES)}")
        return {grade: rules[grade] for grade in GRADES}  # warning order, whatever the file's

    @model_validator(mode="after")
    def _consistent(self) -> GradePolicy:
        for column in PROBABILITY_COLUMNS:
            cuts = [
                getattr(r, column) for r in self.rules.values() if getattr(r, column) is not None
            ]
            if cuts != sorted(cuts):
                raise ValueError(f"{column} cut-offs must not fall as grades rise")
        dpd = [r.min_dpd for r in self.rules.values() if r.min_dpd is not None]
        if dpd != sorted(dpd):
            raise ValueError("DPD backstops must not fall as grades rise")
        return self

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON: which exact policy graded a loan."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), the form logged with each model version."""
        return json.dumps(
            self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, indent=2
        )

    def save(self, path: Path | str) -> Path:
        """Write the policy JSON atomically."""
        text = self.to_json()
        return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: Path | str) -> GradePolicy:
        """Read and validate a policy JSON (pydantic names the offending field)."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def action(self, grade: str, language: str = "en") -> str:
        """What the grade asks the post-loan manager to do (``language`` "en" or "zh")."""
        rule = self.rules[grade]
        return rule.action_zh if language == "zh" else rule.action_en


class MasterScale(BaseModel):
    """The bank's master scale: the 12-month PD from which each grade above green starts.

    The documented default (blue 1.5%, yellow 4%, orange 10%, red 25%) follows the usual shape
    of a bank master scale: bands widening roughly geometrically with risk. Blue and yellow also
    react to early-stage probabilities (any missed payment, 30+ DPD) because post-loan managers
    want to see a loan slipping before its PD is high; ``early_signals`` says which.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pd_from: dict[str, float] = Field(default_factory=lambda: dict(MASTER_SCALE_PD))
    early_signals: dict[str, str] = Field(
        default_factory=lambda: {"blue": "p_s1", "yellow": "p_s2"}
    )

    @model_validator(mode="after")
    def _ordered(self) -> MasterScale:
        if list(self.pd_from) != list(GRADES[1:]):
            raise ValueError(f"pd_from must give, in order, the grades {', '.join(GRADES[1:])}")
        edges = list(self.pd_from.values())
        if edges != sorted(set(edges)) or not all(0 < e < 1 for e in edges):
            raise ValueError("pd_from must rise strictly with the grade, inside (0, 1)")
        unknown = {c for c in self.early_signals.values()} - {"p_s1", "p_s2"}
        if unknown or not set(self.early_signals) <= set(self.pd_from):
            raise ValueError("early_signals maps grades to p_s1 or p_s2")
        return self


def derive_policy(
    proba: pd.DataFrame,
    defaulted: np.ndarray,
    scale: MasterScale | None = None,
    version: str = "derived",
    min_rows: int = 200,
) -> GradePolicy:
    """Default cut-offs set from validation data against the master scale.

    Cut-offs on P(S>=3) are the master scale's PD edges (the PD is calibrated, so its value is
    the rate to expect). An early-stage probability gets the cut-off at which, on the validation
    rows, the observed default rate (isotonic in that probability) first reaches the grade's PD
    edge: a loan above it defaults as often as the grade means, even if its own PD lags. A
    grade the early signal never reaches (or reaches only on a handful of extreme rows: fewer
    than ``min_rows / 4`` or 1% of rows above the cut-off) keeps only its PD cut-off. Actions
    and DPD backstops are the default policy's; risk staff edit the resulting JSON like any
    other.
    """
    from sklearn.isotonic import IsotonicRegression

    scale = scale or MasterScale()
    y = np.asarray(defaulted, dtype=float)
    if len(proba) != y.size:
        raise ValueError(f"{len(proba)} probability rows but {y.size} outcomes")
    if y.size < min_rows or y.min() == y.max():
        raise ValueError(
            f"deriving cut-offs needs at least {min_rows} validation rows with both outcomes"
        )
    base = GradePolicy()
    rules = {}
    for grade, rule in base.rules.items():
        if grade == "green":
            rules[grade] = rule
            continue
        cuts: dict[str, float | None] = dict.fromkeys(PROBABILITY_COLUMNS)
        cuts["p_s3"] = scale.pd_from[grade]
        signal = scale.early_signals.get(grade)
        if signal is not None:
            x = np.sort(proba[signal].to_numpy(dtype=float))
            rate = IsotonicRegression(out_of_bounds="clip").fit(proba[signal], y).predict(x)
            reached = np.flatnonzero(rate >= scale.pd_from[grade])
            # a cut-off needs evidence: enough rows at or above it, not a lone extreme default
            supported = reached.size and x.size - reached[0] >= max(min_rows // 4, x.size // 100)
            cuts[signal] = round(float(x[reached[0]]), 4) if supported else None
        rules[grade] = rule.model_copy(update=cuts)
    edges = ", ".join(f"{g} {v:.1%}" for g, v in scale.pd_from.items())
    policy = GradePolicy(
        version=version,
        description=f"Cut-offs from validation data against the master scale (PD from: {edges}); "
        "early-signal cut-offs where the observed default rate reaches the grade's PD; DPD "
        f"backstops {' / '.join(str(d) for d in DPD_BACKSTOPS.values())} days.",
        rules=rules,
    )
    return policy


def assign_grades(
    proba: pd.DataFrame, dpd: np.ndarray | pd.Series, policy: GradePolicy
) -> pd.Series:
    """Grade of each row from its probabilities and current days past due.

    Parameters
    ----------
    proba : DataFrame
        Columns ``p_s1``, ``p_s2``, ``p_s3`` (P(S>=1), P(S>=2), P(S>=3)).
    dpd : array-like
        Days past due at as_of.
    policy : GradePolicy

    Returns
    -------
    Series
        Ordered categorical of grades, index aligned with ``proba``.
    """
    missing = [c for c in PROBABILITY_COLUMNS if c not in proba.columns]
    if missing:
        raise ValueError(f"probabilities missing column(s): {', '.join(missing)}")
    values = {c: proba[c].to_numpy(dtype=float) for c in PROBABILITY_COLUMNS}
    for column, v in values.items():
        if np.isnan(v).any() or (v < 0).any() or (v > 1).any():
            raise ValueError(f"{column} must hold probabilities in [0, 1] with no missing values")
    days = np.asarray(dpd, dtype=float)
    if days.shape[0] != len(proba) or np.isnan(days).any() or (days < 0).any():
        raise ValueError("dpd must give one non-negative number of days per row")
    level = np.zeros(len(proba), dtype=np.int64)
    for rank, grade in enumerate(GRADES):
        rule = policy.rules[grade]
        met = np.zeros(len(proba), dtype=bool)
        for column in PROBABILITY_COLUMNS:
            cut = getattr(rule, column)
            if cut is not None:
                met |= values[column] >= cut
        if rule.min_dpd is not None:
            met |= days >= rule.min_dpd
        level = np.where(met, np.maximum(level, rank), level)
    return pd.Series(
        pd.Categorical.from_codes(level, dtype=GRADE_DTYPE), index=proba.index, name="grade"
    )

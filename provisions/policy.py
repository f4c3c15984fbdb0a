"""The provision policy: one versioned, validated file holding every provisioning parameter.

Single responsibility: read and check the policy (pydantic), so no stage threshold, LGD, CCF,
category floor, scenario or ratio band is a constant buried in calculation code. Every result
records the policy's ``version`` and its content hash, so a month's allowance can be traced to
the exact parameters that produced it.

A policy that cannot be used is a :class:`PolicyError` whose message names the field: an
unknown segment, scenario weights that do not sum to one, an LGD outside 0..1.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features import vocab
from features.io import validation_problems
from models.grade_policy import GRADES

#: The policy shipped with the package (the one ``ews-provision`` uses unless told otherwise).
DEFAULT_POLICY_PATH: Final = Path(__file__).with_name("policies") / "default.yaml"
#: China's five categories, least to most severe; the last three are non-performing.
CATEGORIES: Final = ("normal", "special_mention", "substandard", "doubtful", "loss")
NON_PERFORMING: Final = CATEGORIES[2:]
Fraction = Field(ge=0.0, le=1.0)


class PolicyError(ValueError):
    """The policy cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LgdPolicy(_Strict):
    """Loss given default by borrower type (the segment LGD varies by), else ``default``."""

    default: float = Fraction
    by_borrower_type: dict[str, float] = {}

    @field_validator("by_borrower_type")
    @classmethod
    def _known_segments(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(vocab.BORROWER_TYPES))
        if unknown:
            raise ValueError(
                f"unknown segment {', '.join(unknown)} (borrower types: "
                f"{', '.join(vocab.BORROWER_TYPES)})"
            )
        outside = {k: v for k, v in value.items() if not 0.0 <= v <= 1.0}
        if outside:
            raise ValueError(f"LGD outside 0..1 for {outside}")
        return value

    def for_borrower_type(self, borrower_type: str) -> float:
        return self.by_borrower_type.get(borrower_type, self.default)


class ProductPolicy(_Strict):
    """Whether the approved amount is a committed line (its undrawn part counts in EAD at the
    credit-conversion factor ``ccf``) or a term loan (no undrawn part)."""

    committed_line: bool
    ccf: float = Fraction


class StagingPolicy(_Strict):
    """IFRS 9 staging: backstops (5.5.11, B5.5.37), the model-based SICR test, the grades that
    mean SICR, and the events that make a loan credit-impaired."""

    stage3_dpd_over: int = Field(ge=0)
    stage2_dpd_over: int = Field(ge=0)
    sicr_pd_ratio: float = Field(gt=1.0)
    sicr_pd_increase: float = Field(ge=0.0, lt=1.0)
    stage2_grades: tuple[str, ...]
    impaired_events: tuple[str, ...]
    impaired_event_months: int = Field(ge=1)

    @field_validator("stage2_grades")
    @classmethod
    def _known_grades(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(GRADES))
        if unknown:
            raise ValueError(f"unknown grade {', '.join(unknown)} (grades: {', '.join(GRADES)})")
        return value

    @field_validator("impaired_events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(vocab.EVENT_TYPES))
        if unknown:
            raise ValueError(
                f"unknown event type {', '.join(unknown)} (events: {', '.join(vocab.EVENT_TYPES)})"
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> StagingPolicy:
        if self.stage2_dpd_over >= self.stage3_dpd_over:
            raise ValueError("stage2_dpd_over must be below stage3_dpd_over")
        return self


Category = Literal["normal", "special_mention", "substandard", "doubtful", "loss"]


class CategoryPolicy(_Strict):
    """Five-category floors: days past due beyond which a loan is at least that category,
    grade floors, and the floor of a credit-impaired loan (the 2023 rules put credit-impaired
    assets at least in substandard)."""

    special_mention_dpd_over: int = Field(ge=0)
    substandard_dpd_over: int = Field(ge=0)
    doubtful_dpd_over: int = Field(ge=0)
    loss_dpd_over: int = Field(ge=0)
    grade_floors: dict[str, Category] = {}
    impaired_floor: Category = "substandard"

    @field_validator("grade_floors")
    @classmethod
    def _known_grades(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(GRADES))
        if unknown:
            raise ValueError(f"unknown grade {', '.join(unknown)} (grades: {', '.join(GRADES)})")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CategoryPolicy:
        floors = self.day_floors()
        if list(floors.values()) != sorted(floors.values()) or len(set(floors.values())) < 4:
            raise ValueError(f"day floors must increase strictly: {floors}")
        return self

    def day_floors(self) -> dict[str, int]:
        """Category -> days past due beyond which a loan is at least that category."""
        return {
            "special_mention": self.special_mention_dpd_over,
            "substandard": self.substandard_dpd_over,
            "doubtful": self.doubtful_dpd_over,
            "loss": self.loss_dpd_over,
        }


class Scenario(_Strict):
    """A forward-looking scenario: its probability weight and how it scales PD and LGD."""

    name: str = Field(min_length=1)
    weight: float = Fraction
    pd_multiplier: float = Field(gt=0.0)
    lgd_multiplier: float = Field(gt=0.0)


class Band(_Strict):
    low: float = Field(ge=0.0)
    high: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.low > self.high:
            raise ValueError(f"low {self.low} above high {self.high}")
        return self


class RatioPolicy(_Strict):
    """Regulatory bands (CBRC 2018): provision coverage (allowance / NPL balance) 120-150%,
    loan provision ratio (allowance / gross loans) 1.5-2.5%."""

    provision_coverage: Band
    loan_provision: Band


class OverlayPolicy(_Strict):
    """How monitoring evidence becomes overlays (sized by the provision run, approved by
    people)."""

    calibration_alpha: float = Field(gt=0.0, lt=0.5)
    full_credibility_defaults: int = Field(ge=1)
    precautionary_lifetime_share: float = Fraction
    #: Evidence older than this (months between when it became observable and the provision
    #: month) no longer proposes an overlay: a segment must keep showing it.
    evidence_lookback_months: int = Field(ge=1, le=24)


class ProvisionPolicy(_Strict):
    """Every provisioning parameter, versioned."""

    version: str = Field(min_length=1)
    description: str = ""
    lgd: LgdPolicy
    products: dict[str, ProductPolicy]
    staging: StagingPolicy
    categories: CategoryPolicy
    scenarios: tuple[Scenario, ...] = Field(min_length=1)
    discounting: Literal["effective_rate", "none"]
    ratios: RatioPolicy
    overlays: OverlayPolicy

    @field_validator("products")
    @classmethod
    def _every_product(cls, value: dict[str, ProductPolicy]) -> dict[str, ProductPolicy]:
        unknown = sorted(set(value) - set(vocab.PRODUCTS))
        missing = sorted(set(vocab.PRODUCTS) - set(value))
        if unknown or missing:
            raise ValueError(
                f"products must be exactly {', '.join(vocab.PRODUCTS)}"
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
                + (f"; missing {', '.join(missing)}" if missing else "")
            )
        return value

    @field_validator("scenarios")
    @classmethod
    def _weights(cls, value: tuple[Scenario, ...]) -> tuple[Scenario, ...]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError(f"scenario names repeat: {names}")
        total = math.fsum(s.weight for s in value)
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            weights = ", ".join(f"{s.name} {s.weight}" for s in value)
            raise ValueError(f"scenario weights sum to {total:.6g}, not 1 ({weights})")
        return value

    def fingerprint(self) -> str:
        """SHA-256 of the policy's canonical JSON: equal for equal parameters, whatever the
        file's layout or comments."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_policy(document: Any, source: str = "policy") -> ProvisionPolicy:
    """A checked policy from its parsed document (a dict).

    Raises
    ------
    PolicyError
        Naming ``source`` and every field that is wrong.
    """
    try:
        return ProvisionPolicy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(f"{source}: {validation_problems(exc)}") from None


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> ProvisionPolicy:
    """The policy in a YAML or JSON file (JSON is YAML too).

    Raises
    ------
    PolicyError
        If the file cannot be read or parsed, or a field is wrong.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot be read as YAML or JSON ({exc})") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: expected a mapping of policy fields")
    return parse_policy(document, str(path))

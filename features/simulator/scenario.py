"""Stress scenarios: dated shocks to the creditworthiness of an industry, an area or both, and
switches that hold the economy still.

A scenario file (YAML) lists shocks; each lowers the latent creditworthiness of the borrowers it
hits for its duration and then fades out over ``recovery_months``. Because hazards and operating
signals are both driven by creditworthiness, a shock raises delinquency *and* shifts revenue,
electricity and arrears in the shocked segment: a known shift against which drift monitoring
can be shown to see it and provisions to react. Example::

    name: changxing-manufacturing-2024
    shocks:
      - industry: manufacturing
        area: changxing
        start_month: "2024-07"     # or a 0-based month index of the window
        duration_months: 6
        severity: 1.2               # drop in creditworthiness, in standard deviations

``common_innovations`` switches the monthly innovations of the common AR(1) factors (macro,
industry, area) on or off; all default to on. With all three off and no shocks (the shipped
``calm.yaml``) the common factors stay at their mean, so the book's creditworthiness has the
same cross-sectional law every month, apart from the farming-year cycle: a book without drift,
for tests and for measuring a drift monitor's false alarms::

    name: calm
    common_innovations: {macro: false, industry: false, area: false}
    shocks: []
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from features.io import validation_problems
from features.simulator.config import LatentParams
from features.vocab import AREAS, INDUSTRIES


class ScenarioError(ValueError):
    """A scenario file is missing, unreadable or invalid; the message says which field."""


class Shock(BaseModel):
    """One shock. Without ``industry`` and ``area`` it hits the whole book (a macro shock)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    industry: str | None = None
    area: str | None = None
    start_month: int | str = Field(description="0-based month index or 'YYYY-MM'.")
    duration_months: int = Field(ge=1, le=120)
    severity: float = Field(gt=0, le=5, description="Drop in creditworthiness (sd units).")
    recovery_months: int = Field(3, ge=0, le=36)

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str | None) -> str | None:
        if value is not None and value not in INDUSTRIES:
            raise ValueError(f"unknown industry {value!r}; expected one of {', '.join(INDUSTRIES)}")
        return value

    @field_validator("area")
    @classmethod
    def _known_area(cls, value: str | None) -> str | None:
        if value is not None and value not in AREAS:
            raise ValueError(f"unknown area {value!r}; expected one of {', '.join(AREAS)}")
        return value

    @field_validator("start_month")
    @classmethod
    def _month_form(cls, value: int | str) -> int | str:
        if isinstance(value, str):
            try:
                pd.Period(value, freq="M")
            except ValueError:
                raise ValueError(f"start_month {value!r} is not a month like '2024-07'") from None
        elif value < 0:
            raise ValueError("start_month index must be >= 0")
        return value

    def start_index(self, window_start: pd.Period) -> int:
        """Month index of the shock's start relative to the window's first month."""
        if isinstance(self.start_month, int):
            return self.start_month
        return int((pd.Period(self.start_month, freq="M") - window_start).n)

    def profile(self, n_months: int, window_start: pd.Period) -> np.ndarray:
        """Severity in each month ``0 .. n_months-1``: full, then a linear fade to zero."""
        start = self.start_index(window_start)
        months = np.arange(n_months)
        out = np.where((months >= start) & (months < start + self.duration_months), 1.0, 0.0)
        if self.recovery_months:
            after = months - (start + self.duration_months - 1)
            fade = 1.0 - after / (self.recovery_months + 1)
            out = np.where((after > 0) & (fade > 0), fade, out)
        return out * self.severity


class CommonInnovations(BaseModel):
    """Whether each common factor of creditworthiness draws monthly innovations.

    Off sets the factor's innovation sd to 0 (``Scenario.latent_params``): the factor starts at
    its mean (``latent.draw_components``) and stays there. The random numbers are still drawn,
    so switching a factor off changes no other component's draws.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    macro: StrictBool = True
    industry: StrictBool = True
    area: StrictBool = True


class Scenario(BaseModel):
    """A named list of shocks, on an economy whose common factors move or are held still."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "baseline"
    common_innovations: CommonInnovations = CommonInnovations()
    shocks: tuple[Shock, ...] = ()

    def latent_params(self, params: LatentParams) -> LatentParams:
        """``params`` with the innovation sd of every switched-off common factor set to 0.

        Both the latent draw and the point-in-time oracle use the result, so the oracle
        integrates over exactly the innovations the book drew (none of a switched-off factor).
        """
        off = self.common_innovations
        update = {
            f"{name}_sd": 0.0 for name in ("macro", "industry", "area") if not getattr(off, name)
        }
        return params.model_copy(update=update) if update else params


BASELINE = Scenario()


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    ScenarioError
        With a one-line message naming the file and the offending field.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"{path}: expected a mapping with 'name', 'shocks' and optionally 'common_innovations'"
        )
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {validation_problems(exc)}") from None

"""Exposure at default, lifetime PD and expected credit loss of each loan.

Single responsibility: the loss arithmetic, on arrays, without IO.

* **EAD** = drawn balance + CCF x undrawn commitment (IFRS 9 5.5.20: a committed line's
  undrawn part is exposed too).
* **Term structure**: a constant monthly hazard ``h = 1 - (1 - PD12)^(1/12)``, so the
  cumulative PD over ``T`` months is ``1 - (1 - h)^T`` (12 months give back PD12). It is the
  simplest structure consistent with the 12-month PD; the model's own term structure from
  monitoring (early reads) shows a hazard that is roughly flat within the year.
* **ECL** over ``T`` months, EAD held at today's value (conservative for amortising loans):
  ``sum_t (1-h)^(t-1) h v^t x LGD x EAD`` with ``v = (1 + rate)^(-1/12)`` (discounted at the
  loan's rate, as an approximation of its effective rate), in closed form
  ``LGD x EAD x h v (1 - q^T) / (1 - q)``, ``q = (1 - h) v``. Stage 1 takes ``T = min(12,
  remaining term)``, stages 2 and 3 the remaining term; a credit-impaired loan (stage 3) has
  defaulted: PD 1, ECL = LGD x EAD.
* **Scenarios**: the ECL under each scenario's PD and LGD multipliers (capped at 1), weighted
  by its probability; the weighting is applied to losses, never to PDs, as IFRS 9 B5.5.42 asks
  (losses are not linear in PD).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from provisions.policy import Scenario

#: Months of a 12-month ECL.
TWELVE_MONTHS = 12


def exposure_at_default(balance: np.ndarray, undrawn: np.ndarray, ccf: np.ndarray) -> np.ndarray:
    """Balance plus the credit-converted undrawn commitment."""
    return np.asarray(balance, dtype=float) + np.asarray(ccf, dtype=float) * np.asarray(
        undrawn, dtype=float
    )


def monthly_hazard(pd_12m: np.ndarray) -> np.ndarray:
    """The constant monthly default hazard whose 12-month cumulative PD is ``pd_12m``."""
    p = np.clip(np.asarray(pd_12m, dtype=float), 0.0, 1.0)
    return 1.0 - (1.0 - p) ** (1.0 / TWELVE_MONTHS)


def cumulative_pd(pd_12m: np.ndarray, months: np.ndarray) -> np.ndarray:
    """PD over ``months`` under the constant hazard (the lifetime PD for the remaining term)."""
    h = monthly_hazard(pd_12m)
    return 1.0 - (1.0 - h) ** np.asarray(months, dtype=float)


def horizon_months(stage: np.ndarray, remaining_months: np.ndarray) -> np.ndarray:
    """12 months (or less, if the loan ends sooner) in stage 1, the remaining term otherwise;
    at least one month (a loan past maturity is still owed)."""
    remaining = np.maximum(np.asarray(remaining_months, dtype=np.int64), 1)
    return np.where(np.asarray(stage) == 1, np.minimum(remaining, TWELVE_MONTHS), remaining)


def discounted_loss_rate(
    pd_12m: np.ndarray, months: np.ndarray, annual_rate: np.ndarray | None
) -> np.ndarray:
    """Expected discounted share of EAD x LGD lost over ``months``:
    ``sum_{t=1..T} (1-h)^(t-1) h v^t`` in closed form (``annual_rate`` None: undiscounted)."""
    h = monthly_hazard(pd_12m)
    months = np.asarray(months, dtype=float)
    if annual_rate is None:
        return 1.0 - (1.0 - h) ** months
    v = (1.0 + np.asarray(annual_rate, dtype=float)) ** (-1.0 / TWELVE_MONTHS)
    q = (1.0 - h) * v
    # q < 1 whenever the rate is positive or h > 0; q == 1 (h = 0 and rate 0) loses nothing.
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(q < 1.0, h * v * (1.0 - q**months) / (1.0 - q), 0.0)
    return rate


def expected_credit_loss(
    pd_12m: np.ndarray,
    lgd: np.ndarray,
    ead: np.ndarray,
    stage: np.ndarray,
    remaining_months: np.ndarray,
    annual_rate: np.ndarray | None,
) -> np.ndarray:
    """ECL of each loan under one set of PDs and LGDs (one scenario)."""
    stage = np.asarray(stage)
    months = horizon_months(stage, remaining_months)
    loss_rate = discounted_loss_rate(pd_12m, months, annual_rate)
    loss_rate = np.where(stage == 3, 1.0, loss_rate)
    return np.asarray(lgd, dtype=float) * np.asarray(ead, dtype=float) * loss_rate


def scenario_weighted_ecl(
    pd_12m: np.ndarray,
    lgd: np.ndarray,
    ead: np.ndarray,
    stage: np.ndarray,
    remaining_months: np.ndarray,
    annual_rate: np.ndarray | None,
    scenarios: Sequence[Scenario],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The probability-weighted ECL of each loan, and each scenario's ECL by name."""
    pd_12m = np.asarray(pd_12m, dtype=float)
    lgd = np.asarray(lgd, dtype=float)
    by_scenario = {
        s.name: expected_credit_loss(
            np.minimum(pd_12m * s.pd_multiplier, 1.0),
            np.minimum(lgd * s.lgd_multiplier, 1.0),
            ead,
            stage,
            remaining_months,
            annual_rate,
        )
        for s in scenarios
    }
    weighted = np.zeros(len(pd_12m), dtype=float)
    for s in scenarios:
        weighted += s.weight * by_scenario[s.name]
    return weighted, by_scenario

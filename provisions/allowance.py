"""The allowance of one month: every loan staged, classified and provided for, then totalled.

Single responsibility: from the month's exposures (one row per open loan, the contract below)
and the policy to the per-loan results, the totals by segment, stage and category, and the
regulatory ratios. No IO: the provision run reads the scored book and the raw book, builds
the exposures and writes what this returns.

Exposures, one row per loan open at the as-of month end:

* ``loan_id``; segment labels ``borrower_type``, ``area``, ``industry``; ``product``;
* ``balance`` (drawn principal), ``amount`` (approved amount), ``annual_rate``,
  ``remaining_months`` (to contractual maturity; 0 or less when past it);
* ``dpd`` (days past due), ``pd_12m`` and ``grade`` (the model's score for the month),
  ``pd_origination`` (first score the ledger holds; ``NaN`` if none), ``impaired_event``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from provisions.categories import classify
from provisions.ecl import (
    cumulative_pd,
    exposure_at_default,
    horizon_months,
    scenario_weighted_ecl,
)
from provisions.policy import NON_PERFORMING, ProvisionPolicy
from provisions.ratios import Ratio, regulatory_ratios
from provisions.staging import assign_stages

EXPOSURE_COLUMNS: Final = (
    *("loan_id", "borrower_type", "area", "industry", "product"),
    *("balance", "amount", "annual_rate", "remaining_months"),
    *("dpd", "pd_12m", "grade", "pd_origination", "impaired_event"),
)
#: What the totals are cut by (the segment dimensions of monitoring, plus stage and category).
TOTAL_DIMENSIONS: Final = ("stage", "category", "borrower_type", "area", "industry")


class ExposureError(ValueError):
    """The exposures cannot be provided for; the message names the column or loan."""


def check_exposures(exposures: pd.DataFrame) -> None:
    """Refuse exposures that lack a column, repeat a loan, or hold impossible values."""
    absent = [c for c in EXPOSURE_COLUMNS if c not in exposures.columns]
    if absent:
        raise ExposureError(f"exposures lack columns: {', '.join(absent)}")
    repeated = exposures["loan_id"][exposures["loan_id"].duplicated()]
    if not repeated.empty:
        raise ExposureError(f"loans appear twice: {', '.join(map(str, repeated.unique()[:5]))}")
    for column in ("balance", "amount", "annual_rate", "dpd"):
        bad = exposures[~(exposures[column] >= 0)]
        if not bad.empty:
            raise ExposureError(
                f"{column} is negative or missing for loan {bad['loan_id'].iloc[0]}"
            )
    pd_now = exposures["pd_12m"]
    bad = exposures[~((pd_now >= 0) & (pd_now <= 1))]
    if not bad.empty:
        raise ExposureError(f"pd_12m outside 0..1 for loan {bad['loan_id'].iloc[0]}")


def provide(exposures: pd.DataFrame, policy: ProvisionPolicy) -> pd.DataFrame:
    """Every loan's EAD, LGD, stage, category, horizon, lifetime PD and ECL (weighted and
    per scenario), with the reasons in words; the exposures' columns are kept in front.

    Raises
    ------
    ExposureError
        As :func:`check_exposures`.
    """
    check_exposures(exposures)
    loans = exposures.reset_index(drop=True)
    products = loans["product"].astype(str)
    unknown = sorted(set(products) - set(policy.products))
    if unknown:
        raise ExposureError(f"product {', '.join(unknown)} has no entry in policy {policy.version}")
    committed = products.map({k: v.committed_line for k, v in policy.products.items()})
    ccf = products.map({k: v.ccf for k, v in policy.products.items()}).to_numpy(float)
    balance = loans["balance"].to_numpy(float)
    undrawn = np.where(
        committed.to_numpy(bool), np.maximum(loans["amount"].to_numpy(float) - balance, 0.0), 0.0
    )
    ead = exposure_at_default(balance, undrawn, ccf)
    types = loans["borrower_type"].astype(str)
    lgd = types.map(policy.lgd.for_borrower_type).to_numpy(float)
    stages = assign_stages(
        loans["dpd"].to_numpy(np.int64),
        loans["pd_12m"].to_numpy(float),
        loans["pd_origination"].to_numpy(float),
        loans["grade"].astype(str).to_numpy(object),
        loans["impaired_event"].to_numpy(bool),
        policy.staging,
    )
    impaired_by_event = (stages.stage == 3) & (
        loans["dpd"].to_numpy(np.int64) <= policy.staging.stage3_dpd_over
    )
    categories = classify(
        loans["dpd"].to_numpy(np.int64),
        loans["grade"].astype(str).to_numpy(object),
        impaired_by_event,
        policy.categories,
    )
    remaining = loans["remaining_months"].to_numpy(np.int64)
    horizon = horizon_months(stages.stage, remaining)
    rate = loans["annual_rate"].to_numpy(float) if policy.discounting == "effective_rate" else None
    pd_12m = loans["pd_12m"].to_numpy(float)
    weighted, by_scenario = scenario_weighted_ecl(
        pd_12m, lgd, ead, stages.stage, remaining, rate, policy.scenarios
    )
    lifetime = np.where(stages.stage == 3, 1.0, cumulative_pd(pd_12m, horizon))
    return loans.assign(
        undrawn=undrawn,
        ccf=ccf,
        ead=ead,
        lgd=lgd,
        stage=stages.stage,
        stage_reason=stages.reason,
        category=categories.category,
        category_reason=categories.reason,
        horizon_months=horizon,
        horizon_pd=lifetime,
        ecl=weighted,
        **{f"ecl_{name}": values for name, values in by_scenario.items()},
    )


def totals(loans: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """Loans, balance, EAD and ECL summed by ``by``, with the coverage of each group
    (ECL / balance)."""
    keys = [by] if isinstance(by, str) else list(by)
    table = (
        loans.groupby(keys, observed=True, sort=True)
        .agg(
            loans=("loan_id", "size"),
            balance=("balance", "sum"),
            ead=("ead", "sum"),
            ecl=("ecl", "sum"),
        )
        .reset_index()
    )
    table["ecl_to_balance"] = table["ecl"] / table["balance"].where(table["balance"] > 0)
    return table


def ratios(loans: pd.DataFrame, allowance: float, policy: ProvisionPolicy) -> tuple[Ratio, Ratio]:
    """Provision coverage and loan provision ratio of ``allowance`` on this book."""
    npl = float(loans.loc[loans["category"].isin(NON_PERFORMING), "balance"].sum())
    return regulatory_ratios(allowance, npl, float(loans["balance"].sum()), policy.ratios)

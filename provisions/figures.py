"""A provision run as the dashboard's and MLflow's tidy figure table (no IO).

Single responsibility: the month's allowance, its split by IFRS 9 stage and by area, the share
of each area's balance in stages 2 and 3, the overlays proposed and approved, and the two
regulatory ratios, one row each in the figure shape monitoring publishes (``as_of``,
``figure``, ``segment``, ``label``, ``value``, ``n``), so the provision panels sit on the same
dashboard as drift and outcomes and MLflow charts them over months.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from monitoring.frames import BOOK

#: Figures of the overlay status: they change when people decide, so they are republished
#: on every decision (the others only when the month is provided for again).
OVERLAY_FIGURES: Final = ("allowance", "overlays")
#: Every figure a provision run publishes.
PROVISION_FIGURES: Final = (
    *OVERLAY_FIGURES,
    *("allowance_by_stage", "allowance_by_area", "stage23_share_by_area"),
    *("provision_coverage", "loan_provision_ratio"),
)


def _row(as_of: pd.Timestamp, figure: str, value: float, label: str = "", n: int = 0) -> dict:
    return {
        "as_of": as_of,
        "figure": figure,
        "segment": BOOK,
        "label": label,
        "value": float(value),
        "n": int(n),
    }


def overlay_figures(
    as_of: str, modelled: float, approved: float, proposed: float, loans: int
) -> pd.DataFrame:
    """The allowance modelled and booked (modelled + approved overlays), and the overlays
    proposed (still undecided) and approved, in yuan."""
    stamp = pd.Period(as_of, freq="M").end_time.normalize()
    return pd.DataFrame(
        [
            _row(stamp, "allowance", modelled, "modelled", loans),
            _row(stamp, "allowance", modelled + approved, "booked", loans),
            _row(stamp, "overlays", proposed, "proposed"),
            _row(stamp, "overlays", approved, "approved"),
        ]
    )


def provision_figures(
    loans: pd.DataFrame, record: dict[str, Any], approved: float, proposed: float
) -> pd.DataFrame:
    """Every figure of one run (``loans`` as :func:`provisions.allowance.provide` returns)."""
    as_of = record["as_of"]
    stamp = pd.Period(as_of, freq="M").end_time.normalize()
    rows = []
    for stage, part in loans.groupby("stage", sort=True):
        rows.append(
            _row(stamp, "allowance_by_stage", part["ecl"].sum(), f"stage {stage}", len(part))
        )
    for area, part in loans.groupby("area", sort=True):
        rows.append(_row(stamp, "allowance_by_area", part["ecl"].sum(), str(area), len(part)))
        balance = part["balance"].sum()
        later = part.loc[part["stage"] >= 2, "balance"].sum()
        share = later / balance if balance > 0 else float("nan")
        rows.append(_row(stamp, "stage23_share_by_area", share, str(area), len(part)))
    for ratio in record["ratios_modelled"]:
        name = "loan_provision_ratio" if ratio["name"] == "loan_provision" else ratio["name"]
        value = float("nan") if ratio["value"] is None else ratio["value"]
        rows.append(_row(stamp, name, value, n=len(loans)))
    modelled = float(record["allowance"]["modelled"])
    figures = pd.concat(
        [pd.DataFrame(rows), overlay_figures(as_of, modelled, approved, proposed, len(loans))],
        ignore_index=True,
    )
    return figures

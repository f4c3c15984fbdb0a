"""The allowance movement between two months, IFRS 7 style (35H-35I).

Single responsibility: explain why the allowance moved, by loan: loans new this month, loans
repaid or derecognised since last month, loans that moved between stages (their whole change
in ECL, named by the transfer), remeasurement of loans that kept their stage, and the change
in approved overlays. The lines sum exactly to the change in the booked allowance: every
loan's change is counted once, in the first line that applies.
"""

from __future__ import annotations

import pandas as pd

OPENING, CLOSING = "opening allowance", "closing allowance"


def movement_table(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    overlays_previous: float = 0.0,
    overlays_current: float = 0.0,
) -> pd.DataFrame:
    """Lines ``movement`` and ``amount`` (yuan), from the opening to the closing allowance.

    ``previous`` and ``current`` are the per-loan results of two months (``loan_id``,
    ``stage``, ``ecl``); the overlays are the approved totals of each month.
    """
    before = previous.set_index("loan_id")[["stage", "ecl"]]
    after = current.set_index("loan_id")[["stage", "ecl"]]
    both = before.join(after, how="inner", lsuffix="_before", rsuffix="_after")
    new = after.loc[~after.index.isin(before.index), "ecl"].sum()
    gone = before.loc[~before.index.isin(after.index), "ecl"].sum()
    change = both["ecl_after"] - both["ecl_before"]
    moved = both["stage_before"] != both["stage_after"]
    lines: list[tuple[str, float]] = [
        (OPENING, float(before["ecl"].sum()) + overlays_previous),
        ("new loans", float(new)),
        ("repaid or derecognised", -float(gone)),
    ]
    transfers = (
        change[moved]
        .groupby([both.loc[moved, "stage_before"], both.loc[moved, "stage_after"]])
        .sum()
    )
    for (a, b), amount in transfers.sort_index().items():
        lines.append((f"transfer stage {a} to stage {b}", float(amount)))
    lines.append(("remeasurement, same stage", float(change[~moved].sum())))
    lines.append(("overlays approved, net", overlays_current - overlays_previous))
    lines.append((CLOSING, float(after["ecl"].sum()) + overlays_current))
    return pd.DataFrame(lines, columns=["movement", "amount"])

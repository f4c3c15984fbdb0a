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


#: The segment dimensions the allowance is compared by between two months (monitoring's,
#: crossed one included: a shock to one industry in one area shows there first).
SEGMENT_DIMENSIONS = ("area x industry", "area", "industry", "borrower_type")


def _with_crossed(frame: pd.DataFrame) -> pd.DataFrame:
    crossed = frame["area"].astype(str) + " x " + frame["industry"].astype(str)
    return frame.assign(**{"area x industry": crossed})


def segment_changes(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    dimensions: tuple[str, ...] = SEGMENT_DIMENSIONS,
    min_loans: int = 100,
) -> pd.DataFrame:
    """The allowance of every segment in both months and its change, ranked by the rise of
    its coverage (allowance per yuan of balance), largest first, among segments of at least
    ``min_loans`` loans before (smaller ones follow: a dozen loans double their allowance by
    chance): where credit risk rose, not only where the book grew.

    Columns ``segment`` (``area=deqing``, as monitoring names segments), ``loans_before``,
    ``loans_after``, ``balance_before``, ``balance_after``, ``ecl_before``, ``ecl_after``,
    ``change`` (yuan), ``change_share`` (change over ``ecl_before``; NaN for a segment new
    this month), ``coverage_before``, ``coverage_after`` (ECL / balance), ``coverage_rise``
    (relative), ``stage23_before`` and ``stage23_after`` (share of the segment's loans in
    stages 2 and 3).
    """
    previous, current = _with_crossed(previous), _with_crossed(current)
    parts = []
    for dimension in dimensions:
        sides = []
        for frame, side in ((previous, "before"), (current, "after")):
            grouped = frame.assign(later=frame["stage"] >= 2).groupby(dimension, observed=True)
            sides.append(
                grouped.agg(
                    **{
                        f"loans_{side}": ("loan_id", "size"),
                        f"balance_{side}": ("balance", "sum"),
                        f"ecl_{side}": ("ecl", "sum"),
                        f"stage23_{side}": ("later", "mean"),
                    }
                )
            )
        joined = sides[0].join(sides[1], how="outer")
        joined.index = [f"{dimension}={v}" for v in joined.index]
        parts.append(joined)
    table = pd.concat(parts).rename_axis("segment").reset_index()
    for side in ("before", "after"):
        for column in (f"loans_{side}", f"balance_{side}", f"ecl_{side}"):
            table[column] = table[column].fillna(0)
        balance = table[f"balance_{side}"]
        table[f"coverage_{side}"] = table[f"ecl_{side}"] / balance.where(balance > 0)
    table["change"] = table["ecl_after"] - table["ecl_before"]
    table["change_share"] = table["change"] / table["ecl_before"].where(table["ecl_before"] > 0)
    before = table["coverage_before"]
    table["coverage_rise"] = table["coverage_after"] / before.where(before > 0) - 1.0
    table["_small"] = table["loans_before"] < min_loans
    ordered = table.sort_values(
        ["_small", "coverage_rise", "change"], ascending=[True, False, False], na_position="last"
    )
    return ordered.drop(columns="_small").reset_index(drop=True)

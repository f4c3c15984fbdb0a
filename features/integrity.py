"""Cross-table rules of the raw-table contract: references between tables and their dates.

A table can pass its own schema and still contradict another: a loan of a borrower the bank
did not send, a repayment due before its loan was granted, a renewal of a loan that does not
exist. Each rule here is a pure function from DataFrames to a list of
:class:`~features.validation.Violation`, reporting the keys of the offending rows of the
referring (child) table.

The functions expect frames as the validator hands them on (``features.schemas.conform_dtypes``:
ids ``category``, dates ``datetime64[ns]``). Look-ups go through the categories of the child's
key column, not its rows, so checking 17 million signal rows against 100,000 borrowers costs one
hash look-up per distinct borrower plus one array take.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from features.keys import parent_positions
from features.validation import Violation, rows_violation

Frames = Mapping[str, pd.DataFrame]

#: Rounding slack when comparing a repayment's outstanding balance with its loan amount.
BALANCE_TOLERANCE = 1.000001


@dataclass(frozen=True)
class CrossTableRule:
    """A cross-table rule and the columns it reads.

    Parameters
    ----------
    name : str
        What the rule checks, for reports when it cannot be evaluated.
    needs : mapping of str to tuple of str
        Columns read, per table; the rule is skipped when one is absent (missing, unreadable
        or of the wrong type: that is reported already).
    run : callable
        ``frames -> list[Violation]``.
    """

    name: str
    needs: Mapping[str, tuple[str, ...]]
    run: Callable[[Frames], list[Violation]]

    def applies_to(self, frames: Frames) -> bool:
        """True when every table and column the rule reads is present."""
        return all(
            table in frames and set(columns) <= set(frames[table].columns)
            for table, columns in self.needs.items()
        )


def cross_table_violations(frames: Frames) -> list[Violation]:
    """Run every cross-table rule whose tables and columns are present in ``frames``."""
    return [v for rule in cross_table_rules() if rule.applies_to(frames) for v in rule.run(frames)]


@cache
def cross_table_rules() -> tuple[CrossTableRule, ...]:
    """All cross-table rules, in report order."""
    rules: list[CrossTableRule] = []
    for child in ("party_ratings", "loans", "operating_signals", "events"):
        rules.append(
            CrossTableRule(
                f"{child}.borrower_id exists",
                {"borrowers": ("borrower_id",), child: ("borrower_id",)},
                _borrower_rule(child),
            )
        )
    rules.append(
        CrossTableRule(
            "repayments.loan_id exists",
            {"loans": ("loan_id",), "repayments": ("loan_id",)},
            lambda f: loan_exists(f["loans"], f["repayments"]),
        )
    )
    for child, column in (("loans", "origination_date"), ("party_ratings", "award_date")):
        rules.append(
            CrossTableRule(
                f"{child}.{column} after founding",
                {"borrowers": ("borrower_id", "founding_date"), child: ("borrower_id", column)},
                _founding_rule(child, column),
            )
        )
    rules += [
        CrossTableRule(
            "loans.renewal_of",
            {"loans": ("loan_id", "borrower_id", "origination_date", "renewal_of")},
            lambda f: renewal_of_valid(f["loans"]),
        ),
        CrossTableRule(
            "repayments.due_date after origination",
            {"loans": ("loan_id", "origination_date"), "repayments": ("loan_id", "due_date")},
            lambda f: due_after_origination(f["loans"], f["repayments"]),
        ),
        CrossTableRule(
            "repayments.outstanding_balance within amount",
            {"loans": ("loan_id", "amount"), "repayments": ("loan_id", "outstanding_balance")},
            lambda f: balance_within_amount(f["loans"], f["repayments"]),
        ),
    ]
    return tuple(rules)


def _borrower_rule(table: str) -> Callable[[Frames], list[Violation]]:
    return lambda frames: borrower_exists(frames["borrowers"], frames[table], table)


def _founding_rule(table: str, column: str) -> Callable[[Frames], list[Violation]]:
    return lambda frames: after_founding(frames["borrowers"], frames[table], table, column)


def borrower_exists(borrowers: pd.DataFrame, child: pd.DataFrame, table: str) -> list[Violation]:
    """Rows of ``child`` whose borrower_id is not a borrower (rule ``borrower_exists``)."""
    ids = child["borrower_id"]
    unknown = (parent_positions(ids, borrowers["borrower_id"]) < 0) & ids.notna().to_numpy()
    what = "with a borrower_id not in borrowers"
    return _listed(rows_violation(table, "borrower_id", "borrower_exists", what, child, unknown))


def loan_exists(loans: pd.DataFrame, repayments: pd.DataFrame) -> list[Violation]:
    """Repayment rows whose loan_id is not a loan (rule ``loan_exists``)."""
    ids = repayments["loan_id"]
    unknown = (parent_positions(ids, loans["loan_id"]) < 0) & ids.notna().to_numpy()
    what = "with a loan_id not in loans"
    return _listed(
        rows_violation("repayments", "loan_id", "loan_exists", what, repayments, unknown)
    )


def after_founding(
    borrowers: pd.DataFrame, child: pd.DataFrame, table: str, column: str
) -> list[Violation]:
    """Rows of ``child`` dated (``column``) before their borrower was founded."""
    parent = parent_positions(child["borrower_id"], borrowers["borrower_id"])
    founded = _take(borrowers["founding_date"].to_numpy(dtype="datetime64[ns]"), parent)
    when = child[column].to_numpy(dtype="datetime64[ns]")
    early = ~np.isnat(founded) & ~np.isnat(when) & (when < founded)
    what = "dated before the borrower's founding_date"
    return _listed(rows_violation(table, column, "after_founding", what, child, early))


def renewal_of_valid(loans: pd.DataFrame) -> list[Violation]:
    """A set ``renewal_of`` names an existing, strictly earlier loan of the same borrower.

    Three rules: ``renewal_of_exists``, ``renewal_of_same_borrower``, ``renewal_of_earlier``
    (a loan renewing itself breaks the last).
    """
    renews = loans["renewal_of"]
    parent = parent_positions(renews, loans["loan_id"])
    found = parent >= 0
    unknown = renews.notna().to_numpy() & ~found
    borrower = _group_codes(loans["borrower_id"])
    parent_borrower = _take(borrower, parent, fill=-1)
    other = found & (borrower >= 0) & (parent_borrower >= 0) & (borrower != parent_borrower)
    start = loans["origination_date"].to_numpy(dtype="datetime64[ns]")
    parent_start = _take(start, parent)
    known = ~np.isnat(start) & ~np.isnat(parent_start)
    not_earlier = found & known & (parent_start >= start)
    checks = (
        ("renewal_of_exists", "renewing a loan_id not in loans", unknown),
        ("renewal_of_same_borrower", "renewing a loan of another borrower", other),
        ("renewal_of_earlier", "renewing a loan not originated strictly earlier", not_earlier),
    )
    return [
        v
        for rule, what, rows in checks
        if (v := rows_violation("loans", "renewal_of", rule, what, loans, rows)) is not None
    ]


def due_after_origination(loans: pd.DataFrame, repayments: pd.DataFrame) -> list[Violation]:
    """Repayment rows due on or before their loan's origination date."""
    parent = parent_positions(repayments["loan_id"], loans["loan_id"])
    start = _take(loans["origination_date"].to_numpy(dtype="datetime64[ns]"), parent)
    due = repayments["due_date"].to_numpy(dtype="datetime64[ns]")
    early = ~np.isnat(start) & ~np.isnat(due) & (due <= start)
    what = "due on or before the loan's origination_date"
    return _listed(
        rows_violation("repayments", "due_date", "due_after_origination", what, repayments, early)
    )


def balance_within_amount(loans: pd.DataFrame, repayments: pd.DataFrame) -> list[Violation]:
    """Repayment rows whose outstanding balance exceeds the loan amount (beyond rounding)."""
    parent = parent_positions(repayments["loan_id"], loans["loan_id"])
    amount = _take(loans["amount"].to_numpy(dtype="float64", na_value=np.nan), parent)
    balance = repayments["outstanding_balance"].to_numpy(dtype="float64", na_value=np.nan)
    above = balance > amount * BALANCE_TOLERANCE  # NaN compares False
    what = "with an outstanding_balance above the loan amount"
    rule = "balance_within_amount"
    return _listed(
        rows_violation("repayments", "outstanding_balance", rule, what, repayments, above)
    )


def _take(values: np.ndarray, positions: np.ndarray, fill: object = None) -> np.ndarray:
    """``values[positions]`` with ``fill`` (NaT / NaN by default) where the position is -1."""
    if fill is None:
        fill = np.datetime64("NaT", "ns") if values.dtype.kind == "M" else np.nan
    return np.append(values, np.asarray([fill], dtype=values.dtype))[positions]


def _group_codes(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype="int64")
    return pd.factorize(series)[0].astype("int64")


def _listed(violation: Violation | None) -> list[Violation]:
    return [] if violation is None else [violation]

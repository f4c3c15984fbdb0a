"""The repayments table as sorted arrays: one index serves features and labels.

Statements are sorted once by (loan, month) and keyed ``loan code * 2**22 + month``, so "the
last statement of this loan due by as_of" is one binary search and a window of months is a few
gathers from there, for one loan or for millions of snapshot rows alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.months import month_index
from features.severity import severity_from_dpd

_SHIFT = 1 << 22  # key = loan code * _SHIFT + month


@dataclass(frozen=True)
class StatementIndex:
    """The repayments table as sorted arrays keyed by (loan code, month)."""

    loan: np.ndarray
    month: np.ndarray
    instalment: np.ndarray  # instalment_no: statements of the loan up to and including this one
    dpd: np.ndarray
    due: np.ndarray
    paid: np.ndarray
    balance: np.ndarray
    severity: np.ndarray
    status: np.ndarray
    key: np.ndarray
    missed_cum: np.ndarray
    partial_cum: np.ndarray
    cure_cum: np.ndarray

    @classmethod
    def build(cls, repayments: pd.DataFrame, loan_codes: np.ndarray) -> StatementIndex:
        """Index ``repayments`` whose rows belong to loans with the given integer codes."""
        if len(repayments) == 0:
            return cls._of_no_loan()
        month = month_index(repayments["due_date"])
        order = np.lexsort((month, loan_codes))
        loan = loan_codes[order].astype(np.int64)
        month = month[order]
        dpd = repayments["dpd"].to_numpy()[order]
        due = repayments["amount_due"].to_numpy()[order]
        paid = repayments["amount_paid"].to_numpy()[order]
        status = repayments["status"].to_numpy(dtype=object)[order]
        owed = due > 0
        missed = owed & (paid < 0.01 * due)
        partial = owed & ~missed & (paid < 0.99 * due)
        prev_late = np.zeros(loan.size, dtype=bool)
        prev_late[1:] = (dpd[:-1] > 0) & (loan[1:] == loan[:-1])
        cure = prev_late & (dpd == 0)
        return cls(
            loan=loan,
            month=month,
            instalment=repayments["instalment_no"].to_numpy()[order],
            dpd=dpd,
            due=due,
            paid=paid,
            balance=repayments["outstanding_balance"].to_numpy()[order],
            severity=severity_from_dpd(dpd, status),
            status=status,
            key=loan * _SHIFT + month,
            missed_cum=np.concatenate([[0], np.cumsum(missed)]),
            partial_cum=np.concatenate([[0], np.cumsum(partial)]),
            cure_cum=np.concatenate([[0], np.cumsum(cure)]),
        )

    @classmethod
    def _of_no_loan(cls) -> StatementIndex:
        """One placeholder statement of loan code -1 in month -1, for tables with none.

        Every lookup of a real loan misses it, and gathers at the clipped positions ``at``
        returns stay in bounds, so a request without any statement yet (a borrower's first
        loan in its origination month) needs no special case; no month counts as data.
        """
        zero = np.zeros(1)
        return cls(
            loan=np.array([-1]),
            month=np.array([-1]),
            instalment=np.zeros(1, dtype=np.int64),
            dpd=np.zeros(1, dtype=np.int64),
            due=zero,
            paid=zero,
            balance=zero,
            severity=np.zeros(1, dtype=np.int8),
            status=np.array([""], dtype=object),
            key=np.array([-_SHIFT - 1]),
            missed_cum=np.zeros(2, dtype=np.int64),
            partial_cum=np.zeros(2, dtype=np.int64),
            cure_cum=np.zeros(2, dtype=np.int64),
        )

    def upto(self, loan: np.ndarray, month: np.ndarray | int) -> np.ndarray:
        """Position after the last statement of ``loan`` due in or before ``month``."""
        return np.searchsorted(self.key, loan * _SHIFT + month, side="right")

    def at(
        self,
        pos: np.ndarray,
        loan: np.ndarray,
        first_month: np.ndarray | int,
        last_month: np.ndarray | int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which ``pos`` hold a statement of ``loan`` due in months [first, last].

        Returns the mask and the positions clipped into range (safe to index with).
        """
        inside = (pos >= 0) & (pos < self.loan.size)
        safe = np.clip(pos, 0, max(self.loan.size - 1, 0))
        if self.loan.size == 0:
            return np.zeros(pos.shape, dtype=bool), safe
        ok = inside & (self.loan[safe] == loan)
        ok &= (self.month[safe] >= first_month) & (self.month[safe] <= last_month)
        return ok, safe

    def worst_ahead(self, loan: np.ndarray, month: np.ndarray, horizon: int) -> np.ndarray:
        """Worst severity of ``loan``'s statements due in months (month, month + horizon]."""
        start = self.upto(loan, month)
        worst = np.zeros(loan.size, dtype=np.int8)
        for step in range(horizon):
            ok, pos = self.at(start + step, loan, month + 1, month + horizon)
            worst = np.maximum(worst, np.where(ok, self.severity[pos], 0).astype(np.int8))
        return worst

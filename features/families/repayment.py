"""Repayment features: what the bank's own statements said by ``as_of``.

A snapshot row finds its loan's last statement due on or before ``as_of`` with one binary
search in the ``StatementIndex``, and every window ("worst DPD over the last 6 months") is a
handful of gathers from there. A statement dated after ``as_of`` is never reached, which is
what makes the features point-in-time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families import Columns
from features.statements import StatementIndex

WINDOWS = (3, 6, 12)


def repayment_features(
    grid: pd.DataFrame, statements: StatementIndex, loans: pd.DataFrame
) -> Columns:
    """Repayment family for every snapshot row.

    ``grid`` carries ``loan_code`` (row of ``loans``) and ``as_of_month``; ``loans`` has
    ``amount``, ``term_months``, ``origination_month`` and ``previous_loan_code`` (-1 if not a
    renewal).
    """
    loan = grid["loan_code"].to_numpy()
    month = grid["as_of_month"].to_numpy()
    end = statements.upto(loan, month)
    n = loan.size
    amount = loans["amount"].to_numpy()[loan]

    last_ok, last = statements.at(end - 1, loan, month - 10_000, month)
    out: dict[str, np.ndarray] = {
        "dpd_now": np.where(last_ok, statements.dpd[last], 0),
        "statements_so_far": np.zeros(n, dtype=np.int64),
    }
    worst = {k: np.zeros(n, dtype=np.int64) for k in WINDOWS}
    for back in range(max(WINDOWS)):
        ok, pos = statements.at(end - 1 - back, loan, month - max(WINDOWS) + 1, month)
        value = np.where(ok, statements.dpd[pos], 0)
        for k in WINDOWS:
            inside = ok & (statements.month[pos] > month - k)
            worst[k] = np.maximum(worst[k], np.where(inside, value, 0))
    for k in WINDOWS:
        out[f"worst_dpd_{k}m"] = worst[k]

    start_all = statements.upto(loan, month - 10_000)
    out["statements_so_far"] = end - start_all
    start_12 = statements.upto(loan, month - 12)
    out["missed_instalments_12m"] = statements.missed_cum[end] - statements.missed_cum[start_12]
    out["partial_payments_12m"] = statements.partial_cum[end] - statements.partial_cum[start_12]
    out["cures_12m"] = statements.cure_cum[end] - statements.cure_cum[start_12]

    # Months since the last statement that was past due (NaN if this loan never was).
    since = np.full(n, np.nan)
    remaining = np.ones(n, dtype=bool)
    for back in range(max(WINDOWS) * 3):
        ok, pos = statements.at(end - 1 - back, loan, month - 10_000, month)
        hit = remaining & ok & (statements.dpd[pos] > 0)
        since[hit] = (month - statements.month[pos])[hit]
        remaining &= ~hit & ok
        if not remaining.any():
            break
    out["months_since_delinquent"] = since
    out["ever_delinquent"] = ~np.isnan(since) | (worst[12] > 0)

    balance = np.where(last_ok, statements.balance[last], amount)
    out["outstanding_balance"] = balance
    out["utilisation"] = balance / amount
    ok6, pos6 = statements.at(statements.upto(loan, month - 6) - 1, loan, month - 10_000, month - 6)
    balance6 = np.where(ok6, statements.balance[pos6], amount)
    out["utilisation_change_6m"] = (balance - balance6) / amount

    on_book = month - loans["origination_month"].to_numpy()[loan]
    out["months_on_book"] = on_book
    out["remaining_term_months"] = loans["term_months"].to_numpy()[loan] - on_book
    out["renewed_from_delinquent_loan"] = _renewed_from_delinquent(loans, statements)[loan]
    return out


def _renewed_from_delinquent(loans: pd.DataFrame, statements: StatementIndex) -> np.ndarray:
    """Whether each loan renewed one past due in its last 3 statements (借新还旧).

    Only the renewed loan's statements up to this loan's origination month are read, all of
    them known before any ``as_of`` at which this loan exists.
    """
    previous = loans["previous_loan_code"].to_numpy()
    flag = np.zeros(previous.size, dtype=bool)
    renewal = previous >= 0
    if not renewal.any():
        return flag
    prev = previous[renewal]
    until = loans["origination_month"].to_numpy()[renewal]
    end = statements.upto(prev, until)
    seen = np.zeros(prev.size, dtype=bool)
    for back in range(3):
        ok, pos = statements.at(end - 1 - back, prev, until - 10_000, until)
        seen |= ok & (statements.dpd[pos] > 0)
    flag[renewal] = seen
    return flag

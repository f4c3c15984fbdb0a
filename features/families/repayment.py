"""Repayment features: what the bank's own statements said by ``as_of``.

A snapshot row finds its loan's last statement due on or before ``as_of`` with one binary
search in the ``StatementIndex``, and every window ("worst DPD over the last 6 months") is a
handful of gathers from there. A statement dated after ``as_of`` is never reached, which is
what makes the features point-in-time.

No feature reads a statement due more than ``HISTORY_MONTHS`` (24) months before ``as_of``: an
online request carries only that much of the loan's history, and a feature that looked further
back would score the same loan differently online and in training. The count of statements so
far therefore comes from the instalment number, and delinquency history is "in the last 24
months", never "ever". The renewal flag is the one exception (see ``_renewed_from_delinquent``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families import Columns
from features.months import HISTORY_MONTHS
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
    first = month - HISTORY_MONTHS + 1  # the earliest statement month any feature reads

    last_ok, last = statements.at(end - 1, loan, first, month)
    out: dict[str, np.ndarray] = {
        "dpd_now": np.where(last_ok, statements.dpd[last], 0),
        # Instalments are numbered 1..n without gaps, so the last one's number counts them all
        # without reading the old statements themselves.
        "statements_so_far": np.where(last_ok, statements.instalment[last], 0),
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

    start_12 = statements.upto(loan, month - 12)
    out["missed_instalments_12m"] = statements.missed_cum[end] - statements.missed_cum[start_12]
    out["partial_payments_12m"] = statements.partial_cum[end] - statements.partial_cum[start_12]
    out["cures_12m"] = statements.cure_cum[end] - statements.cure_cum[start_12]

    since = _months_since_delinquent(statements, loan, month, end)
    out["months_since_delinquent"] = since
    out["delinquent_24m"] = ~np.isnan(since)  # the window is HISTORY_MONTHS = 24

    balance = np.where(last_ok, statements.balance[last], amount)
    out["outstanding_balance"] = balance
    out["utilisation"] = balance / amount
    ok6, pos6 = statements.at(statements.upto(loan, month - 6) - 1, loan, first, month - 6)
    balance6 = np.where(ok6, statements.balance[pos6], amount)
    out["utilisation_change_6m"] = (balance - balance6) / amount

    on_book = month - loans["origination_month"].to_numpy()[loan]
    out["months_on_book"] = on_book
    out["remaining_term_months"] = loans["term_months"].to_numpy()[loan] - on_book
    out["renewed_from_delinquent_loan"] = _renewed_from_delinquent(loans, statements)[loan]
    return out


def _months_since_delinquent(
    statements: StatementIndex, loan: np.ndarray, month: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Months since the loan's last past-due statement within the last ``HISTORY_MONTHS``.

    NaN if no statement in that window was past due: an older delinquency is outside the
    history a request carries, so it cannot count here without making online and batch
    scores differ. ``end`` is ``statements.upto(loan, month)``.
    """
    since = np.full(loan.size, np.nan)
    remaining = np.ones(loan.size, dtype=bool)
    for back in range(HISTORY_MONTHS):  # at most one statement per month
        ok, pos = statements.at(end - 1 - back, loan, month - HISTORY_MONTHS + 1, month)
        hit = remaining & ok & (statements.dpd[pos] > 0)
        since[hit] = (month - statements.month[pos])[hit]
        remaining &= ~hit & ok
        if not remaining.any():
            break
    return since


def _renewed_from_delinquent(loans: pd.DataFrame, statements: StatementIndex) -> np.ndarray:
    """Whether each loan renewed one past due in its last 3 statements (借新还旧).

    Reads the renewed loan's last 3 statements due in or before this loan's origination month,
    all known before any ``as_of`` at which this loan exists. They are read *whatever their
    age*: a renewal is often years old, and whether it rolled over arrears stays a warning sign
    for as long as the loan runs. This is the one feature that may reach beyond
    ``HISTORY_MONTHS``, so a request must carry those 3 statements of the renewed loan
    (``features.snapshots.recent_history`` keeps them).
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

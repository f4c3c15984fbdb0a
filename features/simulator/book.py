"""The loan book: originations, renewals and the monthly repayment statements.

Every borrower holds at most one open loan at a time. The simulation steps month by month and
is vectorized over borrowers (a loop of ``n_months`` iterations, not one per borrower-month).
All random draws are made up front as (borrower x month) or (borrower x loan slot) arrays, so a
borrower's history depends only on the seed and on its own latent path: a scenario that shocks
one segment leaves every other borrower's loans byte-identical (common random numbers), which
is what lets tests attribute a change in default rates to the shock alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulator.calendar import Calendar
from features.simulator.config import BookParams, HazardParams
from features.simulator.latent import LatentPaths
from features.simulator.population import Population
from features.simulator.transitions import (
    CHARGE_OFF,
    evergreen_probability,
    outgoing,
    restructure_probability,
    sigmoid,
)
from features.vocab import AREAS, BANKS, BORROWER_TYPES, LOAN_STATUSES, OUTSIDE_PILOT, SIZES

STATUS = {name: code for code, name in enumerate(LOAN_STATUSES)}
MIN_DUE_DAY, MAX_DUE_DAY = 5, 20


@dataclass(frozen=True)
class Book:
    """Column arrays of the loans and statements, plus what the oracle needs per open month."""

    loans: dict[str, np.ndarray]
    statements: dict[str, np.ndarray]
    open_months: dict[str, np.ndarray]


class _Draws:
    """All uniforms of the book, drawn once in a fixed order."""

    def __init__(self, rng: np.random.Generator, n: int, n_months: int, n_slots: int) -> None:
        per_month = (n, n_months)
        per_slot = (n, n_slots)
        self.first_origination = rng.random(n)
        self.transition = rng.random(per_month)
        self.evergreen = rng.random(per_month)
        self.restructure = rng.random(per_month)
        self.payment = rng.random(per_month)
        self.renew = rng.random(per_month)
        self.come_back = rng.random(per_month)
        self.gap = rng.integers(2, 10, size=per_month)
        self.term = rng.random(per_slot)
        self.amount = rng.standard_normal(per_slot)
        self.growth = rng.random(per_slot)
        self.rate = rng.standard_normal(per_slot)
        self.discount = rng.random(per_slot)
        self.product = rng.random(per_slot)
        self.bank = rng.random(per_slot)
        self.due_day = rng.integers(MIN_DUE_DAY, MAX_DUE_DAY + 1, size=per_slot)


def annuity_payment(principal: np.ndarray, annual_rate: np.ndarray, term: np.ndarray) -> np.ndarray:
    """Equal monthly instalment repaying ``principal`` over ``term`` months."""
    r = annual_rate / 12.0
    return principal * r / (1.0 - (1.0 + r) ** (-term))


def annuity_balance(
    principal: np.ndarray, annual_rate: np.ndarray, payment: np.ndarray, paid: np.ndarray
) -> np.ndarray:
    """Principal outstanding after ``paid`` instalments of an annuity."""
    growth = (1.0 + annual_rate / 12.0) ** paid
    return np.maximum(principal * growth - payment * (growth - 1.0) / (annual_rate / 12.0), 0.0)


def miss_intercept(
    population: Population, idx: np.ndarray, origination_day: np.ndarray, params: HazardParams
) -> np.ndarray:
    """Segment part of the miss hazard of loans originated to borrowers ``idx``."""
    by_type = np.array([params.miss_intercept[t] for t in BORROWER_TYPES])
    by_size = np.array([params.size_shift[s] for s in SIZES])
    young = (origination_day - population.founding_day[idx]) < 3 * 365
    outside = population.area[idx] == AREAS.index(OUTSIDE_PILOT)
    return (
        by_type[population.borrower_type[idx]]
        + by_size[population.size[idx]]
        + params.young_firm_shift * young
        + params.outside_pilot_shift * outside
    )


def simulate_book(
    population: Population,
    latent: LatentPaths,
    calendar: Calendar,
    hazard: HazardParams,
    terms: BookParams,
    rng: np.random.Generator,
) -> Book:
    """Run the book over the window; returns loans, statements and open loan-months."""
    n, n_months = population.base_credit.shape[0], calendar.n_months
    n_slots = n_months // 12 + 3
    draws = _Draws(rng, n, n_months, n_slots)
    month_start = calendar.month_start_day
    month_end = calendar.month_end_day
    c = calendar.col

    # Per-borrower state of the open loan.
    has_loan = np.zeros(n, dtype=bool)
    slot = np.full(n, -1)
    orig_m = np.zeros(n, dtype=np.int64)
    term = np.zeros(n, dtype=np.int64)
    amount = np.zeros(n)
    rate = np.zeros(n)
    instalment = np.zeros(n)
    due_day = np.zeros(n, dtype=np.int64)
    intercept = np.zeros(n)
    k = np.zeros(n, dtype=np.int64)
    unpaid = np.zeros(n, dtype=np.int64)
    horizon = max(n_months - 6, 1)
    next_orig = np.floor(horizon * draws.first_origination**terms.first_origination_skew)
    next_orig = next_orig.astype(np.int64)
    renewal_of = np.full(n, -1)

    loans: list[dict[str, np.ndarray]] = []
    statements: list[dict[str, np.ndarray]] = []
    open_months: list[dict[str, np.ndarray]] = []
    type_terms = np.array([np.cumsum(terms.term_probs[t]) for t in BORROWER_TYPES])
    term_choices = np.asarray(terms.term_choices)
    medians = np.array([[terms.median_amount[t][s] for s in SIZES] for t in BORROWER_TYPES])
    ordinary_rate = np.array([terms.ordinary_rate[t] for t in BORROWER_TYPES])
    individual = np.isin(
        population.borrower_type,
        [BORROWER_TYPES.index("individual_entrepreneur"), BORROWER_TYPES.index("farmer")],
    )

    for m in range(n_months):
        # --- statements of loans originated before this month -------------------------------
        b = np.flatnonzero(has_loan & (orig_m < m))
        if b.size:
            inst = m - orig_m[b]
            due_now = inst <= term[b]
            at_maturity = inst == term[b]
            z = latent.capacity[b, c(m)]
            probs = outgoing(k[b], z, intercept[b], due_now, hazard)
            k_next = (draws.transition[b, m][:, None] > np.cumsum(probs, axis=1)[:, :-1]).sum(1)
            roll = k_next > k[b]
            a = instalment[b]
            units = np.where(due_now, k[b] + 1 - k_next, np.where(k_next == 0, unpaid[b], 0))
            u_pay = draws.payment[b, m]
            token = np.where((units == 0) & (u_pay < 0.35), u_pay / 0.35 * 0.9 * a, 0.0)
            paid = units * a + token
            unpaid_next = np.where(due_now, k_next, np.where(roll, unpaid[b], 0))

            evergreen = draws.evergreen[b, m] < evergreen_probability(k_next, at_maturity, hazard)
            restructured = ~evergreen & (
                draws.restructure[b, m] < restructure_probability(k_next, hazard)
            )
            charged_off = k_next >= CHARGE_OFF
            closed_good = ((k_next == 0) & (inst >= term[b])) | evergreen
            renewed = closed_good & (
                evergreen
                | (draws.renew[b, m] < sigmoid(hazard.renew_intercept + hazard.renew_slope * z))
            )
            paid = np.where(evergreen, (k[b] + due_now) * a, paid)

            status = np.where(k_next == 0, STATUS["current"], STATUS["delinquent"])
            status = np.where(
                closed_good, np.where(renewed, STATUS["renewed"], STATUS["repaid"]), status
            )
            status = np.where(restructured, STATUS["restructured"], status)
            status = np.where(charged_off, STATUS["charged_off"], status)

            shown_k = np.where(evergreen, 0, k_next)
            oldest_due = month_start[c(m - np.maximum(shown_k, 1) + 1)] + due_day[b] - 1
            dpd = np.where(shown_k > 0, month_end[c(m)] - oldest_due, 0)
            paid_count = np.minimum(inst, term[b]) - unpaid_next
            balance = annuity_balance(amount[b], rate[b], a, paid_count)
            balance = np.where(closed_good, 0.0, balance)

            statements.append(
                {
                    "borrower": b,
                    "slot": slot[b],
                    "instalment_no": inst,
                    "due_day": month_start[c(m)] + due_day[b] - 1,
                    "amount_due": np.where(due_now, a, 0.0),
                    "amount_paid": paid,
                    "dpd": dpd,
                    "outstanding_balance": balance,
                    "status": status,
                }
            )
            closed = closed_good | restructured | charged_off
            still = ~closed
            open_months.append(
                {
                    "borrower": b[still],
                    "slot": slot[b][still],
                    "as_of": np.full(still.sum(), m),
                    "k": k_next[still],
                    "orig_m": orig_m[b][still],
                    "term": term[b][still],
                    "intercept": intercept[b][still],
                }
            )
            k[b] = np.where(closed, 0, k_next)
            unpaid[b] = np.where(closed, 0, unpaid_next)
            has_loan[b[closed]] = False
            renew_b = b[renewed]
            next_orig[renew_b] = m
            renewal_of[renew_b] = slot[renew_b]
            leave = b[closed_good & ~renewed]
            back = draws.come_back[leave, m] < hazard.return_prob
            next_orig[leave] = np.where(back, m + draws.gap[leave, m], -1)
            renewal_of[leave] = -1
            next_orig[b[restructured | charged_off]] = -1

        # --- originations this month (first loans, returns and renewals) -------------------
        new = np.flatnonzero(~has_loan & (next_orig == m) & (slot + 1 < n_slots))
        if new.size:
            j = slot[new] + 1
            t_idx = population.borrower_type[new]
            term_new = term_choices[
                (draws.term[new, j][:, None] > type_terms[t_idx][:, :-1]).sum(1)
            ]
            base_amount = medians[t_idx, population.size[new]] * np.exp(
                terms.amount_log_sd * draws.amount[new, j]
            )
            is_renewal = renewal_of[new] >= 0
            amount_new = np.where(
                is_renewal, amount[new] * (1.0 + 0.15 * draws.growth[new, j]), base_amount
            )
            red = population.affiliated[new] & (
                draws.product[new, j] < terms.red_share_if_affiliated
            )
            cap = np.where(red & individual[new], terms.red_cap_individual, 10_000_000.0)
            amount_new = np.round(np.clip(amount_new, 10_000.0, cap), -3)
            lo, hi = terms.red_discount
            discount = np.where(red, lo + (hi - lo) * draws.discount[new, j], 1.0)
            rate_new = ordinary_rate[t_idx] * np.exp(0.08 * draws.rate[new, j]) * discount
            rate_new = np.round(np.clip(rate_new, 0.02, 0.15), 4)
            dd = draws.due_day[new, j]
            orig_day = month_start[c(m)] + dd - 1
            loans.append(
                {
                    "borrower": new,
                    "slot": j,
                    "bank": np.minimum(
                        (draws.bank[new, j] * len(BANKS)).astype(np.int64), len(BANKS) - 1
                    ),
                    "red": red,
                    "origination_day": orig_day,
                    "orig_m": np.full(new.size, m),
                    "amount": amount_new,
                    "annual_rate": rate_new,
                    "term_months": term_new,
                    "renewal_of_slot": np.where(is_renewal, slot[new], -1),
                }
            )
            has_loan[new] = True
            slot[new] = j
            orig_m[new] = m
            term[new] = term_new
            amount[new] = amount_new
            rate[new] = rate_new
            instalment[new] = annuity_payment(amount_new, rate_new, term_new)
            due_day[new] = dd
            intercept[new] = miss_intercept(population, new, orig_day, hazard)
            k[new] = 0
            unpaid[new] = 0
            renewal_of[new] = -1
            open_months.append(
                {
                    "borrower": new,
                    "slot": j,
                    "as_of": np.full(new.size, m),
                    "k": np.zeros(new.size, dtype=np.int64),
                    "orig_m": np.full(new.size, m),
                    "term": term_new,
                    "intercept": intercept[new],
                }
            )

    return Book(
        loans=_concat(loans),
        statements=_concat(statements),
        open_months=_concat(open_months),
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

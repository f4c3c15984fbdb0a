"""The loan book: applications, originations, renewals and the monthly repayment statements.

Every borrower holds at most one open loan at a time. The simulation steps month by month and
is vectorized over borrowers (a loop of ``n_months`` iterations, not one per borrower-month).
All random draws are made up front as (borrower x month) or (borrower x loan slot) arrays, so a
borrower's history depends only on the seed and on its own latent path: a scenario that shocks
one segment leaves every other borrower's loans byte-identical (common random numbers), which
is what lets tests attribute a change in default rates to the shock alone.

**Applications.** A borrower applies for its first loan, comes back after repaying (a return),
asks to renew at maturity, or re-applies after a rejection. The bank sees an *application
score*, a noisy reading of the applicant's creditworthiness that month
(``corr x c / scale + sqrt(1 - corr^2) x noise``), approves above a cut-off (a lower one for the
renewal of a performing loan), and prices and sizes the approved line from it: rate = ordinary
rate by type x ``exp(-slope x score)`` x Red Financial Credit discount x noise; amount = median
by type and size x ``exp(slope x score)`` x noise, within the caps. A rejected applicant
re-applies later with some probability; one never approved stays a borrower without a loan
(its ratings, signals and events remain: the bank keeps applicants' data). A borrower whose
loan was ever 90+ DPD is not lent to again. Renewals at maturity despite arrears (借新还旧)
bypass the score: hiding arrears is not underwriting.

**Non-performing loans.** A loan 90+ DPD stays on the book: its DPD grows month by month,
collections recover part of the balance now and then (a recovery pays down principal, not the
arrears: the loan has been called), it may be restructured or, rarely, cured, and it is written
off (status ``charged_off``, the balance left on its last statement) at the policy period
``HazardParams.write_off_months`` past due.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.simulator.calendar import Calendar, days_to_datetime
from features.simulator.config import BookParams, HazardParams
from features.simulator.latent import LatentPaths
from features.simulator.population import Population
from features.simulator.transitions import (
    DEFAULT_STATE,
    evergreen_probability,
    outgoing,
    restructure_probability,
    sigmoid,
    write_off_state,
)
from features.vocab import AREAS, BANKS, BORROWER_TYPES, LOAN_STATUSES, OUTSIDE_PILOT, SIZES

STATUS = {name: code for code, name in enumerate(LOAN_STATUSES)}
MIN_DUE_DAY, MAX_DUE_DAY = 5, 20
MIN_AMOUNT = 10_000.0
#: Why a borrower applies (the ``kind`` of an application record).
APPLICATION_KINDS = ("first", "return", "renewal", "reapply", "evergreen")
_KIND = {name: code for code, name in enumerate(APPLICATION_KINDS)}
#: Chance a missed or rolled month below 90 DPD still pays a token part of one instalment.
TOKEN_PAYMENT_PROB = 0.35


@dataclass(frozen=True)
class Book:
    """Column arrays of the loans, statements and applications, plus the oracle's open months."""

    loans: dict[str, np.ndarray]
    statements: dict[str, np.ndarray]
    open_months: dict[str, np.ndarray]
    applications: dict[str, np.ndarray]


class _Draws:
    """All uniforms of the book, drawn once in a fixed order."""

    def __init__(
        self,
        rng: np.random.Generator,
        n: int,
        n_months: int,
        n_slots: int,
        reapply_gap: tuple[int, int],
    ) -> None:
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
        self.score = rng.standard_normal(per_month)
        self.reapply = rng.random(per_month)
        self.reapply_gap = rng.integers(reapply_gap[0], reapply_gap[1] + 1, size=per_month)
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


def application_score(credit: np.ndarray, noise: np.ndarray, terms: BookParams) -> np.ndarray:
    """What the bank's scorecard reads: creditworthiness ``credit`` with noise, unit variance."""
    rho = terms.score_credit_corr
    return rho * credit / terms.score_credit_scale + np.sqrt(1.0 - rho**2) * noise


def risk_based_rate(
    ordinary: np.ndarray,
    score: np.ndarray,
    discount: np.ndarray,
    noise: np.ndarray,
    terms: BookParams,
) -> np.ndarray:
    """Annual rate: ordinary rate x risk spread from the score x Red discount x noise."""
    spread = np.exp(-terms.rate_score_slope * score)
    rate = ordinary * spread * discount * np.exp(terms.rate_log_sd * noise)
    return np.round(np.clip(rate, 0.02, 0.15), 4)


def simulate_book(
    population: Population,
    latent: LatentPaths,
    calendar: Calendar,
    hazard: HazardParams,
    terms: BookParams,
    rng: np.random.Generator,
) -> Book:
    """Run the book over the window; returns loans, statements, applications, open months."""
    n, n_months = population.base_credit.shape[0], calendar.n_months
    n_slots = n_months // 12 + 3
    draws = _Draws(rng, n, n_months, n_slots, terms.reapply_gap)
    month_start = calendar.month_start_day
    month_end = calendar.month_end_day
    c = calendar.col
    written_off = write_off_state(hazard)

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
    recovered = np.zeros(n)  # collections' recoveries on the open loan (pay down principal)
    ever_npl = np.zeros(n, dtype=bool)  # the borrower has had a loan 90+ DPD: no new lending
    score = np.zeros(n)  # application score of the open (or last) loan
    renewal_score = np.zeros(n)  # score of an approved renewal, until the new loan is booked
    horizon = max(n_months - 6, 1)
    next_orig = np.floor(horizon * draws.first_origination**terms.first_origination_skew)
    next_orig = next_orig.astype(np.int64)
    next_kind = np.full(n, _KIND["first"])
    renewal_of = np.full(n, -1)

    loans: list[dict[str, np.ndarray]] = []
    statements: list[dict[str, np.ndarray]] = []
    open_months: list[dict[str, np.ndarray]] = []
    applications: list[dict[str, np.ndarray]] = []
    type_terms = np.array([np.cumsum(terms.term_probs[t]) for t in BORROWER_TYPES])
    term_choices = np.asarray(terms.term_choices)
    medians = np.array([[terms.median_amount[t][s] for s in SIZES] for t in BORROWER_TYPES])
    ordinary_rate = np.array([terms.ordinary_rate[t] for t in BORROWER_TYPES])
    individual = np.isin(
        population.borrower_type,
        [BORROWER_TYPES.index("individual_entrepreneur"), BORROWER_TYPES.index("farmer")],
    )
    rec_lo, rec_hi = hazard.recovery_share

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
            npl = (k_next >= DEFAULT_STATE) & (k_next < written_off)
            a = instalment[b]
            units = np.where(due_now, k[b] + 1 - k_next, np.where(k_next == 0, unpaid[b], 0))
            unpaid_next = np.where(due_now, k_next, np.where(roll, unpaid[b], 0))
            paid_count = np.minimum(inst, term[b]) - unpaid_next
            scheduled = annuity_balance(amount[b], rate[b], a, paid_count)
            balance = np.maximum(scheduled - recovered[b], 0.0)
            u_pay = draws.payment[b, m]
            token = np.where(
                (units == 0) & (k_next < DEFAULT_STATE) & (u_pay < TOKEN_PAYMENT_PROB),
                u_pay / TOKEN_PAYMENT_PROB * 0.9 * a,
                0.0,
            )
            # Collections: a recovery pays down a share of the balance of a 90+ DPD loan.
            share = rec_lo + (rec_hi - rec_lo) * u_pay / max(hazard.recovery_prob, 1e-12)
            recovery = np.where(npl & (u_pay < hazard.recovery_prob), share * balance, 0.0)
            recovered_next = recovered[b] + recovery
            balance = balance - recovery
            paid = units * a + token + recovery

            evergreen = draws.evergreen[b, m] < evergreen_probability(k_next, at_maturity, hazard)
            restructured = ~evergreen & (
                draws.restructure[b, m] < restructure_probability(k_next, hazard)
            )
            charged_off = k_next >= written_off
            closed_good = ((k_next == 0) & (inst >= term[b])) | evergreen
            npl_before = ever_npl[b] | (k_next >= DEFAULT_STATE)
            asks = ~npl_before & (
                draws.renew[b, m] < sigmoid(hazard.renew_intercept + hazard.renew_slope * z)
            )
            renew_score = application_score(latent.credit[b, c(m)], draws.score[b, m], terms)
            renewal_approved = renew_score > terms.renewal_cutoff
            renewed = closed_good & (evergreen | (asks & renewal_approved))
            renewal_rejected = closed_good & ~evergreen & asks & ~renewal_approved
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
            asked = closed_good & (evergreen | asks)
            if asked.any():
                applications.append(
                    {
                        "borrower": b[asked],
                        "month": np.full(int(asked.sum()), m),
                        "kind": np.where(evergreen, _KIND["evergreen"], _KIND["renewal"])[asked],
                        "score": renew_score[asked],
                        "approved": renewed[asked],
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
            recovered[b] = np.where(closed, 0.0, recovered_next)
            ever_npl[b] = npl_before
            has_loan[b[closed]] = False
            renew_b = b[renewed]
            next_orig[renew_b] = m
            next_kind[renew_b] = np.where(evergreen[renewed], _KIND["evergreen"], _KIND["renewal"])
            renewal_of[renew_b] = slot[renew_b]
            # The score of the renewal application prices and sizes the renewed line.
            renewal_score[renew_b] = renew_score[renewed]
            leave = b[closed_good & ~renewed & ~renewal_rejected & ~npl_before]
            back = draws.come_back[leave, m] < hazard.return_prob
            next_orig[leave] = np.where(back, m + draws.gap[leave, m], -1)
            next_kind[leave] = _KIND["return"]
            renewal_of[leave] = -1
            rejected = b[renewal_rejected]
            again = draws.reapply[rejected, m] < terms.reapply_prob
            next_orig[rejected] = np.where(again, m + draws.reapply_gap[rejected, m], -1)
            next_kind[rejected] = _KIND["reapply"]
            renewal_of[rejected] = -1
            next_orig[b[restructured | charged_off | (closed_good & npl_before)]] = -1

        # --- applications this month (first loans, returns, re-applications, renewals) -------
        new = np.flatnonzero(~has_loan & (next_orig == m) & (slot + 1 < n_slots))
        if new.size:
            is_renewal = renewal_of[new] >= 0
            fresh_score = application_score(latent.credit[new, c(m)], draws.score[new, m], terms)
            new_score = np.where(is_renewal, renewal_score[new], fresh_score)
            approved = is_renewal | (new_score > terms.approval_cutoff)
            applicants = new[~is_renewal]
            applications.append(
                {
                    "borrower": applicants,
                    "month": np.full(applicants.size, m),
                    "kind": next_kind[applicants],
                    "score": new_score[~is_renewal],
                    "approved": approved[~is_renewal],
                }
            )
            turned_down = new[~approved]
            again = draws.reapply[turned_down, m] < terms.reapply_prob
            next_orig[turned_down] = np.where(again, m + draws.reapply_gap[turned_down, m], -1)
            next_kind[turned_down] = _KIND["reapply"]
            prev_score = score[new[approved]]
            new, new_score, is_renewal = new[approved], new_score[approved], is_renewal[approved]
        if new.size:
            j = slot[new] + 1
            t_idx = population.borrower_type[new]
            term_new = term_choices[
                (draws.term[new, j][:, None] > type_terms[t_idx][:, :-1]).sum(1)
            ]
            base_amount = medians[t_idx, population.size[new]] * np.exp(
                terms.amount_score_slope * new_score + terms.amount_log_sd * draws.amount[new, j]
            )
            renewed_amount = (
                amount[new]
                * (1.0 + 0.15 * draws.growth[new, j])
                * np.exp(terms.amount_score_slope * (new_score - prev_score))
            )
            amount_new = np.where(is_renewal, renewed_amount, base_amount)
            red = population.affiliated[new] & (
                draws.product[new, j] < terms.red_share_if_affiliated
            )
            cap = np.where(red & individual[new], terms.red_cap_individual, terms.max_amount)
            amount_new = np.round(np.clip(amount_new, MIN_AMOUNT, cap), -3)
            lo, hi = terms.red_discount
            discount = np.where(red, lo + (hi - lo) * draws.discount[new, j], 1.0)
            rate_new = risk_based_rate(
                ordinary_rate[t_idx], new_score, discount, draws.rate[new, j], terms
            )
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
                    "score": new_score,
                }
            )
            has_loan[new] = True
            slot[new] = j
            orig_m[new] = m
            term[new] = term_new
            amount[new] = amount_new
            rate[new] = rate_new
            score[new] = new_score
            instalment[new] = annuity_payment(amount_new, rate_new, term_new)
            due_day[new] = dd
            intercept[new] = miss_intercept(population, new, orig_day, hazard)
            k[new] = 0
            unpaid[new] = 0
            recovered[new] = 0.0
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
        applications=_concat(applications),
    )


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def applications_frame(
    applications: dict[str, np.ndarray], borrower_ids: np.ndarray, calendar: Calendar
) -> pd.DataFrame:
    """Every application the bank decided, in decision order: the ground truth of approval.

    Columns ``borrower_id``, ``month`` (first day of the application month), ``kind`` (one of
    ``APPLICATION_KINDS``), ``score`` (the application score) and ``approved``. The six raw
    tables hold only approved loans, as a bank's loan book does; this table is what tells
    approval rates and the selection of the book.
    """
    month = applications.get("month", np.zeros(0, dtype=np.int64))
    return pd.DataFrame(
        {
            "borrower_id": borrower_ids[applications.get("borrower", np.zeros(0, dtype=np.int64))],
            "month": days_to_datetime(calendar.month_start_day[calendar.col(month)]),
            "kind": pd.Categorical.from_codes(
                applications.get("kind", np.zeros(0, dtype=np.int64)),
                categories=list(APPLICATION_KINDS),
            ),
            "score": applications.get("score", np.zeros(0)),
            "approved": applications.get("approved", np.zeros(0, dtype=bool)),
        }
    )

"""Every parameter of the portfolio simulator, with its default and why.

The defaults are the *default configuration* whose base rates ``docs/simulator.md`` documents.
They are a frozen pydantic model so a run can be described, logged and reproduced as data;
nothing here is read from the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PopulationParams(_Frozen):
    """Who the borrowers are."""

    type_shares: dict[str, float] = Field(
        default={
            "private_enterprise": 0.42,
            "social_organization": 0.08,
            "individual_entrepreneur": 0.28,
            "farmer": 0.22,
        },
        description="Share of each borrower type (the widened scope adds the last two).",
    )
    area_shares: dict[str, float] = Field(
        default={
            "wuxing": 0.16,
            "nanxun": 0.13,
            "nantaihu": 0.09,
            "deqing": 0.15,
            "changxing": 0.16,
            "anji": 0.13,
            "outside_pilot": 0.18,
        },
        description="Share of borrowers per area; outside_pilot is the widened scope.",
    )
    party_quality_credit_corr: float = Field(
        0.35,
        description="Correlation of latent Party-building quality with base creditworthiness: "
        "moderate, the product's premise, not a shortcut to the outcome.",
    )
    unaffiliated_credit_shift: float = Field(
        -0.15, description="Base creditworthiness shift of borrowers with no Party affiliation."
    )


class LatentParams(_Frozen):
    """The monthly creditworthiness process c[i, m] (higher is better)."""

    macro_phi: float = 0.90
    macro_sd: float = Field(0.12, description="Innovation sd of the economy-wide AR(1) factor.")
    industry_phi: float = 0.85
    industry_sd: float = 0.10
    area_phi: float = 0.85
    area_sd: float = 0.05
    idio_phi: float = Field(0.92, description="Persistence of a borrower's own fortunes.")
    idio_stationary_sd: float = 0.55
    seasonal_amplitude: float = Field(
        0.45, description="Swing of cash flow over the farming year in seasonal industries."
    )
    capacity_weights: tuple[float, float, float] = Field(
        (0.5, 0.3, 0.2),
        description="Repayment capacity z[m] = w1*c[m-1] + w2*c[m-2] + w3*c[m-3]: cash buffers "
        "delay distress, which is why operating signals lead missed payments.",
    )


class HazardParams(_Frozen):
    """Delinquency transitions and what happens to a non-performing loan (``transitions.py``)."""

    miss_intercept: dict[str, float] = Field(
        default={
            "private_enterprise": -4.2,
            "social_organization": -4.7,
            "individual_entrepreneur": -3.8,
            "farmer": -3.65,
        },
        description="Logit of missing an instalment from current at capacity 0, by type. Set "
        "for an approved (screened) book: selection by the application score removes the "
        "weakest applicants, so the same hazards on everyone would default more.",
    )
    size_shift: dict[str, float] = Field(
        default={"micro": 0.25, "small": 0.0, "medium": -0.25},
        description="Smaller firms miss more.",
    )
    young_firm_shift: float = Field(0.30, description="Founded less than 3 years before the loan.")
    outside_pilot_shift: float = Field(0.10, description="Borrowers outside the six pilot areas.")
    miss_slope: float = Field(0.85, description="How strongly capacity lowers the miss hazard.")
    roll_intercept: tuple[float, float, float] = Field(
        (-1.9, -0.6, 0.3),
        description="Logit of rolling one bucket further from k = 1..3 months past due "
        "(rolling from k = 3 is reaching 90+ DPD).",
    )
    roll_slope: float = 0.6
    cure_share: tuple[float, float, float] = Field(
        (0.80, 0.45, 0.30),
        description="Of the mass that does not roll, the share paying all arrears, k = 1..3.",
    )
    back_share: tuple[float, float, float] = Field(
        (0.0, 0.30, 0.30),
        description="Of the mass that does not roll, the share paying two instalments (k -> k-1).",
    )
    npl_cure_intercept: float = Field(
        -4.4,
        description="Logit of a non-performing loan (90+ DPD) paying all its arrears in a month "
        "at capacity 0 (about 1.2%): cures from collections are rare.",
    )
    npl_cure_slope: float = Field(0.6, description="How strongly capacity raises that cure.")
    restructure_prob: float = Field(
        0.04,
        ge=0.0,
        le=1.0,
        description="Monthly chance a loan 60-89 DPD is restructured for distress.",
    )
    npl_restructure_prob: float = Field(
        0.015,
        ge=0.0,
        le=1.0,
        description="Monthly chance a non-performing loan (90+ DPD) is restructured: once in "
        "collections, fewer borrowers can still service a restructured plan.",
    )
    write_off_months: int = Field(
        24,
        ge=5,
        le=120,
        description="Months past due at which a non-performing loan is written off (status "
        "charged_off): the bank's policy period. Chinese banks often hold bad loans 1-3 years, "
        "until recovery is exhausted, before writing them off.",
    )
    recovery_prob: float = Field(
        0.20,
        ge=0.0,
        le=1.0,
        description="Monthly chance collections recover part of a 90+ DPD loan.",
    )
    recovery_share: tuple[float, float] = Field(
        (0.02, 0.08),
        description="A recovery pays this fraction (uniform range) of the outstanding balance; it "
        "reduces the balance, not the arrears (the loan has been called).",
    )
    evergreen_prob: float = Field(
        0.35,
        description="Chance a loan 1-89 DPD at maturity is renewed anyway (借新还旧), "
        "which hides its arrears.",
    )
    renew_intercept: float = Field(
        1.0, description="Logit of a borrower asking to renew a current loan at maturity."
    )
    renew_slope: float = 1.0
    return_prob: float = Field(0.35, description="Chance a borrower who repaid comes back later.")


class BookParams(_Frozen):
    """Loan terms, and the bank's risk-based approval, pricing and line size."""

    term_choices: tuple[int, ...] = (12, 24, 36)
    term_probs: dict[str, tuple[float, ...]] = {
        "private_enterprise": (0.5, 0.3, 0.2),
        "social_organization": (0.5, 0.3, 0.2),
        "individual_entrepreneur": (0.6, 0.3, 0.1),
        "farmer": (0.6, 0.3, 0.1),
    }
    median_amount: dict[str, dict[str, float]] = Field(
        default={
            "private_enterprise": {"micro": 1.0e6, "small": 3.0e6, "medium": 6.0e6},
            "social_organization": {"micro": 0.4e6, "small": 1.0e6, "medium": 2.0e6},
            "individual_entrepreneur": {"micro": 0.2e6, "small": 0.35e6, "medium": 0.6e6},
            "farmer": {"micro": 0.1e6, "small": 0.2e6, "medium": 0.3e6},
        },
        description="Median line of an applicant with application score 0, by type and size.",
    )
    amount_log_sd: float = 0.45
    amount_score_slope: float = Field(
        0.30,
        description="Line size = median x exp(slope x score + noise): better scores get larger "
        "lines; a renewal moves the previous line by exp(slope x change in score).",
    )
    max_amount: float = Field(10_000_000.0, description="Inclusive-loan ceiling of any line.")
    red_cap_individual: float = Field(
        300_000.0, description="Red Financial Credit line cap for Party members and farmers."
    )
    ordinary_rate: dict[str, float] = Field(
        default={
            "private_enterprise": 0.050,
            "social_organization": 0.046,
            "individual_entrepreneur": 0.062,
            "farmer": 0.058,
        },
        description="Ordinary rate of an applicant with application score 0, by type.",
    )
    rate_score_slope: float = Field(
        0.30,
        description="Risk-based spread: rate x exp(-slope x score), about a third dearer one "
        "score sd below 0.",
    )
    rate_log_sd: float = Field(0.04, description="Rate noise the score does not explain.")
    red_discount: tuple[float, float] = Field(
        (0.80, 0.92), description="Red Financial Credit rate as a fraction of the ordinary rate."
    )
    red_share_if_affiliated: float = 0.85
    first_origination_skew: float = Field(
        1.6, description="u**skew spreads first applications over the window, more early."
    )
    score_credit_corr: float = Field(
        0.80,
        gt=0.0,
        lt=1.0,
        description="Correlation of the application score with the applicant's creditworthiness "
        "c at the application month (a bank's scorecard reads credit with noise).",
    )
    score_credit_scale: float = Field(
        1.2,
        gt=0.0,
        description="Standard deviation of c in the default configuration; the score is "
        "corr x c / scale + sqrt(1 - corr^2) x noise, so it has unit variance.",
    )
    approval_cutoff: float = Field(
        -1.0,
        description="First loans, returns and re-applications are approved above this score "
        "(about 80% of applicants).",
    )
    renewal_cutoff: float = Field(
        -1.6,
        description="Renewals of a performing loan are approved above this score (most are).",
    )
    reapply_prob: float = Field(
        0.5, ge=0.0, le=1.0, description="Chance a rejected applicant applies again later."
    )
    reapply_gap: tuple[int, int] = Field(
        (3, 12), description="Months (uniform, inclusive) before a rejected applicant re-applies."
    )


class SignalParams(_Frozen):
    """Operating signals and their reporting."""

    missing_intercept: float = Field(
        -3.5,
        description="Logit of a source's month being missing at creditworthiness 0; the chance "
        "is sigmoid(missing_intercept - missing_slope * c[m]): 4% of months on the default book, "
        "1.8% of healthy (c > 0), 15% of distressed (c < -2) borrowers' months.",
    )
    missing_slope: float = Field(
        0.7, description="How strongly falling creditworthiness raises the chance of a gap."
    )
    late_intercept: float = Field(
        -4.3,
        description="Logit of a value arriving 60-120 days late at creditworthiness 0 "
        "(sigmoid(late_intercept - late_slope * c[m])): 2% of values on the default book, "
        "9% of distressed borrowers'.",
    )
    late_slope: float = 0.8
    stop_intercept: float = Field(
        -9.0,
        description="Logit of a reporting borrower stopping reporting in a month, "
        "sigmoid(stop_intercept - stop_slope * c[m]): 0.01% a month at c = 0, 3% at c = -2.5, "
        "19% below c = -3 on average.",
    )
    stop_slope: float = 2.2
    resume_prob: float = Field(
        0.08,
        description="Monthly chance a borrower that stopped reporting resumes (spells last "
        "12.5 months on average); while stopped, no source reports it.",
    )
    revenue_deviation_slope: float = 0.35
    revenue_level_slope: float = 0.15
    revenue_noise_sd: float = 0.30
    electricity_deviation_slope: float = 0.30
    electricity_noise_sd: float = 0.20
    headcount_deviation_slope: float = 0.25
    lag_days: dict[str, tuple[int, int]] = Field(
        default={
            "vat_revenue": (15, 25),
            "tax_paid": (15, 25),
            "electricity_kwh": (3, 10),
            "social_insurance_headcount": (10, 30),
            "wage_arrears": (20, 60),
            "utility_arrears": (10, 40),
        },
        description="Days after the month ends before a value is known (uniform range).",
    )


class EventParams(_Frozen):
    """Monthly logit intercept and slope on creditworthiness of each event type."""

    intercept: dict[str, float] = {
        "court_case": -6.0,
        "enforcement": -7.2,
        "administrative_penalty": -6.3,
        "legal_representative_change": -6.4,
        "executive_change": -5.6,
    }
    slope: dict[str, float] = {
        "court_case": 1.0,
        "enforcement": 1.4,
        "administrative_penalty": 0.35,
        "legal_representative_change": 0.6,
        "executive_change": 0.3,
    }
    lag_days: dict[str, tuple[int, int]] = {
        "court_case": (7, 45),
        "enforcement": (5, 30),
        "administrative_penalty": (7, 30),
        "legal_representative_change": (1, 20),
        "executive_change": (1, 20),
    }


class RatingParams(_Frozen):
    """How each area turns latent Party-building quality into its native level."""

    leniency: dict[str, float] = {
        "wuxing": 0.0,
        "nanxun": -0.3,
        "nantaihu": 0.2,
        "deqing": 0.4,
        "changxing": 0.7,
        "anji": 0.6,
        "outside_pilot": 0.0,
    }
    noise_sd: dict[str, float] = {
        "wuxing": 0.5,
        "nanxun": 0.4,
        "nantaihu": 0.6,
        "deqing": 0.5,
        "changxing": 0.7,
        "anji": 0.45,
        "outside_pilot": 0.8,
    }
    award_month: dict[str, int] = {
        "wuxing": 12,
        "nanxun": 6,
        "nantaihu": 9,
        "deqing": 7,
        "changxing": 1,
        "anji": 3,
        "outside_pilot": 11,
    }
    yearly_rating_prob: float = 0.7
    years_before_window: int = 3
    other_area_prob: float = Field(0.05, description="Rated by an area other than its own.")
    deterioration_slope: float = Field(
        0.3, description="A rating awarded in the window moves with the change in creditworthiness."
    )


class SimulationConfig(_Frozen):
    """All parameters of one simulation; defaults are the documented default configuration."""

    horizon_months: int = Field(12, description="Outcome horizon H of the ground truth.")
    population: PopulationParams = PopulationParams()
    latent: LatentParams = LatentParams()
    hazard: HazardParams = HazardParams()
    book: BookParams = BookParams()
    signals: SignalParams = SignalParams()
    events: EventParams = EventParams()
    ratings: RatingParams = RatingParams()

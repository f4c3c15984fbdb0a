"""Small books for tests: a hand-made one that fulfils the whole raw-table contract, and a
simulated one whose history runs well past the 24 months an online request carries.

The hand-made frames are built from plain Python lists (object strings, as a test or a bank
might hand them over), so validating them also exercises the conversion to the contract's
dtypes. Every call returns fresh frames that a test may mutate.
"""

from __future__ import annotations

import pandas as pd

from features.simulator import SimulationConfig, simulate_portfolio
from features.simulator.config import BookParams, HazardParams

_DEFAULT_HAZARD = HazardParams()

#: A book that tests of the history window can fail on: half the loans run 36 months (so many
#: are older than 24 months at a late as-of), arrears are more common (so some open loans were
#: past due only more than 24 months ago), and loans in arrears at maturity are mostly renewed
#: (so some renewals of past-due loans are older than 24 months).
LONG_HISTORY = SimulationConfig(
    hazard=HazardParams(
        evergreen_prob=0.9,
        miss_intercept={k: v + 1.0 for k, v in _DEFAULT_HAZARD.miss_intercept.items()},
    ),
    book=BookParams(term_probs={t: (0.4, 0.1, 0.5) for t in BookParams().term_probs}),
)


def simulate_long_history_book(n_borrowers: int = 1000, seed: int = 5) -> dict[str, pd.DataFrame]:
    """The six tables of a 48-month simulated book (2023-01 to 2026-12) under ``LONG_HISTORY``."""
    return simulate_portfolio(n_borrowers, 48, seed, config=LONG_HISTORY).tables


def make_statements(
    loan: str, first_due: str, dpds: list[int], last_status: str | None = None
) -> pd.DataFrame:
    """Monthly statements of one loan due from ``first_due`` on (the 10th of each month), one
    per entry of ``dpds``; a positive DPD is a missed, delinquent instalment, and the last
    statement may carry ``last_status`` (a write-off, a repayment)."""
    n = len(dpds)
    status = ["delinquent" if d else "current" for d in dpds]
    if last_status:
        status[-1] = last_status
    return pd.DataFrame(
        {
            "loan_id": loan,
            "instalment_no": range(1, n + 1),
            "due_date": pd.date_range(first_due, periods=n, freq="MS") + pd.Timedelta(days=9),
            "amount_due": 100.0,
            "amount_paid": [0.0 if d else 100.0 for d in dpds],
            "dpd": dpds,
            "outstanding_balance": 1000.0,
            "status": status,
        }
    )


def _dates(*values: str) -> pd.Series:
    return pd.to_datetime(pd.Series(values))


def make_valid_portfolio() -> dict[str, pd.DataFrame]:
    """The six tables of a four-borrower book, valid in every rule."""
    borrowers = pd.DataFrame(
        {
            "borrower_id": ["B0000001", "B0000002", "B0000003", "B0000004"],
            "borrower_type": ["private_enterprise", "farmer", "social_organization", "farmer"],
            "area": ["wuxing", "nantaihu", "deqing", "anji"],
            "industry": ["manufacturing", "tea_bamboo", "services", "aquaculture"],
            "founding_date": _dates("2005-06-01", "2012-03-15", "1998-11-20", "2019-04-02"),
            "size": ["small", "micro", "medium", "micro"],
            "has_party_org": [True, True, True, False],
            "party_members": [5, 3, 12, 0],
        }
    )
    party_ratings = pd.DataFrame(
        {
            "rating_id": ["R000001", "R000002", "R000003"],
            "borrower_id": ["B0000001", "B0000002", "B0000003"],
            "issuing_area": ["wuxing", "nantaihu", "deqing"],
            "native_standard": ["star5", "score100", "tier4"],
            "native_level": ["4", "87", "excellent"],
            "award_date": _dates("2022-07-01", "2022-07-01", "2021-12-20"),
            "list_level": ["city", "none", "province"],
        }
    )
    loans = pd.DataFrame(
        {
            "loan_id": ["L00000001", "L00000002", "L00000003", "L00000004"],
            "borrower_id": ["B0000001", "B0000002", "B0000001", "B0000003"],
            "bank": ["bank_1", "bank_3", "bank_1", "bank_7"],
            "product": ["red_financial_credit", "red_financial_credit", "ordinary", "ordinary"],
            "origination_date": _dates("2023-01-15", "2023-03-31", "2023-04-15", "2023-02-01"),
            "amount": [500_000.0, 80_000.0, 500_000.0, 2_000_000.0],
            "annual_rate": [0.0385, 0.0435, 0.0385, 0.05],
            "term_months": [12, 11, 6, 24],
            "maturity_date": _dates("2024-01-15", "2024-02-29", "2023-10-15", "2025-02-01"),
            "renewal_of": [None, None, "L00000001", None],
        }
    )
    repayments = pd.DataFrame(
        {
            "loan_id": ["L00000001"] * 3 + ["L00000002"] * 2 + ["L00000003"] * 2 + ["L00000004"],
            "instalment_no": [1, 2, 3, 1, 2, 1, 2, 1],
            "due_date": _dates(
                "2023-02-15",
                "2023-03-15",
                "2023-04-15",
                "2023-04-30",
                "2023-05-31",
                "2023-05-15",
                "2023-06-15",
                "2023-03-01",
            ),
            "amount_due": [1600.0, 1600.0, 501_600.0, 290.0, 290.0, 1600.0, 1600.0, 8300.0],
            "amount_paid": [1600.0, 0.0, 503_200.0, 290.0, 290.0, 1600.0, 501_600.0, 8300.0],
            "dpd": [0, 17, 0, 0, 0, 0, 0, 0],
            "outstanding_balance": [
                500_000.0,
                500_000.0,
                0.0,
                80_000.0,
                80_000.0,
                500_000.0,
                0.0,
                2_000_000.0,
            ],
            "status": [
                "current",
                "delinquent",
                "renewed",
                "current",
                "current",
                "current",
                "repaid",
                "current",
            ],
        }
    )
    operating_signals = pd.DataFrame(
        {
            "borrower_id": ["B0000001", "B0000001", "B0000001", "B0000002", "B0000004"],
            "period": _dates("2023-01-01", "2023-02-01", "2023-01-01", "2023-01-01", "2023-03-01"),
            "signal": ["vat_revenue", "vat_revenue", "electricity_kwh", "tax_paid", "wage_arrears"],
            "value": [1.2e6, 9.8e5, 41_000.0, 3_500.0, 0.0],
            "available_at": _dates(
                "2023-02-10", "2023-03-10", "2023-02-05", "2023-02-20", "2023-04-01"
            ),
        }
    )
    events = pd.DataFrame(
        {
            "event_id": ["E000001", "E000002"],
            "borrower_id": ["B0000002", "B0000003"],
            "event_type": ["court_case", "executive_change"],
            "event_date": _dates("2023-05-10", "2023-08-01"),
            "available_at": _dates("2023-05-20", "2023-08-01"),
            "amount": [50_000.0, None],
        }
    )
    return {
        "borrowers": borrowers,
        "party_ratings": party_ratings,
        "loans": loans,
        "repayments": repayments,
        "operating_signals": operating_signals,
        "events": events,
    }

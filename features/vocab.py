"""Closed vocabularies of the raw-table contract.

One place names every categorical value a bank's tables may carry (borrower types, areas,
industries, banks, statuses, signal and event kinds), so the schemas, the simulator and later the
feature pipeline agree on spelling. Values are lower-case ASCII identifiers; the Chinese terms of
the field are given in comments.
"""

from __future__ import annotations

from typing import Final

BORROWER_TYPES: Final = (
    "private_enterprise",  # 民营企业
    "social_organization",  # 社会组织
    "individual_entrepreneur",  # 个体工商户
    "farmer",  # 农户 / 新型农业经营主体
)

#: The six Huzhou areas of the pilot, then the widened scope outside it.
PILOT_AREAS: Final = (
    "wuxing",  # 吴兴区
    "nanxun",  # 南浔区
    "nantaihu",  # 南太湖新区
    "deqing",  # 德清县
    "changxing",  # 长兴县
    "anji",  # 安吉县
)
OUTSIDE_PILOT: Final = "outside_pilot"
AREAS: Final = (*PILOT_AREAS, OUTSIDE_PILOT)

INDUSTRIES: Final = (
    "manufacturing",
    "construction",
    "wholesale_retail",
    "hospitality_tourism",
    "services",
    "agriculture_crops",
    "agriculture_livestock",
    "aquaculture",
    "tea_bamboo",  # Anji white tea and bamboo
)
#: Industries whose cash flow follows the farming year.
SEASONAL_INDUSTRIES: Final = ("agriculture_crops", "aquaculture", "tea_bamboo")

SIZES: Final = (
    "micro",
    "small",
    "medium",
)  # 微型 / 小型 / 中型 (inclusive finance stops below large)

#: The seven banks of the case study, anonymised.
BANKS: Final = tuple(f"bank_{i}" for i in range(1, 8))

PRODUCTS: Final = ("red_financial_credit", "ordinary")

#: "Strong Agriculture with Science and Machinery" list membership of a rated organization.
LIST_LEVELS: Final = ("province", "city", "county", "none")

#: Status of a loan at the end of a statement month. The last four end the loan.
OPEN_STATUSES: Final = ("current", "delinquent")
TERMINAL_STATUSES: Final = ("repaid", "renewed", "charged_off", "restructured")
LOAN_STATUSES: Final = (*OPEN_STATUSES, *TERMINAL_STATUSES)

#: Operating signals ("Digital Huzhou" style government data), one value per borrower-month.
SIGNALS: Final = (
    "vat_revenue",  # VAT-invoice revenue, yuan
    "tax_paid",  # tax paid, yuan
    "electricity_kwh",  # electricity use, kWh
    "social_insurance_headcount",  # insured employees (payroll)
    "wage_arrears",  # wage arrears reported, yuan
    "utility_arrears",  # utility arrears, yuan
)

EVENT_TYPES: Final = (
    "court_case",  # defendant in a civil case
    "enforcement",  # 被执行人 (judgment enforcement)
    "administrative_penalty",
    "legal_representative_change",
    "executive_change",
)

#: Largest single line of an inclusive loan, yuan (inclusive loans are lines below 10 million).
MAX_LOAN_AMOUNT: Final = 10_000_000.0

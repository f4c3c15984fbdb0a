"""The feature contract: every model input the snapshot builder makes, its kind and its range.

This is the one allow-list of model inputs. ``models.inputs.to_model_input`` keeps exactly
these columns (a snapshot column not declared here never reaches a model), the categorical
ones with the vocabulary given here; ``/score_features`` refuses a value of the wrong kind or
outside its range by this table; monotone constraints come from ``direction``; serving's
compatibility check and the reason wording are tested against it. A new feature is declared
here first, or the tests that compare this table with what ``build_snapshots`` makes fail.

Kinds
    ``category``: a label of ``levels`` (an unknown label is scored as missing, with a note);
    ``flag``: true or false (sent as JSON true/false; stored as 0/1 by the model);
    ``count``: a whole number in ``[low, high]``; ``number``: any real number in
    ``[low, high]``. ``nullable`` says whether a missing value (``null``) is meaningful:
    months since an event that never happened, a trend without data, an unrated borrower's
    Party-building index. Ranges are what the feature code can produce from data that pass
    the raw-table contract, not what a typical book shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from features import vocab
from features.party_scales import STANDARDS
from features.schemas import MAX_ANNUAL_RATE, MAX_TERM_MONTHS, MIN_ANNUAL_RATE

Kind = Literal["category", "flag", "count", "number"]
INF: Final = float("inf")
#: Largest amount a derived yuan, kWh or headcount figure may take (the request's bound).
MAX_AMOUNT: Final = 1e13
#: Longest history a month count can span (600 statements: 50 years).
MAX_MONTHS: Final = 600
MAX_DPD: Final = 10_000


@dataclass(frozen=True)
class Feature:
    """One model input: its name, kind, range and whether risk never falls as it rises."""

    name: str
    kind: Kind
    low: float = -INF
    high: float = INF
    nullable: bool = False
    levels: tuple[str, ...] = ()
    direction: Literal[-1, 0, 1] = 0  # +1: a monotone constraint (risk never falls as it rises)


def _category(name: str, levels: tuple[str, ...]) -> Feature:
    return Feature(name, "category", nullable=True, levels=levels)


def _flag(name: str) -> Feature:
    return Feature(name, "flag", 0, 1)


def _count(
    name: str, high: float, *, low: float = 0, nullable: bool = False, direction: int = 0
) -> Feature:
    return Feature(name, "count", low, high, nullable, direction=direction)  # type: ignore[arg-type]


def _number(name: str, low: float = -INF, high: float = INF, *, nullable: bool = False) -> Feature:
    return Feature(name, "number", low, high, nullable)


_NATIVE_LEVELS: Final = tuple(
    sorted({level for standard in STANDARDS.values() for level in standard.levels})
)


def _signal_family(signal: str, trended: bool) -> tuple[Feature, ...]:
    """The features of one operating signal (``features.families.operating``)."""
    own: tuple[Feature, ...]
    if trended:
        own = (
            _number(f"{signal}_last", 0, MAX_AMOUNT, nullable=True),
            _number(f"{signal}_trend_yoy", nullable=True),
            _number(f"{signal}_trend_3v12", nullable=True),
        )
    else:
        own = (
            _number(f"{signal}_6m", 0, 6 * MAX_AMOUNT, nullable=True),
            _count(f"{signal}_months", 6, nullable=True),
        )
    return (
        *own,
        _count(f"{signal}_months_stale", MAX_MONTHS, nullable=True),
        _count(f"{signal}_missing_12m", 12),
    )


def _event_family(event: str) -> tuple[Feature, ...]:
    return (_count(f"{event}_12m", 1_000),)


FEATURES: Final[tuple[Feature, ...]] = (
    # borrower profile
    _category("borrower_type", vocab.BORROWER_TYPES),
    _category("industry", vocab.INDUSTRIES),
    _category("area", vocab.AREAS),
    _flag("in_pilot_area"),
    _category("size", vocab.SIZES),
    _flag("has_party_org"),
    _count("party_members", 100_000),
    _number("borrower_age_years", 0, 300),
    # loan terms
    _category("bank", vocab.BANKS),
    _category("product", vocab.PRODUCTS),
    _number("amount", 0, vocab.MAX_LOAN_AMOUNT),
    _number("annual_rate", MIN_ANNUAL_RATE, MAX_ANNUAL_RATE),
    _count("term_months", MAX_TERM_MONTHS, low=1),
    _flag("is_renewal"),
    # repayment
    _count("dpd_now", MAX_DPD, direction=1),
    _count("statements_so_far", MAX_MONTHS),
    _count("worst_dpd_3m", MAX_DPD, direction=1),
    _count("worst_dpd_6m", MAX_DPD, direction=1),
    _count("worst_dpd_12m", MAX_DPD, direction=1),
    _count("missed_instalments_12m", 12),
    _count("partial_payments_12m", 12),
    _count("cures_12m", 12),
    _count("months_since_delinquent", 23, nullable=True),
    _flag("delinquent_24m"),
    _number("outstanding_balance", 0, vocab.MAX_LOAN_AMOUNT),
    _number("utilisation", 0, 1.000001),
    _number("utilisation_change_6m", -1.000001, 1.000001),
    _count("months_on_book", MAX_MONTHS),
    _count("remaining_term_months", MAX_TERM_MONTHS, low=-MAX_MONTHS),
    _flag("renewed_from_delinquent_loan"),
    # operating signals, in ``vocab.SIGNALS`` order
    *(
        feature
        for signal in vocab.SIGNALS
        for feature in _signal_family(signal, not signal.endswith("_arrears"))
    ),
    # events
    *(feature for event in vocab.EVENT_TYPES for feature in _event_family(event)),
    *(_count(f"months_since_{event}", MAX_MONTHS, nullable=True) for event in vocab.EVENT_TYPES),
    # Party-building
    _number("party_index", 0, 100, nullable=True),
    _flag("party_unrated"),
    _category("party_native_level", _NATIVE_LEVELS),
    _category("party_issuing_area", vocab.AREAS),
    _category("party_list_level", vocab.LIST_LEVELS),
    _count("party_rating_age_months", MAX_MONTHS, nullable=True),
    _number("party_index_change", -100, 100, nullable=True),
    _flag("party_recent_downgrade"),
)

FEATURE_BY_NAME: Final[dict[str, Feature]] = {f.name: f for f in FEATURES}
#: Categorical features and their vocabularies (the categories every model input carries).
CATEGORY_LEVELS: Final[dict[str, tuple[str, ...]]] = {
    f.name: f.levels for f in FEATURES if f.kind == "category"
}
#: LightGBM monotone constraints by name: days past due never lower the risk.
MONOTONE: Final[dict[str, int]] = {f.name: f.direction for f in FEATURES if f.direction}


def value_problem(feature: Feature, value: object) -> str | None:
    """Why ``value`` (as JSON gives it) is not a valid value of ``feature``, or None. The text
    names the rule, never the value (refusals reach the log)."""
    if value is None:
        return None if feature.nullable or feature.kind == "category" else "required (not null)"
    if feature.kind == "category":
        return None if isinstance(value, str) else "expected a text label"
    if feature.kind == "flag":
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if feature.kind == "count" and float(value) != int(value):
        return "expected a whole number"
    if not feature.low <= value <= feature.high:
        return f"outside {feature.low:g}..{feature.high:g}"
    return None

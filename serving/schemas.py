"""Request and response shapes of the scoring service (pydantic v2).

A request carries, per borrower, its recent raw history in the raw-table shapes of
``docs/data-contract.md`` (profile, Party-building ratings, loans, the last 24 months of
repayment statements and operating signals, events) and one ``as_of`` date. Everything a bad
request can get wrong is checked here, before any work: types, missing fields, NaN or infinite
numbers, negative amounts, dates after ``as_of``, duplicated months or keys, records that refer
to a loan the request does not carry, and the batch limit. The framework turns a failed check
into HTTP 400 naming every field at fault, so nothing is scored or written for a bad request.

Areas, industries and rating standards outside the contract's vocabularies are *not* errors: a
bank may open a branch in a new county before the model knows it. They are scored as "other"
(the model sees a missing category) and the response says so (:func:`vocabulary_notes`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from features import vocab
from features.party_scales import AREA_STANDARD, STANDARDS
from serving.settings import MAX_BATCH

#: Unicode categories a name must not contain: controls, format characters (bidirectional
#: overrides, zero-width spaces), separators other than the plain space, unassigned.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _printable_name(value: str) -> str:
    """Ids and labels are trimmed, printable text. The message never repeats the value: a
    refusal reaches the log, and a control or direction character there could forge lines."""
    if not value.strip():
        raise ValueError("must not be blank")
    if value != value.strip():
        raise ValueError("must not begin or end with white space")
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in value):
        raise ValueError("must be printable text (no control, format or direction characters)")
    return value


Id = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable_name)]
#: A vocabulary label (area, industry, rating standard or level): printable like an id.
Label = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable_name)]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    """Dates are ISO text (``2025-06-30``) or ``date`` objects; a number (pydantic would read
    it as seconds since 1970) or a timestamp is refused, not converted."""
    if isinstance(value, datetime) or not isinstance(value, str | date):
        raise ValueError("expected a date as text, YYYY-MM-DD")
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as text, YYYY-MM-DD")
    return value


#: A date a request may carry. Scoring holds dates as pandas datetime64[ns] (years 1677-2262):
#: one outside it made the request a 500 instead of a 400. Borrowers are founded after 1949.
#: Records are strict (``_Record``); dates alone are read from their JSON text.
Day = Annotated[
    date,
    Strict(False),
    BeforeValidator(_iso_day),
    Field(ge=date(1900, 1, 1), le=date(2199, 12, 31)),
]
#: The dates a model may score at: the books this service learns from start in the 2020s, so
#: an as_of before 2000 is a typing error, not a request.
ScoringDay = Annotated[Day, Field(ge=date(2000, 1, 1))]
#: Amounts (yuan, kWh, headcounts) above this are typing errors; beyond it derived features would
#: overflow to infinity.
MAX_AMOUNT = 1e13
#: Statements of one loan: 60 months of term plus years of arrears after maturity.
MAX_INSTALMENTS = 600
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]
Language = Literal["zh", "en"]
#: A client's name for its request: what makes a retry safe (see ``ClientRequestId``).
CLIENT_REQUEST_ID = r"^[A-Za-z0-9._:-]{1,64}$"
ClientRequestId = Annotated[
    str | None,
    Field(
        pattern=CLIENT_REQUEST_ID,
        description=(
            "Your own id for this request (1-64 of A-Z a-z 0-9 . _ : -, e.g. a UUID), unique "
            "in the warning ledger. A request whose request_id is already recorded is refused "
            "with 409 and nothing is scored, so a retry after a timeout is never recorded "
            "twice. Without it the service names the request."
        ),
    ),
]


class _Record(BaseModel):
    """Strict records: unknown keys, NaN and infinity are refused, and so is a value of the
    wrong JSON type (``"140"`` for a number, ``"false"`` or ``1`` for a flag, ``3.0`` for a
    count): converting it would score what the caller may not have meant."""

    # hide_input_in_errors: the framework logs every refused request; its borrowers' records
    # must not reach the log in clear.
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        frozen=True,
        hide_input_in_errors=True,
        strict=True,
    )


class BorrowerProfile(_Record):
    """One row of ``borrowers``."""

    borrower_id: Id
    borrower_type: Literal[vocab.BORROWER_TYPES]  # type: ignore[valid-type]
    area: Label
    industry: Label
    founding_date: Day
    size: Literal[vocab.SIZES]  # type: ignore[valid-type]
    has_party_org: bool
    party_members: Annotated[int, Field(ge=0, le=100_000)]


class PartyRating(_Record):
    """One row of ``party_ratings`` (the borrower is the enclosing one)."""

    rating_id: Id
    issuing_area: Label
    native_standard: Label
    native_level: Label
    award_date: Day
    list_level: Literal[vocab.LIST_LEVELS]  # type: ignore[valid-type]


class Loan(_Record):
    """One row of ``loans``."""

    loan_id: Id
    bank: Literal[vocab.BANKS]  # type: ignore[valid-type]
    product: Literal[vocab.PRODUCTS]  # type: ignore[valid-type]
    origination_date: Day
    # At least one yuan: a vanishing amount turns utilisation into infinity. (An inclusive
    # bound also keeps /docs.json, OpenAPI 3.0, free of JSON Schema 2020-12's numeric
    # exclusiveMinimum, which schema-driven clients could not read.)
    amount: Annotated[float, Field(ge=1.0, le=vocab.MAX_LOAN_AMOUNT)]
    annual_rate: Annotated[float, Field(ge=0.005, le=0.24)]
    term_months: Annotated[int, Field(ge=1, le=60)]
    maturity_date: Day
    renewal_of: Id | None = None


class Repayment(_Record):
    """One monthly statement of a loan (``repayments``)."""

    loan_id: Id
    instalment_no: Annotated[int, Field(ge=1, le=MAX_INSTALMENTS)]
    due_date: Day
    amount_due: Amount
    amount_paid: Amount
    dpd: Annotated[int, Field(ge=0, le=10_000)]
    outstanding_balance: Amount
    status: Literal[vocab.LOAN_STATUSES]  # type: ignore[valid-type]


class OperatingSignal(_Record):
    """One month of one operating signal (``operating_signals``)."""

    period: Day
    signal: Literal[vocab.SIGNALS]  # type: ignore[valid-type]
    value: Amount
    available_at: Day


class Event(_Record):
    """One public-record event (``events``)."""

    event_id: Id
    event_type: Literal[vocab.EVENT_TYPES]  # type: ignore[valid-type]
    event_date: Day
    available_at: Day
    amount: Amount | None = None


class BorrowerHistory(_Record):
    """One borrower's recent history: what the model needs to score its open loans."""

    borrower: BorrowerProfile
    party_ratings: list[PartyRating] = Field(default_factory=list, max_length=100)
    loans: list[Loan] = Field(min_length=1, max_length=50)
    repayments: list[Repayment] = Field(default_factory=list, max_length=5_000)
    operating_signals: list[OperatingSignal] = Field(default_factory=list, max_length=5_000)
    events: list[Event] = Field(default_factory=list, max_length=1_000)


class ScoreRequest(_Record):
    """``POST /score``: borrowers and the date to score them at."""

    as_of: ScoringDay = Field(
        description="Scoring date; every record must be dated on or before it."
    )
    language: Language = Field("zh", description="Language of reasons and actions.")
    request_id: ClientRequestId = None
    borrowers: list[BorrowerHistory] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _consistent(self) -> ScoreRequest:
        problems = list(request_problems(self))
        if problems:
            shown = problems[:20]
            more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
            raise ValueError("; ".join(shown) + more)
        return self


def _after(path: str, value: date, as_of: date) -> Iterator[str]:
    if value > as_of:
        yield f"{path} {value.isoformat()} is after as_of {as_of.isoformat()}"


def _duplicates(items: Iterable[tuple[str, object]], what: str) -> Iterator[str]:
    """Each repeated key, named by its path and the path of its first occurrence (never by its
    value: refusals are logged, and ids must not reach the log)."""
    first: dict[object, str] = {}
    for path, key in items:
        if key in first:
            yield f"{path} repeats the {what} of {first[key]}"
        else:
            first[key] = path


def request_problems(request: ScoreRequest) -> Iterator[str]:
    """Every cross-field problem of a request, each naming its field path."""
    as_of = request.as_of
    borrowers = list(enumerate(request.borrowers))
    yield from _duplicates(
        ((f"borrowers.{i}.borrower", b.borrower.borrower_id) for i, b in borrowers), "borrower_id"
    )
    # Statements name their loan only by id: one id under two borrowers would mix histories.
    for table, key in (
        ("loans", "loan_id"),
        ("party_ratings", "rating_id"),
        ("events", "event_id"),
    ):
        yield from _duplicates(
            (
                (f"borrowers.{i}.{table}.{j}", getattr(record, key))
                for i, b in borrowers
                for j, record in enumerate(getattr(b, table))
            ),
            key,
        )
    for i, history in borrowers:
        yield from borrower_problems(history, as_of, f"borrowers.{i}")


def borrower_problems(history: BorrowerHistory, as_of: date, at: str) -> Iterator[str]:
    """Problems of one borrower's history relative to ``as_of``."""
    yield from _after(f"{at}.borrower.founding_date", history.borrower.founding_date, as_of)
    for j, r in enumerate(history.party_ratings):
        yield from _after(f"{at}.party_ratings.{j}.award_date", r.award_date, as_of)
    loan_ids = {loan.loan_id for loan in history.loans}
    for j, loan in enumerate(history.loans):
        yield from _after(f"{at}.loans.{j}.origination_date", loan.origination_date, as_of)
        if loan.maturity_date < loan.origination_date:
            yield f"{at}.loans.{j}.maturity_date precedes origination_date"
        if loan.renewal_of is not None and loan.renewal_of not in loan_ids:
            yield (
                f"{at}.loans.{j}.renewal_of is not among this borrower's loans "
                "(send the renewed loan with its last three statements)"
            )
    for j, s in enumerate(history.repayments):
        yield from _after(f"{at}.repayments.{j}.due_date", s.due_date, as_of)
        if s.loan_id not in loan_ids:
            yield f"{at}.repayments.{j}.loan_id is not among this borrower's loans"
    statements = list(enumerate(history.repayments))
    yield from _duplicates(
        (
            (f"{at}.repayments.{j}", (s.loan_id, s.due_date.year, s.due_date.month))
            for j, s in statements
        ),
        "loan and statement month",
    )
    yield from _duplicates(
        ((f"{at}.repayments.{j}", (s.loan_id, s.instalment_no)) for j, s in statements),
        "loan and instalment_no",
    )
    for j, g in enumerate(history.operating_signals):
        yield from _after(f"{at}.operating_signals.{j}.available_at", g.available_at, as_of)
        yield from _after(f"{at}.operating_signals.{j}.period", g.period, as_of)
        if g.available_at < g.period:
            yield f"{at}.operating_signals.{j}.available_at precedes its period"
    yield from _duplicates(
        (
            (f"{at}.operating_signals.{j}", (g.signal, g.period.year, g.period.month))
            for j, g in enumerate(history.operating_signals)
        ),
        "signal and month",
    )
    for j, e in enumerate(history.events):
        yield from _after(f"{at}.events.{j}.available_at", e.available_at, as_of)
        if e.available_at < e.event_date:
            yield f"{at}.events.{j}.available_at precedes event_date"


def history_notes(history: BorrowerHistory) -> list[str]:
    """Everything the answer should say about what the request carried: labels scored as
    "other" (:func:`vocabulary_notes`) and renewals sent without the renewed loan's statements
    (their "renews a past-due loan" flag then cannot be set)."""
    notes = vocabulary_notes(history)
    months = {(s.loan_id, s.due_date.year * 12 + s.due_date.month) for s in history.repayments}
    for j, loan in enumerate(history.loans):
        if loan.renewal_of is None:
            continue
        renewed_at = loan.origination_date.year * 12 + loan.origination_date.month
        if not any(m <= renewed_at for owner, m in months if owner == loan.renewal_of):
            notes.append(
                f"loans.{j} renews a loan sent without statements up to the renewal: "
                "whether that loan was past due is unknown"
            )
    return notes


def vocabulary_notes(history: BorrowerHistory) -> list[str]:
    """Values outside the contract's vocabularies, scored as "other"; one note each."""
    notes = []
    profile = history.borrower
    if profile.area not in vocab.AREAS:
        notes.append(f"area {profile.area!r} is unknown to the model: scored as other")
    if profile.industry not in vocab.INDUSTRIES:
        notes.append(f"industry {profile.industry!r} is unknown to the model: scored as other")
    for rating in history.party_ratings:
        standard = STANDARDS.get(rating.native_standard)
        if standard is None:
            notes.append(
                f"rating {rating.rating_id}: standard {rating.native_standard!r} is unknown: "
                "its Party-building index is scored as other"
            )
        elif rating.native_level not in standard.levels:
            notes.append(
                f"rating {rating.rating_id}: level {rating.native_level!r} is not on the "
                f"{rating.native_standard} scale: its index is scored as other"
            )
        elif AREA_STANDARD.get(rating.issuing_area) not in (None, rating.native_standard):
            notes.append(
                f"rating {rating.rating_id}: {rating.issuing_area} does not rate on the "
                f"{rating.native_standard} standard: its index uses the pooled scale"
            )
        if rating.issuing_area not in vocab.AREAS:
            notes.append(
                f"rating {rating.rating_id}: issuing area {rating.issuing_area!r} is unknown: "
                "scored as other"
            )
    return notes


# Responses ----------------------------------------------------------------------------------


class ReasonOut(BaseModel):
    """One risk-raising reason."""

    feature: str
    value: float | str | bool | None
    contribution: float = Field(description="Push on the logit of the 12-month PD.")
    text: str


class StageHint(BaseModel):
    """IFRS 9 stage suggested by this score (the provision run decides)."""

    stage: Literal[1, 2, 3]
    basis: str


class LoanScore(BaseModel):
    """The warning for one open loan."""

    loan_id: str
    borrower_id: str
    as_of: date
    pd_12m: float = Field(description="P(S>=3): 12-month probability of default.")
    p_severity: dict[str, float] = Field(description="P(S>=k) for k = 1..3.")
    grade: Literal["green", "blue", "yellow", "orange", "red"]
    reasons: list[ReasonOut]
    actions: str
    stage_hint: StageHint
    notes: list[str] = Field(default_factory=list)


class NotScored(BaseModel):
    """A borrower of the request with no loan open at ``as_of``."""

    borrower_id: str
    reason: str


class ScoreResponse(BaseModel):
    """What ``/score`` and ``/score_features`` answer."""

    request_id: str
    model_name: str
    model_version: str
    policy_version: str
    language: Language
    scores: list[LoanScore]
    not_scored: list[NotScored] = Field(default_factory=list)


class FeatureRow(_Record):
    """``POST /score_features``: one precomputed snapshot row (the model's input columns)."""

    loan_id: Id
    borrower_id: Id
    as_of: ScoringDay
    features: dict[str, float | str | bool | None]


class ScoreFeaturesRequest(_Record):
    """Rows of a bank's feature warehouse, in the model's feature contract (``GET /model``)."""

    language: Language = "zh"
    request_id: ClientRequestId = None
    rows: list[FeatureRow] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _unique(self) -> ScoreFeaturesRequest:
        problems = list(
            _duplicates(
                ((f"rows.{i}", (r.loan_id, r.as_of)) for i, r in enumerate(self.rows)),
                "loan_id and as_of",
            )
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

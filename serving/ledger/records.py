"""What callers hand the ledger: :class:`WarningRecord`, checked and turned into table rows.

Single responsibility: validate a batch of records as a whole before anything is written
(finite probabilities in [0, 1], ``p_s1 >= p_s2 >= p_s3``, known grade, source and stage,
timezone-aware ``scored_at``, JSON-safe features and reasons, no key repeated within the
batch) and build their rows, with the loan id and the borrower id replaced by their
pseudonyms. A bad record is a ``ValueError`` naming its index, its loan's pseudonym and the
field (never the clear id: messages reach logs); nothing here touches a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from numbers import Integral, Real
from typing import Any

import pandas as pd

from models.grade_policy import GRADES
from serving.ledger.keys import pseudonymise, pseudonymise_loan
from serving.ledger.schema import SOURCES, STAGES

FeatureValue = float | str | bool | None


@dataclass(frozen=True)
class WarningRecord:
    """One scored loan, as the scoring service or the portfolio run produced it.

    Attributes
    ----------
    request_id : str
        One per HTTP request or portfolio run.
    scored_at : datetime
        When the loan was scored; timezone-aware (stored and returned in UTC).
    as_of : date
        The assessment date the features were built for.
    loan_id, borrower_id : str
        Keys of the loan and its borrower; both are stored only as their pseudonyms
        (``loan_pseudonym``, ``borrower_pseudonym``).
    source : str
        ``"score"``, ``"score_features"`` or ``"portfolio"``.
    model_name, model_version, policy_version : str
        What produced the probabilities and the grade.
    p_s1, p_s2, p_s3 : float
        P(S>=1), P(S>=2), P(S>=3); ``p_s3`` is the 12-month PD.
    grade : str
        One of green, blue, yellow, orange, red.
    stage_hint : int
        IFRS 9 stage 1, 2 or 3.
    features : dict
        Model inputs used; NaN is stored as ``None``.
    reasons : list of dict
        Explanations, e.g. ``{"feature", "value", "contribution", "text_en", "text_zh"}``.
    notes : sequence of str
        Caveats, e.g. ``"area 'xyz' unknown, scored as other"``.
    """

    request_id: str
    scored_at: datetime
    as_of: date
    loan_id: str
    borrower_id: str
    source: str
    model_name: str
    model_version: str
    policy_version: str
    p_s1: float
    p_s2: float
    p_s3: float
    grade: str
    stage_hint: int
    features: Mapping[str, FeatureValue]
    reasons: Sequence[Mapping[str, object]]
    notes: Sequence[str] = ()


def table_rows(records: Sequence[WarningRecord], key: bytes) -> list[dict[str, Any]]:
    """The table rows of a batch, or a ``ValueError`` naming the first bad record.

    Raises
    ------
    ValueError
        If a record is invalid (the message names its index, loan pseudonym and field), or the
        batch repeats a ``(request_id, loan_id, as_of)``.
    """
    rows = [_row(i, record, key) for i, record in enumerate(records)]
    seen: set[tuple[str, str, date]] = set()
    for i, row in enumerate(rows):
        unique = (row["request_id"], row["loan_pseudonym"], row["as_of"])
        if unique in seen:
            raise ValueError(
                f"record {i} (loan_pseudonym {row['loan_pseudonym']!r}): repeats request_id "
                f"{row['request_id']!r}, loan and as_of {row['as_of']} within the batch"
            )
        seen.add(unique)
    return rows


def _row(index: int, record: WarningRecord, key: bytes) -> dict[str, Any]:
    """The table row of a record, or a ``ValueError`` naming the record and the field."""
    loan_id = getattr(record, "loan_id", None)
    loan_pseudonym = (
        pseudonymise_loan(key, loan_id) if isinstance(loan_id, str) and loan_id.strip() else None
    )
    where = f"record {index}" + (f" (loan_pseudonym {loan_pseudonym!r})" if loan_pseudonym else "")

    def bad(field: str, problem: str) -> ValueError:
        return ValueError(f"{where}: {field} {problem}")

    if not isinstance(record, WarningRecord):
        raise ValueError(f"record {index}: expected a WarningRecord, got {type(record).__name__}")
    texts = {}
    for field in (
        "request_id",
        "loan_id",
        "borrower_id",
        "model_name",
        "model_version",
        "policy_version",
    ):
        value = getattr(record, field)
        if not isinstance(value, str) or not value.strip():
            raise bad(field, "must be a non-empty string")
        texts[field] = value
    if record.source not in SOURCES:
        raise bad("source", f"{record.source!r} is not one of {', '.join(SOURCES)}")
    if record.grade not in GRADES:
        raise bad("grade", f"{record.grade!r} is not one of {', '.join(GRADES)}")
    if (
        isinstance(record.stage_hint, bool)
        or not isinstance(record.stage_hint, Integral)
        or int(record.stage_hint) not in STAGES
    ):
        raise bad("stage_hint", f"{record.stage_hint!r} is not a stage 1, 2 or 3")
    scored_at = record.scored_at
    if not isinstance(scored_at, datetime):
        raise bad("scored_at", f"must be a datetime, not {type(scored_at).__name__}")
    if scored_at.tzinfo is None or scored_at.utcoffset() is None:
        raise bad("scored_at", "is a naive datetime; give it a time zone (UTC)")
    if isinstance(record.as_of, datetime) or not isinstance(record.as_of, date):
        raise bad("as_of", f"must be a date, not {type(record.as_of).__name__}")
    probabilities = {}
    for field in ("p_s1", "p_s2", "p_s3"):
        value = getattr(record, field)
        if isinstance(value, bool) or not isinstance(value, Real):
            raise bad(field, f"must be a number, not {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise bad(field, f"{number!r} is not a probability in [0, 1]")
        probabilities[field] = number
    if not probabilities["p_s1"] >= probabilities["p_s2"] >= probabilities["p_s3"]:
        raise bad(
            "p_s1/p_s2/p_s3",
            "must not increase (P(S>=1) >= P(S>=2) >= P(S>=3)); got "
            f"{probabilities['p_s1']!r}, {probabilities['p_s2']!r}, {probabilities['p_s3']!r}",
        )
    if not isinstance(record.features, Mapping):
        raise bad("features", f"must be a mapping, not {type(record.features).__name__}")
    features = {}
    for name, value in record.features.items():
        if not isinstance(name, str):
            raise bad("features", f"has a non-string name {name!r}")
        features[name] = _feature_value(value, lambda p, n=name: bad(f"features[{n!r}]", p))
    if isinstance(record.reasons, str | bytes) or not isinstance(record.reasons, Sequence):
        raise bad("reasons", "must be a list of mappings")
    reasons = []
    for i, reason in enumerate(record.reasons):
        if not isinstance(reason, Mapping):
            raise bad(f"reasons[{i}]", f"must be a mapping, not {type(reason).__name__}")
        reasons.append(_json_value(reason, lambda p, i=i: bad(f"reasons[{i}]", p)))
    if isinstance(record.notes, str | bytes) or not isinstance(record.notes, Sequence):
        raise bad("notes", "must be a list of strings")
    notes = []
    for i, note in enumerate(record.notes):
        if not isinstance(note, str):
            raise bad(f"notes[{i}]", f"must be a string, not {type(note).__name__}")
        notes.append(note)
    return {
        "request_id": texts["request_id"],
        "scored_at": scored_at.astimezone(UTC),
        "as_of": record.as_of,
        "loan_pseudonym": loan_pseudonym,
        "borrower_pseudonym": pseudonymise(key, texts["borrower_id"]),
        "source": record.source,
        "model_name": texts["model_name"],
        "model_version": texts["model_version"],
        "policy_version": texts["policy_version"],
        **probabilities,
        "grade": record.grade,
        "stage_hint": int(record.stage_hint),
        "features": features,
        "reasons": reasons,
        "notes": notes,
    }


def _feature_value(value: object, bad: Any) -> FeatureValue:
    """A feature value as stored: NaN (and pandas missing values) become ``None``."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:  # fast path, no ABC checks
        return value  # type: ignore[return-value]
    if kind is float:
        number = float(value)  # type: ignore[arg-type]
        if math.isfinite(number):
            return number
    if isinstance(value, str | bool):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _feature_value(value.item(), bad)  # numpy scalar -> Python scalar
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            raise bad(f"{number!r} is not finite")
        return number
    if value is pd.NA or value is pd.NaT:
        return None
    raise bad(f"has a {type(value).__name__}; expected a number, string, bool or None")


def _json_value(value: object, bad: Any) -> Any:
    """A JSON-safe copy of a reason: mappings, lists and feature-like scalars."""
    if isinstance(value, Mapping):
        out = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise bad(f"has a non-string key {name!r}")
            out[name] = _json_value(item, bad)
        return out
    if isinstance(value, list | tuple):
        return [_json_value(item, bad) for item in value]
    return _feature_value(value, bad)

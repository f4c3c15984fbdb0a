"""Scoring without IO: raw history or feature rows in, graded and explained warnings out.

One path serves the endpoint, the feature-row endpoint and the monthly portfolio run, so a loan
scored any of the three ways gets the same probabilities and grade:

    raw history --history_tables--> build_snapshots (training's own feature code)
                                          |
    feature rows --feature_frame-----> snapshot-shaped frame --score_snapshots--> ScoredLoans

``score_snapshots`` applies the model's input contract (``models.inputs``), the calibrated
graded model, the version's grade policy, the IFRS 9 stage hint and the reason codes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import FEATURE_BY_NAME, value_problem
from features.io import RAW_TABLES
from features.schemas import DATE, TEXT, schema_for
from features.snapshots import build_snapshots
from models.grade_policy import PROBABILITY_COLUMNS
from models.inputs import CATEGORY_LEVELS, to_model_input
from models.reasons import Reason
from models.scoring import InfiniteInputError, Scores, score_inputs
from serving.bundle import ScoringBundle
from serving.request_contract import RequestError, refuse_broken_history
from serving.schemas import BorrowerHistory, FeatureRow

__all__ = ["RequestError", "ScoredLoans", "score_snapshots", "snapshots_from_history"]

#: Reasons returned per loan.
TOP_REASONS = 3
KEY_COLUMNS = ("loan_id", "borrower_id", "as_of")


@dataclass(frozen=True)
class ScoredLoans(Scores):
    """Every scored loan of one call: what the scoring core says (``models.scoring.Scores``)
    with the loans' keys and the model inputs used, row-aligned."""

    keys: pd.DataFrame  # loan_id, borrower_id, as_of (snapshot month end)
    inputs: pd.DataFrame  # the model inputs used

    def frame(self) -> pd.DataFrame:
        """One row per loan: keys, probabilities, grade, stage and the reasons in both languages
        (the scored book of a portfolio run)."""
        return self.keys.assign(
            **{c: self.proba[c].to_numpy() for c in PROBABILITY_COLUMNS},
            pd_12m=self.proba["p_s3"].to_numpy(),
            grade=self.grades.to_numpy(),
            dpd_now=self.dpd,
            stage_hint=self.stages,
            stage_basis=self.stage_basis,
            stage_basis_zh=self.stage_basis_zh,
            reasons_en=[" | ".join(r.text_en for r in rs) for rs in self.reasons],
            reasons_zh=[" | ".join(r.text_zh for r in rs) for rs in self.reasons],
        )

    def batches(self, size: int) -> Iterator[ScoredLoans]:
        """The loans ``size`` at a time, in order, each batch its own ``ScoredLoans``: a large
        run turns its loans into ledger records a batch at a time."""
        for start in range(0, len(self), size):
            yield self.rows(start, start + size)

    def rows(self, start: int, stop: int) -> ScoredLoans:
        """Loans ``start`` to ``stop`` (positions) as their own ``ScoredLoans``."""

        def frame(values: pd.DataFrame) -> pd.DataFrame:
            return values.iloc[start:stop].reset_index(drop=True)

        return ScoredLoans(
            proba=frame(self.proba),
            grades=self.grades.iloc[start:stop].reset_index(drop=True),
            dpd=self.dpd[start:stop],
            stages=self.stages[start:stop],
            stage_basis=self.stage_basis[start:stop],
            stage_basis_zh=self.stage_basis_zh[start:stop],
            reasons=self.reasons[start:stop],
            keys=frame(self.keys),
            inputs=frame(self.inputs),
        )

    @cached_property
    def reason_records(self) -> list[list[dict[str, Any]]]:
        """Each loan's reasons as the ledger stores and the answer shows them (made once: both
        read them)."""
        return [reason_dicts(reasons) for reasons in self.reasons]

    def feature_dicts(self) -> list[dict[str, float | str | bool | None]]:
        """Model inputs of each loan as JSON-ready dictionaries (NaN and missing labels as
        None), built column by column: a row-wise conversion costs milliseconds a request."""
        columns = {name: _json_column(self.inputs[name]) for name in self.inputs.columns}
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def json_value(value: Any) -> float | str | bool | None:
    """A feature value as JSON can carry it (NaN and missing categories become None)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    return str(value)


def _json_column(values: pd.Series) -> list[float | str | bool | None]:
    """One model input column as JSON values: numbers as float, flags (``features.catalog``)
    as true/false, labels as text, None for NaN or a missing label, without a call per value.
    These are the values ``/score_features`` takes back."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        labels = np.asarray(values.cat.categories, dtype=object)
        codes = values.cat.codes.to_numpy()
        return [None if c < 0 else str(labels[c]) for c in codes]
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    feature = FEATURE_BY_NAME.get(str(values.name))
    if feature is not None and feature.kind == "flag":
        return [None if math.isnan(v) else v != 0 for v in numbers.tolist()]
    return [None if math.isnan(v) else v for v in numbers.tolist()]


def reason_dicts(reasons: list[Reason]) -> list[dict[str, Any]]:
    """Reasons as stored in the ledger (both languages)."""
    return [
        {
            "feature": r.feature,
            "value": json_value(r.value),
            "contribution": float(r.contribution),
            "text_en": r.text_en,
            "text_zh": r.text_zh,
        }
        for r in reasons
    ]


# Raw history -> tables ---------------------------------------------------------------------


#: Which records of a borrower's history fill each raw table, and whether its rows take the
#: borrower id from the history (the request nests them under their borrower).
_TABLE_RECORDS: dict[str, tuple[str, bool]] = {
    "borrowers": ("borrower", False),
    "party_ratings": ("party_ratings", True),
    "loans": ("loans", True),
    "repayments": ("repayments", False),
    "operating_signals": ("operating_signals", True),
    "events": ("events", True),
}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min  # NaT's integer


def _days(values: list[date | None]) -> np.ndarray:
    """Dates as datetime64 (NaT for None) by their ordinals: numpy's own parsing of date
    objects costs a tenth of a millisecond per column, on every request."""
    ordinals = [_NAT if d is None else d.toordinal() - _EPOCH_ORDINAL for d in values]
    return np.array(ordinals, dtype=np.int64).view("datetime64[D]").astype(DATE)


def _frame(records: list[Any], owners: list[str], columns: dict[str, str]) -> pd.DataFrame:
    """One raw table from request records, column by column from numpy arrays in one
    constructor (this runs six times on every request). Dates and numbers take the
    contract's dtypes; text stays plain objects, which the feature code reads as it reads
    the contract's categoricals."""
    out: dict[str, Any] = {}
    for column, kind in columns.items():
        if column == "borrower_id" and owners:
            values: list[Any] = owners
        else:
            values = [getattr(r, column) for r in records]
        if kind == DATE:
            out[column] = _days(values)
        elif kind == TEXT:
            out[column] = np.array(values, dtype=object)
        else:
            out[column] = np.array(values, dtype=kind)
    return pd.DataFrame(out)  # the dict keeps the contract's column order


@cache
def _contract_dtypes() -> dict[str, dict[str, str]]:
    """Column -> dtype of each raw table, read from the contract's schemas."""
    return {
        table: {name: str(column.dtype) for name, column in schema_for(table).columns.items()}
        for table in RAW_TABLES
    }


def history_tables(histories: Sequence[BorrowerHistory]) -> dict[str, pd.DataFrame]:
    """The six raw tables of the borrowers of one request, in the contract's columns."""
    tables = {}
    for name, columns in _contract_dtypes().items():
        field, owned = _TABLE_RECORDS[name]
        records: list[Any] = []
        owners: list[str] = []
        for history in histories:
            value = getattr(history, field)
            rows = value if isinstance(value, list) else [value]
            records += rows
            if owned:
                owners += [history.borrower.borrower_id] * len(rows)
        tables[name] = _frame(records, owners, columns)
    return tables


def record_paths(histories: Sequence[BorrowerHistory]) -> dict[str, list[str]]:
    """Request path of every row of ``history_tables`` (``borrowers.0.repayments.3``), by
    which refusals name records without echoing their ids."""
    paths: dict[str, list[str]] = {}
    for name, (field, _) in _TABLE_RECORDS.items():
        rows = paths[name] = []
        for i, history in enumerate(histories):
            value = getattr(history, field)
            if isinstance(value, list):
                rows += [f"borrowers.{i}.{field}.{j}" for j in range(len(value))]
            else:
                rows.append(f"borrowers.{i}.{field}")
    return paths


def snapshots_from_history(
    bundle: ScoringBundle, histories: Sequence[BorrowerHistory], as_of: date
) -> pd.DataFrame:
    """Snapshot rows of every loan of ``histories`` open at the end of ``as_of``'s month, or
    ``RequestError`` if the history breaks the raw-table contract or leaves statements out
    (``serving.request_contract``)."""
    tables = history_tables(histories)
    refuse_broken_history(tables, lambda: record_paths(histories), as_of)
    month = pd.Period(as_of, freq="M")
    return build_snapshots(tables, [month], bundle.unifier, with_labels=False)


# Feature rows -> snapshot-shaped frame ----------------------------------------------------


def feature_frame(
    bundle: ScoringBundle, rows: Sequence[FeatureRow]
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Feature-warehouse rows as a snapshot-shaped frame and each row's notes (labels outside
    the vocabularies, scored as "other"), or ``RequestError`` naming every missing or unknown
    feature and every value of the wrong kind or outside its range (``features.catalog``: the
    same declaration the snapshot builder's output is tested against)."""
    expected = bundle.features
    problems: list[str] = []
    notes: list[list[str]] = []
    for i, row in enumerate(rows):
        notes.append(
            [
                f"{name} {value!r} is unknown to the model: scored as other"
                for name, value in row.features.items()
                if name in CATEGORY_LEVELS
                and isinstance(value, str)
                and value not in CATEGORY_LEVELS[name]
            ]
        )
        missing = [f for f in expected if f not in row.features]
        unknown = sorted(set(row.features) - set(expected))
        if missing:
            problems.append(f"rows.{i}.features: missing {_listed(missing)}")
        if unknown:
            problems.append(f"rows.{i}.features: unknown {_listed(unknown)}")
        for name in expected:
            if name not in row.features:
                continue
            problem = value_problem(FEATURE_BY_NAME[name], row.features[name])
            if problem:
                problems.append(f"rows.{i}.features.{name}: {problem}")
    if problems:
        raise RequestError("; ".join(problems[:20]))
    data: dict[str, list[Any]] = {
        "loan_id": [r.loan_id for r in rows],
        "borrower_id": [r.borrower_id for r in rows],
        "as_of": [pd.Timestamp(r.as_of) for r in rows],
    }
    for name in expected:
        values = [r.features.get(name) for r in rows]
        if name in CATEGORY_LEVELS:
            data[name] = values
        else:
            data[name] = [np.nan if v is None else float(v) for v in values]
    return pd.DataFrame(data), notes


def _listed(names: list[str], shown: int = 10) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


# Snapshots -> scored loans ------------------------------------------------------------------


def score_snapshots(bundle: ScoringBundle, snapshots: pd.DataFrame) -> ScoredLoans:
    """Probabilities, grade, stage hint and reasons of every snapshot row, through the one
    scoring core of ``models.scoring``."""
    keys = snapshots[list(KEY_COLUMNS)].reset_index(drop=True)
    inputs = to_model_input(snapshots).reset_index(drop=True)
    missing = [f for f in bundle.features if f not in inputs.columns]
    if missing:
        raise RequestError(f"snapshot lacks model feature(s): {', '.join(missing[:10])}")
    inputs = inputs[bundle.features]
    try:  # only absurd amounts make a feature infinite; the ledger refuses infinity
        scores = score_inputs(bundle.model, inputs, bundle.policy, top_reasons=TOP_REASONS)
    except InfiniteInputError as exc:
        raise RequestError(str(exc)) from None
    return ScoredLoans(**vars(scores), keys=keys, inputs=inputs)


def check_compatible(bundle: ScoringBundle) -> None:
    """Refuse a model whose features this code does not build (one trained before a feature
    was renamed, say): otherwise every request would be refused as if the client were wrong."""
    month = pd.Timestamp("2024-06-30")
    history = BorrowerHistory.model_validate(
        {
            "borrower": {
                "borrower_id": "B-check",
                "borrower_type": "farmer",
                "area": "anji",
                "industry": "tea_bamboo",
                "founding_date": "2010-01-01",
                "size": "micro",
                "has_party_org": False,
                "party_members": 0,
            },
            "loans": [
                {
                    "loan_id": "L-check",
                    "bank": "bank_1",
                    "product": "ordinary",
                    "origination_date": "2024-06-15",
                    "amount": 100_000.0,
                    "annual_rate": 0.05,
                    "term_months": 12,
                    "maturity_date": "2025-06-15",
                }
            ],
        }
    )
    snapshots = snapshots_from_history(bundle, [history], month.date())
    built = set(to_model_input(snapshots).columns)
    missing = [f for f in bundle.features if f not in built]
    if missing:
        raise RequestError(
            f"model {bundle.info.model_name} version {bundle.info.model_version} reads "
            f"feature(s) this feature code does not build ({', '.join(missing[:8])}): "
            "retrain and promote a model on the current features"
        )

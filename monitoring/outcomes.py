"""Realized outcomes of every open loan-month, and their join onto a scored frame.

Single responsibility: turn the validated raw tables into what actually happened to each loan
after each month end (did it default within 3, 6, 12 months; has that window been observed in
full yet) and attach that to a scored frame (``monitoring.frames``), so that performance
monitoring (``monitoring.performance``) compares probabilities with outcomes without reading
any table itself.

Nothing here defines a label or an open loan a second time:

* the rows are the snapshot builder's grid (``features.snapshots``): a loan is open at month
  end ``as_of`` when it was originated by then, no statement on or before it ended it and it
  is young or has a recent statement. These are exactly the rows a portfolio run scores, so
  every scored row finds its outcome;
* the outcome is ``features.labels.label_rows``: the worst month-end severity of the loan's
  statements due in ``(as_of, as_of + h]`` (``features.severity``), and the window is matured
  when ``as_of + h`` is at most the last statement month of the data. ``defaulted_{h}m`` is
  that severity reaching S3 (90+ DPD, charged off or restructured), the same event as
  ``pd_12m`` = P(S>=3) predicts.

A window that has not matured still carries the part observed so far in ``defaulted_{h}m``
(a loan that defaulted last month has defaulted whatever comes next); a non-default there is
not yet an outcome, so performance figures use only rows with ``matured_{h}m``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from features.labels import label_rows
from features.months import month_end, month_index
from features.severity import DEFAULT_DPD, SEVERITY_DPD

# The snapshot builder's own grid of open loan-months, reused (not re-implemented) so that the
# realized rows are exactly the rows a portfolio run scores.
from features.snapshots import index_book, open_loan_grid
from monitoring.frames import AS_OF, LOAN_KEY

#: Outcome windows measured by default: early reads at 3 and 6 months, the PD's own 12.
DEFAULT_WINDOWS: Final = (3, 6, 12)
#: Severity that is a default (S3: 90+ DPD, charged off or restructured).
DEFAULT_SEVERITY: Final = len(SEVERITY_DPD)
LOAN_ID: Final = "loan_id"
BORROWER_ID: Final = "borrower_id"
VINTAGE: Final = "vintage"
#: The model input saying how far past due a loan is at ``as_of`` (features.families.repayment).
DPD_NOW: Final = "dpd_now"
#: Set by ``join_outcomes``: whether the scored row's loan-month was found in the outcomes.
OUTCOME_FOUND: Final = "outcome_found"

__all__ = [
    "BORROWER_ID",
    "DEFAULT_WINDOWS",
    "LOAN_ID",
    "OUTCOME_FOUND",
    "VINTAGE",
    "OutcomeError",
    "build_realized",
    "data_end",
    "DPD_NOW",
    "defaulted_column",
    "join_outcomes",
    "matured_column",
    "outcome_columns",
    "performing",
    "vintage_of",
]


class OutcomeError(ValueError):
    """Outcomes cannot be built or joined (no statements, a bad window, a column clash)."""


def defaulted_column(window: int) -> str:
    """``defaulted_12m``: name of the default flag over a ``window``-month outcome window."""
    return f"defaulted_{window}m"


def matured_column(window: int) -> str:
    """``matured_12m``: name of the flag saying the ``window``-month window lies in the data."""
    return f"matured_{window}m"


def outcome_columns(windows: Sequence[int] = DEFAULT_WINDOWS) -> list[str]:
    """The outcome columns ``build_realized`` adds for ``windows``, in its order."""
    return [c for h in windows for c in (defaulted_column(h), matured_column(h))]


def _checked_windows(windows: Sequence[int]) -> tuple[int, ...]:
    values = tuple(int(h) for h in windows)
    if not values or any(h < 1 for h in values) or len(set(values)) != len(values):
        raise OutcomeError(f"windows must be distinct whole months >= 1, got {tuple(windows)}")
    return tuple(sorted(values))


def data_end(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """Month end of the last month with a repayment statement: the edge of observed outcomes.

    A window ``(as_of, as_of + h]`` is matured when ``as_of + h`` is at most this month, as in
    ``features.labels``. Raises ``OutcomeError`` when the book has no statements.
    """
    repayments = tables["repayments"]
    if len(repayments) == 0:
        raise OutcomeError("the repayments table has no statements: no outcome is observed")
    last = int(month_index(repayments["due_date"]).max())
    return pd.Timestamp(month_end(np.array([last]))[0])


def vintage_of(origination_month: np.ndarray) -> np.ndarray:
    """Origination quarter (``"2024Q1"``) of integer months as ``features.months`` counts them."""
    month = np.asarray(origination_month, dtype=np.int64)
    year, quarter = month // 12, (month % 12) // 3 + 1
    return np.char.add(np.char.add(year.astype(str), "Q"), quarter.astype(str))


def build_realized(
    tables: Mapping[str, pd.DataFrame], windows: Sequence[int] = DEFAULT_WINDOWS
) -> pd.DataFrame:
    """What happened after every open loan-month of the book, over each outcome window.

    Parameters
    ----------
    tables : mapping of DataFrame
        Validated raw tables (``features.validation.load_validated_portfolio``); ``loans`` and
        ``repayments`` are read (``borrowers`` too when present; without it the borrower ids
        come from the loans).
    windows : sequence of int
        Outcome windows in months (3 and 6 for early reads, 12 for the PD's own window).

    Returns
    -------
    DataFrame
        One row per (loan, as-of month end) at which the loan is open (the snapshot builder's
        rule), for every month from the book's first origination to its data end, sorted by
        ``loan_id`` then ``as_of``:

        * ``loan_id`` (str), ``borrower_id`` (str);
        * ``as_of`` (``datetime64[ns]``, month end);
        * ``vintage`` (category, ordered): the loan's origination quarter, ``"2024Q1"``;
        * ``defaulted_{h}m`` (bool): the worst severity of the loan's statements due in
          ``(as_of, as_of + h]`` is S3 (``features.labels``), over the observed part of the
          window when it has not matured;
        * ``matured_{h}m`` (bool): ``as_of + h`` is at most the data end, so the window is
          observed in full (even when the loan ended inside it).

    Why the snapshot grid and not only months with a statement: a loan is scored in its
    origination month before its first statement is due; its outcome window is as real.
    """
    horizons = _checked_windows(windows)
    end_month = int(month_index(np.array([data_end(tables).to_datetime64()]))[0])
    book_tables = dict(tables)
    if "borrowers" not in book_tables:
        ids = pd.unique(tables["loans"]["borrower_id"].to_numpy(dtype=object))
        book_tables["borrowers"] = pd.DataFrame({BORROWER_ID: ids})
    book = index_book(book_tables)
    origination = book.loans["origination_month"].to_numpy()
    first_month = int(origination.min()) if origination.size else end_month
    grid = open_loan_grid(book, list(range(first_month, end_month + 1)))
    loan = grid["loan_code"].to_numpy()
    month = grid["as_of_month"].to_numpy()
    borrower_ids = book.borrowers[BORROWER_ID].to_numpy(dtype=object)
    borrower = grid["borrower_code"].to_numpy()
    vintages = vintage_of(origination)
    categories = sorted(set(vintages.tolist()))
    columns: dict[str, object] = {
        LOAN_ID: book.loans["loan_id"].to_numpy(dtype=object)[loan],
        BORROWER_ID: np.where(borrower >= 0, borrower_ids[np.maximum(borrower, 0)], None),
        AS_OF: month_end(month),
        VINTAGE: pd.Categorical(vintages[loan], categories=categories, ordered=True),
    }
    for h in horizons:
        severity, matured = label_rows(book.statements, loan, month, h, end_month)
        columns[defaulted_column(h)] = severity >= DEFAULT_SEVERITY
        columns[matured_column(h)] = matured
    return pd.DataFrame(columns)


def performing(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that are predictions: loans not already in default at ``as_of``.

    A loan 90 or more days past due at ``as_of`` (``dpd_now``) has defaulted already; its
    grade is red by the DPD backstop whatever its PD, and its "outcome" is known on the day it
    is scored. Counting it would inflate observed defaults (and AUC) with events no model
    predicted, so performance is measured, as training measures it
    (``training.pipeline.performing_outcomes``), on ``dpd_now < 90`` only.
    Raises ``OutcomeError`` when the frame lacks ``dpd_now`` (every scored frame carries it:
    it is a model input).
    """
    if DPD_NOW not in frame.columns:
        raise OutcomeError(
            f"the frame lacks {DPD_NOW!r}: without it loans already in default cannot be told "
            "from predictions"
        )
    dpd = pd.to_numeric(frame[DPD_NOW], errors="coerce").to_numpy(dtype=float)
    return frame[~(dpd >= DEFAULT_DPD)]


def join_outcomes(
    frame: pd.DataFrame,
    realized: pd.DataFrame,
    loan_ids: Mapping[object, str] | pd.Series | None = None,
) -> pd.DataFrame:
    """The scored ``frame`` with each row's realized outcomes, joined on loan and ``as_of``.

    Parameters
    ----------
    frame : DataFrame
        A scored frame (``monitoring.frames``): ``loan_key`` and ``as_of`` identify a row.
    realized : DataFrame
        ``build_realized`` output.
    loan_ids : mapping or Series, optional
        ``loan_key -> loan_id`` (the ledger's pseudonyms resolved by the caller, who holds the
        key); without it ``loan_key`` already is the loan id.

    Returns
    -------
    DataFrame
        ``frame`` in its row order and index, plus ``vintage``, every ``defaulted_{h}m`` and
        ``matured_{h}m`` column of ``realized``, and ``outcome_found`` (bool). A row whose
        loan-month is not in the outcomes (a loan the tables do not know) gets
        ``outcome_found`` False, ``defaulted`` and ``matured`` False and a missing vintage, so
        it is never counted as an outcome; count them with ``~frame.outcome_found``.

    Raises
    ------
    OutcomeError
        If a key column is missing, the frame already has an outcome column, or one loan-month
        occurs twice in the outcomes.
    """
    for name, table, wanted in (
        ("scored frame", frame, (LOAN_KEY, AS_OF)),
        ("realized outcomes", realized, (LOAN_ID, AS_OF)),
    ):
        missing = [c for c in wanted if c not in table.columns]
        if missing:
            raise OutcomeError(f"the {name} lacks the key column(s) {missing}")
    added = [c for c in realized.columns if c not in (LOAN_ID, AS_OF, BORROWER_ID)]
    clash = [c for c in (*added, OUTCOME_FOUND) if c in frame.columns]
    if clash:
        raise OutcomeError(f"the scored frame already has outcome column(s) {clash}")
    if realized.duplicated([LOAN_ID, AS_OF]).any():
        raise OutcomeError("realized outcomes hold a (loan_id, as_of) more than once")
    keys = frame[LOAN_KEY]
    if loan_ids is not None:
        keys = keys.map(loan_ids)
    left = pd.DataFrame({LOAN_ID: keys.astype(object).to_numpy(), AS_OF: frame[AS_OF].to_numpy()})
    right = realized[[LOAN_ID, AS_OF, *added]].copy()
    right[LOAN_ID] = right[LOAN_ID].astype(object)
    right[OUTCOME_FOUND] = True
    joined = left.merge(right, on=[LOAN_ID, AS_OF], how="left", sort=False)
    out = frame.copy()
    for column in added:
        values = joined[column]
        if pd.api.types.is_bool_dtype(realized[column].dtype):
            out[column] = values.astype("boolean").fillna(False).to_numpy(dtype=bool)
        else:
            out[column] = values.array
    found = joined[OUTCOME_FOUND].astype("boolean").fillna(False)
    out[OUTCOME_FOUND] = found.to_numpy(dtype=bool)
    return out

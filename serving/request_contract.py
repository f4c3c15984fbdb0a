"""The raw-table contract applied to a scoring request: the validator's rules, whole windows.

A ``/score`` request is the raw tables of its borrowers cut to recent history, so it is checked
with the rule set ``ews-data validate`` applies to a bank's export
(``features.validation.validate_tables``: column checks, row rules, cross-table rules), not
with a copy of it. A broken rule is refused with the rule's name and the request path of the
offending record (``borrowers.0.repayments.3.dpd: with status 'delinquent' but dpd 0
[dpd_positive_when_delinquent]``), never with the record's ids: refusals reach the log.

A request is a window, not a book, which changes three things:

* ``instalments_start_at_one`` (``features.schemas.WHOLE_HISTORY_RULE``) does not apply: the
  statements of the last 24 months need not start at instalment 1;
* labels outside the vocabularies (area, industry, rating standard and level) are scored as
  "other" with a note (``serving.schemas.vocabulary_notes``), not refused: a bank may open a
  branch before the model knows the county;
* every loan the request carries must carry its whole window: each monthly statement from the
  first instalment (the month after origination) or the window's first month, whichever is
  later, up to as_of's month (when as_of is its last day, else the month before) or the loan's
  end (its ending statement, or the origination of the loan that renews it). A loan whose
  maturity falls before the window and that has no statement in it ended before the window
  and needs none. Anything else is refused, naming the loan and the
  months missing: a loan scored from part of its history was graded green while 140 days past
  due, and one sent without statements vanished from the answer and the ledger. Refusing is
  the only answer that never understates a risk: the months left out are exactly where the
  arrears may be, and the bank holds them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from features.months import HISTORY_MONTHS, month_index
from features.schemas import WHOLE_HISTORY_RULE
from features.validation import Violation, render_keys, validate_tables
from features.vocab import TERMINAL_STATUSES

#: Contract rules a request is exempt from (see the module docstring).
WINDOW_EXEMPT_RULES = frozenset({WHOLE_HISTORY_RULE})
#: (table, column, rule) of vocabulary checks a request may break: scored as "other", noted.
NOTED_NOT_REFUSED = frozenset(
    {
        ("borrowers", "area", "enum"),
        ("borrowers", "industry", "enum"),
        ("party_ratings", "issuing_area", "enum"),
        ("party_ratings", "native_standard", "enum"),
        ("party_ratings", "native_level", "level_on_scale"),
        ("party_ratings", "native_standard", "standard_matches_area"),
    }
)
#: Problems named in one refusal (a request of 1,000 borrowers may break a rule 1,000 times).
SHOWN = 20


#: The request path of every row of the request's tables, by table, made on demand.
Paths = Callable[[], Mapping[str, Sequence[str]]]


class RequestError(ValueError):
    """A request that passed its schema but cannot be scored; the message names the fields."""


def request_problems(tables: dict[str, pd.DataFrame], paths: Paths, as_of: date) -> list[str]:
    """Every contract rule the request's tables break and every loan with statements missing
    from its window, each naming request paths (``paths()[table][row]``), never ids. ``paths``
    is called only if there is a problem to word: a good request never builds them."""
    paths = cache(paths)
    problems = list(_rule_problems(tables, paths))
    problems += [
        f"{paths()['loans'][row]}: its statements for {_months_text(months)} are missing "
        f"(send every monthly statement of the last {HISTORY_MONTHS} months up to as_of, "
        "from the first instalment or up to the loan's ending statement)"
        for row, months in missing_statements(tables, as_of).items()
    ]
    return problems


def refuse_broken_history(tables: dict[str, pd.DataFrame], paths: Paths, as_of: date) -> None:
    """``RequestError`` naming the first ``SHOWN`` problems, if there is any."""
    problems = request_problems(tables, paths, as_of)
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise RequestError("; ".join(problems[:SHOWN]) + more)


def _rule_problems(tables: dict[str, pd.DataFrame], paths: Paths) -> Iterator[str]:
    report = validate_tables(tables)
    for violation in report.violations:
        if violation.rule in WINDOW_EXEMPT_RULES:
            continue
        if (violation.table, violation.column, violation.rule) in NOTED_NOT_REFUSED:
            continue
        yield from _worded(violation, tables, paths)


def _worded(violation: Violation, tables: dict[str, pd.DataFrame], paths: Paths) -> Iterator[str]:
    """A violation as request paths: one line per offending record, ids left out."""
    column = f".{violation.column}" if violation.column else ""
    what = violation.description or violation.rule
    frame = tables.get(violation.table)
    if frame is None or not violation.keys:
        yield f"{violation.table}{column}: {what} [{violation.rule}]"
        return
    where = _path_of_key(frame, violation.table, paths()[violation.table])
    for key in violation.keys:
        path = where.get(key, violation.table)
        yield f"{path}{column}: {what} [{violation.rule}]"


def _path_of_key(frame: pd.DataFrame, table: str, paths: Sequence[str]) -> dict[str, str]:
    """Request path of each row by its rendered key (keys of a request are unique: repeats
    are refused by its schema first)."""
    keys = render_keys(frame, table, np.ones(len(frame), dtype=bool))
    return dict(zip(keys, paths, strict=False)) if len(keys) == len(paths) else {}


def missing_statements(tables: dict[str, pd.DataFrame], as_of: date) -> dict[int, list[int]]:
    """Row of each loan (in ``tables["loans"]``) whose window lacks statements -> the months
    (integer months, ``features.months``) missing; see the module docstring for the window."""
    month = as_of.year * 12 + as_of.month - 1
    last_day = calendar.monthrange(as_of.year, as_of.month)[1]
    last = month if as_of.day == last_day else month - 1
    first_of_window = month - HISTORY_MONTHS + 1
    statements = tables["repayments"]
    sent: dict[str, set[int]] = {}
    ended: dict[str, int] = {}
    due = month_index(statements["due_date"])
    terminal = statements["status"].isin(TERMINAL_STATUSES).to_numpy()
    for loan_id, m, ends in zip(
        statements["loan_id"].astype(str).to_numpy(), due, terminal, strict=True
    ):
        sent.setdefault(loan_id, set()).add(int(m))
        if ends:
            ended[loan_id] = int(m)
    loans = tables["loans"]
    origination = month_index(loans["origination_date"])
    maturity = month_index(loans["maturity_date"])
    renewed = loans["renewal_of"].notna().to_numpy()
    for loan_id, m in zip(
        loans["renewal_of"].to_numpy()[renewed].astype(str), origination[renewed], strict=True
    ):
        ended.setdefault(loan_id, int(m))  # a renewal ends the loan it renews
    missing: dict[int, list[int]] = {}
    for row, loan_id in enumerate(loans["loan_id"].astype(str).to_numpy()):
        months = sent.get(loan_id, set())
        if loan_id not in ended and maturity[row] < first_of_window and not months:
            continue  # ended before the window by its dates; its ending statement is older
        end = ended.get(loan_id, last)
        window = range(max(int(origination[row]) + 1, first_of_window), min(end, last) + 1)
        lacking = [m for m in window if m not in months]
        if lacking:
            missing[row] = lacking
    return missing


def _months_text(months: list[int]) -> str:
    """``2025-04..2025-06, 2025-09``: runs of consecutive months."""
    runs: list[list[int]] = []
    for m in sorted(months):
        if runs and m == runs[-1][-1] + 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    label: list[str] = []
    for run in runs:
        start, stop = (f"{m // 12}-{m % 12 + 1:02d}" for m in (run[0], run[-1]))
        label.append(start if len(run) == 1 else f"{start}..{stop}")
    return ", ".join(label)

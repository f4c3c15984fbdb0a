"""One performance run: join recorded predictions to what happened, judge, write, publish.

Single responsibility: the glue between the ledger's predictions, the book's realized outcomes
(``monitoring.outcomes``) and the pure figures (``monitoring.performance``), in the order that
writes nothing on bad input: every month is checked for maturity first (a month none of whose
windows has been observed is refused, naming when its first window completes), every figure
is computed, the folder is written under a temporary name, the MLflow run is logged and the
dashboard fed, and only then does the folder take its name.

What alerts. A monthly cohort (the book, or one segment) whose observed defaults exceed what
its probabilities expect at ``level`` (default 0.001, the drift rule's level, because a run
makes hundreds of such comparisons) over the full 12-month window or an early window. The 95%
intervals are reported beside every figure whatever the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from monitoring.frames import AS_OF, CROSSED_NAME, SEGMENT_DIMENSIONS
from monitoring.io import log_and_publish, staged_folder
from monitoring.outcomes import (
    build_realized,
    data_end,
    defaulted_column,
    join_outcomes,
    matured_column,
)
from monitoring.performance import (
    NotMaturedError,
    auc_and_calibration_by_month,
    early_reads,
    estimated_performance,
    maturity,
    observed_vs_expected,
    performance_figures,
)
from monitoring.reference import Reference
from monitoring.term_structure import fit_term_structure

ALERT_LEVEL: Final = 0.001
EARLY: Final = (3, 6)
ABOVE: Final = "above expectation"


@dataclass(frozen=True)
class PerformanceRun:
    """What one performance run found and wrote."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    figures: pd.DataFrame
    folder: Path
    mlflow_run_id: str | None

    @property
    def breached(self) -> bool:
        return bool(self.summary["alerts"])


def reference_outcomes(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference with ``defaulted_{h}m`` / ``matured_{h}m`` from its ``severity_{h}m``
    columns (NaN: the window was not inside the data when the champion was trained)."""
    out = reference.copy()
    for h in (*EARLY, 12):
        severity = out[f"severity_{h}m"]
        out[matured_column(h)] = severity.notna().to_numpy()
        out[defaulted_column(h)] = (severity.fillna(-1) >= 3).to_numpy()
    return out


def check_months(months: Sequence[str], end: pd.Timestamp) -> pd.DataFrame:
    """The maturity table of ``months``; ``NotMaturedError`` for the first month none of whose
    windows has matured."""
    table = maturity(list(months), end, 12, EARLY)
    shortest = min(EARLY)
    for _, row in table.iterrows():
        if not row[matured_column(shortest)]:
            raise NotMaturedError(row[AS_OF], shortest, end)
    return table


def run_performance(
    reference: Reference,
    current: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    loan_ids: Callable[[pd.Series], Mapping[object, str]] | None,
    months: Sequence[str],
    out: Path,
    *,
    level: float = ALERT_LEVEL,
    log_run: Callable[[dict[str, Any], pd.DataFrame, Path], str] | None = None,
    publish: Callable[[pd.DataFrame], None] | None = None,
) -> PerformanceRun:
    """Judge the predictions of ``current`` (``months``) against the book's outcomes.

    ``loan_ids(loan_id_series)`` maps the book's loan ids to the ledger's keys (pseudonyms)
    the other way round: it returns ``{loan_key: loan_id}``; None when ``current`` is keyed by
    clear loan ids already (portfolio-run folders).
    """
    end = data_end(tables)
    maturity_table = check_months(months, end)
    realized = build_realized(tables, (*EARLY, 12))
    mapping = loan_ids(realized["loan_id"]) if loan_ids is not None else None
    joined = join_outcomes(current, realized, mapping)
    terms = fit_term_structure(reference_outcomes(reference.frame), EARLY)
    matured = [
        pd.Timestamp(m).strftime("%Y-%m")
        for m, ok in zip(maturity_table[AS_OF], maturity_table[matured_column(12)], strict=True)
        if ok
    ]
    dims = [*SEGMENT_DIMENSIONS, CROSSED_NAME]
    results: dict[str, pd.DataFrame] = {
        "maturity": maturity_table,
        "estimated": estimated_performance(joined),
        "early_reads": pd.concat(
            [early_reads(joined, terms, EARLY, level=level)]
            + [early_reads(joined, terms, EARLY, by=d, level=level) for d in dims],
            ignore_index=True,
        ),
    }
    if matured:
        results["oe_by_month"] = observed_vs_expected(joined, AS_OF, level=level, months=matured)
        results["oe_by_segment"] = pd.concat(
            [observed_vs_expected(joined, (AS_OF, d), level=level, months=matured) for d in dims],
            ignore_index=True,
        )
        results["oe_by_vintage"] = observed_vs_expected(
            joined, "vintage", level=level, months=matured
        )
        results["auc_by_month"] = auc_and_calibration_by_month(joined, months=matured)
    figures = performance_figures(joined, terms, dimensions=dims)
    summary = _summary(reference, months, matured, results, level, len(joined))
    params = {
        "kind": "performance",
        "model_name": reference.model_name,
        "model_version": reference.model_version,
        "reference_run_id": reference.run_id,
        "months": f"{months[0]}:{months[-1]}",
        "alert_level": level,
        "data_end": end.strftime("%Y-%m"),
    }
    out = Path(out)
    with staged_folder(out) as staged:
        for name, table in results.items():
            table.to_csv(staged / f"{name}.csv", index=False)
        run_id = log_and_publish(staged, summary, params, figures, log_run, publish)
    return PerformanceRun(summary, results, figures, out, run_id)


def _summary(
    reference: Reference,
    months: Sequence[str],
    matured: list[str],
    results: dict[str, pd.DataFrame],
    level: float,
    rows: int,
) -> dict[str, Any]:
    alerts: list[dict[str, Any]] = []
    for name in ("oe_by_month", "oe_by_segment", "early_reads"):
        table = results.get(name)
        if table is None or table.empty:
            continue
        for _, r in table[table["verdict"] == ABOVE].iterrows():
            alerts.append(
                {
                    "table": name,
                    "as_of": pd.Timestamp(r[AS_OF]).strftime("%Y-%m"),
                    "window": int(r["window"]) if "window" in r else 12,
                    "group": _group(r),
                    "n": int(r["n"]),
                    "observed": int(r["observed"]),
                    "expected": float(r["expected"]),
                    "oe_ratio": float(r["oe_ratio"]),
                    "p_worse": float(r["p_worse"]),
                }
            )
    book = results.get("oe_by_month", pd.DataFrame())
    estimated = results["estimated"]
    document = {
        "kind": "performance",
        "model": {"name": reference.model_name, "version": reference.model_version},
        "reference_run_id": reference.run_id,
        "months": list(months),
        "matured_12m": matured,
        "rows": rows,
        "alert_level": level,
        "alerts": alerts,
        "book": [
            {
                "as_of": pd.Timestamp(r[AS_OF]).strftime("%Y-%m"),
                "n": int(r["n"]),
                "observed_rate": float(r["observed_rate"]),
                "expected_rate": float(r["expected_rate"]),
                "oe_ratio": float(r["oe_ratio"]),
                "oe_low": float(r["oe_low"]),
                "oe_high": float(r["oe_high"]),
                "verdict": r["verdict"],
            }
            for _, r in book.iterrows()
        ],
        "estimated": json.loads(estimated.to_json(orient="records", date_format="iso")),
    }
    return document


def _group(row: pd.Series) -> str:
    for d in (*SEGMENT_DIMENSIONS, CROSSED_NAME):
        if d in row and pd.notna(row[d]):
            return f"{d}={row[d]}"
    return "book"

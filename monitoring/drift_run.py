"""One drift run: measure, write the evidence folder, feed the dashboard, log the MLflow run.

Order matters for "nothing lost or half-written": every figure is computed first; the output
folder is written complete under a temporary name beside its place; then the run is logged to
MLflow and the months are published to the dashboard; only then does the folder take its
name (replacing an older run's folder of the same months in one rename). A run that fails
before the end leaves no folder and no MLflow run marked finished.

The folder holds ``summary.json`` (``monitoring.summary``), ``segments.csv`` (one row per
segment-month: verdict, PSI, noise bound, sizes, drivers), ``psi.parquet`` (every figure's PSI),
``grade_mix.csv`` and ``reports/drift-YYYY-MM.html`` (an Evidently report of the whole book per
month, its test pinned: ``monitoring.evidently_report``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.partitioned import Mapper
from monitoring.drift import DriftResult, DriftRule, compute_drift, merge_drift
from monitoring.figures import drift_figures
from monitoring.frames import AS_OF
from monitoring.io import log_and_publish, staged_folder
from monitoring.reference import Reference
from monitoring.summary import drift_summary


@dataclass(frozen=True)
class DriftRun:
    """What one drift run found and wrote."""

    result: DriftResult
    summary: dict[str, Any]
    figures: pd.DataFrame
    folder: Path
    mlflow_run_id: str | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return bool(self.summary["breach_count"])


def run_drift(
    reference: Reference,
    current: pd.DataFrame,
    months: Sequence[str],
    out: Path,
    *,
    source: str,
    rule: DriftRule | None = None,
    evidently_reports: bool = True,
    log_run: Callable[[dict[str, Any], pd.DataFrame, Path], str] | None = None,
    publish: Callable[[pd.DataFrame], None] | None = None,
) -> DriftRun:
    """Measure drift of ``current`` (``months``) against ``reference`` and write ``out``.

    ``log_run(params, figures, folder)`` logs the MLflow run and returns its id; ``publish``
    puts the figures on the dashboard. Both are called after the folder is complete.
    """
    result = compute_drift(reference.frame, current, reference.inputs, rule)
    reports = month_reports(reference, current) if evidently_reports else {}
    return _finish(reference, result, reports, months, out, source, log_run, publish)


def drift_of_month(
    month: str,
    reference: Reference,
    read_month: Callable[[str], pd.DataFrame],
    rule: DriftRule | None,
    evidently_reports: bool,
) -> tuple[DriftResult, dict[str, str]]:
    """One month's drift and its Evidently report, from the month's scored loans as
    ``read_month`` reads them (the ledger or a portfolio-run folder): a cluster task."""
    current = read_month(month)
    result = compute_drift(reference.frame, current, reference.inputs, rule)
    return result, (month_reports(reference, current) if evidently_reports else {})


def run_drift_by_month(
    reference: Reference,
    read_month: Callable[[str], pd.DataFrame],
    months: Sequence[str],
    out: Path,
    *,
    source: str,
    mapper: Mapper,
    rule: DriftRule | None = None,
    evidently_reports: bool = True,
    log_run: Callable[[dict[str, Any], pd.DataFrame, Path], str] | None = None,
    publish: Callable[[pd.DataFrame], None] | None = None,
) -> DriftRun:
    """``run_drift`` with each month read, measured and reported where ``mapper`` runs it
    (a Dask cluster): months are independent given the reference, so the tables are the
    single run's, and no process holds more than one month of scored loans."""
    pieces = mapper(drift_of_month, list(months), reference, read_month, rule, evidently_reports)
    result = merge_drift([result for result, _ in pieces])
    reports = {label: html for _, month in pieces for label, html in month.items()}
    return _finish(reference, result, reports, months, out, source, log_run, publish)


def month_reports(reference: Reference, current: pd.DataFrame) -> dict[str, str]:
    """The Evidently drift report of the whole book per month of ``current``, as HTML."""
    from monitoring.evidently_report import build_drift_report
    from monitoring.outcomes import performing

    numerical, categorical = _column_kinds(reference.frame, reference.inputs)
    population = performing(reference.frame)  # the population the figures judge
    reports = {}
    for as_of, month in performing(current).groupby(AS_OF, sort=True):
        label = pd.Timestamp(as_of).strftime("%Y-%m")
        snapshot = build_drift_report(population, month, numerical, categorical)
        reports[label] = snapshot.get_html_str(as_iframe=False)
    return reports


def _finish(
    reference: Reference,
    result: DriftResult,
    reports: dict[str, str],
    months: Sequence[str],
    out: Path,
    source: str,
    log_run: Callable[[dict[str, Any], pd.DataFrame, Path], str] | None,
    publish: Callable[[pd.DataFrame], None] | None,
) -> DriftRun:
    """Summary, figures, the staged folder, the MLflow run and the dashboard, in that order."""
    summary = drift_summary(result, reference, list(months), source)
    figures = drift_figures(result)
    out = Path(out)
    params = {
        "kind": "drift",
        "model_name": reference.model_name,
        "model_version": reference.model_version,
        "reference_run_id": reference.run_id,
        "months": f"{months[0]}:{months[-1]}",
        "source": source,
        **{f"rule_{k}": v for k, v in result.rule_record().items() if k != "text"},
    }
    with staged_folder(out) as staged:
        _write_folder(staged, result, reports)
        run_id = log_and_publish(staged, summary, params, figures, log_run, publish)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    return DriftRun(result, summary, figures, out, run_id, files)


def _write_folder(folder: Path, result: DriftResult, reports: dict[str, str]) -> None:
    result.segments.to_csv(folder / "segments.csv", index=False)
    result.psi.to_parquet(folder / "psi.parquet", index=False)
    result.grade_mix.to_csv(folder / "grade_mix.csv", index=False)
    if not reports:
        return
    (folder / "reports").mkdir()
    for label, html in sorted(reports.items()):
        (folder / "reports" / f"drift-{label}.html").write_text(html, encoding="utf-8")


def _column_kinds(frame: pd.DataFrame, inputs: Sequence[str]) -> tuple[list[str], list[str]]:
    from monitoring.psi import is_categorical

    categorical = [c for c in inputs if is_categorical(frame[c])]
    numerical = [c for c in inputs if c not in categorical]
    return [*numerical, "pd_12m"], [*categorical, "grade"]

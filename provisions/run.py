"""One month's provision run: exposures provided for, totalled, recorded and written.

Single responsibility: tie the pure calculations (``provisions.allowance``) to a run record an
auditor can trace (policy version, fingerprint and full text; where the scores and the book
came from, with content hashes; the allowance by stage, category and segment; the ratios) and
write the run's folder atomically: ``loans.parquet`` (one row per loan, reasons included, the
origination PD used), ``totals_by_<dimension>.csv``, ``ratios.csv``, ``overlays.json`` (the
overlays the monitoring evidence supports, with their ids in the store) and ``run.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.partitioned import Mapper, PartitionedBook, in_process
from monitoring.io import staged_folder, to_json
from provisions.allowance import TOTAL_DIMENSIONS, provide, ratios, totals
from provisions.exposures import build_exposures, check_month
from provisions.overlays import propose_overlays
from provisions.partitioned import provide_by_partition
from provisions.policy import ProvisionPolicy


@dataclass(frozen=True)
class ProvisionRun:
    """A month's per-loan results, totals, ratios, proposed overlays and its record."""

    loans: pd.DataFrame
    totals: dict[str, pd.DataFrame]
    overlays: list[dict[str, Any]]
    record: dict[str, Any]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (the identity of an input in the run record)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compute_run(
    tables: Mapping[str, pd.DataFrame] | PartitionedBook,
    scores: pd.DataFrame,
    as_of: str,
    pd_origination: Mapping[str, float],
    policy: ProvisionPolicy,
    inputs: dict[str, Any],
    performance: Mapping[str, Any] | None = None,
    drift: Mapping[str, Any] | None = None,
    mapper: Mapper | None = None,
    n_partitions: int = 1,
) -> ProvisionRun:
    """Provide for month ``as_of`` and propose the overlays the monitoring summaries
    (``performance``, ``drift``; either may be None) support; ``inputs`` describes where
    scores, book and evidence came from. ``mapper``: provide for the loans by borrower
    partition where it runs them (``provisions.partitioned``); the rest needs the month whole."""
    if isinstance(tables, PartitionedBook):  # read one partition at a time, never whole
        check_month(tables.span(), scores, as_of)
        loans, left_out = provide_by_partition(
            tables, scores, as_of, pd_origination, policy, mapper or in_process, n_partitions
        )
    elif mapper is None:
        exposures = build_exposures(tables, scores, as_of, pd_origination, policy.staging)
        loans, left_out = provide(exposures.frame, policy), exposures.left_out
    else:
        check_month(tables, scores, as_of)
        loans, left_out = provide_by_partition(
            tables, scores, as_of, pd_origination, policy, mapper, n_partitions
        )
    overlays = propose_overlays(loans, policy, as_of, performance, drift)
    by = {d: totals(loans, d) for d in TOTAL_DIMENSIONS}
    modelled = float(loans["ecl"].sum())
    coverage, loan_ratio = ratios(loans, modelled, policy)
    record = {
        "kind": "provisions",
        "as_of": as_of,
        "policy": {
            "version": policy.version,
            "fingerprint": policy.fingerprint(),
            "document": policy.model_dump(mode="json"),
        },
        "inputs": inputs,
        "loans": len(loans),
        "left_out": {
            "count": len(left_out),
            "why": "statement of the month ends the loan",
        },
        "without_origination_pd": int(loans["pd_origination"].isna().sum()),
        "balance": float(loans["balance"].sum()),
        "ead": float(loans["ead"].sum()),
        "allowance": {
            "modelled": modelled,
            **{f"scenario_{s.name}": float(loans[f"ecl_{s.name}"].sum()) for s in policy.scenarios},
        },
        "by_stage": _records(by["stage"]),
        "by_category": _records(by["category"]),
        "ratios_modelled": [coverage.to_dict(), loan_ratio.to_dict()],
        "overlays_proposed": [
            {k: o[k] for k in ("kind", "segment", "amount", "pd_points")} for o in overlays
        ],
    }
    return ProvisionRun(loans, by, overlays, record)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


def write_run(
    run: ProvisionRun,
    out: Path,
    record_in_store: Callable[[], tuple[str, list[str]]],
    log_run: Callable[[ProvisionRun, Path], str] | None = None,
    forget_logged: Callable[[str], None] | None = None,
) -> str:
    """Write the run's folder, log it to MLflow and record it in the store, all or nothing.

    The folder is staged; the record learns where its per-loan file goes and that file's
    hash (a re-run reads the origination PDs from it); ``log_run`` logs the staged folder as
    an MLflow run (its id goes into the record); the store records the run and its overlays
    (their ids go into ``run.json`` and ``overlays.json``); then the folder takes its name in
    one rename. A store failure deletes the MLflow run again (``forget_logged``) and leaves no
    folder: the store is the book of record, nothing stands beside it that it lacks.
    """
    with staged_folder(out) as staged:
        run.loans.to_parquet(staged / "loans.parquet", index=False)
        for dimension, table in run.totals.items():
            table.to_csv(staged / f"totals_by_{dimension}.csv", index=False)
        pd.DataFrame(run.record["ratios_modelled"]).to_csv(staged / "ratios.csv", index=False)
        run.record["outputs"] = {
            "folder": str(out.resolve()),
            "loans_sha256": file_digest(staged / "loans.parquet"),
        }
        (staged / "overlays.json").write_text(to_json(run.overlays), encoding="utf-8")
        (staged / "run.json").write_text(to_json(run.record), encoding="utf-8")
        logged = log_run(run, staged) if log_run is not None else None
        if logged is not None:
            run.record["mlflow_run_id"] = logged
        try:
            run_id, overlay_ids = record_in_store()
        except BaseException:
            if logged is not None and forget_logged is not None:
                forget_logged(logged)
            raise
        run.record["run_id"] = run_id
        for overlay, overlay_id in zip(run.overlays, overlay_ids, strict=True):
            overlay["overlay_id"] = overlay_id
        (staged / "overlays.json").write_text(to_json(run.overlays), encoding="utf-8")
        (staged / "run.json").write_text(to_json(run.record), encoding="utf-8")
    return run_id

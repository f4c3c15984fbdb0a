"""Writing a simulated portfolio to disk (tables, truth, manifest) and reading the truth back.

The manifest records the arguments, the scenario, the full configuration and each file's
SHA-256, and nothing time-dependent, so the same arguments give byte-identical folders. Raw
tables go to the folder itself, the ground truth to ``ground_truth/`` beside them so that
nothing that reads "the six tables" can pick it up by accident. ``read_ground_truth`` is the one
way back in, for measuring models against the oracles (``training``, benchmarks, tests).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import atomic_write, read_table, staged_folder, write_table
from features.simulator.config import SimulationConfig
from features.simulator.scenario import Scenario
from features.simulator.simulate import SimulatedPortfolio

TRUTH_DIR = "ground_truth"
#: Truth tables of the two oracles, one row per open loan-month each, in the same order.
PATH_ORACLE_TABLE = "loan_months"
POINT_IN_TIME_TABLE = "oracle_point_in_time"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_simulation(
    portfolio: SimulatedPortfolio,
    out: Path,
    arguments: dict[str, Any],
    scenario: Scenario,
    config: SimulationConfig | None = None,
) -> dict[str, Any]:
    """Write tables, truth and ``manifest.json``; returns the manifest."""
    out = Path(out)
    paths = {name: write_table(frame, out, name) for name, frame in portfolio.tables.items()}
    for name, frame in portfolio.truth.items():
        paths[f"{TRUTH_DIR}/{name}"] = write_table(frame, out / TRUTH_DIR, name)
    manifest = {
        "generator": "features.simulator",
        "arguments": arguments,
        "scenario": scenario.model_dump(mode="json"),
        "config": (config or SimulationConfig()).model_dump(mode="json"),
        "row_counts": {name: len(frame) for name, frame in portfolio.tables.items()},
        "truth_row_counts": {name: len(frame) for name, frame in portfolio.truth.items()},
        "files": {
            name: {"path": str(p.relative_to(out)), "sha256": _sha256(p)}
            for name, p in paths.items()
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True)
    atomic_write(out / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return manifest


def write_partitioned_simulation(
    blocks: Iterable[SimulatedPortfolio],
    out: Path,
    n_partitions: int,
    arguments: dict[str, Any],
    scenario: Scenario,
    config: SimulationConfig | None = None,
    on_block: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write a book block by block as a partitioned dataset; returns the manifest.

    Each table (and each truth table) becomes ``<table>/part=KKKK/block-JJJJ.parquet``: the
    rows of generation block J whose borrower hashes to partition K (``features.partitions``).
    One block is in memory at a time. The book is the same whatever ``n_partitions``: only
    where its rows are filed changes. Everything is written into a staging folder beside
    ``out`` and moved into place at the end, so a failure leaves no half-written book; an
    existing simulated book at ``out`` is replaced, any other folder is refused.
    """
    from features.io import partition_folder
    from features.partitions import row_partitions

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise FileExistsError(f"{out} holds files but no simulated book: not overwriting it")
    rows: dict[str, int] = {}
    truth_rows: dict[str, int] = {}
    with staged_folder(out) as staging:
        for number, block in enumerate(blocks):
            loans = block.tables["loans"]
            for frames, root, counts in (
                (block.tables, staging, rows),
                (block.truth, staging / TRUTH_DIR, truth_rows),
            ):
                parts = row_partitions(frames, n_partitions, loans)
                for name, frame in frames.items():
                    counts[name] = counts.get(name, 0) + len(frame)
                    for k in np.unique(parts[name]).tolist():
                        folder = root / name / partition_folder(k)
                        write_table(frame[parts[name] == k], folder, f"block-{number:04d}")
            if on_block is not None:
                on_block(number)
        manifest = {
            "generator": "features.simulator",
            "arguments": arguments,
            "layout": {"partitions": n_partitions, "partitioned_by": "borrower_id"},
            "scenario": scenario.model_dump(mode="json"),
            "config": (config or SimulationConfig()).model_dump(mode="json"),
            "row_counts": rows,
            "truth_row_counts": truth_rows,
            "files": {
                str(path.relative_to(staging)): {"sha256": _sha256(path)}
                for path in sorted(staging.rglob("*.parquet"))
            },
        }
        text = json.dumps(manifest, indent=2, sort_keys=True)
        (staging / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def _at_least(frame: pd.DataFrame, prefix: str, out_prefix: str) -> dict[str, np.ndarray]:
    """``P(S >= k)`` for k = 1..3 from the exact severity columns ``<prefix>0 .. <prefix>3``."""
    exact = frame[[f"{prefix}{s}" for s in range(4)]].to_numpy()
    tail = np.cumsum(exact[:, ::-1], axis=1)[:, ::-1]
    return {f"{out_prefix}{k}": tail[:, k] for k in (1, 2, 3)}


def read_ground_truth(folder: Path | str, partitions: Sequence[int] | None = None) -> pd.DataFrame:
    """Both oracles' ``P(S>=1)``, ``P(S>=2)``, ``P(S>=3)`` for every open loan-month of a book.

    ``folder`` is the simulated book (the one holding ``manifest.json``). Returns one row per
    (``loan_id``, ``as_of``), the keys of the snapshots (``as_of`` a month-end
    ``datetime64[ns]``, ``loan_id`` categorical), with ``path_p_ge1 .. path_p_ge3`` from the
    path-conditional oracle (knows the future capacity path) and ``pit_p_ge1 .. pit_p_ge3`` from
    the point-in-time oracle (knows only the end of as_of): the fair yardstick for a model.

    Raises
    ------
    TableReadError
        If a truth table is missing, as in books simulated before the point-in-time oracle
        existed: simulate them again.

    ``partitions``: of a partitioned book, only these partitions' loans.
    """
    directory = Path(folder) / TRUTH_DIR
    names = (PATH_ORACLE_TABLE, POINT_IN_TIME_TABLE)
    return ground_truth_frame({name: read_table(directory, name, partitions) for name in names})


def ground_truth_frame(truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``read_ground_truth`` of a simulation held in memory (``SimulationResult.truth``)."""
    path, pit = truth[PATH_ORACLE_TABLE], truth[POINT_IN_TIME_TABLE]
    keys = ["loan_id", "as_of"]
    aligned = len(path) == len(pit) and all(path[k].equals(pit[k]) for k in keys)
    if not aligned:
        pit = path[keys].merge(pit, on=keys, how="left", validate="one_to_one")
    return pd.DataFrame(
        {
            "loan_id": path["loan_id"].array,
            "as_of": path["as_of"].astype("datetime64[ns]").to_numpy(),
            **_at_least(path, "p_s", "path_p_ge"),
            **_at_least(pit, "pit_p_s", "pit_p_ge"),
        }
    )


#: Truth table of every application the bank decided (``book.applications_frame``).
APPLICATIONS_TABLE = "applications"


def anchor_figures(folder: Path | str) -> dict[str, pd.DataFrame]:
    """The simulated book against the realism anchors (docs/simulator.md), as tables.

    ``folder`` is a simulated book. Returns frames keyed ``npl_stock`` and ``default_flow``
    (by borrower type, whole book first), ``pricing`` (mean rate and median line by type and
    product), ``risk`` (correlations of rate and line with default and with the application
    score) and ``approval`` (approval rate by kind of application, and the share of borrowers
    never approved). Reads the validated raw tables and the applications truth table.
    """
    from features.summary import compute_default_rates, compute_npl_stock, performing_outcomes
    from features.validation import load_validated_portfolio

    folder = Path(folder)
    tables = load_validated_portfolio(folder)
    stock = pd.concat([compute_npl_stock(tables), compute_npl_stock(tables, "borrower_type")])
    outcomes = performing_outcomes(tables)
    flow = pd.concat(
        [compute_default_rates(outcomes), compute_default_rates(outcomes, "borrower_type")]
    )
    rep = tables["repayments"]
    bad = (rep["dpd"] >= 90) | rep["status"].astype(str).isin(["charged_off", "restructured"])
    loans = tables["loans"].astype({"loan_id": str, "borrower_id": str})
    borrowers = tables["borrowers"].astype({"borrower_id": str})
    loans = loans.merge(borrowers[["borrower_id", "borrower_type"]], on="borrower_id")
    loans["defaulted"] = loans["loan_id"].isin(set(rep.loc[bad, "loan_id"].astype(str)))
    pricing = loans.groupby(["borrower_type", "product"], observed=True).agg(
        loans=("loan_id", "size"),
        mean_rate=("annual_rate", "mean"),
        median_amount=("amount", "median"),
        max_amount=("amount", "max"),
    )
    apps = read_table(folder / TRUTH_DIR, APPLICATIONS_TABLE)
    score = loan_scores(loans, apps)
    risk = pd.DataFrame(
        {
            "value": [
                loans["defaulted"].mean(),
                np.corrcoef(loans["annual_rate"], loans["defaulted"])[0, 1],
                np.corrcoef(np.log(loans["amount"]), loans["defaulted"])[0, 1],
                np.corrcoef(score, loans["annual_rate"])[0, 1],
                np.corrcoef(score, np.log(loans["amount"]))[0, 1],
            ]
        },
        index=[
            "loans ever 90+ DPD, charged off or restructured",
            "corr(rate, loan defaulted)",
            "corr(log amount, loan defaulted)",
            "corr(application score, rate)",
            "corr(application score, log amount)",
        ],
    )
    approval = apps.groupby(apps["kind"].astype(str))["approved"].agg(["size", "mean"])
    with_loan = borrowers["borrower_id"].isin(loans["borrower_id"])
    approval.loc["never approved (share of borrowers)"] = [len(borrowers), 1 - with_loan.mean()]
    return {
        "npl_stock": stock,
        "default_flow": flow,
        "pricing": pricing,
        "risk": risk,
        "approval": approval.rename(columns={"size": "applications", "mean": "approved"}),
    }


def loan_scores(loans: pd.DataFrame, applications: pd.DataFrame) -> np.ndarray:
    """Application score behind each of ``loans`` (rows of the loans table, in any order).

    Every approved application books one loan, so a borrower's n-th approved application (in
    decision order) is its n-th loan by origination date.
    """
    approved = applications[applications["approved"]].astype({"borrower_id": str})
    nth = approved.groupby("borrower_id").cumcount()
    key = approved["borrower_id"] + "#" + nth.astype(str)
    order = loans.sort_values("origination_date", kind="stable")
    loan_nth = order.groupby("borrower_id").cumcount()
    loan_key = (order["borrower_id"] + "#" + loan_nth.astype(str)).reindex(loans.index)
    return approved.set_index(key)["score"].reindex(loan_key).to_numpy()


def main(argv: list[str] | None = None) -> None:
    """``python -m features.simulator.report BOOK``: print ``anchor_figures`` of a book."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m features.simulator.report BOOK_FOLDER")
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        for name, frame in anchor_figures(args[0]).items():
            print(f"\n== {name}\n{frame.round(4).to_string()}")


if __name__ == "__main__":
    main()

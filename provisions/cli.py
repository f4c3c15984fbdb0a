"""``ews-provision``: the month's allowance, and the people's decisions on overlays.

* ``run --as-of YYYY-MM --data BOOK --scores ASSESSMENT``: stage, classify and provide for every
  loan a ``ews-serve score-portfolio`` run scored that month; record the run in the store (the
  ledger's database) and write its folder.
* ``approve ID --by NAME --note TEXT`` / ``reject ID ...``: one decision per overlay.
* ``overlays --as-of YYYY-MM``: the month's overlays, their status, and the approved total.
* ``movement --from RUN --to RUN``: why the booked allowance moved between two runs.

Exit codes: 0 done, 2 bad input (nothing written), 3 a store cannot be used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from serving.cli import load_book, month_list, refuse, serving_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
out = Console()

LedgerOption = Annotated[
    str | None, typer.Option(help="Database URL of the ledger and the provision store.")
]


def _main() -> None:
    app()


def _store(ledger_url: str | None) -> Any:
    from provisions.store import ProvisionStore, StoreError
    from serving.ledger import LedgerError

    settings = serving_settings(None, ledger_url)
    try:
        return settings, ProvisionStore(settings.resolved_ledger_url)
    except (StoreError, LedgerError) as exc:
        refuse(str(exc), 3)


def _one_month(as_of: str) -> str:
    months = month_list(as_of)
    if len(months) != 1:
        refuse(f"--as-of must be one month like 2025-06, got {as_of!r}")
    return months[0]


@app.command()
def run(
    as_of: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    data: Annotated[Path, typer.Option(help="The raw book (the six tables).")],
    scores: Annotated[
        Path, typer.Option(help="The ews-serve score-portfolio folder of that month.")
    ],
    policy: Annotated[
        Path | None, typer.Option(help="Provision policy file (YAML or JSON).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default EWS_HOME/reports/provisions/YYYY-MM)."),
    ] = None,
    ledger_url: LedgerOption = None,
) -> None:
    """Stage, classify and provide for every loan scored that month."""
    from provisions.allowance import ExposureError
    from provisions.exposures import MonthError
    from provisions.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
    from provisions.run import compute_run, file_digest, write_run
    from provisions.store import StoreError
    from serving.ledger import LedgerError
    from serving.stores import open_ledger

    month = _one_month(as_of)
    policy_path = policy or DEFAULT_POLICY_PATH
    try:
        chosen = load_policy(policy_path)
    except PolicyError as exc:
        refuse(str(exc))
    scored_path, run_json = scores / "scored_book.parquet", scores / "run.json"
    if not scored_path.is_file() or not run_json.is_file():
        refuse(f"{scores} is not a score-portfolio folder (scored_book.parquet, run.json)")
    scored = pd.read_parquet(scored_path)
    assessed = json.loads(run_json.read_text(encoding="utf-8"))
    if str(assessed.get("as_of", ""))[:7] != month:
        refuse(f"{scores} assessed {str(assessed.get('as_of'))[:7]}, not {month}")
    tables = load_book(data)
    settings, store = _store(ledger_url)
    try:
        ledger = open_ledger(settings)
        month_end = pd.Period(month, freq="M").end_time.date()
        first = ledger.first_scores(month_end, loan_ids=list(scored["loan_id"].astype(str)))
        by_key = dict(zip(first["loan_pseudonym"], first["pd_12m"], strict=True))
        origination = {
            str(loan): by_key[key]
            for loan in scored["loan_id"].astype(str)
            if (key := ledger.pseudonym_of_loan(loan)) in by_key
        }
        ledger.dispose()
    except LedgerError as exc:
        refuse(str(exc), 3)
    inputs = {
        "scores": {"folder": str(scores.resolve()), "sha256": file_digest(scored_path)},
        "book": {
            "folder": str(data.resolve()),
            "sha256": {p.name: file_digest(p) for p in sorted(data.iterdir()) if p.is_file()},
        },
        "model_version": assessed.get("model_version"),
        "origination_pd": f"first ledger score up to {month} ({store.url})",
        "policy_file": str(Path(policy_path).resolve()),
    }
    try:
        result = compute_run(tables, scored, month, origination, chosen, inputs)
    except (MonthError, ExposureError) as exc:
        refuse(str(exc))
    folder = out_dir or settings.reports_dir / "provisions" / month
    try:
        write_run(result, folder, lambda: store.record_run(month, result.record, [])[0])
    except StoreError as exc:
        refuse(str(exc), 3)
    finally:
        store.dispose()
    _print_run(result.record, folder)


def _print_run(record: dict[str, Any], folder: Path) -> None:
    table = Table(title=f"allowance {record['as_of']} (policy {record['policy']['version']})")
    for column in ("stage", "loans", "balance", "ecl", "ecl / balance"):
        table.add_column(column, justify="right")
    for row in record["by_stage"]:
        table.add_row(
            str(row["stage"]),
            f"{row['loans']:,}",
            f"{row['balance']:,.0f}",
            f"{row['ecl']:,.0f}",
            f"{row['ecl_to_balance']:.2%}",
        )
    out.print(table)
    out.print(f"modelled allowance {record['allowance']['modelled']:,.0f} yuan")
    for ratio in record["ratios_modelled"]:
        value = "n/a" if ratio["value"] is None else f"{ratio['value']:.2%}"
        band = f"band {ratio['low']:.1%}-{ratio['high']:.1%}"
        out.print(f"{ratio['name']}: {value} ({ratio['flag']}, {band})")
    out.print(f"run {record['run_id']}; results in {folder}")


def _decide(decision: str, overlay_id: str, by: str, note: str, ledger_url: str | None) -> None:
    from provisions.store import OverlayError, StoreError

    _, store = _store(ledger_url)
    try:
        store.decide(overlay_id, decision, by, note)
    except OverlayError as exc:
        refuse(str(exc))
    except StoreError as exc:
        refuse(str(exc), 3)
    finally:
        store.dispose()
    out.print(f"overlay {overlay_id} {decision} by {by}")


@app.command()
def approve(
    overlay_id: Annotated[str, typer.Argument(help="The overlay's id.")],
    by: Annotated[str, typer.Option(help="Who approves.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    ledger_url: LedgerOption = None,
) -> None:
    """Approve a proposed overlay: it enters the month's booked allowance."""
    _decide("approved", overlay_id, by, note, ledger_url)


@app.command()
def reject(
    overlay_id: Annotated[str, typer.Argument(help="The overlay's id.")],
    by: Annotated[str, typer.Option(help="Who rejects.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    ledger_url: LedgerOption = None,
) -> None:
    """Reject a proposed overlay: it stays on record, outside the allowance."""
    _decide("rejected", overlay_id, by, note, ledger_url)


@app.command()
def overlays(
    as_of: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    ledger_url: LedgerOption = None,
) -> None:
    """The month's overlays with their status, and the approved total."""
    month = _one_month(as_of)
    _, store = _store(ledger_url)
    frame = store.overlays(month)
    approved = store.approved_total(month)
    store.dispose()
    table = Table(title=f"overlays {month}")
    for column in ("id", "segment", "kind", "yuan", "status", "by"):
        table.add_column(column)
    for row in frame.itertuples():
        table.add_row(
            str(row.overlay_id),
            str(row.segment),
            str(row.kind),
            f"{row.amount:,.0f}",
            str(row.status),
            "" if pd.isna(row.decided_by) else str(row.decided_by),
        )
    out.print(table)
    out.print(f"approved overlays {approved:,.0f} yuan")


@app.command()
def movement(
    previous: Annotated[Path, typer.Option("--from", help="The earlier month's run folder.")],
    current: Annotated[Path, typer.Option("--to", help="The later month's run folder.")],
    ledger_url: LedgerOption = None,
) -> None:
    """Why the booked allowance moved between two runs (IFRS 7 style), with approved
    overlays."""
    from provisions.movement import movement_table

    runs = []
    for folder in (previous, current):
        paths = (folder / "loans.parquet", folder / "run.json")
        if not all(p.is_file() for p in paths):
            refuse(f"{folder} is not a provision run folder (loans.parquet, run.json)")
        record = json.loads(paths[1].read_text(encoding="utf-8"))
        runs.append((pd.read_parquet(paths[0], columns=["loan_id", "stage", "ecl"]), record))
    (before, first), (after, second) = runs
    if first["as_of"] >= second["as_of"]:
        refuse(f"--from is {first['as_of']}, not earlier than --to {second['as_of']}")
    _, store = _store(ledger_url)
    overlays = [store.approved_total(r["as_of"]) for r in (first, second)]
    store.dispose()
    table = movement_table(before, after, *overlays)
    shown = Table(title=f"allowance movement {first['as_of']} to {second['as_of']}")
    shown.add_column("movement")
    shown.add_column("yuan", justify="right")
    for row in table.itertuples():
        shown.add_row(str(row.movement), f"{row.amount:,.0f}")
    out.print(shown)


if __name__ == "__main__":
    _main()

"""``ews-provision``: the month's allowance, and the people's decisions on overlays.

* ``run --as-of YYYY-MM --data BOOK [--scores ASSESSMENT] [--cluster ...]``: stage, classify
  and provide for every loan scored that month (the ledger's portfolio scores, or a
  ``ews-serve score-portfolio`` folder); record the run in the store (the ledger's database)
  and write its folder.
* ``rerun RUN_ID``: reproduce a stored run from its record, to the yuan.
* ``approve ID --by NAME --note TEXT`` / ``reject ID ...``: one decision per overlay.
* ``overlays --as-of YYYY-MM``: the month's overlays, their status, and the approved total.
* ``movement --from RUN --to RUN``: why the booked allowance moved between two runs.

Exit codes: 0 done, 2 bad input (nothing written), 3 a store cannot be used.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from features.cluster import ClusterOption
from serving.cli import (
    book_borrowers,
    cluster_mapper,
    month_list,
    open_book,
    refuse,
    serving_settings,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0])
out = Console()

LedgerOption = Annotated[
    str | None, typer.Option(help="Database URL of the ledger and the provision store.")
]


def _main() -> None:
    app()


@app.callback()
def _start() -> None:
    from features.settings import start_command

    start_command()


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


EvidenceOption = Annotated[
    Path | None,
    typer.Option(
        help="An ews-monitor run folder (its summary.json) whose evidence proposes overlays."
    ),
]
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(help="Evidently workspace of the dashboard (default: EWS_HOME/evidently)."),
]


@app.command()
def run(
    as_of: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    data: Annotated[Path, typer.Option(help="The raw book (the six tables).")],
    scores: Annotated[
        Path | None,
        typer.Option(
            help="The ews-serve score-portfolio folder of that month (default: the month's "
            "portfolio scores in the warning ledger)."
        ),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Provision policy file (YAML or JSON).")
    ] = None,
    drift: EvidenceOption = None,
    performance: EvidenceOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default EWS_HOME/reports/provisions/YYYY-MM)."),
    ] = None,
    ledger_url: LedgerOption = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: EWS_TRACKING_URI).")
    ] = None,
    workspace: WorkspaceOption = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Publish the month's figures.")
    ] = True,
    cluster: ClusterOption = None,
) -> None:
    """Stage, classify and provide for every loan scored that month; propose the overlays
    the monitoring evidence supports. With --cluster the loans are provided for by borrower
    partition on Dask; the overlays, totals and the store are done here."""
    from provisions.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy
    from provisions.run import file_digest, write_run
    from provisions.store import StoreError
    from serving.ledger import LedgerError
    from serving.stores import open_ledger

    month = _one_month(as_of)
    policy_path = policy or DEFAULT_POLICY_PATH
    try:
        chosen = load_policy(policy_path)
    except PolicyError as exc:
        refuse(str(exc))
    if scores is not None:
        scored, assessed, scored_path = _scores(scores, month)
        score_source = {"folder": str(scores.resolve()), "sha256": file_digest(scored_path)}
    evidence = {k: _evidence(folder, k) for k, folder in _evidence_folders(drift, performance)}
    tables = open_book(data)
    settings, store = _store(ledger_url)
    if tracking_uri:
        settings = serving_settings(tracking_uri, ledger_url)
    publish = _publisher(settings, workspace, dashboard)
    try:
        ledger = open_ledger(settings)
        if scores is None:
            scored, score_source = _scores_from_ledger(ledger, tables, month, store.url)
            assessed = {"model_version": ", ".join(score_source["model_versions"])}
        origination = _origination_from_ledger(ledger, scored, month)
        ledger.dispose()
    except LedgerError as exc:
        refuse(str(exc), 3)
    inputs = {
        "scores": score_source,
        "book": {"folder": str(data.resolve()), "sha256": _book_digests(data)},
        "model_version": assessed.get("model_version"),
        "origination_pd": f"first ledger score up to {month} ({store.url})",
        "policy_file": str(Path(policy_path).resolve()),
        "evidence": {kind: identity for kind, (_, identity) in evidence.items()},
    }
    with contextlib.ExitStack() as stack:
        mapper, partitions = None, 1
        if cluster is not None:
            mapper, partitions = cluster_mapper(
                stack, cluster, book_borrowers(tables), "provisions by partition"
            )
        result = _compute(
            tables, scored, month, origination, chosen, inputs, evidence, mapper, partitions
        )
    folder = out_dir or settings.reports_dir / "provisions" / month
    logger = _mlflow_logger(settings, month)
    try:
        write_run(
            result,
            folder,
            lambda: store.record_run(month, result.record, result.overlays),
            logger,
            _forget_logged(settings),
        )
    except StoreError as exc:
        refuse(str(exc), 3)
    finally:
        store.dispose()
    if publish is not None:
        from provisions.figures import provision_figures

        proposed = sum(o["amount"] for o in result.overlays)
        publish(provision_figures(result.loans, result.record, 0.0, proposed))
    _print_run(result.record, result.overlays, folder)


def _evidence_folders(drift: Path | None, performance: Path | None) -> list[tuple[str, Path]]:
    return [(k, f) for k, f in (("drift", drift), ("performance", performance)) if f is not None]


def _scores(scores: Path, month: str) -> tuple[pd.DataFrame, dict[str, Any], Path]:
    """The month's score-portfolio folder: its scored book, its run record and the file."""
    scored_path, run_json = scores / "scored_book.parquet", scores / "run.json"
    if not scored_path.is_file() or not run_json.is_file():
        refuse(f"{scores} is not a score-portfolio folder (scored_book.parquet, run.json)")
    assessed = json.loads(run_json.read_text(encoding="utf-8"))
    if str(assessed.get("as_of", ""))[:7] != month:
        refuse(f"{scores} assessed {str(assessed.get('as_of'))[:7]}, not {month}")
    return pd.read_parquet(scored_path), assessed, scored_path


def _scores_from_ledger(
    ledger: Any, tables: Any, month: str, url: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The month's portfolio scores from the warning ledger (each book loan's latest record
    of that month, a re-assessment winning), keyed by clear loan id, and their identity: a
    hash of the scores, so a re-run finds them unchanged or says so."""
    import hashlib
    from datetime import timedelta

    month_end = pd.Period(month, freq="M").end_time.date()
    loan_ids = [str(x) for x in pd.unique(_loan_ids(tables).astype(str))]
    by_key = {ledger.pseudonym_of_loan(loan): loan for loan in loan_ids}
    # the whole month, then the book's loans: one query, not one per chunk of a million ids
    latest = ledger.latest_grades(month_end + timedelta(days=1), as_of=month_end)
    latest = latest[latest["loan_pseudonym"].isin(by_key)]
    if latest.empty:
        refuse(
            f"{month}: the ledger ({url}) holds no portfolio scores of the month; run "
            f"ews-serve score-portfolio --as-of {month}, or pass --scores"
        )
    scored = (
        pd.DataFrame(
            {
                "loan_id": latest["loan_pseudonym"].map(by_key),
                "pd_12m": latest["pd_12m"].astype(float),
                "grade": latest["grade"].astype(str),
            }
        )
        .sort_values("loan_id")
        .reset_index(drop=True)
    )
    text = scored.to_csv(index=False, float_format="%.17g").encode("utf-8")
    identity = {
        "ledger": url,
        "month": month,
        "rows": len(scored),
        "sha256": hashlib.sha256(text).hexdigest(),
        "model_versions": sorted({str(v) for v in latest["model_version"]}),
    }
    return scored, identity


def _evidence(folder: Path, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """An ews-monitor run's summary and its identity (folder, hash), or a refusal."""
    from provisions.run import file_digest

    path = folder / "summary.json"
    if not path.is_file():
        refuse(f"{folder} is not an ews-monitor {kind} folder (no summary.json)")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        refuse(f"{path} cannot be read as JSON ({exc})")
    if not isinstance(summary, dict) or summary.get("kind") != kind:
        found = summary.get("kind") if isinstance(summary, dict) else type(summary).__name__
        refuse(f"--{kind} {folder} holds the summary of a {found!r} run, not of {kind}")
    return summary, {"folder": str(folder.resolve()), "sha256": file_digest(path)}


def _loan_ids(book: Any) -> pd.Series:
    from features.partitioned import PartitionedBook

    if isinstance(book, PartitionedBook):
        return book.column("loans", "loan_id")
    return book["loans"]["loan_id"]


def _book_digests(data: Path) -> dict[str, str]:
    """SHA-256 of the book's files: the top-level ones, and every file of a partitioned
    book's table folders (by path relative to the book)."""
    from features.io import RAW_TABLES
    from provisions.run import file_digest

    digests = {p.name: file_digest(p) for p in sorted(data.iterdir()) if p.is_file()}
    for table in RAW_TABLES:
        if (data / table).is_dir():
            for path in sorted((data / table).rglob("*")):
                if path.is_file():
                    digests[str(path.relative_to(data))] = file_digest(path)
    return digests


def _origination_from_ledger(ledger: Any, scored: pd.DataFrame, month: str) -> dict[str, float]:
    """Each loan's first score the ledger holds up to the month end (its origination PD)."""
    month_end = pd.Period(month, freq="M").end_time.date()
    first = ledger.first_scores(month_end)  # every loan's, then the scored ones: one query
    by_key = dict(zip(first["loan_pseudonym"], first["pd_12m"], strict=True))
    return {
        str(loan): by_key[key]
        for loan in scored["loan_id"].astype(str)
        if (key := ledger.pseudonym_of_loan(loan)) in by_key
    }


def _compute(
    tables: Any,
    scored: pd.DataFrame,
    month: str,
    origination: dict[str, float],
    policy: Any,
    inputs: dict[str, Any],
    evidence: dict[str, tuple[dict[str, Any], dict[str, str]]],
    mapper: Any = None,
    n_partitions: int = 1,
) -> Any:
    from provisions.allowance import ExposureError
    from provisions.exposures import MonthError
    from provisions.overlays import EvidenceError
    from provisions.run import compute_run

    try:
        return compute_run(
            tables,
            scored,
            month,
            origination,
            policy,
            inputs,
            performance=evidence.get("performance", (None,))[0],
            drift=evidence.get("drift", (None,))[0],
            mapper=mapper,
            n_partitions=n_partitions,
        )
    except (MonthError, ExposureError, EvidenceError) as exc:
        refuse(str(exc))


def _mlflow_logger(settings: Any, month: str) -> Any:
    """Log the run to MLflow (experiment red-credit-provisions) from its staged folder."""
    from provisions.figures import provision_figures

    def log(run: Any, folder: Path) -> str:
        from monitoring.tracking import log_monitoring_run

        record = run.record
        params = {
            "kind": "provisions",
            "as_of": month,
            "policy_version": record["policy"]["version"],
            "policy_fingerprint": record["policy"]["fingerprint"],
            "model_version": record["inputs"].get("model_version"),
            "loans": record["loans"],
            "overlays_proposed": len(run.overlays),
        }
        proposed = sum(o["amount"] for o in run.overlays)
        return log_monitoring_run(
            settings.resolved_tracking_uri,
            settings.artifact_root,
            f"provisions {month}",
            params,
            provision_figures(run.loans, record, 0.0, proposed),
            folder,
            experiment=PROVISION_EXPERIMENT,
            exclude=("loans.parquet",),
        )

    return log


def _forget_logged(settings: Any) -> Any:
    def forget(mlflow_run_id: str) -> None:
        from serving.registry import open_client

        open_client(settings.resolved_tracking_uri).delete_run(mlflow_run_id)

    return forget


PROVISION_EXPERIMENT = "red-credit-provisions"


def _publisher(settings: Any, workspace: Path | None, enabled: bool) -> Any:
    from monitoring.cli import dashboard_publisher

    return dashboard_publisher(settings, workspace, enabled)


def _print_run(record: dict[str, Any], overlays: list[dict[str, Any]], folder: Path) -> None:
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
    if overlays:
        shown = Table(title="overlays proposed (not in the booked allowance until approved)")
        for column in ("kind", "segment", "yuan", "PD points"):
            shown.add_column(column, overflow="fold")
        for o in overlays:
            shown.add_row(o["kind"], o["segment"], f"{o['amount']:,.0f}", f"{o['pd_points']:.2f}")
        out.print(shown)
        for o in overlays:
            out.print(f"{o['segment']}: {o['rationale']}", soft_wrap=True)
            out.print(
                f"  approve: ews-provision approve {o['overlay_id']} --by NAME --note TEXT",
                soft_wrap=True,
            )
    else:
        out.print("no overlay proposed")
    out.print(f"run {record['run_id']}; results in {folder}")


@app.command()
def rerun(
    run_id: Annotated[str, typer.Argument(help="The stored run to reproduce.")],
    ledger_url: LedgerOption = None,
) -> None:
    """Reproduce a stored run from its record: the same policy text, the same inputs (their
    hashes checked), the origination PDs it used; compare the allowance to the yuan. Writes
    nothing. Exit 0 reproduced, 2 an input changed or is gone, 4 the figures differ."""
    from provisions.policy import PolicyError, parse_policy

    settings, store = _store(ledger_url)
    try:
        record = store.run(run_id)
    except KeyError as exc:
        refuse(str(exc.args[0]))
    finally:
        store.dispose()
    try:
        policy = parse_policy(record["policy"]["document"], f"run {run_id}'s policy")
    except PolicyError as exc:
        refuse(str(exc))
    if policy.fingerprint() != record["policy"]["fingerprint"]:
        refuse(f"run {run_id}: its stored policy does not match its fingerprint")
    inputs, month = record["inputs"], record["as_of"]
    book = Path(inputs["book"]["folder"])
    if not book.is_dir() or _book_digests(book) != inputs["book"]["sha256"]:
        refuse(f"{book}: the raw book is gone or its files changed since run {run_id}")
    tables = open_book(book)
    if "folder" in inputs["scores"]:
        scored, _, scored_path = _scores(Path(inputs["scores"]["folder"]), month)
        _same_file(scored_path, inputs["scores"]["sha256"])
    else:
        scored = _ledger_scores_unchanged(settings, tables, month, inputs["scores"], run_id)
    evidence = {}
    for kind, identity in inputs.get("evidence", {}).items():
        evidence[kind] = _evidence(Path(identity["folder"]), kind)
        _same_file(Path(identity["folder"]) / "summary.json", identity["sha256"])
    loans_path = Path(record["outputs"]["folder"]) / "loans.parquet"
    if not loans_path.is_file():
        refuse(f"{loans_path}: the run's per-loan file (its origination PDs) is gone")
    _same_file(loans_path, record["outputs"]["loans_sha256"])
    used = pd.read_parquet(loans_path, columns=["loan_id", "pd_origination", "ecl"])
    known = used.dropna(subset=["pd_origination"])
    origination = dict(zip(known["loan_id"].astype(str), known["pd_origination"], strict=True))
    again = _compute(tables, scored, month, origination, policy, inputs, evidence)
    stored = float(record["allowance"]["modelled"])
    now = float(again.record["allowance"]["modelled"])
    joined = used.merge(
        again.loans[["loan_id", "ecl"]], on="loan_id", how="outer", suffixes=("", "_now")
    )
    worst = float((joined["ecl"] - joined["ecl_now"]).abs().max())
    before = [(o["segment"], round(o["amount"], 2)) for o in record.get("overlays_proposed", [])]
    after = [(o["segment"], round(o["amount"], 2)) for o in again.overlays]
    same = round(stored) == round(now) and joined.notna().all().all() and before == after
    out.print(f"run {run_id} ({month}, policy {policy.version})")
    out.print(f"stored allowance     {stored:,.2f} yuan")
    out.print(f"reproduced allowance {now:,.2f} yuan")
    out.print(f"largest per-loan difference {worst:,.6f} yuan over {len(joined):,} loans")
    out.print(f"overlays {'the same' if before == after else f'differ: {before} then {after}'}")
    if not same:
        out.print("[red]not reproduced[/red]")
        raise typer.Exit(4)
    out.print("reproduced to the yuan")


def _ledger_scores_unchanged(
    settings: Any, tables: Any, month: str, identity: dict[str, Any], run_id: str
) -> pd.DataFrame:
    """The month's scores read from the ledger again, refused if they differ from the run's."""
    from serving.ledger import LedgerError
    from serving.stores import open_ledger

    try:
        ledger = open_ledger(settings)
        scored, now = _scores_from_ledger(ledger, tables, month, identity["ledger"])
        ledger.dispose()
    except LedgerError as exc:
        refuse(str(exc), 3)
    if now["sha256"] != identity["sha256"]:
        refuse(f"{month}: the ledger's scores of the month changed since run {run_id}")
    return scored


def _same_file(path: Path, digest: str) -> None:
    from provisions.run import file_digest

    if not path.is_file():
        refuse(f"{path}: gone since the run")
    if file_digest(path) != digest:
        refuse(f"{path}: its content changed since the run (SHA-256 differs)")


def _decide(
    decision: str,
    overlay_id: str,
    by: str,
    note: str,
    ledger_url: str | None,
    workspace: Path | None,
    dashboard: bool,
) -> None:
    from provisions.figures import overlay_figures
    from provisions.store import OverlayError, StoreError

    settings, store = _store(ledger_url)
    publish = _publisher(settings, workspace, dashboard)
    try:
        store.decide(overlay_id, decision, by, note)
        decided = store.overlays().set_index("overlay_id").loc[overlay_id]
        month = pd.Timestamp(decided["as_of"]).strftime("%Y-%m")
        latest = store.latest_run_id(month)
        booked = store.booked(latest) if latest is not None else None
        loans = store.run(latest)["loans"] if latest is not None else 0
    except OverlayError as exc:
        refuse(str(exc))
    except StoreError as exc:
        refuse(str(exc), 3)
    finally:
        store.dispose()
    out.print(f"overlay {overlay_id} {decision} by {by}")
    if booked is None:
        return
    if decided["run_id"] != latest:
        out.print(f"note: {month} was provided for again since; its latest run is {latest}")
    out.print(
        f"{month}: modelled {booked['modelled']:,.0f} + approved overlays"
        f" {booked['approved_overlays']:,.0f} = booked {booked['booked']:,.0f} yuan"
        f" ({booked['proposed_overlays']:,.0f} still proposed)"
    )
    if publish is not None:
        publish(
            overlay_figures(
                month,
                booked["modelled"],
                booked["approved_overlays"],
                booked["proposed_overlays"],
                loans,
            )
        )


@app.command()
def approve(
    overlay_id: Annotated[str, typer.Argument(help="The overlay's id.")],
    by: Annotated[str, typer.Option(help="Who approves.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    ledger_url: LedgerOption = None,
    workspace: WorkspaceOption = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Republish the overlay figures.")
    ] = True,
) -> None:
    """Approve a proposed overlay: it enters the month's booked allowance."""
    _decide("approved", overlay_id, by, note, ledger_url, workspace, dashboard)


@app.command()
def reject(
    overlay_id: Annotated[str, typer.Argument(help="The overlay's id.")],
    by: Annotated[str, typer.Option(help="Who rejects.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    ledger_url: LedgerOption = None,
    workspace: WorkspaceOption = None,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="Republish the overlay figures.")
    ] = True,
) -> None:
    """Reject a proposed overlay: it stays on record, outside the allowance."""
    _decide("rejected", overlay_id, by, note, ledger_url, workspace, dashboard)


@app.command()
def overlays(
    as_of: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    ledger_url: LedgerOption = None,
) -> None:
    """The month's overlays with their status, and the booked allowance of its latest run."""
    month = _one_month(as_of)
    _, store = _store(ledger_url)
    frame = store.overlays(month)
    latest = store.latest_run_id(month)
    booked = store.booked(latest) if latest is not None else None
    store.dispose()
    table = Table(title=f"overlays {month}")
    for column in ("id", "run", "segment", "kind", "yuan", "status", "by"):
        table.add_column(column)
    for row in frame.itertuples():
        table.add_row(
            str(row.overlay_id),
            str(row.run_id)[:8] + ("" if row.run_id == latest else " (superseded)"),
            str(row.segment),
            str(row.kind),
            f"{row.amount:,.0f}",
            str(row.status),
            "" if pd.isna(row.decided_by) else str(row.decided_by),
        )
    out.print(table)
    if booked is None:
        out.print(f"no provision run for {month}")
        return
    out.print(
        f"latest run {latest}: modelled {booked['modelled']:,.0f} + approved overlays"
        f" {booked['approved_overlays']:,.0f} = booked {booked['booked']:,.0f} yuan;"
        f" proposed beside it {booked['proposed_overlays']:,.0f}"
    )
    out.print(f"approved overlays {booked['approved_overlays']:,.0f} yuan")


@app.command()
def movement(
    previous: Annotated[Path, typer.Option("--from", help="The earlier month's run folder.")],
    current: Annotated[Path, typer.Option("--to", help="The later month's run folder.")],
    ledger_url: LedgerOption = None,
    top: Annotated[int, typer.Option(help="Segments shown, largest relative rise first.")] = 5,
) -> None:
    """Why the booked allowance moved between two runs (IFRS 7 style), with approved
    overlays; where credit risk rose (segments by the rise of ECL / balance); and, for each
    overlay the later run proposed, how its segment's allowance moved."""
    from provisions.movement import movement_table, segment_changes

    runs = []
    columns = ["loan_id", "stage", "ecl", "balance", "area", "industry", "borrower_type"]
    for folder in (previous, current):
        paths = (folder / "loans.parquet", folder / "run.json")
        if not all(p.is_file() for p in paths):
            refuse(f"{folder} is not a provision run folder (loans.parquet, run.json)")
        record = json.loads(paths[1].read_text(encoding="utf-8"))
        runs.append((pd.read_parquet(paths[0], columns=columns), record))
    (before, first), (after, second) = runs
    if first["as_of"] >= second["as_of"]:
        refuse(f"--from is {first['as_of']}, not earlier than --to {second['as_of']}")
    _, store = _store(ledger_url)
    overlays = [store.approved_total(r["as_of"], r.get("run_id")) for r in (first, second)]
    store.dispose()
    table = movement_table(before, after, *overlays)
    shown = Table(title=f"allowance movement {first['as_of']} to {second['as_of']}")
    shown.add_column("movement")
    shown.add_column("yuan", justify="right")
    for row in table.itertuples():
        shown.add_row(str(row.movement), f"{row.amount:,.0f}")
    out.print(shown)
    changes = segment_changes(before, after).head(top)
    where = Table(title="where credit risk rose: segments by the rise of ECL / balance")
    for column in ("segment", "loans", "ECL / balance", "stage 2+3"):
        where.add_column(column, justify="left" if column == "segment" else "right")
    for row in changes.itertuples():
        rise = "new" if pd.isna(row.coverage_rise) else f"{row.coverage_rise:+.0%}"
        where.add_row(
            str(row.segment),
            f"{int(row.loans_after):,}",
            f"{row.coverage_before:.2%} -> {row.coverage_after:.2%} ({rise})",
            f"{row.stage23_before:.1%} -> {row.stage23_after:.1%}",
        )
    out.print(where)
    proposed_path = current / "overlays.json"
    proposed = json.loads(proposed_path.read_text("utf-8")) if proposed_path.is_file() else []
    if not proposed:
        out.print(f"no overlay proposed in {second['as_of']}")
        return
    every = segment_changes(before, after, min_loans=0).set_index("segment")
    for o in proposed:
        out.print(f"overlay on {o['segment']} ({o['kind']}, id {o.get('overlay_id', '?')}):")
        if o["segment"] in every.index:
            r = every.loc[o["segment"]]
            out.print(
                f"  allowance {r['ecl_before']:,.0f} -> {r['ecl_after']:,.0f} yuan"
                f" ({r['change']:+,.0f}); ECL / balance {r['coverage_before']:.2%} ->"
                f" {r['coverage_after']:.2%}; stage 2+3 {r['stage23_before']:.1%} ->"
                f" {r['stage23_after']:.1%}",
                soft_wrap=True,
            )
        out.print(
            f"  proposed {o['amount']:,.0f} yuan ({o['pd_points']:.2f} PD points):"
            f" {o['rationale']}",
            soft_wrap=True,
        )


if __name__ == "__main__":
    _main()

"""``ews-data``: simulate, validate and summarise raw portfolios.

Thin commands: parse options, call one function, print a short result, exit non-zero on
failure. Heavy imports live inside the command bodies so ``--help`` answers at once.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from features.cluster import ClusterOption

app = typer.Typer(
    name="ews-data",
    help="Raw data of the early-warning service: simulate a realistic Red Financial Credit "
    "book, validate a bank's tables against the contract, and summarise a book.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # one line per error, never wrapped


PartitionsOption = Annotated[
    int | None,
    typer.Option(
        "--partitions",
        min=1,
        help="Borrower partitions (default: about 25,000 borrowers each, at least one per "
        "worker). Without --cluster they run one after another in this process.",
    ),
]


def _default_out() -> Path:
    from features.settings import get_settings

    return get_settings().default_portfolio


@app.callback()
def _main() -> None:
    from features.settings import start_command

    start_command()


@app.command()
def simulate(
    borrowers: Annotated[
        int, typer.Option("--borrowers", "-n", min=1, max=9_999_999, help="Number of borrowers.")
    ] = 5_000,
    months: Annotated[
        int, typer.Option("--months", "-m", min=13, max=240, help="Months in the window.")
    ] = 36,
    seed: Annotated[
        int, typer.Option("--seed", "-s", min=0, help="Seed; same arguments, same bytes.")
    ] = 20261127,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: $EWS_HOME/data/portfolio)."),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario", help="YAML file of shocks (industry/area, start, duration, severity)."
        ),
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="First month of the window, YYYY-MM.")
    ] = "2023-01",
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            min=1,
            max=9999,
            help="Write a partitioned dataset (each table a folder of borrower partitions), "
            "one block of borrowers in memory at a time: for books larger than memory.",
        ),
    ] = None,
) -> None:
    """Simulate a portfolio: six raw tables as Parquet, the oracle kept apart.

    The ground truth (the oracle's outcome probabilities per loan-month and each borrower's
    latent traits) is for measuring models only; the feature pipeline never reads it. With
    ``--partitions`` the same book is written as a partitioned dataset.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from features.simulator import BASELINE, ScenarioError, load_scenario, simulate_portfolio
    from features.simulator.report import TRUTH_DIR, write_simulation
    from features.simulator.simulate import STAGES

    out = out or _default_out()
    try:
        shocks = load_scenario(scenario) if scenario else BASELINE
        __import__("pandas").Period(start, freq="M")
    except ScenarioError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValueError:
        err.print(f"[red]error:[/red] --start {start!r} is not a month like 2023-01")
        raise typer.Exit(2) from None

    began = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    arguments = {"borrowers": borrowers, "months": months, "seed": seed, "start": start}
    if partitions is not None:
        manifest = _simulate_partitioned(out, arguments, shocks, partitions, columns)
        console.print(
            f"[bold]simulated portfolio[/bold]: {out} ({partitions} partitions, "
            f"{sum(manifest['row_counts'].values()):,} rows, {time.perf_counter() - began:.1f} s)",
            soft_wrap=True,
        )
        return
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("simulating", total=len(STAGES) + 1)

        def on_stage(stage: str) -> None:
            bar.update(task, completed=STAGES.index(stage), description=f"simulating: {stage}")

        portfolio = simulate_portfolio(
            borrowers, months, seed, start=start, scenario=shocks, on_stage=on_stage
        )
        bar.update(task, completed=len(STAGES), description="writing Parquet")
        manifest = write_simulation(portfolio, out, arguments=arguments, scenario=shocks)
        bar.update(task, completed=len(STAGES) + 1, description="done")
    console.print(f"[bold]simulated portfolio[/bold]: {out}", soft_wrap=True)
    table = Table(show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in manifest["row_counts"].items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(
        f"oracle (for measuring models only): {out / TRUTH_DIR}"
        f"  ({time.perf_counter() - began:.1f} s)",
        soft_wrap=True,
    )


def _simulate_partitioned(
    out: Path, arguments: dict[str, Any], shocks: Any, partitions: int, columns: tuple
) -> dict[str, Any]:
    """The book written block by block as a partitioned dataset, a progress bar over blocks."""
    from rich.progress import Progress

    from features.simulator.report import write_partitioned_simulation
    from features.simulator.simulate import GENERATION_BLOCK, simulate_blocks

    n = arguments["borrowers"]
    n_blocks = -(-n // GENERATION_BLOCK)
    with Progress(*columns, console=err) as bar:
        task = bar.add_task(f"simulating {n:,} borrowers in {n_blocks} block(s)", total=n_blocks)
        blocks = simulate_blocks(
            n, arguments["months"], arguments["seed"], arguments["start"], shocks
        )
        try:
            return write_partitioned_simulation(
                blocks,
                out,
                partitions,
                arguments,
                shocks,
                on_block=lambda _number: bar.advance(task),
            )
        except FileExistsError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None


@app.command()
def validate(
    directory: Annotated[
        Path, typer.Argument(help="Folder holding the six tables (.parquet or .csv).")
    ],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write every violation, with all keys, as JSON.")
    ] = None,
) -> None:
    """Check every table and every cross-table rule; exit 1 listing each violation."""
    from features.validation import validate_portfolio

    result = validate_portfolio(directory)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    if result.ok:
        counts = ", ".join(f"{name} {rows:,}" for name, rows in result.row_counts.items())
        console.print(f"[green]valid[/green]: {directory} ({counts})", soft_wrap=True)
        return
    for v in result.violations:
        err.print(
            f"[red]✗[/red] {escape(v.message)} [dim]({escape(v.rule)})[/dim]", highlight=False
        )
    err.print(f"[red]invalid[/red]: {len(result.violations)} violation(s) in {directory}")
    raise typer.Exit(1)


def load_or_exit(directory: Path) -> dict:
    """Validated tables, or a one-line error and exit 1: nothing runs on data that failed."""
    from features.validation import PortfolioValidationError, load_validated_portfolio

    try:
        return load_validated_portfolio(directory)
    except PortfolioValidationError as exc:
        err.print(
            f"[red]error:[/red] {directory} failed validation "
            f"({len(exc.report.violations)} violations); "
            f"run `ews-data validate {directory}` for the list"
        )
        raise typer.Exit(1) from None


@app.command()
def crosswalk(
    directory: Annotated[Path, typer.Argument(help="Portfolio folder (validated first).")],
    fit_until: Annotated[
        str,
        typer.Option("--fit-until", help="Last award date of the reference period, YYYY-MM-DD."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="CSV to write (default: $EWS_HOME/reports/party_crosswalk.csv)."
        ),
    ] = None,
    min_area_ratings: Annotated[
        int, typer.Option(min=1, help="Ratings an area needs for its own cross-walk.")
    ] = 30,
) -> None:
    """Publish the cross-walk: each area's native level -> unified 0-100 Party-building index."""
    import pandas as pd

    from features.io import atomic_write
    from features.party_index import fit_party_index
    from features.settings import get_settings

    try:
        cutoff = pd.Timestamp(fit_until)
    except ValueError:
        err.print(f"[red]error:[/red] --fit-until {fit_until!r} is not a date like 2024-06-30")
        raise typer.Exit(2) from None
    ratings = load_or_exit(directory)["party_ratings"]
    if not (ratings["award_date"] <= cutoff).any():
        err.print(
            f"[red]error:[/red] no rating in {directory} was awarded on or before {fit_until}"
        )
        raise typer.Exit(2)
    table = fit_party_index(ratings, cutoff, min_area_ratings=min_area_ratings).crosswalk_
    out = out or get_settings().reports_dir / "party_crosswalk.csv"
    atomic_write(out, lambda tmp: table.to_csv(tmp, index=False, float_format="%.2f"))
    areas = table.loc[table["source"] == "area", "issuing_area"].nunique()
    console.print(
        f"cross-walk of {areas} areas ({len(table):,} rows) written to {out}", soft_wrap=True
    )


@app.command()
def features(
    data: Annotated[Path, typer.Option("--data", help="Portfolio folder (validated first).")],
    as_of: Annotated[
        str,
        typer.Option("--as-of", help="As-of months FROM:TO (e.g. 2024-01:2025-12) or one month."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    fit_until: Annotated[
        str | None,
        typer.Option(
            "--fit-until",
            help="Last award date the unified Party-building index learns from "
            "(default: the end of the first as-of month).",
        ),
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, max=36, help="Outcome window H, months.")] = 12,
    cluster: ClusterOption = None,
    partitions: PartitionsOption = None,
) -> None:
    """Point-in-time snapshots: one row per loan open at each as-of month, with labels.

    Every feature uses only records known by its as-of date; rows whose outcome window has not
    matured are kept with ``labeled`` false. With ``--cluster`` the same code runs on Dask,
    partitioned by borrower, and gives the same table.
    """
    import pandas as pd

    from features.io import dataset_partitions, write_parquet
    from features.party_index import fit_party_index
    from features.snapshots import (
        SnapshotError,
        build_snapshots,
        check_as_of_covered,
        parse_months,
    )

    try:
        months = parse_months(as_of)
        cutoff = pd.Timestamp(fit_until) if fit_until else None
    except (SnapshotError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if dataset_partitions(data):
        if partitions is not None:
            err.print(f"[red]error:[/red] --partitions: {data} is partitioned already")
            raise typer.Exit(2)
        _features_of_partitioned_book(data, months, out, cutoff, horizon, cluster)
        return
    tables = load_or_exit(data)
    try:
        check_as_of_covered(tables, months)
    except SnapshotError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    unifier = fit_party_index(tables["party_ratings"], cutoff or _default_fit_until(months))
    began = time.perf_counter()
    if cluster is None and partitions is None:
        with err.status(f"building snapshots for {len(months)} month(s)"):
            snapshots = build_snapshots(tables, months, unifier, horizon=horizon)
    else:
        snapshots = _snapshots_partitioned(tables, months, unifier, horizon, cluster, partitions)
    write_parquet(snapshots, out)
    labeled = int(snapshots["labeled"].sum())
    console.print(
        f"{len(snapshots):,} snapshots ({labeled:,} labeled), {snapshots.shape[1]} columns "
        f"-> {out} ({time.perf_counter() - began:.1f} s)",
        soft_wrap=True,
    )


def _default_fit_until(months: list[int]) -> Any:
    """The end of the first as-of month: the index learns from no later award."""
    import pandas as pd

    first = months[0]
    end = pd.Period(year=first // 12, month=first % 12 + 1, freq="M").end_time
    return end.normalize()


def _features_of_partitioned_book(
    data: Path, months: list[int], out: Path, cutoff: Any, horizon: int, cluster: str | None
) -> None:
    """Snapshots of a partitioned book into a folder, one file per partition, each partition
    read, validated and featurised on its own (on the cluster if given)."""
    from features.cluster import ClusterError, dask_client, partition_mapper
    from features.io import read_table
    from features.partitioned import PartitionFailedError, in_process, snapshot_partitioned_book
    from features.party_index import fit_party_index
    from features.snapshots import SnapshotError

    began = time.perf_counter()
    unifier = fit_party_index(
        read_table(data, "party_ratings"), cutoff or _default_fit_until(months)
    )
    try:
        with contextlib.ExitStack() as stack:
            mapper: Any = in_process
            if cluster is not None:
                client = stack.enter_context(dask_client(cluster, err))
                mapper = partition_mapper(client, "snapshots by partition", err)
            done = snapshot_partitioned_book(
                data, months, unifier, out, horizon=horizon, mapper=mapper
            )
    except ClusterError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(3) from None
    except (SnapshotError, FileExistsError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except PartitionFailedError as exc:
        err.print(
            f"[red]error:[/red] {data}: {escape(str(exc))}; run `ews-data validate {data}` "
            "for the list"
        )
        raise typer.Exit(1) from None
    rows = sum(d["rows"] for d in done)
    labeled = sum(d["labeled"] for d in done)
    console.print(
        f"{rows:,} snapshots ({labeled:,} labeled) in {len(done)} partition files -> {out}/ "
        f"({time.perf_counter() - began:.1f} s)",
        soft_wrap=True,
    )


def _snapshots_partitioned(
    tables: dict, months: list[int], unifier: Any, horizon: int, cluster: str | None, n: int | None
) -> Any:
    """Snapshots by borrower partition: on the Dask cluster ``cluster``, or in this process."""
    from features.cluster import ClusterError, dask_client, partition_mapper, worker_count
    from features.partitioned import build_snapshots_partitioned, default_partitions, in_process

    borrowers = len(tables["borrowers"])
    if cluster is None:
        return build_snapshots_partitioned(
            tables, months, unifier, horizon=horizon, n_partitions=n or 1, mapper=in_process
        )
    try:
        with dask_client(cluster, err) as client:
            count = n or default_partitions(borrowers, worker_count(client))
            mapper = partition_mapper(
                client, f"snapshots of {borrowers:,} borrowers in {count} partitions", err
            )
            return build_snapshots_partitioned(
                tables, months, unifier, horizon=horizon, n_partitions=count, mapper=mapper
            )
    except ClusterError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(3) from None


@app.command()
def summary(
    directory: Annotated[
        Path | None, typer.Argument(help="Portfolio folder (default: $EWS_HOME/data/portfolio).")
    ] = None,
) -> None:
    """Sizes, the 12-month default flow and the NPL stock by segment of a *validated* book."""
    from features.summary import (
        SEASONED_MONTHS,
        SEGMENTS,
        compute_default_rates,
        compute_npl_stock,
        performing_outcomes,
    )

    directory = directory or _default_out()
    tables = load_or_exit(directory)
    sizes = ", ".join(f"{name} {len(frame):,}" for name, frame in tables.items())
    console.print(f"[bold]{directory}[/bold]: {sizes}", soft_wrap=True)
    outcomes = performing_outcomes(tables)
    for segment in (None, *SEGMENTS):
        title = "whole book" if segment is None else f"by {segment}"
        rates = compute_default_rates(outcomes, segment)
        _print_segment_table(
            f"12-month outcomes of performing loan-months, {title}",
            {
                "loan-months": "n_months",
                "S>=1 rate": "missed_rate",
                "default (S3) rate": "default_rate",
            },
            rates,
        )
    for segment in (None, *SEGMENTS):
        title = "whole book" if segment is None else f"by {segment}"
        _print_segment_table(
            f"NPL stock: open loans 90+ DPD at month end, last {SEASONED_MONTHS} months, {title}",
            {
                "open loan-month-ends": "open_loans",
                "NPL ratio (count)": "npl_count_ratio",
                "NPL ratio (balance)": "npl_balance_ratio",
            },
            compute_npl_stock(tables, segment),
        )


def _print_segment_table(title: str, columns: dict[str, str], frame: Any) -> None:
    """One rich table of a per-segment frame (the segment is its index): counts with thousands
    separators, ratios as percentages. ``columns`` maps each heading to the frame's column."""
    table = Table(title=title, show_edge=False)
    table.add_column("segment", justify="left")
    for heading in columns:
        table.add_column(heading, justify="right")
    for index, row in frame.iterrows():
        cells = [
            f"{row[name]:.2%}"
            if name.endswith("rate") or "ratio" in name
            else f"{int(row[name]):,}"
            for name in columns.values()
        ]
        table.add_row(str(index), *cells)
    console.print(table)

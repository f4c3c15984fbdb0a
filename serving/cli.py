"""``ews-serve``: start the scoring service, or run the monthly whole-portfolio assessment.

Thin commands: parse options into settings, call one function, print a short result, exit
non-zero with a one-line reason (2 bad input, 3 no model or ledger available).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from features.cluster import ClusterOption

if TYPE_CHECKING:
    import pandas as pd

    from serving.settings import ServingSettings

app = typer.Typer(
    name="ews-serve",
    help="Serve the champion warning model over HTTP, or score a whole portfolio for the "
    "monthly risk assessment; every warning is recorded in the ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)

TrackingOption = Annotated[
    str | None,
    typer.Option(help="MLflow tracking URI (default: EWS_TRACKING_URI or SQLite under EWS_HOME)."),
]
LedgerOption = Annotated[
    str | None,
    typer.Option(help="Ledger database URL (default: EWS_LEDGER_URL or SQLite under EWS_HOME)."),
]


@app.callback()
def _main() -> None:
    from features.settings import start_command

    start_command()


def refuse(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def load_book(data: Path) -> dict[str, pd.DataFrame]:
    """The validated raw book in ``data``, or a refusal naming the first problem (exit 2)."""
    from features.io import first_line
    from features.validation import PortfolioValidationError, load_validated_portfolio

    try:
        return load_validated_portfolio(data)
    except PortfolioValidationError as exc:
        refuse(f"{data} failed validation ({first_line(exc)}); run ews-data validate {data}")
    except (OSError, ValueError) as exc:
        refuse(f"{data}: {first_line(exc)}")


def open_book(data: Path) -> Any:
    """A partitioned book as it is stored (``features.partitioned.PartitionedBook``, read one
    partition at a time where it is used), or the validated tables of any other book."""
    from features.partitioned import PartitionedBook

    return PartitionedBook.at(data) or load_book(data)


def book_borrowers(book: Any) -> int:
    """Borrowers of an open book (tables or partitioned)."""
    from features.partitioned import PartitionedBook

    if isinstance(book, PartitionedBook):
        return len(book.column("borrowers", "borrower_id"))
    return len(book["borrowers"])


def serving_settings(tracking_uri: str | None, ledger_url: str | None) -> ServingSettings:
    """Settings with command-line overrides exported, so the server process reads the same
    (``ews-monitor`` opens the same stores through this too)."""
    from serving.settings import SettingsError, get_serving_settings

    if tracking_uri:
        os.environ["EWS_TRACKING_URI"] = tracking_uri
    if ledger_url:
        os.environ["EWS_LEDGER_URL"] = ledger_url
    get_serving_settings.cache_clear()
    try:
        settings = get_serving_settings()
    except SettingsError as exc:
        refuse(str(exc))
    from serving.registry import configure_environment

    configure_environment(settings)
    return settings


@app.command()
def start(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 3000,
    tracking_uri: TrackingOption = None,
    ledger_url: LedgerOption = None,
) -> None:
    """Resolve models:/<name>@champion (bundling it into BentoML's store), then serve it."""

    from serving.ledger import LedgerError
    from serving.registry import ServingError
    from serving.settings import ServingSettings
    from serving.stores import prepare_service

    settings = serving_settings(tracking_uri, ledger_url)
    assert isinstance(settings, ServingSettings)
    if not settings.auth_disabled and not settings.api_keys:
        err.print(
            "[yellow]warning:[/yellow] no API keys configured (EWS_API_KEYS): every scoring "
            "call will get 401; set EWS_AUTH_DISABLED=true only for local development"
        )
    try:  # check before the server starts: a refusal is one line here, not a worker crash
        bundle, ledger = prepare_service(settings)
    except (ServingError, LedgerError) as exc:
        refuse(str(exc), 3)
    ledger.dispose()
    console.print(
        f"serving {bundle.info.model_name} version {bundle.info.model_version} "
        f"({escape(bundle.source)}), policy {bundle.policy.version}"
    )
    console.print(f"OpenAPI: http://{host}:{port}/docs.json")
    bentoml = Path(sys.executable).with_name("bentoml")
    command = [str(bentoml), "serve", "serving.service:WarningService"]
    os.execv(command[0], [*command, "--host", host, "--port", str(port)])


@app.command("score-portfolio")
def score_portfolio(
    data: Annotated[Path, typer.Option(help="Portfolio folder (validated first).")],
    as_of: Annotated[
        str,
        typer.Option(
            help="Month to assess, YYYY-MM (loans open at its end), or a range "
            "YYYY-MM:YYYY-MM assessed month by month (a backfill)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for the scored book and the watchlist; for a range, the folder that "
            "gets one assessment-YYYY-MM folder per month."
        ),
    ],
    again: Annotated[
        bool, typer.Option("--again", help="Record another run for a month already assessed.")
    ] = False,
    tracking_uri: TrackingOption = None,
    ledger_url: LedgerOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Score every open loan, append to the ledger, write the book, watchlist and migration.

    A range runs the months in order, each one exactly as a single month (its own ledger
    transaction and folder), with the book and the model loaded once: a month that fails
    stops the range, and the months before it stay recorded. With --cluster the loans are
    featurised and scored on Dask, partitioned by borrower; the ledger is written here."""

    from features.io import first_line
    from features.snapshots import SnapshotError
    from serving.ledger import LedgerError
    from serving.portfolio_run import PortfolioRunError, run_portfolio
    from serving.registry import ServingError, load_champion
    from serving.settings import ServingSettings

    settings = serving_settings(tracking_uri, ledger_url)
    assert isinstance(settings, ServingSettings)
    tables = open_book(data)
    try:
        bundle = load_champion(settings)
    except ServingError as exc:
        refuse(str(exc), 3)
    months = month_list(as_of)
    with contextlib.ExitStack() as stack:
        mapper, partitions = None, 1
        if cluster is not None:
            mapper, partitions = cluster_mapper(stack, cluster, book_borrowers(tables))
        for month in months:
            folder = out if len(months) == 1 else out / f"assessment-{month}"
            try:
                result = run_portfolio(
                    bundle,
                    tables,
                    month,
                    folder,
                    settings,
                    again=again,
                    mapper=mapper,
                    n_partitions=partitions,
                )
            except (SnapshotError, PortfolioRunError, ValueError) as exc:
                refuse(_in_range(first_line(exc), month, months))
            except LedgerError as exc:
                refuse(_in_range(first_line(exc), month, months), 3)
            _print_run(result, bundle, verbose=len(months) == 1)


def cluster_mapper(
    stack: contextlib.ExitStack,
    cluster: str,
    borrowers: int,
    description: str = "scoring by partition",
) -> tuple[Any, int]:
    """A mapper over borrower partitions on the Dask cluster ``cluster`` (closed with
    ``stack``), and the number of partitions for a book of ``borrowers``."""
    from features.cluster import ClusterError, dask_client, partition_mapper, worker_count
    from features.partitioned import default_partitions

    try:
        client = stack.enter_context(dask_client(cluster, err))
    except ClusterError as exc:
        refuse(str(exc), 3)
    mapper = partition_mapper(client, description, err)
    return mapper, default_partitions(borrowers, worker_count(client))


def month_list(as_of: str) -> list[str]:
    """The months of an ``--as-of``: one ``YYYY-MM`` or a range ``YYYY-MM:YYYY-MM``, as
    ``YYYY-MM`` texts; a bad one is refused (exit 2) with the reason."""
    from features.snapshots import SnapshotError, parse_months
    from serving.portfolio import MONTH

    if not all(MONTH.fullmatch(part) for part in as_of.split(":", 1)):
        refuse(
            f"--as-of must be a month like 2025-06 or a range like 2024-07:2025-06, got "
            f"{as_of!r}: not a month"
        )
    try:
        numbers = parse_months(as_of)
    except SnapshotError as exc:
        refuse(str(exc))
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in numbers]


def _in_range(message: str, month: str, months: list[str]) -> str:
    if len(months) == 1:
        return message
    done = months[: months.index(month)]
    kept = f"; {done[0]}..{done[-1]} stay recorded" if done else ""
    return f"{month}: {message}{kept}"


def _print_run(result: object, bundle: object, verbose: bool) -> None:
    from serving.bundle import ScoringBundle
    from serving.portfolio_run import PortfolioRun

    assert isinstance(result, PortfolioRun) and isinstance(bundle, ScoringBundle)
    if not verbose:  # a range: one line a month
        console.print(
            f"{result.as_of:%Y-%m}: {result.loans:,} loans with version "
            f"{bundle.info.model_version}, watchlist {result.watchlist_rows:,}, "
            f"run {result.request_id} -> {result.files[0].parent}/"
        )
        return
    console.print(
        f"assessed {result.loans:,} open loans as of {result.as_of} with "
        f"{bundle.info.model_name} version {bundle.info.model_version}; run {result.request_id}"
    )
    console.print("grades: " + ", ".join(f"{g} {n:,}" for g, n in result.grades.items()))
    console.print(f"watchlist: {result.watchlist_rows:,} loans (yellow and above)")
    for path in result.files:
        console.print(f"  wrote {path}")

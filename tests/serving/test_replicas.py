"""Several scoring service replicas behind one PostgreSQL ledger, under load at once.

Three real ``ews-serve start`` processes on the ``served`` champion, started together (their
first use of a fresh ledger database races to create its tables: the ledger serialises that
with an advisory lock), all writing one PostgreSQL database, as replicas behind a load
balancer do. One locust process per replica (a balancer spreading users) posts ``/score``
bodies at the same time. Afterwards every acknowledged answer must be in the ledger with
exactly one row per score, and nothing else: no lost and no doubled rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.load_serving import acknowledged, open_loans, run_locust, write_bodies
from tests.integration.servers import ServerError, stop_process_group
from tests.serving.conftest import API_KEYS, AS_OF_MONTH, Served, environment
from tests.serving.http_server import ScoringServer, start_scoring_server

pytestmark = pytest.mark.slow

REPLICAS = 3
#: Per replica: 8 users (4 spawned a second) for 30 s.
USERS, SPAWN_RATE, RUN_TIME = 8, 4, "30s"


def _in_parallel(work: list[Any]) -> list[Any]:
    """Run the callables at once in threads (each waits on its own process); results in order,
    the first error raised."""
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        try:
            results[i] = work[i]()
        except BaseException as exc:  # handed to the caller below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@pytest.fixture(scope="module")
def replica_env(served: Served, ledger_postgres_url: str) -> dict[str, str]:
    return served.environment(EWS_LEDGER_URL=ledger_postgres_url)


@pytest.fixture(scope="module")
def replicas(
    replica_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ScoringServer]]:
    folders = [tmp_path_factory.mktemp(f"replica{i}") for i in range(REPLICAS)]
    started: list[ScoringServer] = []
    problem: str | None = None
    try:
        started = _in_parallel([lambda f=f: start_scoring_server(replica_env, f) for f in folders])
    except ServerError as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        yield started
    finally:
        for server in started:
            stop_process_group(server.process)


def test_replicas_under_load_lose_and_double_no_ledger_row(
    served: Served,
    replicas: list[ScoringServer],
    replica_env: dict[str, str],
    tmp_path: Path,
    figures: list[str],
):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    borrowers = open_loans(served.tables, AS_OF_MONTH)["borrower_id"].tolist()
    since = datetime.now(UTC) - timedelta(seconds=1)
    runs = []
    for i, server in enumerate(replicas):
        bodies = tmp_path / f"bodies{i}.jsonl"
        write_bodies(served.tables, borrowers, AS_OF_MONTH, bodies, 60, seed=100 + i)
        runs.append(
            lambda i=i, server=server, bodies=bodies: run_locust(
                server.url,
                bodies,
                tmp_path / f"acknowledged{i}.tsv",
                tmp_path / f"load{i}",
                API_KEYS[0],
                users=USERS,
                spawn_rate=SPAWN_RATE,
                run_time=RUN_TIME,
            )
        )
    done = _in_parallel(runs)
    until = datetime.now(UTC) + timedelta(seconds=1)
    told: dict[str, int] = {}
    for i, run in enumerate(done):
        logs = "\n".join(s.log_tail(20) for s in replicas)
        assert run.failures == 0 and run.csv_failures == 0, f"{run.summary()}\n{logs}"
        assert run.returncode == 0 and run.requests > 0, f"{run.summary()}\n{logs}"
        mine = acknowledged(tmp_path / f"acknowledged{i}.tsv")
        assert len(mine) == run.requests
        assert not set(mine) & set(told), "two replicas gave one request id"
        told.update(mine)

    with environment(replica_env):
        ledger = open_ledger(get_serving_settings())
    try:
        rows = ledger.read(since=since, until=until, source="score")
    finally:
        ledger.dispose()
    recorded = {str(k): int(v) for k, v in rows["request_id"].value_counts().items()}
    figures.append(
        f"replicas: {REPLICAS} x {USERS} users for {RUN_TIME} on one PostgreSQL ledger: "
        + "; ".join(run.summary() for run in done)
        + f"; {len(told):,} answers acknowledged, ledger holds {len(rows):,} rows of "
        f"{len(recorded):,} requests"
    )
    missing = {r: n for r, n in told.items() if recorded.get(r, 0) != n}
    extra = {r: n for r, n in recorded.items() if r not in told}
    assert not missing, f"answers whose rows are missing or miscounted: {list(missing.items())[:5]}"
    assert not extra, f"rows of requests nobody was told about: {list(extra.items())[:5]}"
    assert len(rows) == sum(told.values()) > 0
    assert not rows.duplicated(["request_id", "loan_pseudonym", "as_of"]).any()
    assert not rows["id"].duplicated().any()

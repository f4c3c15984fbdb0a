"""The Dask cluster a command runs on: ``local`` or a scheduler address, and progress over it.

Single responsibility: open (and close) a ``distributed.Client`` from the ``--cluster`` value
every command takes, and run one function over partitions on it with a progress bar. The
functions themselves are the single-machine ones (``features.snapshots.build_snapshots`` and
its like): the cluster only decides where they run.

``local`` starts a ``LocalCluster`` sized to the machine: one single-threaded worker process
per core (the feature code is NumPy-vectorised; processes avoid the GIL) and the machine's
memory shared between them. Anything else is the address of a running scheduler
(``tcp://10.0.0.5:8786``), whose workers must have this project installed.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

LOCAL = "local"

#: The ``--cluster`` option every command that can run on Dask takes.
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on Dask, partitioned by borrower: 'local' (a LocalCluster sized to this "
        "machine) or a scheduler address such as tcp://10.0.0.5:8786.",
    ),
]


class ClusterError(RuntimeError):
    """The cluster cannot be reached or started; the message names the address."""


def local_workers() -> int:
    """Worker processes of ``local``: one per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


@contextmanager
def dask_client(spec: str, console: Console | None = None) -> Iterator[Any]:
    """A connected ``distributed.Client`` for ``spec`` (``local`` or a scheduler address),
    closed (and a local cluster shut down) on exit. Prints where its dashboard is, if any."""
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if spec == LOCAL:
            cluster = LocalCluster(
                n_workers=local_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(spec, timeout="10s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"cannot reach the Dask scheduler at {spec}: {exc}") from None
    try:
        if console is not None:
            workers = worker_count(client)
            where = "a local cluster" if cluster is not None else spec
            console.print(f"Dask: {workers} worker(s) on {where}", soft_wrap=True)
            link = getattr(client, "dashboard_link", None)
            if link and cluster is None:
                console.print(f"Dask dashboard: {link}", soft_wrap=True)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_count(client: Any) -> int:
    """Workers connected to ``client``'s scheduler now."""
    return len(client.scheduler_info().get("workers", {}))


def partition_mapper(
    client: Any, description: str, console: Console | None = None
) -> Callable[..., list[Any]]:
    """:func:`map_partitions` bound to ``client`` with its progress line: the ``mapper`` the
    single-machine functions take (``features.partitioned.Mapper``) to run on the cluster."""
    return functools.partial(map_partitions, client, description=description, console=console)


def map_partitions(
    client: Any,
    function: Callable[..., Any],
    partitions: Sequence[Any],
    *args: Any,
    description: str,
    console: Console | None = None,
    **kwargs: Any,
) -> list[Any]:
    """``function(partition, *args, **kwargs)`` for every partition on the cluster, results in
    partition order, with a progress bar on ``console`` as partitions finish. The shared
    arguments are sent to the workers once, not once per partition. If partitions fail, the
    error of the first of them in partition order is raised once all have ended, so the same
    input always gives the same message."""
    from distributed import as_completed

    shared_args = shared(client, args)
    futures = [
        client.submit(function, part, *shared_args, pure=False, **kwargs)
        for part in client.scatter(list(partitions), hash=False)
    ]
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
        transient=True,
    )
    index = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    failures: dict[int, BaseException] = {}
    with progress:
        task = progress.add_task(description, total=len(futures))
        for future in as_completed(futures):
            # each result leaves the workers as it comes: they never hold the whole book's
            i = index[future.key]
            if future.status == "error":
                failures[i] = future.exception()
            else:
                results[i] = future.result()
            future.release()
            progress.advance(task)
    if failures:  # in partition order: the first failing partition, whichever ended first
        raise failures[min(failures)]
    return results


def shared(client: Any, args: Sequence[Any]) -> list[Any]:
    """``args`` as the tasks receive them: each object worth it sent to every worker once, as
    one piece. (Scattered bare, a dict would become one piece per entry: a million loans'
    origination PDs as a million futures, which overwhelms the scheduler.) Keys are not
    content hashes: the same object sent by the next call must not share a key the
    scheduler is still releasing from this one."""
    return [client.scatter([a], broadcast=True, hash=False)[0] if _heavy(a) else a for a in args]


def _heavy(value: Any) -> bool:
    """Whether an argument is worth scattering once (an object, not a small scalar)."""
    return not isinstance(value, (str, int, float, bool, type(None), list, tuple))

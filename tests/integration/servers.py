"""Real servers for integration tests: a scratch PostgreSQL database and an ``mlflow server``.

Nothing here is mocked. A test session creates one uniquely named database on the session's
PostgreSQL (tests/postgres.py: ``EWS_TEST_POSTGRES_URL``, else an embedded server the session
starts), starts ``mlflow server`` from this interpreter's environment on a free loopback port
with that database as its backend store and a temporary folder as its proxied artifact store,
and tears both down at the end. Every failure is an error with the reason (and the server's
log tail), never a skip. The PostgreSQL helpers are re-exported from tests/postgres.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from features.settings import TELEMETRY_OFF  # off in the server process too (docs/stack.md)
from tests.postgres import (
    ServerError,
    create_database,
    database_exists,
    drop_database,
    free_port,
    log_tail,
)

__all__ = [
    "MlflowServer",
    "ServerError",
    "create_database",
    "database_exists",
    "drop_database",
    "free_port",
    "log_tail",
    "start_mlflow_server",
    "stop_mlflow_server",
    "stop_process_group",
    "tracking_uri",
]

#: Start to ``/health`` takes 12-20 s on a quiet 2-core box; leave room for a busy one.
READY_DEADLINE_S = 240.0
STOP_GRACE_S = 30.0


# --------------------------------------------------------------------------- mlflow server


@dataclass
class MlflowServer:
    """A running ``mlflow server``: its HTTP tracking URI and where its state lives."""

    uri: str
    port: int
    database: str
    backend_store_uri: str
    artifacts_destination: Path
    log_path: Path
    started_in_s: float
    process: subprocess.Popen = field(repr=False)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)


def _server_env() -> dict[str, str]:
    env = {**os.environ, **TELEMETRY_OFF}
    # One uvicorn worker and no huey job consumers: 2 processes, ~0.5 GiB (docs/stack.md, MLflow).
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    # The client side of earlier tests may have exported these (mlflow.set_tracking_uri does).
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(name, None)
    return env


def _health(uri: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def _launch(
    backend_store_uri: str, artifacts: Path, log_path: Path
) -> tuple[int, subprocess.Popen]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_server_env(),
            cwd=artifacts.parent,  # anything the server writes relative to cwd stays in tmp
            start_new_session=True,  # its own process group: one signal stops uvicorn too
        )
    return port, process


def stop_process_group(process: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group, wait, then SIGKILL it if it is still there."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    # The leader may be gone while a child (uvicorn) lingers: kill whatever is left.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)


def start_mlflow_server(workdir: Path, ready_deadline_s: float = READY_DEADLINE_S) -> MlflowServer:
    """Create a database, start ``mlflow server`` on it and wait for ``/health`` 200.

    The caller owns the result and must call :func:`stop_mlflow_server`. On failure everything
    started so far is stopped and dropped, and :class:`ServerError` carries the log tail.
    """
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "mlflow-server.log"
    database, backend_store_uri = create_database()
    process: subprocess.Popen | None = None
    try:
        for _attempt in range(3):
            began = time.monotonic()
            port, process = _launch(backend_store_uri, artifacts, log_path)
            uri = f"http://127.0.0.1:{port}"
            while True:
                status = _health(uri)
                if status == 200:
                    return MlflowServer(
                        uri=uri,
                        port=port,
                        database=database,
                        backend_store_uri=backend_store_uri,
                        artifacts_destination=artifacts,
                        log_path=log_path,
                        started_in_s=time.monotonic() - began,
                        process=process,
                    )
                if process.poll() is not None:
                    break
                if time.monotonic() - began > ready_deadline_s:
                    raise ServerError(
                        f"mlflow server at {uri} not healthy after {ready_deadline_s:.0f} s "
                        f"(last /health: {status}); log {log_path}:\n{log_tail(log_path)}"
                    )
                time.sleep(0.5)
            # It exited before it was healthy; another process may have taken the port.
            if "address already in use" not in log_tail(log_path, 20).lower():
                raise ServerError(
                    f"mlflow server exited with code {process.returncode} before it was "
                    f"healthy; log {log_path}:\n{log_tail(log_path)}"
                )
        raise ServerError(f"mlflow server found no free port in 3 tries:\n{log_tail(log_path)}")
    except BaseException:
        if process is not None:
            stop_process_group(process)
        drop_database(database)
        raise


def stop_mlflow_server(server: MlflowServer) -> None:
    """Stop the server's process group, then drop its database."""
    try:
        stop_process_group(server.process)
    finally:
        drop_database(server.database)


@contextlib.contextmanager
def tracking_uri(uri: str | None) -> Iterator[None]:
    """Point MLflow's process-global tracking URI at ``uri`` and restore the previous state.

    ``mlflow.set_tracking_uri`` sets a module global and exports ``MLFLOW_TRACKING_URI``; both
    are put back afterwards, so later tests see exactly what they saw before.
    """
    import mlflow
    from mlflow.tracking._tracking_service import utils

    previous, previous_env = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    try:
        if uri is not None:
            mlflow.set_tracking_uri(uri)
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if previous_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env

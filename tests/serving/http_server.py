"""A real ``ews-serve start`` (``bentoml serve``) process for tests and benchmarks, and the
process environment of a served home for in-process work.

Started from this interpreter's environment on a free loopback port, in its own process group,
with the environment of a served ``EWS_HOME``; ready when ``/readyz`` answers 200. Failures are
errors carrying the server's log tail, never skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from features.settings import TELEMETRY_OFF
from tests.integration.servers import ServerError, free_port, log_tail, stop_process_group

#: Ready after 10-15 s on a quiet 2-core box (docs/stack.md, BentoML); room for a busy one.
READY_DEADLINE_S = 180.0


@dataclass(frozen=True)
class ScoringServer:
    """A running scoring service."""

    url: str
    process: subprocess.Popen
    log: Path
    started_in_s: float

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log, lines)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_scoring_server(
    environment: Mapping[str, str], workdir: Path, deadline_s: float = READY_DEADLINE_S
) -> ScoringServer:
    """Start ``ews-serve start`` and wait for readiness; the caller stops it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / f"ews-serve-{port}.log"
    command = [str(Path(sys.executable).with_name("ews-serve")), "start", "--port", str(port)]
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment},
            cwd=workdir,
            start_new_session=True,
        )
    while time.monotonic() - started < deadline_s:
        if process.poll() is not None:
            raise ServerError(
                f"ews-serve exited with {process.returncode} before it was ready:\n{log_tail(log)}"
            )
        if _ready(url):
            return ScoringServer(url, process, log, time.monotonic() - started)
        time.sleep(0.5)
    stop_process_group(process)
    raise ServerError(f"ews-serve not ready within {deadline_s:.0f} s:\n{log_tail(log)}")


@contextmanager
def scoring_server(environment: Mapping[str, str], workdir: Path) -> Iterator[ScoringServer]:
    """A scoring server for the block, stopped (SIGTERM to its group) at the end."""
    server = start_scoring_server(environment, workdir)
    try:
        yield server
    finally:
        stop_process_group(server.process)


def home_environment(home: Path, api_keys: str, **extra: str) -> dict[str, str]:
    """Variables a service process on the served ``home`` needs: its home, BentoML's store
    under it, the API keys (comma separated) and telemetry off; ``extra`` on top."""
    return {
        "EWS_HOME": str(home),
        "EWS_API_KEYS": api_keys,
        "BENTOML_HOME": str(home / "bentoml"),
        **TELEMETRY_OFF,
        **extra,
    }


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set process environment variables (and drop cached settings) for a block."""
    from features.settings import get_settings
    from serving.settings import get_serving_settings

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    get_serving_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()
        get_serving_settings.cache_clear()

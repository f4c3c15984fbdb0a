"""Serve the monitoring workspace in the Evidently UI, on loopback, with writes behind a secret.

Single responsibility: start Evidently's UI service for a checked workspace
(monitoring/dashboard.py ``open_workspace``) in this Python process, and tell when it is ready.

How Evidently 0.7.23 protects writes (evidently/ui/service/security/token.py,
components/security.py, api/projects.py)
    ``evidently ui --secret S`` (or the environment variable ``EVIDENTLY_SECRET``) swaps the
    no-security component for a token one. Its middleware marks a request authenticated when
    its ``evidently-secret`` header equals S exactly; the write routes (create, update or delete
    a project, add or delete a snapshot, save a dashboard, and the artifact, prompt and dataset
    writes) carry a guard that answers **403** ``{"detail": "Not enough permissions"}`` to any
    other request. Reads (project list, dashboards, ``data_series_batch``, snapshots, the web
    page) stay open to anyone who can reach the port, which is why the service binds to
    127.0.0.1 only. A writer authenticates by sending the header; Evidently's own
    ``RemoteWorkspace(url, secret=S)`` does it for every request. Without a secret every write is
    open, so :func:`serve` refuses to start without one.

Why the secret comes from an environment variable
    A ``--secret`` argument is visible to every user in the process list; ``serve`` reads
    ``EWS_MONITOR_UI_SECRET`` instead and hands it to Evidently's config in-process.

A fix to Evidently's workspace watcher
    The UI picks up files written into the workspace while it runs (a month published by the
    monitoring run) through a watchdog observer. In 0.7.23 its handler reads a new project's
    ``metadata.json`` on the file's creation event, when it may still be empty; the
    ``JSONDecodeError`` ends the observer thread, and from then on nothing written to the
    workspace shows until a restart (it happened in our tests when a project was created over
    the UI's own API). :func:`serve` installs a handler that logs such an error and goes on
    (the write's next event re-reads the file) and gives a late-registered project its
    snapshot table.

The UI does not need the ``MonitoringFigure`` class to read the snapshots (they store
Evidently's own result type), so a plain ``evidently ui`` would draw the same dashboard; running
it from here adds the workspace check, the loopback rule and the secret rule.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from monitoring.dashboard import open_workspace

SECRET_ENV: Final = "EWS_MONITOR_UI_SECRET"
SECRET_HEADER: Final = "evidently-secret"
LOOPBACK: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000
#: Evidently's UI telemetry is off unless this is unset (evidently/telemetry.py).
_TELEMETRY_OFF: Final = {"DO_NOT_TRACK": "true"}


_log = logging.getLogger(__name__)


class UiError(ValueError):
    """The UI cannot be started or did not come up; the message says why."""


def install_sturdy_watcher() -> None:
    """Make Evidently's workspace watcher survive half-written files (module docstring).

    Evidently imports the handler class when the UI starts its observer, so replacing the
    module attribute before :func:`serve` builds the app is enough; idempotent.
    """
    from evidently.ui.service.storage.local import watcher

    base = watcher.WorkspaceDirHandler
    if getattr(base, "ews_sturdy", False):
        return

    class SturdyWorkspaceDirHandler(base):  # type: ignore[misc, valid-type]
        ews_sturdy = True

        def dispatch(self, event: Any) -> None:
            try:
                super().dispatch(event)
            except (ValueError, OSError, KeyError) as exc:  # JSONDecodeError is a ValueError
                _log.warning("workspace watcher skipped %s: %s", event.src_path, exc)
            for project_id in list(self.state.projects):  # registered by a later event
                self.state.snapshots.setdefault(project_id, {})

    watcher.WorkspaceDirHandler = SturdyWorkspaceDirHandler


def _require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UiError(
            f"refusing to serve the monitoring UI on {host!r}: its reads are open to anyone "
            f"who reaches the port, so it binds to loopback only (use {LOOPBACK})"
        )


def _require_secret(secret: str | None) -> str:
    if secret is None or not secret.strip():
        raise UiError(
            f"refusing to start the monitoring UI without a write secret: set {SECRET_ENV} "
            "(without one Evidently lets anyone create, change and delete projects)"
        )
    return secret


def ui_command(
    workspace: str | Path, port: int, *, host: str = LOOPBACK, python: str | None = None
) -> list[str]:
    """The command that serves ``workspace`` (run it with :func:`ui_environment`).

    The secret is deliberately not an argument: it travels in the environment.
    """
    _require_loopback(host)
    return [
        python or sys.executable,
        "-m",
        "monitoring.ui",
        "--workspace",
        str(workspace),
        "--host",
        host,
        "--port",
        str(int(port)),
    ]


def ui_environment(secret: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the secret and telemetry off."""
    env = dict(os.environ if base is None else base)
    env.pop("EVIDENTLY_SECRET", None)  # one secret, ours
    env.update(_TELEMETRY_OFF)
    env[SECRET_ENV] = _require_secret(secret)
    return env


def serve(
    workspace: str | Path,
    host: str = LOOPBACK,
    port: int = DEFAULT_PORT,
    secret: str | None = None,
) -> None:
    """Run the Evidently UI over ``workspace`` in this process until it is stopped (SIGTERM
    or Ctrl-C: uvicorn shuts down cleanly).

    Parameters
    ----------
    workspace : str or Path
        An existing local workspace (never created here: a typo must not serve an empty UI).
    host : str
        A loopback address.
    port : int
        The TCP port.
    secret : str, optional
        The write secret; default ``$EWS_MONITOR_UI_SECRET``.

    Raises
    ------
    UiError
        Without a secret, or for a host that is not loopback.
    WorkspaceError
        If the workspace is missing or corrupt (monitoring/dashboard.py).
    """
    _require_loopback(host)
    secret = _require_secret(secret if secret is not None else os.environ.get(SECRET_ENV))
    for name, value in _TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)
    open_workspace(workspace)  # missing or corrupt: a clear error now, not a 500 later

    from evidently.ui.service.app import get_config, run

    install_sturdy_watcher()
    run(get_config(host=host, port=int(port), workspace=str(workspace), secret=secret))


def wait_ready(
    url: str, timeout: float = 60.0, *, process: subprocess.Popen | None = None
) -> float:
    """Poll ``<url>/api/version`` until it answers 200; return the seconds it took.

    Raises
    ------
    UiError
        If ``process`` exits first (with its return code) or ``timeout`` passes.
    """
    began = time.monotonic()
    last: object = None
    while True:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/api/version", timeout=5) as answer:
                if answer.status == 200:
                    return time.monotonic() - began
                last = answer.status
        except urllib.error.HTTPError as exc:
            last = exc.code
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        if process is not None and process.poll() is not None:
            raise UiError(
                f"the UI process exited with code {process.returncode} before {url} was up"
            )
        if time.monotonic() - began > timeout:
            raise UiError(f"the UI at {url} was not ready after {timeout:.0f} s (last: {last})")
        time.sleep(0.25)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monitoring.ui --workspace DIR [--host 127.0.0.1] [--port 8000]``."""
    parser = argparse.ArgumentParser(
        prog="python -m monitoring.ui",
        description=f"Serve a monitoring workspace in the Evidently UI (secret: ${SECRET_ENV}).",
    )
    parser.add_argument("--workspace", required=True, help="the Evidently workspace directory")
    parser.add_argument("--host", default=LOOPBACK, help="a loopback address")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    try:
        serve(args.workspace, args.host, args.port)
    except ValueError as exc:  # UiError, WorkspaceError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

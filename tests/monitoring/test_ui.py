"""The UI launcher's rules, without a server: a secret, loopback only, a real workspace."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from monitoring.dashboard import WorkspaceError, open_workspace
from monitoring.ui import (
    SECRET_ENV,
    UiError,
    install_sturdy_watcher,
    main,
    serve,
    ui_command,
    ui_environment,
    wait_ready,
)
from tests.postgres import free_port


def test_serve_refuses_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.setenv("EVIDENTLY_SECRET", "evidently's own variable does not count")
    with pytest.raises(UiError, match=f"without a write secret: set {SECRET_ENV}"):
        serve(tmp_path)
    with pytest.raises(UiError, match="without a write secret"):
        serve(tmp_path, secret="   ")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_serve_refuses_a_host_that_is_not_loopback(tmp_path, host):
    with pytest.raises(UiError, match="loopback only"):
        serve(tmp_path, host=host, secret="s")
    with pytest.raises(UiError, match="loopback only"):
        ui_command(tmp_path, 8000, host=host)


def test_serve_refuses_a_missing_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="no Evidently workspace at"):
        serve(tmp_path / "typo", secret="s")
    assert not (tmp_path / "typo").exists()


def test_main_reports_the_problem_and_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SECRET_ENV, "s")
    assert main(["--workspace", str(tmp_path / "typo"), "--port", "1"]) == 2
    assert "no Evidently workspace at" in capsys.readouterr().err


def test_the_secret_travels_in_the_environment_not_the_command(tmp_path):
    command = ui_command(tmp_path, 8123)
    assert command[1:3] == ["-m", "monitoring.ui"]
    assert "--secret" not in command and "--host" in command
    assert command[command.index("--host") + 1] == "127.0.0.1"
    env = ui_environment("t0ps3cret", base={"EVIDENTLY_SECRET": "other", "PATH": "/bin"})
    assert env[SECRET_ENV] == "t0ps3cret"
    assert "EVIDENTLY_SECRET" not in env
    assert env["DO_NOT_TRACK"] == "true"
    assert "t0ps3cret" not in " ".join(command)


def test_wait_ready_fails_when_the_process_dies():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(UiError, match="exited with code 3"):
        wait_ready(f"http://127.0.0.1:{free_port()}", timeout=30, process=process)


def test_wait_ready_gives_up_after_the_timeout():
    with pytest.raises(UiError, match="not ready after"):
        wait_ready(f"http://127.0.0.1:{free_port()}", timeout=0.5)


def _watch(path, handler_class, write) -> tuple[bool, dict]:
    """Run Evidently's workspace watcher as the UI does (start_workspace_watchdog), let
    ``write`` change the workspace, and say whether the observer survived and what it saw."""
    from evidently.ui.service.storage.local.base import LocalState
    from watchdog.observers import Observer

    state = LocalState.load(str(path), None)
    observer = Observer()
    observer.schedule(handler_class(state), str(path), recursive=True)
    observer.start()
    try:
        write()
        time.sleep(1.5)
        return observer.is_alive(), {p: set(s) for p, s in state.snapshots.items()}
    finally:
        observer.stop()
        observer.join(timeout=10)


def test_the_sturdy_watcher_survives_a_half_written_project_file(tmp_path):
    from evidently.sdk.models import ProjectModel
    from evidently.ui.service.storage.local import watcher

    from monitoring.dashboard import month_snapshot
    from tests.monitoring.figures_factory import figures_table

    def write_project_slowly(root):
        model = ProjectModel(name="written-slowly")
        directory = root / str(model.id)

        def write():
            directory.mkdir()
            time.sleep(0.5)  # the watch on the new directory is in place
            (directory / "metadata.json").touch()  # Evidently opens, then dumps
            time.sleep(0.5)
            (directory / "metadata.json").write_text(model.json())
            time.sleep(0.5)
            ws = open_workspace(root)
            figures = figures_table(months=1)
            ws.add_run(model.id, month_snapshot(figures, figures["as_of"].iloc[0]))

        return model.id, write

    original = watcher.WorkspaceDirHandler
    original = original.__mro__[1] if getattr(original, "ews_sturdy", False) else original
    (tmp_path / "plain").mkdir()
    project_id, write = write_project_slowly(tmp_path / "plain")
    alive, seen = _watch(tmp_path / "plain", original, write)
    assert not alive, "Evidently's own watcher survived: the fix may no longer be needed"

    install_sturdy_watcher()
    install_sturdy_watcher()  # idempotent
    assert watcher.WorkspaceDirHandler.__mro__[1] is original
    (tmp_path / "sturdy").mkdir()
    project_id, write = write_project_slowly(tmp_path / "sturdy")
    alive, seen = _watch(tmp_path / "sturdy", watcher.WorkspaceDirHandler, write)
    assert alive
    assert len(seen.get(project_id, ())) == 1  # the month written after the bad read shows

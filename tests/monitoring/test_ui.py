"""The UI launcher's rules, without a server: a secret, loopback only, a real workspace."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitoring.dashboard import WorkspaceError
from monitoring.ui import SECRET_ENV, UiError, main, serve, ui_command, ui_environment, wait_ready
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

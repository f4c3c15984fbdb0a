"""ews-train on a small simulated book, with a temporary EWS_HOME and SQLite store."""

from __future__ import annotations

from typer.testing import CliRunner

from features.cli import app as data_app
from features.settings import get_settings
from training.cli import app

runner = CliRunner()


def test_fit_registers_a_challenger_and_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("EWS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    book = tmp_path / "book"
    simulated = runner.invoke(data_app, ["simulate", "-n", "2500", "-m", "36", "--out", str(book)])
    assert simulated.exit_code == 0
    result = runner.invoke(app, ["fit", "--data", str(book), "--n-estimators", "40"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "registered as challenger" in result.output
    assert (tmp_path / "home" / "mlflow.db").is_file()


def test_fit_refuses_a_book_too_short_to_split(tmp_path):
    book = tmp_path / "short"
    assert (
        runner.invoke(data_app, ["simulate", "-n", "300", "-m", "18", "--out", str(book)]).exit_code
        == 0
    )
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    result = runner.invoke(app, ["fit", "--data", str(book), "--tracking-uri", uri])
    assert result.exit_code == 2
    assert "too short" in result.output and "Traceback" not in result.output

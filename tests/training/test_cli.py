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
    # a simulated book is compared with both oracles and both baselines on the same rows
    for name in ("woe_scorecard", "lightgbm_default", "oracle_pit", "oracle_path"):
        assert name in result.output


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


def test_fit_promote_then_promote_again_and_refusals(tmp_path):
    book = tmp_path / "book"
    assert (
        runner.invoke(
            data_app, ["simulate", "-n", "2500", "-m", "36", "--out", str(book)]
        ).exit_code
        == 0
    )
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    relaxed = tmp_path / "relaxed.json"
    # a 2,500-borrower book with 40 trees is not calibrated: these tests are about the flow
    relaxed.write_text('{"calibration_alpha": 0, "segment_auc_floor": 0.5}')
    empty = runner.invoke(app, ["promote", "--tracking-uri", uri])
    assert empty.exit_code == 2 and "no version" in empty.output

    fitted = runner.invoke(
        app,
        ["fit", "--data", str(book), "--n-estimators", "40", "--tracking-uri", uri]
        + ["--promote", "--gates", str(relaxed)],
    )
    assert fitted.exit_code == 0, fitted.output
    assert "promoted" in fitted.output and "now champion" in fitted.output
    again = runner.invoke(app, ["promote", "--tracking-uri", uri, "--gates", str(relaxed)])
    assert again.exit_code == 0 and "already champion" in again.output

    demanding = tmp_path / "demanding.json"
    demanding.write_text('{"max_ece": 0.05, "max_auc_drop": -0.05}')
    args = ["fit", "--data", str(book), "--n-estimators", "40", "--tracking-uri", uri]
    refused = runner.invoke(app, [*args, "--promote", "--gates", str(demanding)])
    assert refused.exit_code == 4, refused.output
    assert "rejected" in refused.output and "discrimination FAILED" in refused.output

    typo = tmp_path / "typo.json"
    typo.write_text('{"max_eec": 0.05}')
    bad = runner.invoke(app, ["promote", "--tracking-uri", uri, "--gates", str(typo)])
    assert bad.exit_code == 2 and "max_eec" in bad.output and "Traceback" not in bad.output


def test_a_bad_grade_policy_is_refused_before_training(tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text('{"version": "x", "rules": {"green": {}}}')
    result = runner.invoke(
        app, ["fit", "--data", str(tmp_path / "book"), "--grade-policy", str(policy)]
    )
    assert result.exit_code == 2
    assert "grade policy" in result.output and "rules" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_tracking_server_is_found_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    result = runner.invoke(
        app, ["fit", "--data", str(tmp_path / "no-book"), "--tracking-uri", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 3, result.output
    assert "not usable" in result.output and "Traceback" not in result.output


def test_the_tracking_store_defaults_to_ews_tracking_uri_as_serving_reads_it(tmp_path, monkeypatch):
    from training.tracking import resolve_tracking_uri

    monkeypatch.setenv("EWS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("EWS_TRACKING_URI", shared)
    try:
        assert resolve_tracking_uri(None, tmp_path) == shared
        assert resolve_tracking_uri("http://example:5000", tmp_path) == "http://example:5000"
        promoted = runner.invoke(app, ["promote"])
        assert promoted.exit_code == 2 and "no version" in promoted.output
        assert (tmp_path / "shared.db").is_file()
        # fit opens the store too, before reading the book (which is missing here)
        monkeypatch.setenv("EWS_TRACKING_URI", f"sqlite:///{tmp_path / 'fit.db'}")
        fitted = runner.invoke(app, ["fit", "--data", str(tmp_path / "no-book")])
        assert fitted.exit_code == 1 and "failed validation" in fitted.output
        assert (tmp_path / "fit.db").is_file()
        assert not (tmp_path / "home" / "mlflow.db").exists()
        # --tracking-uri still wins
        own = f"sqlite:///{tmp_path / 'own.db'}"
        assert runner.invoke(app, ["promote", "--tracking-uri", own]).exit_code == 2
        assert (tmp_path / "own.db").is_file()
        # an empty variable is no setting: the SQLite store under EWS_HOME
        monkeypatch.setenv("EWS_TRACKING_URI", "")
        assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path / 'mlflow.db'}"
        assert runner.invoke(app, ["promote"]).exit_code == 2
        assert (tmp_path / "home" / "mlflow.db").is_file()
    finally:
        get_settings.cache_clear()


def test_a_corrupt_store_is_one_line_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.delenv("EWS_TRACKING_URI", raising=False)
    store = tmp_path / "mlflow.db"
    store.write_bytes(bytes(range(256)) * 100)
    result = runner.invoke(app, ["promote", "--tracking-uri", f"sqlite:///{store}"])
    assert result.exit_code == 3, result.output
    assert "not a usable SQLite database" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bare_postgresql_uri_is_a_usable_registry(postgres_admin_url):
    """It failed with ``ModuleNotFoundError: psycopg`` (SQLAlchemy's default driver)."""
    from urllib.parse import urlsplit

    from tests.postgres import create_database, drop_database

    name, url = create_database(prefix="ews_bare_uri")
    try:
        bare = urlsplit(url)._replace(scheme="postgresql").geturl()
        result = runner.invoke(app, ["promote", "--tracking-uri", bare])
        assert result.exit_code == 2, result.output  # an empty registry: nothing to promote
        assert "no version" in result.output and "psycopg" not in result.output
    finally:
        drop_database(name)

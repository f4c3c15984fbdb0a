"""The tracking store is checked before MLflow opens it: one line and a bounded wait."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from models.tracking_store import (
    CONNECT_TIMEOUT_S,
    TrackingStoreError,
    checked_tracking_uri,
    normalized_uri,
)


def _a_real_store(path: Path) -> Path:
    """An SQLite file of some size, like a tracking store after a few runs."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, payload TEXT)")
    connection.executemany(
        "INSERT INTO runs VALUES (?, ?)", [(f"r{i}", "x" * 500) for i in range(2000)]
    )
    connection.commit()
    connection.close()
    return path


def test_a_bare_postgresql_uri_names_the_installed_driver():
    assert normalized_uri("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalized_uri("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalized_uri("sqlite:///a.db") == "sqlite:///a.db"
    assert normalized_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_a_healthy_sqlite_store_passes_and_a_missing_one_only_when_allowed(tmp_path):
    store = _a_real_store(tmp_path / "mlflow.db")
    assert checked_tracking_uri(f"sqlite:///{store}") == f"sqlite:///{store}"
    missing = tmp_path / "none" / "mlflow.db"
    assert checked_tracking_uri(f"sqlite:///{missing}", must_exist=False)
    with pytest.raises(TrackingStoreError, match="does not exist"):
        checked_tracking_uri(f"sqlite:///{missing}")
    assert not missing.exists()


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "empty header"])
def test_a_corrupt_or_truncated_store_is_one_line(tmp_path, damage):
    store = _a_real_store(tmp_path / "mlflow.db")
    data = store.read_bytes()
    if damage == "random bytes":
        store.write_bytes(bytes(range(256)) * 80)
    elif damage == "truncated":
        store.write_bytes(data[: len(data) // 3])
    else:
        store.write_bytes(b"\0" * 100 + data[100:])
    with pytest.raises(TrackingStoreError) as refused:
        checked_tracking_uri(f"sqlite:///{store}")
    assert "\n" not in str(refused.value) and str(store) in str(refused.value)


def test_an_unreachable_server_is_one_line_within_the_bound_and_masks_the_password():
    started = time.monotonic()
    with pytest.raises(TrackingStoreError) as refused:
        checked_tracking_uri("postgresql://ews:s3cret@127.0.0.1:1/mlflow")
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 2
    message = str(refused.value)
    assert "\n" not in message and "s3cret" not in message and "***" in message


def test_a_reachable_postgresql_store_passes_under_its_bare_scheme(postgres_admin_url):
    bare = postgres_admin_url.replace("postgresql+psycopg2://", "postgresql://")
    assert checked_tracking_uri(bare).startswith("postgresql+psycopg2://")

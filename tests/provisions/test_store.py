"""The provision store on SQLite and PostgreSQL: runs and overlays kept, one decision per
overlay, approved overlays summed, refusals named and writing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from provisions.store import APPROVED, PROPOSED, REJECTED, OverlayError, ProvisionStore
from tests.postgres import ServerError, create_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path: Path) -> Iterator[ProvisionStore]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store' / 'ledger.db'}"
    else:
        request.getfixturevalue("postgres_admin_url")
        try:
            name, url = create_database(prefix="ews_provisions")
        except ServerError as exc:
            pytest.fail(str(exc), pytrace=False)
    opened = ProvisionStore(url)
    try:
        yield opened
    finally:
        opened.dispose()
        if name is not None:
            drop_database(name)


def record(modelled: float = 1_000.0) -> dict:
    return {
        "policy": {"version": "test-1", "fingerprint": "f" * 64},
        "allowance": {"modelled": modelled},
    }


def overlay(segment: str, amount: float) -> dict:
    return {
        "kind": "precautionary",
        "segment": segment,
        "amount": amount,
        "pd_points": 0.01,
        "evidence": {"months": ["2024-11"], "pd_psi": 0.31},
        "rationale": "drift breach",
    }


def test_run_and_overlays_are_kept_and_decided_once(store: ProvisionStore) -> None:
    run_id, (first, second) = store.record_run(
        "2024-11",
        record(),
        [overlay("area x industry=deqing x manufacturing", 250.5), overlay("area=anji", 10.0)],
    )
    assert store.run(run_id)["allowance"]["modelled"] == 1_000.0
    assert set(store.overlays("2024-11")["status"]) == {PROPOSED}
    assert store.approved_total("2024-11") == 0.0
    store.decide(first, APPROVED, "Li Wei", "evidence reviewed at the risk committee")
    assert store.approved_total("2024-11") == 250.5
    with pytest.raises(OverlayError, match=f"overlay {first} was approved already by Li Wei"):
        store.decide(first, APPROVED, "Zhang San", "again")
    with pytest.raises(OverlayError, match="was approved already"):
        store.decide(first, REJECTED, "Zhang San", "changed mind")
    store.decide(second, REJECTED, "Li Wei", "segment too small")
    frame = store.overlays("2024-11").set_index("overlay_id")
    assert frame.loc[first, "status"] == APPROVED and frame.loc[second, "status"] == REJECTED
    assert frame.loc[first, "evidence"]["pd_psi"] == 0.31
    assert store.approved_total("2024-11") == 250.5
    assert store.overlays("2024-12").empty


def test_refusals_name_the_overlay_and_write_nothing(store: ProvisionStore) -> None:
    _, (only,) = store.record_run("2025-01", record(), [overlay("area=anji", 5.0)])
    with pytest.raises(OverlayError, match="no overlay nope"):
        store.decide("nope", APPROVED, "Li Wei", "")
    with pytest.raises(OverlayError, match="needs the name"):
        store.decide(only, APPROVED, "  ", "")
    with pytest.raises(OverlayError, match="decision must be one of"):
        store.decide(only, "maybe", "Li Wei", "")
    assert store.overlays("2025-01")["status"].tolist() == [PROPOSED]
    with pytest.raises(KeyError, match="no provision run"):
        store.run("missing")


def test_concurrent_approvals_leave_exactly_one_decision(store: ProvisionStore) -> None:
    _, (only,) = store.record_run("2025-02", record(), [overlay("area=anji", 7.0)])

    def approve(i: int) -> str:
        try:
            store.decide(only, APPROVED, f"manager {i}", "")
        except OverlayError:
            return "refused"
        return "done"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(approve, range(4)))
    assert outcomes.count("done") == 1 and outcomes.count("refused") == 3
    assert store.approved_total("2025-02") == 7.0


def test_the_booked_allowance_stands_on_the_months_latest_run(store: ProvisionStore) -> None:
    first_run, (early,) = store.record_run("2025-03", record(1_000.0), [overlay("book", 40.0)])
    store.decide(early, APPROVED, "Li Wei", "")
    assert store.booked(first_run) == {
        "modelled": 1_000.0,
        "approved_overlays": 40.0,
        "proposed_overlays": 0.0,
        "booked": 1_040.0,
    }
    second_run, (again,) = store.record_run("2025-03", record(1_100.0), [overlay("book", 45.0)])
    assert store.latest_run_id("2025-03") == second_run
    # the re-run's overlay is decided afresh: the first run's approval is not counted twice
    assert store.approved_total("2025-03") == 0.0
    assert store.booked(second_run)["proposed_overlays"] == 45.0
    store.decide(again, APPROVED, "Li Wei", "")
    assert store.approved_total("2025-03") == 45.0
    assert store.approved_total("2025-03", run_id=first_run) == 40.0
    assert store.latest_run_id("2025-04") is None and store.approved_total("2025-04") == 0.0


def test_first_uses_at_once_on_a_fresh_postgresql_database_all_open_it(postgres_admin_url):
    # Replicas or two commands starting together on a new database race to create the tables.
    try:
        name, url = create_database(prefix="ews_provisions_race")
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        with ThreadPoolExecutor(6) as pool:
            stores = list(pool.map(lambda _: ProvisionStore(url), range(6)))
        run_id, _ = stores[0].record_run("2025-02", record(), [])
        assert all(s.run(run_id)["allowance"] == {"modelled": 1_000.0} for s in stores)
        for s in stores:
            s.dispose()
    finally:
        drop_database(name)

"""Provisions on the monitored books (tests/integration/books.py): the shock reaches the
allowance of the shocked segment, the monitoring evidence proposes an overlay for it, approving
it moves the booked total by exactly its size, and a stored run reproduces to the yuan; the
calm book gets no overlay.

Each month is provided for with the real ``ews-provision run`` on the month's portfolio-run
folder, origination PDs from the ledger the assessments wrote (its first score of each loan,
from 2024-07), and the drift and performance summaries of the whole series (only what was
observable by the month counts). Figures measured on this code are in docs/provisions.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from provisions.cli import app
from tests.integration.books import HIT, TOUCHED, Monitored
from tests.serving.http_server import environment, home_environment

pytestmark = pytest.mark.slow

runner = CliRunner()
#: Before the shock shows (its first month), and the months after the first drift breach.
MONTHS = ("2024-07", "2024-10", "2024-12", "2025-02")
CROSSED = "area x industry"


def _provide(book: Monitored, months: tuple[str, ...]) -> dict[str, Path]:
    folders = {}
    with environment(home_environment(book.home, "k")):
        for month in months:
            folder = book.home / "reports" / "provisions" / month
            ran = runner.invoke(
                app,
                [
                    *("run", "--as-of", month, "--data", str(book.home / "data" / "portfolio")),
                    *("--scores", str(book.home / "reports" / f"assessment-{month}")),
                    *("--drift", str(book.folder / "drift")),
                    *("--performance", str(book.folder / "performance")),
                    *("--out", str(folder), "--no-dashboard"),
                ],
            )
            assert ran.exit_code == 0, ran.output
            folders[month] = folder
    return folders


@pytest.fixture(scope="module")
def provided(shocked: Monitored) -> dict[str, Path]:
    return _provide(shocked, MONTHS)


def _loans(folder: Path) -> pd.DataFrame:
    loans = pd.read_parquet(folder / "loans.parquet")
    return loans.assign(**{CROSSED: loans["area"] + " x " + loans["industry"]})


def _overlays(folder: Path) -> list[dict]:
    return json.loads((folder / "overlays.json").read_text(encoding="utf-8"))


def test_the_shocked_segments_stage_share_and_allowance_rise_and_others_move_less(provided):
    # Allowance per yuan of balance (coverage), not the allowance itself: the book grows over
    # the months (new loans), which moves every segment's total whether its risk rose or not.
    hit = HIT.split("=", 1)[1]
    before, after = _loans(provided[MONTHS[0]]), _loans(provided[MONTHS[-1]])

    def figures(loans: pd.DataFrame, inside: bool) -> tuple[float, float]:
        part = loans[(loans[CROSSED] == hit) == inside]
        return float((part["stage"] >= 2).mean()), float(part["ecl"].sum() / part["balance"].sum())

    share_before, coverage_before = figures(before, True)
    share_after, coverage_after = figures(after, True)
    # Measured (2026-12-06): stage 2+3 share 5.4% -> 16.6%, coverage 1.46% -> 4.39% (+200%).
    assert share_after > 2.0 * share_before, (share_before, share_after)
    hit_rise = coverage_after / coverage_before - 1.0
    assert hit_rise > 1.0, hit_rise
    # The rest of the book: its coverage moves by less than 15% (measured 2.35% -> 2.51%,
    # +7%), and every untouched area x industry segment of 300 loans or more by less than
    # half the shocked one's rise (measured: -25% to +75%).
    _, rest_before = figures(before, False)
    _, rest_after = figures(after, False)
    assert abs(rest_after / rest_before - 1.0) < 0.15, (rest_before, rest_after)

    def coverage(loans: pd.DataFrame) -> pd.DataFrame:
        return loans.groupby(CROSSED).agg(
            ecl=("ecl", "sum"), balance=("balance", "sum"), n=("loan_id", "size")
        )

    old, new = coverage(before), coverage(after)
    sizeable = old[(old["n"] >= 300) & (old.index != hit)].index
    moves = (
        (new.loc[sizeable, "ecl"] / new.loc[sizeable, "balance"])
        / (old.loc[sizeable, "ecl"] / old.loc[sizeable, "balance"])
        - 1.0
    ).abs()
    assert len(sizeable) >= 5 and (moves < hit_rise / 2).all(), moves.sort_values().to_string()


def test_an_overlay_is_proposed_for_the_shocked_segment_with_its_evidence(provided):
    first = _overlays(provided[MONTHS[0]])
    assert not [o for o in first if o["segment"] == HIT]  # nothing seen yet in the first month
    later = _overlays(provided["2024-12"])
    (overlay,) = [o for o in later if o["segment"] == HIT]
    assert overlay["kind"] == "precautionary" and overlay["amount"] > 0
    drift_events = [e for e in overlay["evidence"]["events"] if e["source"] == "drift"]
    assert drift_events and all(e["month"] <= "2024-12" for e in drift_events)
    assert all(e["mean_pd_current"] > e["mean_pd_reference"] for e in drift_events)
    assert overlay["evidence"]["stage1_loans"] > 100
    assert "PD drift in 2024-11" in overlay["rationale"]
    # no overlay on a segment the shock did not touch (borrower types hold shocked loans too)
    for folder in provided.values():
        for o in _overlays(folder):
            touched = o["segment"] in TOUCHED or o["segment"].startswith("borrower_type=")
            assert touched, o["segment"]


def test_approving_the_overlay_moves_the_booked_total_by_exactly_its_size(shocked, provided):
    from provisions.store import ProvisionStore
    from serving.settings import get_serving_settings

    folder = provided["2024-12"]
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    (overlay,) = [o for o in _overlays(folder) if o["segment"] == HIT]
    with environment(home_environment(shocked.home, "k")):
        store = ProvisionStore(get_serving_settings().resolved_ledger_url)
        before = store.booked(record["run_id"])
        approved = runner.invoke(
            app,
            [
                *("approve", overlay["overlay_id"], "--by", "Li Wei"),
                *("--note", "drift breach confirmed with the branch", "--no-dashboard"),
            ],
        )
        assert approved.exit_code == 0, approved.output
        after = store.booked(record["run_id"])
        store.dispose()
    assert before["booked"] == record["allowance"]["modelled"]
    # exactly its size, to the fen (overlays are sized in whole fen; the sum is a float)
    assert round(after["booked"] - before["booked"], 2) == overlay["amount"]
    assert after["approved_overlays"] == overlay["amount"]
    assert f"booked {after['booked']:,.0f}" in approved.output


def test_a_stored_run_reproduces_to_the_yuan(shocked, provided):
    record = json.loads((provided[MONTHS[-1]] / "run.json").read_text(encoding="utf-8"))
    with environment(home_environment(shocked.home, "k")):
        again = runner.invoke(app, ["rerun", record["run_id"]])
    assert again.exit_code == 0, again.output
    assert "reproduced to the yuan" in again.output


def test_the_movement_names_the_shocked_segment_and_its_overlay(shocked, provided):
    with environment(home_environment(shocked.home, "k")):
        moved = runner.invoke(
            app, ["movement", "--from", str(provided[MONTHS[0]]), "--to", str(provided["2024-12"])]
        )
    assert moved.exit_code == 0, moved.output
    assert f"overlay on {HIT} (precautionary" in moved.output
    assert "stage 2+3" in moved.output and "proposed" in moved.output


def test_a_calm_book_gets_no_overlay(calm):
    folders = _provide(calm, ("2024-12", "2025-02"))
    for folder in folders.values():
        assert _overlays(folder) == []

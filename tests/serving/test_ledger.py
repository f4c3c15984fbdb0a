"""The warning ledger on real databases: a SQLite file and a fresh PostgreSQL database.

Nothing is mocked. Round trip, all-or-nothing batches, the unique key, the previous-grade
lookup, the refusal of an older ledger and the absence of clear ids from what is stored run on
both backends; concurrency and the error paths on SQLite (and an unreachable PostgreSQL port).
"""

from __future__ import annotations

import math
import os
import stat
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from serving.ledger import (
    FEATURE_KEY_COLUMNS,
    LATEST_COLUMNS,
    LOAN_DOMAIN,
    READ_COLUMNS,
    SCORED_KEY_COLUMNS,
    TABLE_COLUMNS,
    DuplicateBatchError,
    LedgerError,
    LedgerQuery,
    WarningLedger,
    WarningRecord,
    key_from_hex,
    load_or_create_key,
    metadata,
    pseudonymise,
    pseudonymise_loan,
)
from tests.serving.conftest import TEST_KEY, LedgerFactory

T0 = datetime(2025, 1, 31, 18, 0, 0, 123456, tzinfo=UTC)
JAN, FEB, MAR = date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)


def P(loan_id: str) -> str:
    """The loan's pseudonym under the test key: what the ledger's rows carry."""
    return pseudonymise_loan(TEST_KEY, loan_id)


def make_record(loan_id: str = "L0000001", **changes: Any) -> WarningRecord:
    """A valid record; ``changes`` override fields."""
    record = WarningRecord(
        request_id="req-1",
        scored_at=T0,
        as_of=JAN,
        loan_id=loan_id,
        borrower_id="B" + loan_id[1:],
        source="portfolio",
        model_name="red-credit-warning",
        model_version="3",
        policy_version="policy-2025-01",
        p_s1=0.4,
        p_s2=0.2,
        p_s3=0.05,
        grade="yellow",
        stage_hint=2,
        features={"dpd_max_3m": 12.0, "area": "north", "has_rating": True, "sales_yoy": None},
        reasons=[
            {
                "feature": "dpd_max_3m",
                "value": 12.0,
                "contribution": 0.31,
                "text_en": "Days past due rose to 12",
                "text_zh": "逾期天数升至12天",
            }
        ],
        notes=("area 'xyz' unknown, scored as other",),
    )
    return replace(record, **changes)


# --------------------------------------------------------------------------- both backends


def test_round_trip_returns_every_field(any_ledger: WarningLedger) -> None:
    east8 = timezone(timedelta(hours=8))
    records = [
        make_record(
            "L0000001",
            scored_at=datetime(2025, 2, 1, 2, 0, 0, 654321, tzinfo=east8),  # 2025-01-31 18:00 UTC
            features={
                "dpd_max_3m": 12.5,
                "n_events": 3,
                "area": "north",
                "has_rating": False,
                "sales_yoy": float("nan"),
                "margin": np.float64(0.1 + 0.2),
            },
        ),
        make_record("L0000002", p_s1=1.0, p_s2=1.0, p_s3=1.0, grade="red", stage_hint=3),
        make_record(
            "L0000003",
            p_s1=0.0,
            p_s2=0.0,
            p_s3=0.0,
            grade="green",
            stage_hint=1,
            reasons=[],
            notes=(),
        ),
    ]
    assert any_ledger.record(records) == 3

    frame = any_ledger.read()
    assert list(frame.columns) == list(READ_COLUMNS)
    assert str(frame["scored_at"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["as_of"].dtype) == "datetime64[ns]"
    assert frame["id"].is_monotonic_increasing and frame["id"].is_unique
    for record, row in zip(records, frame.itertuples(index=False), strict=True):
        assert row.request_id == record.request_id
        assert row.scored_at == record.scored_at
        assert row.scored_at.tzinfo is not None and row.scored_at.utcoffset() == timedelta(0)
        assert row.scored_at.to_pydatetime() == record.scored_at.astimezone(UTC)
        assert row.as_of == pd.Timestamp(record.as_of)
        assert (
            row.loan_pseudonym == P(record.loan_id) == any_ledger.pseudonym_of_loan(record.loan_id)
        )
        assert row.borrower_pseudonym == pseudonymise(TEST_KEY, record.borrower_id)
        assert row.borrower_pseudonym == any_ledger.pseudonym_of_borrower(record.borrower_id)
        for name in ("source", "model_name", "model_version", "policy_version", "grade"):
            assert getattr(row, name) == getattr(record, name)
        assert (row.p_s1, row.p_s2, row.p_s3) == (record.p_s1, record.p_s2, record.p_s3)
        assert row.pd_12m == record.p_s3
        assert row.stage_hint == record.stage_hint
        expected = {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in record.features.items()
        }
        assert row.features == expected
        assert list(row.features) == list(record.features)  # order kept
        assert row.reasons == list(record.reasons)
        assert row.notes == list(record.notes)
    assert frame.loc[0, "features"]["margin"] == 0.1 + 0.2  # a double, bit for bit
    assert type(frame.loc[0, "features"]["n_events"]) is int
    assert any_ledger.count() == 3


def test_duplicate_batch_writes_nothing(any_ledger: WarningLedger) -> None:
    first = [make_record("L0000001"), make_record("L0000002")]
    assert any_ledger.record(first) == 2

    with pytest.raises(
        LedgerError, match=rf"duplicate batch: 1 of its 2 .*'{P('L0000002')}'"
    ) as info:
        any_ledger.record([make_record("L0000003"), make_record("L0000002")])
    assert "\n" not in str(info.value) and "L0000002" not in str(info.value)
    with pytest.raises(DuplicateBatchError, match="duplicate batch: 2 of its 2"):
        any_ledger.record(first)  # a retried write: told apart from a failing database
    assert any_ledger.count() == 2
    assert any_ledger.read()["loan_pseudonym"].tolist() == [P("L0000001"), P("L0000002")]

    # The same loan in another request or on another date is a new record.
    assert any_ledger.record([make_record("L0000002", request_id="req-2")]) == 1
    assert any_ledger.record([make_record("L0000002", as_of=FEB)]) == 1
    assert any_ledger.count() == 4


def test_latest_grades_picks_previous_assessment(any_ledger: WarningLedger) -> None:
    def run(request_id: str, as_of: date, hours: int, grades: dict[str, str], **kw: Any):
        return [
            make_record(
                loan,
                request_id=request_id,
                as_of=as_of,
                scored_at=T0 + timedelta(hours=hours),
                grade=grade,
                **kw,
            )
            for loan, grade in grades.items()
        ]

    any_ledger.record(run("jan", JAN, 0, {"L1": "green", "L2": "blue", "L3": "red"}))
    any_ledger.record(run("feb", FEB, 700, {"L1": "yellow", "L2": "blue"}))
    # A rerun of February (later scored_at) wins over the first February run.
    any_ledger.record(run("feb-rerun", FEB, 800, {"L1": "orange"}, p_s3=0.07))
    # An HTTP score is not a monthly assessment: ignored by default.
    any_ledger.record(run("http", FEB, 900, {"L2": "red"}, source="score"))
    any_ledger.record(run("mar", MAR, 1400, {"L1": "red", "L2": "red", "L3": "red"}))

    latest = any_ledger.latest_grades(MAR)
    assert list(latest.columns) == list(LATEST_COLUMNS)
    assert latest["loan_pseudonym"].tolist() == sorted(P(loan) for loan in ("L1", "L2", "L3"))
    latest = latest.set_index("loan_pseudonym").loc[[P("L1"), P("L2"), P("L3")]]
    assert latest["grade"].tolist() == ["orange", "blue", "red"]
    assert latest["request_id"].tolist() == ["feb-rerun", "feb", "jan"]
    assert latest["as_of"].tolist() == [pd.Timestamp(FEB), pd.Timestamp(FEB), pd.Timestamp(JAN)]
    assert latest["pd_12m"].tolist() == [0.07, 0.05, 0.05]

    any_source = any_ledger.latest_grades(MAR, source=None).set_index("loan_pseudonym")
    assert any_source["grade"][P("L2")] == "red"
    assert any_ledger.latest_grades(MAR, loan_ids=["L3"])["grade"].tolist() == ["red"]
    assert any_ledger.latest_grades(FEB)["request_id"].tolist() == ["jan"] * 3
    empty = any_ledger.latest_grades(JAN)
    assert empty.empty and list(empty.columns) == list(LATEST_COLUMNS)

    # The first assessment up to a month: the provision run's PD at origination.
    first = any_ledger.first_scores(MAR).set_index("loan_pseudonym")
    assert first.loc[[P("L1"), P("L2"), P("L3")], "request_id"].tolist() == ["jan"] * 3
    assert any_ledger.first_scores(JAN, loan_ids=["L1"])["grade"].tolist() == ["green"]
    assert any_ledger.first_scores(FEB, source="score").set_index("loan_pseudonym")[
        "grade"
    ].to_dict() == {P("L2"): "red"}
    assert any_ledger.first_scores(JAN - timedelta(days=1)).empty
    with pytest.raises(ValueError, match="until must be a date"):
        any_ledger.first_scores(T0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"p_s1": float("nan")}, "p_s1"),
        ({"p_s2": float("inf")}, "p_s2"),
        ({"p_s1": 1.5}, "p_s1"),
        ({"p_s3": -0.01}, "p_s3"),
        ({"p_s2": 0.5}, "p_s1/p_s2/p_s3"),
        ({"p_s3": 0.3}, "p_s1/p_s2/p_s3"),
        ({"grade": "purple"}, "grade"),
        ({"source": "batch"}, "source"),
        ({"stage_hint": 4}, "stage_hint"),
        ({"scored_at": datetime(2025, 1, 31, 18, 0)}, "scored_at"),
        ({"as_of": datetime(2025, 1, 31)}, "as_of"),
        ({"request_id": ""}, "request_id"),
        ({"features": {"x": float("inf")}}, "features['x']"),
        ({"features": {"x": [1, 2]}}, "features['x']"),
        ({"reasons": [{"feature": "x", "value": float("-inf")}]}, "reasons[0]"),
        ({"notes": ("ok", 3)}, "notes[1]"),
    ],
)
def test_invalid_record_writes_nothing(
    sqlite_ledger: WarningLedger, changes: dict[str, object], field: str
) -> None:
    sqlite_ledger.record([make_record("L0000009")])
    batch = [make_record("L0000001"), make_record("L0000002", **changes), make_record("L0000003")]
    with pytest.raises(ValueError) as info:
        sqlite_ledger.record(batch)
    message = str(info.value)
    assert f"record 1 (loan_pseudonym '{P('L0000002')}')" in message and field in message
    assert "\n" not in message and "L0000002" not in message  # messages reach logs
    assert sqlite_ledger.read()["loan_pseudonym"].tolist() == [P("L0000009")]


def test_repeated_key_within_a_batch_is_refused(sqlite_ledger: WarningLedger) -> None:
    with pytest.raises(
        ValueError, match=rf"record 1 \(loan_pseudonym '{P('L0000001')}'\): repeats"
    ):
        sqlite_ledger.record([make_record("L0000001"), make_record("L0000001")])
    assert sqlite_ledger.count() == 0
    assert sqlite_ledger.record([]) == 0


# --------------------------------------------------------------------------- privacy


def test_pseudonym_is_keyed_and_stable() -> None:
    other_key = bytes(reversed(range(32)))
    first = pseudonymise(TEST_KEY, "B0000001")
    assert first == pseudonymise(TEST_KEY, "B0000001")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != pseudonymise(other_key, "B0000001")
    assert first != pseudonymise(TEST_KEY, "B0000002")
    with pytest.raises(ValueError, match="at least 16"):
        pseudonymise(b"short", "B0000001")


#: Loans whose ids embed their borrowers' ids, as the simulator's do (L000435501 holds B0004355).
BORROWERS = [f"BORROWER-{i:05d}" for i in range(50)]
LOANS = [f"LOAN-OF-{b}-01" for b in BORROWERS]


def _record_clear_ids(ledger: WarningLedger) -> None:
    ledger.record(
        [make_record(loan, borrower_id=b) for loan, b in zip(LOANS, BORROWERS, strict=True)]
    )
    frame = ledger.read()
    assert set(frame["borrower_pseudonym"]) == {pseudonymise(TEST_KEY, b) for b in BORROWERS}
    assert set(frame["loan_pseudonym"]) == {P(loan) for loan in LOANS}
    assert not {"loan_id", "borrower_id"} & set(frame.columns)


def test_clear_ids_are_nowhere_in_the_database_file(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    ledger = WarningLedger(f"sqlite:///{folder / 'ledger.db'}", TEST_KEY)
    _record_clear_ids(ledger)
    ledger.dispose()

    stored = b"".join(path.read_bytes() for path in folder.iterdir())  # db, and -wal if any
    assert b"BORROWER-" not in stored and b"LOAN-OF-" not in stored
    assert TEST_KEY not in stored and TEST_KEY.hex().encode() not in stored
    assert pseudonymise(TEST_KEY, BORROWERS[0]).encode() in stored
    assert P(LOANS[0]).encode() in stored


def test_clear_ids_are_nowhere_in_the_postgresql_tables(ledger_postgres_url: str) -> None:
    ledger = WarningLedger(ledger_postgres_url, TEST_KEY)
    engine = create_engine(ledger_postgres_url)
    try:
        _record_clear_ids(ledger)
        with engine.connect() as conn:  # every row of every ledger table, as text
            stored = "\n".join(
                text_row
                for table in ("warning_ledger", "ledger_meta")
                for text_row in conn.execute(text(f"SELECT CAST(t AS text) FROM {table} t"))
                .scalars()
                .all()
            )
        assert "BORROWER-" not in stored and "LOAN-OF-" not in stored
        assert TEST_KEY.hex() not in stored
        assert P(LOANS[0]) in stored and pseudonymise(TEST_KEY, BORROWERS[0]) in stored
    finally:
        ledger.dispose()
        metadata.drop_all(engine)  # the next PostgreSQL test expects an empty database
        engine.dispose()


def test_loan_pseudonym_is_keyed_stable_and_never_a_borrower_pseudonym() -> None:
    other_key = bytes(reversed(range(32)))
    first = pseudonymise_loan(TEST_KEY, "L0000001")
    assert first == pseudonymise_loan(TEST_KEY, "L0000001")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != pseudonymise_loan(other_key, "L0000001")
    assert first != pseudonymise_loan(TEST_KEY, "L0000002")
    # One key, two domains: the loan pseudonym of a string is not its borrower pseudonym, and
    # no borrower id spells a loan's message (its prefix starts with 0xFF, never in UTF-8).
    for same in ("L0000001", "B0004355", "", "x" * 64):
        assert pseudonymise_loan(TEST_KEY, same) != pseudonymise(TEST_KEY, same)
    assert pseudonymise(TEST_KEY, LOAN_DOMAIN.decode("latin-1") + "L1") != P("L1")
    with pytest.raises(ValueError, match="at least 16"):
        pseudonymise_loan(b"short", "L0000001")


def test_a_loan_and_a_borrower_of_one_id_get_two_pseudonyms(any_ledger: WarningLedger) -> None:
    any_ledger.record([make_record("SAME-ID-1", borrower_id="SAME-ID-1")])
    row = any_ledger.read().iloc[0]
    assert row["loan_pseudonym"] == any_ledger.pseudonym_of_loan("SAME-ID-1")
    assert row["borrower_pseudonym"] == any_ledger.pseudonym_of_borrower("SAME-ID-1")
    assert row["loan_pseudonym"] != row["borrower_pseudonym"]


def test_one_loan_is_one_pseudonym_across_requests_and_ledgers_of_one_key(
    ledger_factory: LedgerFactory, tmp_path: Path
) -> None:
    ledger = ledger_factory()
    ledger.record([make_record("L0000001", request_id="req-1")])
    ledger.record(
        [
            make_record("L0000001", request_id="req-2", as_of=FEB, source="score"),
            make_record("L0000002", request_id="req-2", as_of=FEB, source="score"),
        ]
    )
    rows = ledger.read(loan_ids=["L0000001"])
    assert rows["request_id"].tolist() == ["req-1", "req-2"]
    assert set(rows["loan_pseudonym"]) == {ledger.pseudonym_of_loan("L0000001")}
    assert len(set(ledger.read()["loan_pseudonym"])) == 2

    elsewhere = WarningLedger(f"sqlite:///{tmp_path / 'elsewhere.db'}", TEST_KEY)
    elsewhere.record([make_record("L0000001", request_id="req-9")])
    assert elsewhere.read()["loan_pseudonym"].tolist() == [ledger.pseudonym_of_loan("L0000001")]
    elsewhere.dispose()
    other_key = WarningLedger(f"sqlite:///{tmp_path / 'other.db'}", bytes(reversed(range(32))))
    assert other_key.pseudonym_of_loan("L0000001") != ledger.pseudonym_of_loan("L0000001")


def test_a_loan_is_looked_up_by_its_clear_id(any_ledger: WarningLedger) -> None:
    ledger = any_ledger
    ledger.record([make_record(f"L{i:07d}") for i in range(5)])  # req-1, JAN
    ledger.record([make_record("L0000003", request_id="req-2", as_of=FEB, grade="red")])
    found = ledger.read(loan_ids=["L0000003"])
    assert found["request_id"].tolist() == ["req-1", "req-2"]
    assert set(found["loan_pseudonym"]) == {ledger.pseudonym_of_loan("L0000003")}
    assert ledger.count(LedgerQuery(loan_ids=["L0000003"], as_of=FEB)) == 1
    features = ledger.read_features(loan_ids=["L0000003", "L0000004"])
    assert sorted(features["loan_pseudonym"]) == sorted(
        [P("L0000003"), P("L0000003"), P("L0000004")]
    )
    latest = ledger.latest_grades(MAR, loan_ids=["L0000003"])
    assert latest[["loan_pseudonym", "grade"]].values.tolist() == [[P("L0000003"), "red"]]
    # The filter takes clear ids (it has the key); a pseudonym is not a loan id.
    assert ledger.count(loan_ids=[P("L0000003")]) == 0


def test_another_key_on_the_same_ledger_is_refused(ledger_factory: LedgerFactory) -> None:
    ledger_factory().record([make_record()])
    other = ledger_factory(bytes(reversed(range(32))))
    with pytest.raises(LedgerError, match="pseudonym key differs"):
        other.check()


# --------------------------------------------------------------------------- reading


def test_read_and_count_filters(sqlite_ledger: WarningLedger) -> None:
    ledger = sqlite_ledger
    ledger.record([make_record(f"L{i:07d}") for i in range(3)])  # req-1, JAN, portfolio
    ledger.record(
        [
            make_record(
                "L0000000",
                request_id="req-2",
                as_of=FEB,
                source="score",
                scored_at=T0 + timedelta(days=30),
            )
        ]
    )
    ledger.record(
        [
            make_record(
                "L0000001",
                request_id="req-3",
                as_of=FEB,
                source="score_features",
                scored_at=T0 + timedelta(days=31),
            )
        ]
    )

    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["req-1"] * 3 + ["req-2", "req-3"]),
        ({"as_of": FEB}, ["req-2", "req-3"]),
        ({"source": "score"}, ["req-2"]),
        ({"request_id": "req-1"}, ["req-1"] * 3),
        ({"loan_ids": ["L0000001"]}, ["req-1", "req-3"]),
        ({"loan_ids": []}, []),
        ({"since": T0 + timedelta(days=30)}, ["req-2", "req-3"]),
        ({"until": T0 + timedelta(days=30)}, ["req-1"] * 3),  # half-open window
        ({"since": T0, "until": T0 + timedelta(seconds=1)}, ["req-1"] * 3),
        ({"as_of": JAN, "loan_ids": ["L0000002", "L9"], "source": "portfolio"}, ["req-1"]),
    ]
    for filters, expected in cases:
        frame = ledger.read(**filters)
        assert frame["request_id"].tolist() == expected, filters
        assert ledger.count(**filters) == len(expected), filters
        assert len(ledger.read_features(**filters)) == len(expected), filters
        query = LedgerQuery(**filters)  # the one query object: the same rows as the keywords
        assert ledger.read(query)["request_id"].tolist() == expected, filters
        assert ledger.count(query) == len(expected), filters
        assert len(ledger.read_features(query)) == len(expected), filters

    empty = ledger.read(request_id="nope")
    assert empty.empty and list(empty.columns) == list(READ_COLUMNS)
    assert str(empty["scored_at"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="since must be a timezone-aware"):
        ledger.read(since=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="source 'batch'"):
        ledger.count(source="batch")
    with pytest.raises(ValueError, match="not one string"):
        ledger.read(loan_ids="L0000001")


def test_a_query_is_checked_once_and_keywords_replace_its_fields(
    sqlite_ledger: WarningLedger,
) -> None:
    ledger = sqlite_ledger
    ledger.record([make_record(f"L{i:07d}") for i in range(3)])
    ledger.record([make_record("L0000000", request_id="req-2", source="score")])
    query = LedgerQuery(loan_ids=["L0000001", "L0000000", "L0000001"], source="portfolio")
    assert query.loan_ids == ("L0000001", "L0000000")  # a tuple, repeats dropped, order kept
    assert hash(query) == hash(LedgerQuery(loan_ids=("L0000001", "L0000000"), source="portfolio"))
    with pytest.raises(AttributeError):
        query.source = "score"  # type: ignore[misc]
    assert ledger.count(query) == 2
    assert ledger.read(query, source="score")["request_id"].tolist() == ["req-2"]
    assert ledger.count(query, loan_ids=None) == 3
    assert LedgerQuery.of(query) is query
    for bad, kind, message in [
        ({"since": datetime(2025, 1, 1)}, ValueError, "since must be a timezone-aware"),
        ({"until": "2025-01-01"}, ValueError, "until must be a timezone-aware"),
        ({"as_of": T0}, ValueError, "as_of must be a date"),
        ({"source": "batch"}, ValueError, "source 'batch'"),
        ({"loan_ids": "L1"}, ValueError, "not one string"),
        ({"loan_id": ["L1"]}, TypeError, "unknown ledger filter loan_id"),
    ]:
        with pytest.raises(kind, match=message):
            ledger.read(**bad)
    with pytest.raises(TypeError, match="expected a LedgerQuery"):
        ledger.count({"source": "score"})  # type: ignore[arg-type]


def test_many_loan_ids_are_queried_in_chunks(sqlite_ledger: WarningLedger) -> None:
    loans = [f"L{i:07d}" for i in range(1200)]
    sqlite_ledger.record([make_record(loan) for loan in loans])
    wanted = loans[::-1][:1100]  # more than two IN chunks, in reverse order
    frame = sqlite_ledger.read(loan_ids=wanted)
    assert frame["id"].is_monotonic_increasing
    assert sorted(frame["loan_pseudonym"]) == sorted(P(loan) for loan in wanted)
    assert sqlite_ledger.count(loan_ids=wanted + wanted[:10]) == 1100
    latest = sqlite_ledger.latest_grades(FEB, loan_ids=wanted)
    assert latest["loan_pseudonym"].tolist() == sorted(P(loan) for loan in wanted)


def test_read_features_expands_columns(sqlite_ledger: WarningLedger) -> None:
    sqlite_ledger.record(
        [
            make_record("L0000001", features={"dpd": 3.0, "area": "north", "sales": None}),
            make_record(
                "L0000002",
                features={"dpd": float("nan"), "area": None, "new": 1.5},
                model_version="4",
            ),
        ]
    )
    frame = sqlite_ledger.read_features()
    assert list(frame.columns) == [*FEATURE_KEY_COLUMNS, "dpd", "area", "sales", "new"]
    assert frame["loan_pseudonym"].tolist() == [P("L0000001"), P("L0000002")]
    assert frame["model_version"].tolist() == ["3", "4"]
    assert frame["dpd"].dtype == np.float64 and np.isnan(frame.loc[1, "dpd"])
    assert frame["dpd"][0] == 3.0 and np.isnan(frame.loc[0, "new"])
    assert frame["area"].tolist() == ["north", None]
    assert str(frame["scored_at"].dtype) == "datetime64[ns, UTC]"


def test_batches_commit_together_or_not_at_all(any_ledger: WarningLedger) -> None:
    """``record_batches`` (a large portfolio run) is one transaction however many batches:
    a bad record or a duplicate in a later batch leaves nothing of the earlier ones."""
    first = [make_record(f"L{i:07d}") for i in range(3)]
    bad = [make_record("L0000010"), make_record("L0000011", grade="purple")]
    with pytest.raises(ValueError, match="record 1"):
        any_ledger.record_batches(iter([first, bad]))
    assert any_ledger.count() == 0
    with pytest.raises(ValueError, match="earlier batch"):  # a loan again in a later batch
        any_ledger.record_batches([first, [make_record("L0000001")]])
    assert any_ledger.count() == 0
    second = [make_record(f"L{i:07d}") for i in range(3, 5)]
    assert any_ledger.record_batches([first, [], second]) == 5
    assert any_ledger.read()["loan_pseudonym"].tolist() == [P(f"L{i:07d}") for i in range(5)]
    with pytest.raises(DuplicateBatchError):  # a retried run: held already, nothing more
        any_ledger.record_batches([[make_record("L0000009")], first])
    assert any_ledger.count() == 5


def test_read_scored_streams_the_same_frame(
    any_ledger: WarningLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in batches (here 2 rows), the scored frame is the one-batch frame: the same
    rows in id order, the same columns in first-seen order, and a feature that is null
    throughout one batch still a float column."""
    import serving.ledger.store as store

    features = [
        {"dpd": None, "area": None},
        {"dpd": None, "area": "north"},
        {"dpd": 4.0, "area": "south", "sales": 1.5},
        {"dpd": 0.0, "area": None},
        {"dpd": 2.0, "area": "east"},
    ]
    any_ledger.record(
        [
            make_record(f"L{i:07d}", features=f, p_s3=0.01 * (i + 1), grade="blue")
            for i, f in enumerate(features)
        ]
    )
    whole = any_ledger.read_scored(as_of=JAN)
    monkeypatch.setattr(store, "READ_BATCH", 2)
    streamed = any_ledger.read_scored(as_of=JAN)
    pd.testing.assert_frame_equal(streamed, whole)
    assert list(whole.columns) == [*SCORED_KEY_COLUMNS, "dpd", "area", "sales"]
    assert whole["dpd"].dtype == np.float64 and np.isnan(whole["dpd"][:2]).all()
    assert whole["p_s3"].tolist() == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    records = any_ledger.read(as_of=JAN)
    assert whole["loan_pseudonym"].tolist() == records["loan_pseudonym"].tolist()
    assert whole["grade"].tolist() == ["blue"] * 5
    features_only = any_ledger.read_features(as_of=JAN)
    pd.testing.assert_frame_equal(
        features_only, whole.drop(columns=["request_id", "source", "p_s1", "p_s2", "p_s3", "grade"])
    )
    assert any_ledger.read_scored(as_of=FEB).empty


def test_latest_grades_of_one_month(any_ledger: WarningLedger) -> None:
    """``as_of`` keeps one month's records: a loan's latest of that month, not its latest."""
    any_ledger.record([make_record("L0000001", grade="blue"), make_record("L0000002")])
    any_ledger.record([make_record("L0000001", request_id="req-2", as_of=FEB, grade="red")])
    latest = any_ledger.latest_grades(MAR, as_of=JAN)
    assert latest[["loan_pseudonym", "grade"]].values.tolist() == sorted(
        [[P("L0000001"), "blue"], [P("L0000002"), "yellow"]]
    )
    assert any_ledger.latest_grades(MAR)["grade"].tolist() == sorted(
        ["red", "yellow"], key=lambda g: {"red": P("L0000001"), "yellow": P("L0000002")}[g]
    )


# --------------------------------------------------------------------------- concurrency


def test_concurrent_writers_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledgers = [WarningLedger(url, TEST_KEY), WarningLedger(url, TEST_KEY)]  # two "workers"
    threads_n, batches_n = 20, 25
    start = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        ledger = ledgers[thread % 2]
        try:
            start.wait()  # every thread's first write (and table creation) at once
            for batch in range(batches_n):
                loan = f"L{thread:03d}{batch:04d}"
                assert ledger.record([make_record(loan, request_id=f"t{thread}-b{batch}")]) == 1
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors[:3]
    assert ledgers[0].count() == threads_n * batches_n == 500
    assert ledgers[1].read()["loan_pseudonym"].nunique() == 500
    for ledger in ledgers:
        ledger.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


# --------------------------------------------------------------------------- errors


def test_unreachable_postgres_is_a_one_line_ledger_error() -> None:
    ledger = WarningLedger("postgresql+psycopg2://ews:s3cret-pw@127.0.0.1:1/test", TEST_KEY)
    with pytest.raises(LedgerError) as info:
        ledger.check()
    message = str(info.value)
    assert "\n" not in message and "s3cret-pw" not in message
    assert "127.0.0.1:1" in message and "failed" in message
    with pytest.raises(LedgerError):
        ledger.record([make_record()])
    ledger.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a database URL"),
        ("mysql://root:hunter2@localhost/ews", "unsupported database 'mysql'"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_unusable_urls_are_refused(url: str, expected: str) -> None:
    with pytest.raises(LedgerError, match=expected) as info:
        WarningLedger(url, TEST_KEY)
    assert "hunter2" not in str(info.value) and "\n" not in str(info.value)


def test_check_creates_the_ledger_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.db"
    ledger = WarningLedger(f"sqlite:///{path}", TEST_KEY)
    assert not path.exists()  # lazy: nothing happens before first use
    ledger.check()
    ledger.check()
    assert path.is_file() and ledger.count() == 0
    assert "postgresql+psycopg2" in repr(WarningLedger("postgresql://u:pw@h/db", TEST_KEY))
    assert "pw" not in WarningLedger("postgresql://u:pw@h/db", TEST_KEY).url
    ledger.dispose()


def test_schema_mismatch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE warning_ledger (id INTEGER PRIMARY KEY, grade TEXT)"))
    engine.dispose()
    with pytest.raises(LedgerError, match="schema mismatch: table warning_ledger lacks columns"):
        WarningLedger(f"sqlite:///{path}", TEST_KEY).check()

    ledger = WarningLedger(f"sqlite:///{tmp_path / 'new.db'}", TEST_KEY)
    ledger.check()
    ledger.dispose()
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_meta SET value = '99' WHERE name = 'schema_version'"))
    engine.dispose()
    with pytest.raises(LedgerError, match="schema version 99, this code writes version 2"):
        WarningLedger(f"sqlite:///{tmp_path / 'new.db'}", TEST_KEY).check()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_ledger_of_the_older_schema_is_refused_naming_the_fix(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Schema 1 kept loan ids in clear; the ledger has no migrations, so it is refused (one
    line, what to do) and left exactly as it was, whether marked by its version or its column."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("ledger_postgres_url")
    schema_1 = ["loan_id" if name == "loan_pseudonym" else name for name in TABLE_COLUMNS]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            columns = ", ".join(f"{name} TEXT" for name in schema_1[1:])
            conn.execute(text(f"CREATE TABLE warning_ledger (id INTEGER PRIMARY KEY, {columns})"))
            conn.execute(text("CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT)"))
            conn.execute(text("INSERT INTO ledger_meta VALUES ('schema_version', '1')"))
            conn.execute(text("INSERT INTO warning_ledger (id, loan_id) VALUES (1, 'L000435501')"))
        for marked_by in ("version", "column"):
            if marked_by == "column":
                with engine.begin() as conn:
                    conn.execute(text("DELETE FROM ledger_meta"))
            ledger = WarningLedger(url, TEST_KEY)
            with pytest.raises(LedgerError) as info:
                ledger.check()
            message = str(info.value)
            assert "created by an older version (schema 1: it stores loan ids in clear" in message
            assert "move it aside or export it" in message and "\n" not in message
            with pytest.raises(LedgerError, match="older version"):
                ledger.record([make_record()])
            ledger.dispose()
            with engine.connect() as conn:
                held = conn.execute(text("SELECT id, loan_id FROM warning_ledger")).all()
                assert [tuple(row) for row in held] == [(1, "L000435501")]
                assert conn.execute(text("SELECT COUNT(*) FROM ledger_meta")).scalar() == (
                    1 if marked_by == "version" else 0
                )
    finally:
        if backend == "postgresql":
            metadata.drop_all(engine)
        engine.dispose()


# --------------------------------------------------------------------------- keys


def test_load_or_create_key(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pseudonym.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temp file left
    assert load_or_create_key(tmp_path / "other.key") != key

    short = tmp_path / "short.key"
    short.write_bytes(b"0123456789")
    os.chmod(short, 0o600)
    with pytest.raises(ValueError, match="holds 10 bytes; at least 16"):
        load_or_create_key(short)


def test_key_from_hex() -> None:
    assert key_from_hex(" " + TEST_KEY.hex() + "\n") == TEST_KEY
    with pytest.raises(ValueError, match="not valid hex") as info:
        key_from_hex("zz-secret-zz")
    assert "secret" not in str(info.value)
    with pytest.raises(ValueError, match="is 8 bytes; at least 16"):
        key_from_hex("00" * 8)
    with pytest.raises(ValueError, match="at least 16"):
        WarningLedger("sqlite:///x.db", b"short")

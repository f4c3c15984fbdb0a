"""The monthly whole-portfolio assessment: pure pieces, then ``ews-serve score-portfolio``."""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import pytest
from typer.testing import CliRunner

from models.grade_policy import GradePolicy
from serving.cli import app
from serving.ledger import pseudonymise_loan
from serving.portfolio import grade_change, migration_matrix, watchlist, with_previous
from tests.serving.conftest import API_KEYS, TEST_KEY, Served, environment

runner = CliRunner()
#: What the ledger's ``pseudonym_of_loan`` does, under the test key.
pseudonym_of = partial(pseudonymise_loan, TEST_KEY)


def _book(grades: dict[str, str], pd_12m: dict[str, float] | None = None) -> pd.DataFrame:
    loans = list(grades)
    pds = pd_12m or {loan: 0.01 for loan in loans}
    return pd.DataFrame(
        {
            "loan_id": loans,
            "borrower_id": [f"B-{loan}" for loan in loans],
            "as_of": pd.Timestamp("2025-06-30"),
            "grade": [grades[loan] for loan in loans],
            "pd_12m": [pds[loan] for loan in loans],
            "p_s1": 0.2,
            "p_s2": 0.1,
            "dpd_now": 0,
            "stage_hint": 1,
            "reasons_zh": "",
            "reasons_en": "",
        }
    )


def _previous(grades: dict[str, str]) -> pd.DataFrame:
    """A previous run as the ledger's ``latest_grades`` gives it: loans by pseudonym only."""
    return (
        _book(grades)
        .assign(loan_pseudonym=[pseudonym_of(loan) for loan in grades])
        .drop(columns=["loan_id", "borrower_id"])
    )


def test_grade_change_names_new_equal_up_and_down():
    previous = pd.Series([None, "green", "red", "blue"])
    current = pd.Series(["yellow", "green", "orange", "red"])
    assert grade_change(previous, current).tolist() == ["new", "=", "down 1", "up 3"]


def test_watchlist_keeps_yellow_and_above_most_severe_first():
    book = _book(
        {"a": "green", "b": "yellow", "c": "red", "d": "orange", "e": "red"},
        {"a": 0.5, "b": 0.05, "c": 0.3, "d": 0.2, "e": 0.6},
    )
    previous = _previous({"c": "orange", "d": "orange"})
    joined = with_previous(book, previous, pseudonym_of)
    assert list(joined.columns[: len(book.columns)]) == list(book.columns)  # no pseudonym added
    assert joined["loan_id"].tolist() == book["loan_id"].tolist()
    watched = watchlist(joined, GradePolicy())
    assert watched["loan_id"].tolist() == ["e", "c", "d", "b"]
    assert watched["grade_change"].tolist() == ["new", "up 1", "=", "new"]
    assert watched["actions_zh"].str.len().min() > 0


def test_migration_matrix_counts_every_loan_once_with_new_and_closed():
    previous = _previous({"a": "green", "b": "yellow", "c": "red"})
    book = _book({"a": "blue", "b": "yellow", "d": "green"})
    matrix = migration_matrix(book, previous, pseudonym_of)
    assert matrix.loc["green", "blue"] == 1
    assert matrix.loc["yellow", "yellow"] == 1
    assert matrix.loc["red", "closed"] == 1
    assert matrix.loc["new", "green"] == 1
    assert matrix.to_numpy().sum() == 4


@pytest.fixture(scope="module")
def assessed(served: Served, tmp_path_factory):
    """Two monthly runs (May, then June 2025) on the served book, each recorded in batches
    of 50 loans (one transaction), as a province-scale month is in batches of 20,000."""
    import serving.portfolio_run

    out = tmp_path_factory.mktemp("assessment")
    results = {}
    with environment(served.environment()), pytest.MonkeyPatch.context() as patch:
        patch.setattr(serving.portfolio_run, "RECORD_BATCH", 50)
        for month in ("2025-05", "2025-06"):
            result = runner.invoke(
                app,
                [
                    "score-portfolio",
                    *("--data", str(served.portfolio)),
                    *("--as-of", month),
                    *("--out", str(out / month)),
                ],
            )
            assert result.exit_code == 0, result.output
            results[month] = result.output
    return out, results


def test_a_run_writes_book_watchlist_and_migration(served: Served, assessed):
    out, outputs = assessed
    june = out / "2025-06"
    book = pd.read_parquet(june / "scored_book.parquet")
    summary = json.loads((june / "run.json").read_text())
    assert len(book) == summary["loans"] > 0
    assert book["as_of"].eq(pd.Timestamp("2025-06-30")).all()
    watch = pd.read_csv(june / "watchlist.csv", encoding="utf-8-sig")
    assert set(watch["grade"]) <= {"yellow", "orange", "red"}
    assert len(watch) == (book["grade"].isin(["yellow", "orange", "red"])).sum()
    assert watch["previous_grade"].notna().any()  # May graded most of June's loans
    matrix = pd.read_csv(june / "migration_matrix.csv", index_col=0)
    assert matrix.drop(columns="closed").to_numpy().sum() == len(book)
    # The book and the matrix join May's run (loans by pseudonym) alike.
    assert book["previous_grade"].notna().sum() == len(book) - matrix.loc["new"].sum() > 0
    assert "watchlist" in outputs["2025-06"]


def test_a_run_is_in_the_ledger_and_matches_the_book(served: Served, assessed):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    out, _ = assessed
    book = pd.read_parquet(out / "2025-06" / "scored_book.parquet")
    summary = json.loads((out / "2025-06" / "run.json").read_text())
    with environment(served.environment()):
        ledger = open_ledger(get_serving_settings())
        rows = ledger.read(request_id=summary["request_id"]).set_index("loan_pseudonym")
    book = book.set_index(book["loan_id"].map(ledger.pseudonym_of_loan))
    assert len(rows) == len(book) > 50  # several batches, every loan once
    assert (rows.loc[book.index, "p_s3"].to_numpy() == book["pd_12m"].to_numpy()).all()
    assert (rows.loc[book.index, "grade"].to_numpy() == book["grade"].to_numpy()).all()


def test_a_loan_is_one_pseudonym_on_the_endpoint_and_in_the_portfolio_run(
    served: Served, assessed, app_client
):
    """Both open the one ledger with the one key: a loan scored by both carries one pseudonym,
    and a lookup by its clear id finds the rows of both."""
    from serving.client import score_request
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    out, _ = assessed
    june = pd.read_parquet(out / "2025-06" / "scored_book.parquet")
    borrower = str(june["borrower_id"].iloc[0])
    body = score_request(served.tables, [borrower], "2025-06", "en")
    answer = app_client.post("/score", json=body, headers={"X-API-Key": API_KEYS[0]})
    assert answer.status_code == 200, answer.text
    loans = [s["loan_id"] for s in answer.json()["scores"]]
    assert loans and set(loans) <= set(june["loan_id"].astype(str))
    with environment(served.environment()):
        ledger = open_ledger(get_serving_settings())
    try:
        rows = ledger.read(loan_ids=loans)
    finally:
        ledger.dispose()
    for loan in loans:
        mine = rows[rows["loan_pseudonym"] == ledger.pseudonym_of_loan(loan)]
        assert {"portfolio", "score"} <= set(mine["source"]), loan
        assert answer.json()["request_id"] in set(mine["request_id"])
    assert set(rows["loan_pseudonym"]) == {ledger.pseudonym_of_loan(loan) for loan in loans}
    assert set(rows["borrower_pseudonym"]) == {ledger.pseudonym_of_borrower(borrower)}


def test_a_month_already_assessed_is_refused_unless_asked_again(served: Served, assessed, tmp_path):
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    args = ["score-portfolio", "--data", str(served.portfolio), "--as-of", "2025-06"]
    with environment(served.environment()):
        ledger = open_ledger(get_serving_settings())
        before = ledger.count(source="portfolio")
        refused = runner.invoke(app, [*args, "--out", str(tmp_path / "again")])
        assert refused.exit_code == 2
        assert "already assessed" in refused.output and "--again" in refused.output
        assert ledger.count(source="portfolio") == before
        assert not (tmp_path / "again").exists()


def test_a_range_assesses_month_by_month_and_a_failing_month_keeps_the_earlier_ones(
    served: Served, tmp_path
):
    from serving.ledger import WarningLedger

    url = f"sqlite:///{tmp_path / 'range.db'}"
    args = ["score-portfolio", "--data", str(served.portfolio)]
    with environment(served.environment(EWS_LEDGER_URL=url)):
        done = runner.invoke(
            app, [*args, "--as-of", "2025-10:2025-11", "--out", str(tmp_path / "r")]
        )
        assert done.exit_code == 0, done.output
        stopped = runner.invoke(
            app, [*args, "--as-of", "2025-12:2026-01", "--out", str(tmp_path / "r")]
        )
    assert stopped.exit_code == 2
    assert "2026-01:" in stopped.output and "2025-12..2025-12 stay recorded" in stopped.output
    for month in ("2025-10", "2025-11", "2025-12"):
        assert (tmp_path / "r" / f"assessment-{month}" / "run.json").is_file()
    assert not (tmp_path / "r" / "assessment-2026-01").exists()
    november = pd.read_parquet(tmp_path / "r" / "assessment-2025-11" / "scored_book.parquet")
    assert november["previous_grade"].notna().any()  # October's run is November's previous
    ledger = WarningLedger(url, _key(served))
    months = set(ledger.read(source="portfolio")["as_of"].dt.strftime("%Y-%m"))
    ledger.dispose()
    assert months == {"2025-10", "2025-11", "2025-12"}


def _key(served: Served) -> bytes:
    from serving.ledger import load_or_create_key

    return load_or_create_key(served.home / "secrets" / "pseudonym.key")


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2031-01", "outside the data"),
        ("June", "not a month"),
        ("2025-03:2025-01", "is empty"),
    ],
)
def test_a_bad_month_is_one_line_and_writes_nothing(served: Served, tmp_path, as_of, message):
    with environment(served.environment()):
        result = runner.invoke(
            app,
            [
                *("score-portfolio", "--data", str(served.portfolio)),
                *("--as-of", as_of, "--out", str(tmp_path / "out")),
            ],
        )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_unvalidated_data_is_refused(served: Served, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    loans = served.tables["loans"].copy()
    loans.loc[loans.index[0], "amount"] = -1.0
    from features.io import write_tables

    write_tables({**served.tables, "loans": loans}, broken)
    with environment(served.environment()):
        result = runner.invoke(
            app,
            [
                "score-portfolio",
                "--data",
                str(broken),
                "--as-of",
                "2025-06",
                "--out",
                str(tmp_path / "o"),
            ],
        )
    assert result.exit_code == 2
    assert "failed validation" in result.output


def test_grade_changes_compare_with_the_last_run_only():
    from serving.portfolio_run import previous_run

    older = _previous({"a": "red", "b": "green"}).assign(as_of=pd.Timestamp("2025-03-31"))
    last = _previous({"b": "blue", "c": "yellow"}).assign(as_of=pd.Timestamp("2025-05-31"))
    latest = pd.concat([older[older["loan_pseudonym"] == pseudonym_of("a")], last])
    previous = previous_run(latest.reset_index(drop=True))
    assert previous["loan_pseudonym"].tolist() == [pseudonym_of("b"), pseudonym_of("c")]
    matrix = migration_matrix(_book({"b": "blue", "c": "red"}), previous, pseudonym_of)
    assert matrix["closed"].sum() == 0  # loan "a" closed long ago, not this month


@pytest.mark.parametrize(
    ("place", "month"),
    [
        ("a file", "2024-07"),
        ("under a file", "2024-08"),
        ("a run file that is a folder", "2024-09"),
    ],
)
def test_an_unusable_output_place_records_nothing_and_a_rerun_completes(
    served, tmp_path, place, month
):
    """It recorded 4,001 loans, then failed on --out, and the re-run was refused as already
    assessed. Every output place is checked before anything is recorded."""
    from serving.settings import get_serving_settings
    from serving.stores import open_ledger

    out = tmp_path / "out"
    if place == "a file":
        out.write_text("not a folder")
    elif place == "under a file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    else:
        (out / "watchlist.csv").mkdir(parents=True)
    args = ["score-portfolio", "--data", str(served.portfolio), "--as-of", month]
    with environment(served.environment()):
        ledger = open_ledger(get_serving_settings())
        before = ledger.count()
        failed = runner.invoke(app, [*args, "--out", str(out)])
        assert failed.exit_code == 2, failed.output
        assert "--out" in failed.output and len(failed.output.strip().splitlines()) == 1
        assert ledger.count() == before
        assert not [p for p in tmp_path.rglob("*.tmp")]
        done = runner.invoke(app, [*args, "--out", str(tmp_path / "good")])
        assert done.exit_code == 0, done.output
        assert ledger.count() > before
        assert sorted(p.name for p in (tmp_path / "good").iterdir()) == [
            "migration_matrix.csv",
            "model_inputs.parquet",
            "run.json",
            "scored_book.parquet",
            "watchlist.csv",
        ]
        ledger.dispose()


def test_a_corrupt_tracking_store_is_one_line_and_exit_3(served: Served, tmp_path):
    broken = tmp_path / "mlflow.db"
    data = (served.home / "mlflow.db").read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    args = ["score-portfolio", "--data", str(served.portfolio), "--as-of", "2024-10"]
    with environment(served.environment(EWS_TRACKING_URI=f"sqlite:///{broken}")):
        result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()

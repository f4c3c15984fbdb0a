"""The provision store: every run, every proposed overlay and every decision, append-only.

Single responsibility: the one IO edge of provisions that a database holds, in the ledger's
database (same URL settings; SQLite by default, PostgreSQL tested). Three tables, written and
never updated or deleted:

* ``provision_runs``: one row per run: month, policy version and fingerprint, the whole policy,
  the inputs' identity and the allowance figures (its JSON record), so a month can be re-run
  and compared to the yuan;
* ``provision_overlays``: the overlays a run proposed, each with segment, size, evidence and
  rationale;
* ``overlay_decisions``: at most one decision per overlay (approved or rejected, by whom, why,
  when); the unique key makes a second decision impossible even under a race.

An overlay's status is derived (proposed until decided), so the history cannot be rewritten.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from serving.ledger.engine import WRITE_OPTION, make_engine, parse_url

APPROVED, REJECTED, PROPOSED = "approved", "rejected", "proposed"
DECISIONS: Final = (APPROVED, REJECTED)
#: PostgreSQL advisory lock serialising table creation across processes.
_INIT_LOCK_ID: Final = 0x5245445F50524F56  # "RED_PROV"

metadata = MetaData()
provision_runs = Table(
    "provision_runs",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("as_of", Date, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("policy_fingerprint", String(64), nullable=False),
    Column("modelled_allowance", Float, nullable=False),
    Column("record", JSON, nullable=False),
)
provision_overlays = Table(
    "provision_overlays",
    metadata,
    Column("overlay_id", String(36), primary_key=True),
    Column("run_id", String(36), ForeignKey("provision_runs.run_id"), nullable=False),
    Column("as_of", Date, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("segment", String(200), nullable=False),
    Column("amount", Float, nullable=False),
    Column("pd_points", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("rationale", Text, nullable=False),
)
overlay_decisions = Table(
    "overlay_decisions",
    metadata,
    Column(
        "overlay_id",
        String(36),
        ForeignKey("provision_overlays.overlay_id"),
        primary_key=True,  # one decision per overlay, enforced by the database
    ),
    Column("decision", String(16), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("note", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)


class StoreError(RuntimeError):
    """The store cannot be reached or written; the message names it and why."""


class OverlayError(ValueError):
    """An overlay decision cannot be taken: unknown overlay, decided already, or no name."""


class ProvisionStore:
    """Runs, overlays and decisions in one SQL database (tables created on first use)."""

    def __init__(self, url: str) -> None:
        parsed = parse_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        self._engine = make_engine(parsed)
        try:
            with self._engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # concurrent first uses take turns
                    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _INIT_LOCK_ID})
                metadata.create_all(conn, checkfirst=True)
        except SQLAlchemyError as exc:
            raise StoreError(f"provision store {self.url}: cannot open: {_cause(exc)}") from None

    def dispose(self) -> None:
        self._engine.dispose()

    def record_run(
        self, as_of: str, record: dict[str, Any], overlays: list[dict[str, Any]]
    ) -> tuple[str, list[str]]:
        """Store a run and the overlays it proposes in one transaction; their new ids."""
        run_id = str(uuid.uuid4())
        month_end = pd.Period(as_of, freq="M").end_time.date()
        rows = [
            {
                "overlay_id": str(uuid.uuid4()),
                "run_id": run_id,
                "as_of": month_end,
                **{
                    k: o[k]
                    for k in ("kind", "segment", "amount", "pd_points", "evidence", "rationale")
                },
            }
            for o in overlays
        ]
        with self._write("recording a run") as conn:
            conn.execute(
                insert(provision_runs).values(
                    run_id=run_id,
                    as_of=month_end,
                    created_at=datetime.now(UTC),
                    policy_version=record["policy"]["version"],
                    policy_fingerprint=record["policy"]["fingerprint"],
                    modelled_allowance=float(record["allowance"]["modelled"]),
                    record=record,
                )
            )
            if rows:
                conn.execute(insert(provision_overlays), rows)
        return run_id, [r["overlay_id"] for r in rows]

    def run(self, run_id: str) -> dict[str, Any]:
        """The stored record of a run (``KeyError`` naming it if none)."""
        rows = self._read(select(provision_runs.c.record).where(provision_runs.c.run_id == run_id))
        if not rows:
            raise KeyError(f"no provision run {run_id} in {self.url}")
        return dict(rows[0][0])

    def overlays(self, as_of: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Every overlay (of one month, of one run, if given) with its status and decision,
        oldest run first."""
        o, d = provision_overlays, overlay_decisions
        query = select(
            *o.columns, d.c.decision, d.c.decided_by, d.c.note, d.c.decided_at
        ).outerjoin(d, d.c.overlay_id == o.c.overlay_id)
        if as_of is not None:
            query = query.where(o.c.as_of == pd.Period(as_of, freq="M").end_time.date())
        if run_id is not None:
            query = query.where(o.c.run_id == run_id)
        rows = self._read(query.order_by(o.c.as_of, o.c.run_id, o.c.segment))
        columns = [*o.columns.keys(), "decision", "decided_by", "note", "decided_at"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["status"] = frame["decision"].fillna(PROPOSED)
        return frame

    def decide(self, overlay_id: str, decision: str, by: str, note: str) -> None:
        """Approve or reject a proposed overlay, once.

        Raises
        ------
        OverlayError
            If the overlay does not exist, was decided already, or ``by`` is empty.
        """
        if decision not in DECISIONS:
            raise OverlayError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
        if not by.strip():
            raise OverlayError("a decision needs the name of who takes it (--by)")
        known = self._read(
            select(provision_overlays.c.overlay_id).where(
                provision_overlays.c.overlay_id == overlay_id
            )
        )
        if not known:
            raise OverlayError(f"no overlay {overlay_id} in {self.url}")
        earlier = self._decision(overlay_id)
        if earlier is not None:
            raise OverlayError(f"overlay {overlay_id} was {earlier[0]} already by {earlier[1]}")
        try:
            with self._write(f"recording the decision on {overlay_id}") as conn:
                conn.execute(
                    insert(overlay_decisions).values(
                        overlay_id=overlay_id,
                        decision=decision,
                        decided_by=by.strip(),
                        note=note,
                        decided_at=datetime.now(UTC),
                    )
                )
        except OverlayRace:
            earlier = self._decision(overlay_id)
            who = f" by {earlier[1]}" if earlier else ""
            raise OverlayError(f"overlay {overlay_id} was decided already{who}") from None

    def latest_run_id(self, as_of: str) -> str | None:
        """The month's latest run (the one its booked allowance stands on), None if none."""
        r = provision_runs
        month_end = pd.Period(as_of, freq="M").end_time.date()
        rows = self._read(
            select(r.c.run_id)
            .where(r.c.as_of == month_end)
            .order_by(r.c.created_at.desc(), r.c.run_id.desc())
            .limit(1)
        )
        return str(rows[0][0]) if rows else None

    def approved_total(self, as_of: str, run_id: str | None = None) -> float:
        """The approved overlays of a run (default: the month's latest run), in yuan: what
        enters the booked allowance. Overlays belong to the run that proposed them, so a
        month provided for twice does not count an approval twice; a new run's overlays are
        decided on afresh."""
        run_id = run_id or self.latest_run_id(as_of)
        if run_id is None:
            return 0.0
        frame = self.overlays(as_of, run_id)
        return float(frame.loc[frame["status"] == APPROVED, "amount"].sum())

    def booked(self, run_id: str) -> dict[str, float]:
        """A run's modelled allowance, its approved and still proposed overlays, and the
        booked allowance (modelled + approved)."""
        record = self.run(run_id)
        mine = self.overlays(run_id=run_id)
        modelled = float(record["allowance"]["modelled"])
        approved = float(mine.loc[mine["status"] == APPROVED, "amount"].sum())
        proposed = float(mine.loc[mine["status"] == PROPOSED, "amount"].sum())
        return {
            "modelled": modelled,
            "approved_overlays": approved,
            "proposed_overlays": proposed,
            "booked": modelled + approved,
        }

    # ------------------------------------------------------------------ internals

    def _decision(self, overlay_id: str) -> tuple[str, str] | None:
        d = overlay_decisions
        rows = self._read(select(d.c.decision, d.c.decided_by).where(d.c.overlay_id == overlay_id))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    def _read(self, query: Any) -> list[Any]:
        try:
            with self._engine.connect() as conn:
                return [tuple(r) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(f"provision store {self.url}: reading failed: {_cause(exc)}") from None

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite); a failure is a
        :class:`StoreError`, a second decision on one overlay an :class:`OverlayRace`."""
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except IntegrityError as exc:
            if "overlay_decisions" in str(exc.statement or ""):
                raise OverlayRace() from None
            raise StoreError(f"provision store {self.url}: {doing} failed: {_cause(exc)}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"provision store {self.url}: {doing} failed: {_cause(exc)}") from None


class OverlayRace(Exception):
    """A decision's insert hit the one-decision key: another decision came first."""


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__

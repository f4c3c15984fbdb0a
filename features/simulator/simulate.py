"""Assemble a simulated portfolio: the six raw tables and, separately, the ground truth.

``simulate_portfolio`` is pure (arguments in, frames out); writing files is the CLI's job via
``features.io``. Random streams are spawned per component from one seed, so each component's
draws do not depend on how many numbers another component drew.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from features.schemas import add_months
from features.simulator.book import Book, applications_frame, simulate_book
from features.simulator.calendar import Calendar, days_to_datetime
from features.simulator.config import SimulationConfig
from features.simulator.events import draw_events
from features.simulator.latent import CommonFactors, draw_common_factors, draw_latent_paths
from features.simulator.point_in_time_truth import compute_point_in_time_truth, replay_latent
from features.simulator.population import Population, draw_population
from features.simulator.ratings import draw_ratings
from features.simulator.scenario import BASELINE, Scenario
from features.simulator.signals import draw_signals
from features.simulator.truth import compute_truth
from features.vocab import AREAS, BANKS, BORROWER_TYPES, INDUSTRIES, LOAN_STATUSES, PRODUCTS, SIZES

#: One random stream each; new components go last so existing streams keep their draws.
_COMPONENTS = ("population", "latent", "ratings", "book", "signals", "events", "point_in_time")
#: Stages reported to ``on_stage``, in order.
STAGES = (
    "borrowers",
    "party ratings",
    "loans and repayments",
    "ground truth",
    "point-in-time ground truth",
    "operating signals",
    "events",
)


@dataclass(frozen=True)
class SimulatedPortfolio:
    """The raw tables a bank would bring, and what only the generator knows."""

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width))


def _cat(codes: np.ndarray, categories: tuple[str, ...] | np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes), categories=list(categories))


def _borrowers_table(pop: Population, borrower_ids: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "borrower_id": borrower_ids,
            "borrower_type": _cat(pop.borrower_type, BORROWER_TYPES),
            "area": _cat(pop.area, AREAS),
            "industry": _cat(pop.industry, INDUSTRIES),
            "founding_date": days_to_datetime(pop.founding_day),
            "size": _cat(pop.size, SIZES),
            "has_party_org": pop.has_party_org,
            "party_members": pop.party_members,
        }
    )


@dataclass(frozen=True)
class _LoanIndex:
    """Row of each (borrower, loan slot) in the loans table, which is sorted by loan id."""

    loan_ids: np.ndarray
    keys: np.ndarray
    n_slots: int

    def rows(self, borrower: np.ndarray, slot: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.keys, borrower * self.n_slots + slot)


def _loan_tables(
    book: Book, borrower_ids: np.ndarray, first_borrower: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, _LoanIndex]:
    """Loans and repayments frames, and the loan index the ground truth is keyed by."""
    ln = book.loans
    n_slots = int(ln["slot"].max()) + 1
    key = ln["borrower"] * n_slots + ln["slot"]
    order = np.argsort(key, kind="stable")
    key = key[order]
    loan_ids = np.char.add(
        np.char.add(
            "L", np.char.zfill((ln["borrower"][order] + first_borrower + 1).astype(str), 7)
        ),
        np.char.zfill((ln["slot"][order] + 1).astype(str), 2),
    )
    origination = days_to_datetime(ln["origination_day"][order])
    term = ln["term_months"][order]
    renewal_slot = ln["renewal_of_slot"][order]
    index = _LoanIndex(loan_ids=loan_ids, keys=key, n_slots=n_slots)
    renewal_row = index.rows(ln["borrower"][order], renewal_slot)
    renewal_of = np.where(renewal_slot >= 0, loan_ids[np.minimum(renewal_row, key.size - 1)], None)
    loans = pd.DataFrame(
        {
            "loan_id": loan_ids,
            "borrower_id": borrower_ids[ln["borrower"][order]],
            "bank": _cat(ln["bank"][order], BANKS),
            "product": _cat(np.where(ln["red"][order], 0, 1), PRODUCTS),
            "origination_date": origination,
            "amount": ln["amount"][order],
            "annual_rate": ln["annual_rate"][order],
            "term_months": term,
            "maturity_date": add_months(pd.Series(origination), pd.Series(term)),
            "renewal_of": pd.array(renewal_of, dtype="string"),
        }
    )

    st = book.statements
    row = index.rows(st["borrower"], st["slot"])
    s_order = np.lexsort((st["instalment_no"], row))
    repayments = pd.DataFrame(
        {
            "loan_id": _cat(row[s_order], loan_ids),
            "instalment_no": st["instalment_no"][s_order],
            "due_date": days_to_datetime(st["due_day"][s_order]),
            "amount_due": np.round(st["amount_due"][s_order], 2),
            "amount_paid": np.round(st["amount_paid"][s_order], 2),
            "dpd": st["dpd"][s_order],
            "outstanding_balance": np.round(st["outstanding_balance"][s_order], 2),
            "status": _cat(st["status"][s_order], LOAN_STATUSES),
        }
    )
    return loans, repayments, index


#: Borrowers simulated together. A larger book is simulated block by block, each block on
#: its own random streams and sharing the first block's economy (its common factors), so the
#: book is the same however it is later partitioned or written, and memory is bounded by a
#: block. A book of at most this many borrowers is one block: the book it always was.
GENERATION_BLOCK = 50_000


def simulate_portfolio(
    n_borrowers: int,
    n_months: int,
    seed: int,
    start: str = "2023-01",
    scenario: Scenario = BASELINE,
    config: SimulationConfig | None = None,
    on_stage: Callable[[str], None] | None = None,
    block_borrowers: int = GENERATION_BLOCK,
) -> SimulatedPortfolio:
    """Simulate a Red Financial Credit book.

    Parameters
    ----------
    n_borrowers, n_months : int
        Book size and window length (months from ``start``).
    seed : int
        Seed of every random stream; the same arguments give identical output.
    start : str
        First month of the window, ``YYYY-MM``.
    scenario : Scenario
        Shocks to apply (none by default).
    config : SimulationConfig, optional
        Parameters; the documented default configuration when omitted.
    on_stage : callable, optional
        Called with the name of each stage as it starts (progress reporting).
    block_borrowers : int
        Borrowers per generation block (``GENERATION_BLOCK``); part of the seed's meaning
        for books larger than one block.
    """
    blocks = list(
        simulate_blocks(
            n_borrowers, n_months, seed, start, scenario, config, on_stage, block_borrowers
        )
    )
    if len(blocks) == 1:
        return blocks[0]
    return SimulatedPortfolio(
        tables={name: stack_frames([b.tables[name] for b in blocks]) for name in blocks[0].tables},
        truth={name: stack_frames([b.truth[name] for b in blocks]) for name in blocks[0].truth},
    )


def simulate_blocks(
    n_borrowers: int,
    n_months: int,
    seed: int,
    start: str = "2023-01",
    scenario: Scenario = BASELINE,
    config: SimulationConfig | None = None,
    on_stage: Callable[[str], None] | None = None,
    block_borrowers: int = GENERATION_BLOCK,
) -> Iterator[SimulatedPortfolio]:
    """The book of ``simulate_portfolio`` one block of borrowers at a time (borrowers
    ``B{k * block + 1}`` on), for writing a book larger than memory."""
    if n_borrowers < 1:
        raise ValueError("n_borrowers must be at least 1")
    if n_months < 13:
        raise ValueError("n_months must be at least 13 (one 12-month outcome window plus one)")
    if block_borrowers < 1:
        raise ValueError("block_borrowers must be at least 1")
    cfg = config or SimulationConfig()
    calendar = Calendar(
        start=pd.Period(start, freq="M"), n_months=n_months, horizon=cfg.horizon_months
    )
    first_seeds = _block_seeds(seed, 0)
    common = draw_common_factors(
        calendar, scenario.latent_params(cfg.latent), np.random.default_rng(first_seeds["latent"])
    )
    for block, first in enumerate(range(0, n_borrowers, block_borrowers)):
        size = min(block_borrowers, n_borrowers - first)
        seeds = first_seeds if block == 0 else _block_seeds(seed, block)
        yield _simulate_block(size, first, block, seeds, common, calendar, cfg, scenario, on_stage)


def _block_seeds(seed: int, block: int) -> dict[str, np.random.SeedSequence]:
    """One seed per component; block 0 has the book's own (the seed's meaning before blocks)."""
    root = (
        np.random.SeedSequence(seed)
        if block == 0
        else np.random.SeedSequence(seed, spawn_key=(len(_COMPONENTS) + block,))
    )
    return dict(zip(_COMPONENTS, root.spawn(len(_COMPONENTS)), strict=True))


def stack_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Blocks' frames as one, categorical columns kept categorical (categories united)."""
    out = pd.concat(frames, ignore_index=True)
    for column in frames[0].columns:
        united = all(isinstance(f[column].dtype, pd.CategoricalDtype) for f in frames)
        if united and not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = union_categoricals([f[column] for f in frames])
    return out


def _block_ids(prefix: str, block: int, count: int, width: int) -> np.ndarray:
    """Row ids of a table without a borrower in its id: numbered within the block, the block
    number in front from the second block on (block 0 keeps the ids it always had)."""
    numbers = _ids(prefix, np.arange(1, count + 1), width)
    return (
        numbers
        if block == 0
        else np.char.add(f"{prefix}{block:04d}", np.char.lstrip(numbers, prefix))
    )


def _simulate_block(
    n_borrowers: int,
    first_borrower: int,
    block: int,
    seeds: dict[str, np.random.SeedSequence],
    common: CommonFactors,
    calendar: Calendar,
    cfg: SimulationConfig,
    scenario: Scenario,
    on_stage: Callable[[str], None] | None,
) -> SimulatedPortfolio:
    """One block of borrowers, ``B{first_borrower + 1}`` on, on its own random streams."""
    step = on_stage or (lambda _stage: None)
    rngs = {name: np.random.default_rng(s) for name, s in seeds.items()}
    step("borrowers")
    pop = draw_population(n_borrowers, calendar, cfg.population, rngs["population"])
    latent = draw_latent_paths(pop, calendar, cfg.latent, scenario, rngs["latent"], common)
    borrower_ids = _ids("B", np.arange(first_borrower + 1, first_borrower + n_borrowers + 1), 7)

    step("party ratings")
    ratings = draw_ratings(pop, latent, calendar, cfg.ratings, rngs["ratings"])
    party_ratings = pd.DataFrame(
        {
            "rating_id": _block_ids("R", block, len(ratings), 8),
            "borrower_id": borrower_ids[ratings["borrower_idx"].to_numpy()],
            "issuing_area": ratings["issuing_area"].to_numpy(),
            "native_standard": ratings["native_standard"].to_numpy(),
            "native_level": ratings["native_level"].to_numpy(),
            "award_date": days_to_datetime(ratings["award_day"].to_numpy()),
            "list_level": ratings["list_level"].to_numpy(),
        }
    )

    step("loans and repayments")
    book = simulate_book(pop, latent, calendar, cfg.hazard, cfg.book, rngs["book"])
    loans, repayments, loan_index = _loan_tables(book, borrower_ids, first_borrower)
    applications = applications_frame(book.applications, borrower_ids, calendar)

    step("ground truth")
    om = book.open_months
    truth_arrays = compute_truth(om, latent.capacity, latent.credit, calendar, cfg.hazard)
    loan_row = loan_index.rows(om["borrower"], om["slot"])
    order = np.lexsort((om["as_of"], loan_row))
    month_end = calendar.month_end_day
    keys = {
        "loan_id": _cat(loan_row[order], loan_index.loan_ids),
        "as_of": days_to_datetime(month_end[calendar.col(om["as_of"][order])]),
    }
    loan_months = pd.DataFrame(
        {
            **keys,
            "months_past_due": om["k"][order].astype(np.int8),
            **{name: values[order] for name, values in truth_arrays.items()},
        }
    )
    del truth_arrays

    step("point-in-time ground truth")
    # A fresh generator on the latent seed replays the components draw_latent_paths summed.
    known = replay_latent(
        pop, latent, calendar, cfg.latent, scenario, np.random.default_rng(seeds["latent"]), common
    )
    # The oracle integrates over the innovations the scenario left on, no others.
    pit_arrays = compute_point_in_time_truth(
        om, known, calendar, scenario.latent_params(cfg.latent), cfg.hazard, rngs["point_in_time"]
    )
    point_in_time = pd.DataFrame(
        {**keys, **{name: values[order] for name, values in pit_arrays.items()}}
    )
    del book, om, known, pit_arrays

    step("operating signals")
    signals = draw_signals(pop, latent, calendar, cfg.signals, borrower_ids, rngs["signals"])

    step("events")
    ev = draw_events(latent, calendar, cfg.events, rngs["events"])
    events = pd.DataFrame(
        {
            "event_id": _block_ids("E", block, len(ev), 8),
            "borrower_id": borrower_ids[ev["borrower_idx"].to_numpy()],
            "event_type": ev["event_type"],
            "event_date": ev["event_date"].to_numpy(),
            "available_at": ev["available_at"].to_numpy(),
            "amount": ev["amount"].to_numpy(),
        }
    )

    truth_borrowers = pd.DataFrame(
        {
            "borrower_id": borrower_ids,
            "party_quality": pop.party_quality,
            "base_credit": pop.base_credit,
            "shock_months": (latent.shock[:, calendar.col(0) :] > 0).sum(axis=1),
        }
    )
    tables = {
        "borrowers": _borrowers_table(pop, borrower_ids),
        "party_ratings": party_ratings,
        "loans": loans,
        "repayments": repayments,
        "operating_signals": signals,
        "events": events,
    }
    return SimulatedPortfolio(
        tables=tables,
        truth={
            "loan_months": loan_months,
            "oracle_point_in_time": point_in_time,
            "borrowers": truth_borrowers,
            "applications": applications,
        },
    )

"""Benchmark: month-to-month PSI of every model input on a calm book, and a moderate shock's PSI.

A drift monitor is only as good as its false-alarm rate on a book that does not drift. This
simulates a book under the ``calm`` scenario (no macro, industry or area innovations, no
shocks), builds the model's input features for every as-of month through the project's feature
pipeline (``build_snapshots`` on the validated tables, then ``models.inputs.to_model_input``,
the columns a model reads) and reports, for every input, the PSI of each month against the
month before over the whole book (``monitoring.psi``). Target: every input under 0.10.

Then the moderate scenario (``deqing_manufacturing_slowdown.yaml``) on the shocked segment only:
the PSI of each input at months 1-3 of the shock against the month before it, and, as a
control, the same segment of the same book without the shock (same seed, common random
numbers), so what the shock moves is told from what the economy moved anyway. Twice: with the
shock on the calm economy (the shock alone) and as the file ships it, on a moving economy.

    python benchmarks/calm_book_drift.py                      # 20,000 borrowers x 36 months
    python benchmarks/calm_book_drift.py --borrowers 5000     # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from features.party_index import fit_party_index
from features.simulator import Scenario, load_scenario, simulate_portfolio
from features.simulator.report import write_simulation
from features.snapshots import build_snapshots, parse_months
from features.validation import load_validated_portfolio
from features.vocab import SIGNALS
from models.inputs import to_model_input
from monitoring.psi import population_stability

SCENARIOS = Path(__file__).resolve().parents[1] / "features" / "scenarios"
WATCH, ALARM = 0.10, 0.25
#: Inputs a shock to creditworthiness moves first, always shown in the shock report.
WATCHED = tuple(
    f"{signal}_trend_{kind}"
    for signal in ("vat_revenue", "electricity_kwh", "social_insurance_headcount")
    for kind in ("3v12", "yoy")
)


def model_inputs(
    portfolio, scenario: Scenario, as_of: str, folder: Path, seed: int
) -> pd.DataFrame:
    """Model inputs of every snapshot row, with ``as_of`` and ``borrower_id`` alongside.

    The book goes through disk and validation as a bank's would; the Party-building index is
    fitted on ratings awarded by the end of the first as-of month, as ``ews-data features``
    does by default.
    """
    write_simulation(portfolio, folder, {"seed": seed}, scenario)
    tables = load_validated_portfolio(folder)
    first = parse_months(as_of)[0]
    cutoff = pd.Period(year=first // 12, month=first % 12 + 1, freq="M").end_time.normalize()
    snapshots = build_snapshots(tables, as_of, fit_party_index(tables["party_ratings"], cutoff))
    inputs = to_model_input(snapshots)
    inputs["as_of"] = snapshots["as_of"].dt.to_period("M").astype(str)
    inputs["borrower_id"] = snapshots["borrower_id"].astype(str)
    return inputs


def month_to_month(inputs: pd.DataFrame) -> pd.DataFrame:
    """PSI of every input (rows) for each month against the month before (columns)."""
    months = sorted(inputs["as_of"].unique())
    by_month = {m: frame for m, frame in inputs.groupby("as_of")}
    columns = [c for c in inputs.columns if c not in ("as_of", "borrower_id")]
    out = {
        cur: {c: population_stability(by_month[ref][c], by_month[cur][c]).value for c in columns}
        for ref, cur in zip(months[:-1], months[1:], strict=True)
    }
    return pd.DataFrame(out)


def year_on_year(inputs: pd.DataFrame) -> pd.DataFrame:
    """PSI of every input (rows) for each month against the same month a year before."""
    months = sorted(inputs["as_of"].unique())
    pairs = [(str(pd.Period(m, freq="M") - 12), m) for m in months]
    by_month = {m: frame for m, frame in inputs.groupby("as_of")}
    columns = [c for c in inputs.columns if c not in ("as_of", "borrower_id")]
    return pd.DataFrame(
        {
            cur: {
                c: population_stability(by_month[ref][c], by_month[cur][c]).value for c in columns
            }
            for ref, cur in pairs
            if ref in by_month
        }
    )


def against_reference(inputs: pd.DataFrame, reference: str, months: list[str]) -> pd.DataFrame:
    """PSI of every input (rows) in each of ``months`` (columns) against ``reference``."""
    columns = [c for c in inputs.columns if c not in ("as_of", "borrower_id")]
    ref = inputs[inputs["as_of"] == reference]
    return pd.DataFrame(
        {
            m: {
                c: population_stability(ref[c], inputs.loc[inputs["as_of"] == m, c]).value
                for c in columns
            }
            for m in months
        }
    )


def shocked_borrowers(portfolio, scenario: Scenario) -> set[str]:
    """Borrowers any shock of ``scenario`` hits (by its industry and area)."""
    borrowers = portfolio.tables["borrowers"]
    hit = np.zeros(len(borrowers), dtype=bool)
    for shock in scenario.shocks:
        mask = np.ones(len(borrowers), dtype=bool)
        if shock.industry is not None:
            mask &= borrowers["industry"].astype(str).to_numpy() == shock.industry
        if shock.area is not None:
            mask &= borrowers["area"].astype(str).to_numpy() == shock.area
        hit |= mask
    return set(borrowers.loc[hit, "borrower_id"].astype(str))


def _print_calm(psi: pd.DataFrame, yoy: pd.DataFrame, inputs: pd.DataFrame) -> None:
    rows = inputs.groupby("as_of").size()
    print(
        f"\ncalm book: {len(psi)} model inputs, {psi.shape[1]} month-to-month comparisons, "
        f"{rows.min():,}-{rows.max():,} snapshot rows a month"
    )
    # The first comparison is reported apart: at the first as-of month a feature that needs
    # more history than the book has (a year-on-year trend) is missing for everybody.
    for label, table in (("all months", psi), ("after the first month", psi.iloc[:, 1:])):
        worst = table.max(axis=1).sort_values(ascending=False)
        over = ", ".join(f"{n} {worst[n]:.3f}" for n in worst.index[worst >= WATCH]) or "none"
        print(f"  {label}: largest {worst.iloc[0]:.4f} ({worst.index[0]}); >= {WATCH}: {over}")
    worst = psi.max(axis=1).sort_values(ascending=False)
    at = psi.idxmax(axis=1)
    print(f"median over inputs of their largest month-to-month PSI: {worst.median():.4f}")
    print(
        "\nlargest month-to-month PSI per input (top 20), its month, median month-to-month, "
        "largest year-on-year:"
    )
    for name in worst.index[:20]:
        print(
            f"  {name:40s} {worst[name]:.4f}  {at[name]}  median {psi.loc[name].median():.4f}  "
            f"yoy {yoy.loc[name].max():.4f}"
        )
    if not yoy.empty:
        top = yoy.max(axis=1).sort_values(ascending=False)
        print(
            f"year on year ({yoy.columns[0]}..{yoy.columns[-1]} against a year before): largest "
            + ", ".join(f"{n} {top[n]:.3f}" for n in top.index[:5])
        )


def _print_shock(hit: pd.DataFrame, control: pd.DataFrame, segment: int) -> None:
    print(
        f"\nshock: shocked segment ({segment:,} borrowers), PSI against the month before the shock:"
    )
    for label, table in (("shocked", hit), ("control (same book, no shock)", control)):
        counts = [
            f"{m}: max {table[m].max():.3f}, {int((table[m] >= WATCH).sum())} >= {WATCH}, "
            f"{int((table[m] >= ALARM).sum())} >= {ALARM}"
            for m in table.columns
        ]
        print(f"  {label}: " + "; ".join(counts))
    signal_inputs = [n for n in hit.index if n.startswith(SIGNALS)]
    for label, table in (("shocked", hit), ("control", control)):
        print(
            f"  largest PSI of an operating-signal input, {label}: "
            + "; ".join(
                f"{m} {table.loc[signal_inputs, m].max():.3f} "
                f"({table.loc[signal_inputs, m].idxmax()})"
                for m in table.columns
            )
        )
    top = (hit - control).max(axis=1).sort_values(ascending=False).index[:12]
    watched = [n for n in WATCHED if n in hit.index and n not in top]
    print("  inputs the shock moves most beyond the control (shocked | control), by shock month:")
    for name in [*top, *watched]:
        shocked = " ".join(f"{v:6.3f}" for v in hit.loc[name])
        calm = " ".join(f"{v:6.3f}" for v in control.loc[name])
        print(f"    {name:40s} {shocked} | {calm}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--as-of", default="2024-01:2025-12")
    parser.add_argument(
        "--shock-scenario", default=str(SCENARIOS / "deqing_manufacturing_slowdown.yaml")
    )
    parser.add_argument("--skip-shock", action="store_true", help="calm book only")
    args = parser.parse_args()
    began = time.perf_counter()
    calm = load_scenario(SCENARIOS / "calm.yaml")
    with tempfile.TemporaryDirectory(prefix="calm-drift-") as tmp:
        book = simulate_portfolio(args.borrowers, args.months, args.seed, scenario=calm)
        inputs = model_inputs(book, calm, args.as_of, Path(tmp) / "calm", args.seed)
        del book
        _print_calm(month_to_month(inputs), year_on_year(inputs), inputs)
        if not args.skip_shock:
            scenario = load_scenario(args.shock_scenario)
            if len(scenario.shocks) != 1:
                sys.exit(f"{args.shock_scenario}: expected one shock, found {len(scenario.shocks)}")
            start = pd.Period(scenario.shocks[0].start_month, freq="M")
            months = [str(start + k) for k in range(3)]
            reference = str(start - 1)
            # On the calm economy the control is the calm book itself (same seed, no shock).
            on_calm = scenario.model_copy(update={"common_innovations": calm.common_innovations})
            backgrounds = (
                ("on the calm economy", on_calm, inputs),
                ("on the moving economy (the file as shipped)", scenario, None),
            )
            for label, shocked_scenario, control in backgrounds:
                shocked = simulate_portfolio(
                    args.borrowers, args.months, args.seed, scenario=shocked_scenario
                )
                segment = shocked_borrowers(shocked, shocked_scenario)
                hit = model_inputs(
                    shocked, shocked_scenario, args.as_of, Path(tmp) / "shocked", args.seed
                )
                del shocked
                if control is None:
                    unshocked = shocked_scenario.model_copy(update={"shocks": ()})
                    base = simulate_portfolio(
                        args.borrowers, args.months, args.seed, scenario=unshocked
                    )
                    control = model_inputs(
                        base, unshocked, args.as_of, Path(tmp) / "base", args.seed
                    )
                    del base
                print(f"\n{scenario.name} {label}:")
                _print_shock(
                    against_reference(hit[hit["borrower_id"].isin(segment)], reference, months),
                    against_reference(
                        control[control["borrower_id"].isin(segment)], reference, months
                    ),
                    len(segment),
                )
    print(
        f"\n{args.borrowers:,} borrowers x {args.months} months, seed {args.seed}, as-of "
        f"{args.as_of}; {time.perf_counter() - began:.0f} s on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()

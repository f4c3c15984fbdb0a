"""Writing a simulated portfolio to disk (tables, truth, manifest) and reading the truth back.

The manifest records the arguments, the scenario, the full configuration and each file's
SHA-256, and nothing time-dependent, so the same arguments give byte-identical folders. Raw
tables go to the folder itself, the ground truth to ``ground_truth/`` beside them so that
nothing that reads "the six tables" can pick it up by accident. ``read_ground_truth`` is the one
way back in, for measuring models against the oracles (``training``, benchmarks, tests).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import atomic_write, read_table, write_table
from features.simulator.config import SimulationConfig
from features.simulator.scenario import Scenario
from features.simulator.simulate import SimulatedPortfolio

TRUTH_DIR = "ground_truth"
#: Truth tables of the two oracles, one row per open loan-month each, in the same order.
PATH_ORACLE_TABLE = "loan_months"
POINT_IN_TIME_TABLE = "oracle_point_in_time"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_simulation(
    portfolio: SimulatedPortfolio,
    out: Path,
    arguments: dict[str, Any],
    scenario: Scenario,
    config: SimulationConfig | None = None,
) -> dict[str, Any]:
    """Write tables, truth and ``manifest.json``; returns the manifest."""
    out = Path(out)
    paths = {name: write_table(frame, out, name) for name, frame in portfolio.tables.items()}
    for name, frame in portfolio.truth.items():
        paths[f"{TRUTH_DIR}/{name}"] = write_table(frame, out / TRUTH_DIR, name)
    manifest = {
        "generator": "features.simulator",
        "arguments": arguments,
        "scenario": scenario.model_dump(mode="json"),
        "config": (config or SimulationConfig()).model_dump(mode="json"),
        "row_counts": {name: len(frame) for name, frame in portfolio.tables.items()},
        "truth_row_counts": {name: len(frame) for name, frame in portfolio.truth.items()},
        "files": {
            name: {"path": str(p.relative_to(out)), "sha256": _sha256(p)}
            for name, p in paths.items()
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True)
    atomic_write(out / "manifest.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return manifest


def _at_least(frame: pd.DataFrame, prefix: str, out_prefix: str) -> dict[str, np.ndarray]:
    """``P(S >= k)`` for k = 1..3 from the exact severity columns ``<prefix>0 .. <prefix>3``."""
    exact = frame[[f"{prefix}{s}" for s in range(4)]].to_numpy()
    tail = np.cumsum(exact[:, ::-1], axis=1)[:, ::-1]
    return {f"{out_prefix}{k}": tail[:, k] for k in (1, 2, 3)}


def read_ground_truth(folder: Path | str) -> pd.DataFrame:
    """Both oracles' ``P(S>=1)``, ``P(S>=2)``, ``P(S>=3)`` for every open loan-month of a book.

    ``folder`` is the simulated book (the one holding ``manifest.json``). Returns one row per
    (``loan_id``, ``as_of``), the keys of the snapshots (``as_of`` a month-end
    ``datetime64[ns]``, ``loan_id`` categorical), with ``path_p_ge1 .. path_p_ge3`` from the
    path-conditional oracle (knows the future capacity path) and ``pit_p_ge1 .. pit_p_ge3`` from
    the point-in-time oracle (knows only the end of as_of): the fair yardstick for a model.

    Raises
    ------
    TableReadError
        If a truth table is missing, as in books simulated before the point-in-time oracle
        existed: simulate them again.
    """
    directory = Path(folder) / TRUTH_DIR
    return ground_truth_frame(
        {name: read_table(directory, name) for name in (PATH_ORACLE_TABLE, POINT_IN_TIME_TABLE)}
    )


def ground_truth_frame(truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``read_ground_truth`` of a simulation held in memory (``SimulationResult.truth``)."""
    path, pit = truth[PATH_ORACLE_TABLE], truth[POINT_IN_TIME_TABLE]
    keys = ["loan_id", "as_of"]
    aligned = len(path) == len(pit) and all(path[k].equals(pit[k]) for k in keys)
    if not aligned:
        pit = path[keys].merge(pit, on=keys, how="left", validate="one_to_one")
    return pd.DataFrame(
        {
            "loan_id": path["loan_id"].array,
            "as_of": path["as_of"].astype("datetime64[ns]").to_numpy(),
            **_at_least(path, "p_s", "path_p_ge"),
            **_at_least(pit, "pit_p_s", "pit_p_ge"),
        }
    )

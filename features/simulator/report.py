"""Writing a simulated portfolio to disk: tables, ground truth and a manifest.

The manifest records the arguments, the scenario, the full configuration and each file's
SHA-256, and nothing time-dependent, so the same arguments give byte-identical folders. Raw
tables go to the folder itself, the ground truth to ``ground_truth/`` beside them so that
nothing that reads "the six tables" can pick it up by accident.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from features.io import write_table
from features.simulator.config import SimulationConfig
from features.simulator.scenario import Scenario
from features.simulator.simulate import SimulatedPortfolio

TRUTH_DIR = "ground_truth"


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
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(out / "manifest.json")
    return manifest

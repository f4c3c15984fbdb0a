"""Writing a monitoring run's output folder: JSON documents and the folder swap (an IO edge).

Single responsibility: the file operations drift and performance runs share. A run's
folder is built under a temporary name beside its place and takes its name in one rename, so
a reader never sees half a run; an older folder of the same months is moved aside first and
removed after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from features.io import replace_folder, staged_folder

__all__ = ["log_and_publish", "replace_folder", "staged_folder", "to_json"]


def to_json(document: dict[str, Any] | list[Any]) -> str:
    """``document`` as indented JSON text (NaN refused: summaries hold ``None`` instead)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def log_and_publish(
    folder: Path,
    summary: dict[str, Any],
    params: dict[str, Any],
    figures: pd.DataFrame,
    log_run: Callable[[dict[str, Any], pd.DataFrame, Path], str] | None,
    publish: Callable[[pd.DataFrame], None] | None,
) -> str | None:
    """The common end of a run, in the folder being staged: ``summary.json`` written, the
    MLflow run logged with the folder as its artifacts (its id then added to the summary),
    the figures published to the dashboard. Returns the MLflow run id, if logged."""
    (folder / "summary.json").write_text(to_json(summary), encoding="utf-8")
    run_id = None
    if log_run is not None:
        run_id = log_run(params, figures, folder)
        summary["mlflow_run_id"] = run_id
        (folder / "summary.json").write_text(to_json(summary), encoding="utf-8")
    if publish is not None:
        publish(figures)
    return run_id

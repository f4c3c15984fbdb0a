"""The Evidently drift report of a current month against the reference, with a pinned test.

Single responsibility: turn a reference and a current scored frame (monitoring/frames.py) into
an Evidently ``Snapshot`` whose per-column drift test, threshold and bins are fixed by us, and
write it as one self-contained HTML file.

Why the test is pinned
    Left to itself Evidently picks the test per column from the sample sizes and the number of
    distinct values (``_get_default_stattest``): Kolmogorov-Smirnov or chi-squared p-values when
    the reference has at most 1,000 rows, Wasserstein distance or Jensen-Shannon distance above.
    A book that grows past 1,000 loans would silently change what "drifted" means. Every
    column's ``ValueDrift`` and the ``DriftedColumnsCount`` therefore get the method and the
    threshold explicitly (``method=``/``threshold=`` and ``per_column_method``/
    ``per_column_threshold``), and the snapshot's dict records them.

The default test: our PSI, hosted in Evidently
    ``method="psi_quantile"`` (the default) registers :func:`monitoring.psi.population_stability`
    as an Evidently stat test named ``ews_psi_q<bins>`` (``ews_psi_q10`` for 10 bins), so the
    report's drift scores are the same PSI the monitoring figures use: ``bins`` equal-count bins
    on reference quantiles for numbers, one bin per reference level (plus one for unseen levels)
    for categories, empty bins floored at 1e-4; drifted when PSI >= ``threshold`` (0.25 by
    default, the "shifted" band). One difference remains: Evidently drops missing values (and
    +/-inf) from both samples before any test, so the report's PSI has no ``(missing)`` bin; for
    a column with missing values our own figure can be higher than the report's.

Evidently's own PSI (``method="psi"``), and why it is not the default
    Its method and threshold can be pinned, its bins cannot: a numeric column with more than 20
    distinct reference values is cut into *equal-width* bins over the *combined* reference and
    current range, their number chosen by Sturges' rule (``log2(n_ref + n_cur) + 1``: 17 bins
    for 65,000 rows, 11 for 600), so the yardstick moves with the current month and with the
    sample size; columns with at most 20 distinct values get one bin per value seen in either
    sample. Its default threshold is 0.1. Any other Evidently test name (``"jensenshannon"``,
    ``"wasserstein"``, ...) is accepted too and pinned the same way; ``bins`` then plays no part.

Cost (measured on 2 shared cores): 45,000 reference rows x 20,000 current rows x 75 columns take
8-10 s to run (two thirds of it Evidently's plotly widgets, 1.4 s the PSI itself) and 0.5-1 s to
write; the HTML is 6.2 MB. ``summary_table=True`` adds Evidently's drift table (the
``DataDriftPreset`` rendering): 15-19 s and 8.8 MB, too close to a 20 s budget to be the default.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.core.report import Snapshot
from evidently.legacy.calculations.stattests.registry import (
    StatTest,
    get_registered_stattest,
    register_stattest,
)
from evidently.legacy.core import ColumnType
from evidently.metrics import DriftedColumnsCount, ValueDrift
from evidently.presets import DataDriftPreset

from monitoring.frames import GRADE, PD, missing_columns
from monitoring.psi import population_stability

#: Our PSI on reference-quantile bins, hosted as an Evidently stat test.
QUANTILE_PSI: Final = "psi_quantile"
DEFAULT_METHOD: Final = QUANTILE_PSI
#: PSI at or above 0.25 reads as "shifted" (monitoring/psi.py).
DEFAULT_THRESHOLD: Final = 0.25
DEFAULT_BINS: Final = 10


class DriftReportError(ValueError):
    """The inputs of a drift report are unusable; the message names what is wrong."""


_registered: dict[int, str] = {}


def _quantile_psi_test(bins: int) -> Callable[[pd.Series, pd.Series, ColumnType, float], tuple]:
    def quantile_psi(
        reference: pd.Series, current: pd.Series, feature_type: ColumnType, threshold: float
    ) -> tuple[float, bool]:
        categorical = feature_type == ColumnType.Categorical
        value = population_stability(
            reference, current, bins=bins, kind="category" if categorical else "number"
        ).value
        return value, bool(value >= threshold)

    return quantile_psi


def quantile_psi_stattest(bins: int = DEFAULT_BINS) -> str:
    """Register our PSI with ``bins`` reference-quantile bins as an Evidently stat test.

    The bin count is part of the name (``ews_psi_q10``), so a snapshot says which yardstick it
    was measured with. Registering twice is harmless (Evidently's registry is by name).

    Returns
    -------
    str
        The stat test name to pass as ``method`` to Evidently metrics.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise DriftReportError(f"bins must be an integer of at least 2, got {bins!r}")
    if bins not in _registered:
        name = f"ews_psi_q{bins}"
        register_stattest(
            StatTest(
                name=name,
                display_name=f"PSI ({bins} reference-quantile bins)",
                allowed_feature_types=[ColumnType.Numerical, ColumnType.Categorical],
                default_threshold=DEFAULT_THRESHOLD,
            ),
            _quantile_psi_test(bins),
        )
        _registered[bins] = name
    return _registered[bins]


def pinned_method(method: str, bins: int, column_types: Sequence[ColumnType]) -> str:
    """The Evidently stat test name ``method`` stands for, checked for every column type used.

    Raises
    ------
    DriftReportError
        If Evidently knows no such test, or the test does not take a column type in use
        (Wasserstein, for instance, has no categorical form).
    """
    name = quantile_psi_stattest(bins) if method == QUANTILE_PSI else method
    for column_type in dict.fromkeys(column_types):
        try:
            get_registered_stattest(name, column_type)
        except Exception as exc:  # StatTestNotFoundError / StatTestInvalidFeatureTypeError
            raise DriftReportError(
                f"drift method {method!r} is not an Evidently stat test for "
                f"{column_type.name.lower()} columns ({exc})"
            ) from None
    return name


def build_drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numerical: list[str],
    categorical: list[str],
    *,
    method: str = DEFAULT_METHOD,
    threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
    timestamp: datetime | None = None,
    name: str | None = None,
    summary_table: bool = False,
) -> Snapshot:
    """Run Evidently's drift metrics on ``current`` against ``reference``, test pinned.

    ``pd_12m`` is added to the numerical columns and ``grade`` to the categorical ones when the
    caller did not list them: the score and the grade drifting is the first thing to read.

    Parameters
    ----------
    reference, current : DataFrame
        Scored frames (monitoring/frames.py); other columns are ignored.
    numerical, categorical : list of str
        The model inputs to test, by Evidently column type.
    method : str
        ``"psi_quantile"`` (our PSI, see the module docstring) or an Evidently stat test name.
    threshold : float
        Drift when the score reaches it (PSI and distances) or, for p-value tests, falls below.
    bins : int
        Reference-quantile bins of ``"psi_quantile"``; unused by other methods.
    timestamp : datetime, optional
        The snapshot's time (the as-of month end when it goes to a workspace; default now).
    name : str, optional
        The snapshot's name.
    summary_table : bool
        Also render Evidently's drift summary table (``DataDriftPreset``; about 50 % slower).

    Returns
    -------
    Snapshot
        One ``DriftedColumnsCount`` and one ``ValueDrift`` per column, each with the pinned
        method and threshold in its config.

    Raises
    ------
    DriftReportError
        If a column is missing from a frame, listed twice, a frame is empty, or the method,
        threshold or bins are unusable.
    """
    numerical = list(numerical) + ([PD] if PD not in numerical else [])
    categorical = list(categorical) + ([GRADE] if GRADE not in categorical else [])
    columns = numerical + categorical
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DriftReportError(f"columns listed more than once: {', '.join(repeated)}")
    for label, frame in (("reference", reference), ("current", current)):
        absent = missing_columns(frame, columns)
        if absent:
            raise DriftReportError(f"{label} frame lacks columns: {', '.join(absent)}")
        if frame.empty:
            raise DriftReportError(f"the {label} frame has no rows")
    if not threshold > 0:
        raise DriftReportError(f"threshold must be positive, got {threshold!r}")
    types = [ColumnType.Numerical] * bool(numerical) + [ColumnType.Categorical] * bool(categorical)
    test = pinned_method(method, bins, types)
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    per_column_method: dict[str, str] = dict.fromkeys(columns, test)
    per_column_threshold = dict.fromkeys(columns, float(threshold))
    metrics: list = (
        [
            DataDriftPreset(
                columns=columns,
                per_column_method=per_column_method,
                per_column_threshold=per_column_threshold,
            )
        ]
        if summary_table
        else [
            DriftedColumnsCount(
                columns=columns,
                per_column_method=per_column_method,
                per_column_threshold=per_column_threshold,
            ),
            *(ValueDrift(column=c, method=test, threshold=float(threshold)) for c in columns),
        ]
    )
    return Report(metrics).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
        timestamp=timestamp,
        name=name,
    )


def drift_scores(snapshot: Snapshot) -> pd.DataFrame:
    """Each column's drift score, method and threshold as the snapshot recorded them.

    Returns
    -------
    DataFrame
        One row per ``ValueDrift`` metric: ``column``, ``method``, ``threshold`` and
        ``score`` (a PSI or distance drifts when ``score >= threshold``, a p-value when below).
    """
    rows = [
        {
            "column": m["config"]["column"],
            "method": m["config"].get("method"),
            "threshold": m["config"].get("threshold"),
            "score": float(m["value"]),
        }
        for m in snapshot.dict()["metrics"]
        if m.get("config", {}).get("type") == "evidently:metric_v2:ValueDrift"
    ]
    return pd.DataFrame(rows, columns=["column", "method", "threshold", "score"])


def save_report_html(snapshot: Snapshot, path: str | os.PathLike[str]) -> Path:
    """Write the snapshot as one self-contained HTML file (Evidently's script and font inline).

    The file is written beside its destination under a temporary name and moved into place
    with ``os.replace``, so a reader never sees half a report and a failed write leaves the
    previous report intact.

    Returns
    -------
    Path
        The written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    html = snapshot.get_html_str(as_iframe=False)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(html)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return target

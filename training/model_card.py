"""The model card: one Markdown page a bank auditor can read to judge a retrained model.

It states what the model is for and not for, which months it learnt from and was tested on,
how well it ranks and how well its probabilities match observed rates per severity threshold,
how it compares with simple baselines (and, on simulated books, with the ground-truth oracle),
how it behaves per segment and per warning grade, what it cannot be trusted for, and whether it
was promoted. The card is written before the model is registered, so its version may be unknown;
the card then points to the run instead of inventing a number. ``render_model_card`` is pure:
the caller writes the text wherever the run keeps its artifacts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from features.severity import severity_label
from training.gates import GateDecision
from training.metrics import BinaryMetrics

#: What each cumulative threshold means in days past due over the window (docs/domain.md, outcomes).
SEVERITY_LABELS = {
    "s1": f"{severity_label(1)} (any missed payment)",
    "s2": severity_label(2),
    "s3": severity_label(3) + "; the {horizon}-month PD",
}

STANDARD_LIMITATIONS = (
    "Trained on simulated data or on a single bank's book: its quality on another bank's loans, "
    "or on real loans if the book was simulated, is unknown until measured there.",
    "Only the test window is out of time, and its borrowers were held out of training; the "
    "training and calibration windows were used to fit the model, so their numbers are not "
    "evidence.",
    "Outcomes take {horizon} months to mature: the latest {horizon} months of data are in no "
    "window, and production performance is known only {horizon} months after scoring.",
    "Calibration assumes the default rate of the calibration window carries forward; a change in "
    "the economy or in lending policy shifts it. Compare observed with expected default rates "
    "once outcomes mature and adjust provisions (overlays) with a documented rationale.",
    "Reason codes are LightGBM feature contributions: they explain the score, not the cause of "
    "distress, and changing a feature need not change the borrower's risk.",
    "Party-building ratings enter through a unified index fitted on data up to the end of the "
    "training window; a new area, rating scale or issuing practice needs re-fitting.",
    "Segments with few rows or few defaults are reported but cannot be judged; widening the "
    "product to them is not supported by this evidence alone.",
)


_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_WINDOW_FIELDS = ("first_as_of", "train_until", "calibrate_until", "test_until")


def _window_months(card: ModelCard) -> list[pd.Period]:
    """The four window boundaries as months, or a ValueError naming the malformed one."""
    months = []
    for name in _WINDOW_FIELDS:
        text = getattr(card, name)
        # Strict form: pandas would read "November" as November of year 1.
        if not isinstance(text, str) or not _MONTH.fullmatch(text):
            raise ValueError(f"{name} must be a month like 2024-06, got {text!r}")
        months.append(pd.Period(text, "M"))
    return months


@dataclass(frozen=True)
class ModelCard:
    """Facts of one retraining run, as the card shows them (nothing here is computed anew).

    ``metrics`` are keyed by threshold (``s1``, ``s2``, ``s3``); ``baselines`` hold the metrics
    of each baseline's PD on the same test rows as ``metrics[pd_threshold]``, which is checked,
    because a comparison on different rows means nothing.
    """

    model_name: str
    first_as_of: str
    train_until: str
    calibrate_until: str
    test_until: str
    horizon: int
    data_fingerprint: str
    row_counts: Mapping[str, int]
    calibration_method: str
    metrics: Mapping[str, BinaryMetrics]
    grade_table: pd.DataFrame
    grade_policy_version: str
    model_version: str | None = None
    run_id: str | None = None
    data_source: str = "not stated"
    metrics_population: str = "test rows of loans not already 90+ DPD at the as-of month"
    baselines: Mapping[str, BinaryMetrics] = field(default_factory=dict)
    oracle_auc: float | None = None
    segments: pd.DataFrame | None = None
    limitations: Sequence[str] = ()
    decision: GateDecision | None = None
    pd_threshold: str = "s3"

    def __post_init__(self) -> None:
        months = _window_months(self)
        if months != sorted(months) or len(set(months)) != len(months):
            raise ValueError(
                "window months must increase: first_as_of < train_until < calibrate_until "
                "< test_until"
            )
        if self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 month, got {self.horizon}")
        if self.pd_threshold not in self.metrics:
            raise ValueError(f"metrics lack the PD threshold {self.pd_threshold!r}")
        model = self.metrics[self.pd_threshold]
        for name, baseline in self.baselines.items():
            if (baseline.n, baseline.events) != (model.n, model.events):
                raise ValueError(
                    f"baseline {name!r} was measured on {baseline.n} rows / {baseline.events} "
                    f"events, the model on {model.n} / {model.events}: use the same test rows"
                )
        if self.oracle_auc is not None and not 0 < self.oracle_auc <= 1:
            raise ValueError(f"oracle_auc must lie in (0, 1], got {self.oracle_auc}")

    @property
    def oracle_ratio(self) -> float | None:
        """Model AUC / oracle AUC of the PD: how much of the achievable ranking was learnt."""
        if self.oracle_auc is None:
            return None
        return self.metrics[self.pd_threshold].auc / self.oracle_auc


def _num(value: float, digits: int = 4) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _oe(m: BinaryMetrics) -> str:
    """Observed / expected defaults and its 95% interval (n/a in metrics without them)."""
    if math.isnan(m.oe_ratio):
        return "n/a"
    return f"{m.oe_ratio:.2f} [{_num(m.oe_low, 2)}, {_num(m.oe_high, 2)}]"


def _pct(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _windows(card: ModelCard) -> list[str]:
    first, train, calibrate, test = _window_months(card)
    spans = {
        "train": f"{first} to {train}",
        "calibrate": f"{train + 1} to {calibrate}",
        "test": f"{calibrate + 1} to {test}",
    }
    counts = dict.fromkeys(spans, None) | dict(card.row_counts)
    rows = [
        (role, spans.get(role, ""), "n/a" if n is None else f"{n:,}") for role, n in counts.items()
    ]
    return [
        "## Data",
        "",
        f"- Source: {card.data_source}",
        f"- Data fingerprint (SHA-256 of the raw tables): `{card.data_fingerprint}`",
        f"- Outcome: worst severity over the {card.horizon} months after each as-of month; "
        f"outcomes of the test window are observed up to {test + card.horizon}.",
        "- Split: out of time by as-of month; test borrowers are held out of training.",
        "",
        *_table(("role", "as-of months", "rows"), rows),
    ]


def _metrics(card: ModelCard) -> list[str]:
    rows = [
        (
            SEVERITY_LABELS.get(key, key).format(horizon=card.horizon),
            f"{m.n:,}",
            f"{m.events:,}",
            _num(m.auc),
            _num(m.gini),
            _num(m.ks),
            _num(m.brier),
            _num(m.ece),
            _num(m.ece_p_value, 3),
            _pct(m.mean_predicted),
            _pct(m.observed_rate),
            _oe(m),
        )
        for key, m in card.metrics.items()
    ]
    headers = ("threshold", "rows", "events", "AUC", "Gini", "KS", "Brier", "ECE", "ECE p")
    pd_metrics = card.metrics[card.pd_threshold]
    if 0 < pd_metrics.clusters < pd_metrics.n:
        clusters = f"each of the {int(pd_metrics.clusters):,} borrowers' monthly rows one cluster"
    elif pd_metrics.clusters == pd_metrics.n:
        clusters = "rows taken as independent"
    else:
        clusters = "clusters not recorded"
    return [
        "## Test metrics per severity threshold",
        "",
        f"Measured on {card.metrics_population}. ECE uses 10 equal-count bins. ECE p is the "
        "chance that calibrated PDs show an ECE at least this large on the same rows; O/E is "
        "observed / expected defaults with its 95% interval (both under calibrated PDs, "
        f"{clusters}).",
        "",
        *_table((*headers, "mean predicted", "observed rate", "O/E [95%]"), rows),
    ]


def _comparison(card: ModelCard) -> list[str]:
    model = card.metrics[card.pd_threshold]
    lines = ["## Comparison on the same test rows", ""]
    if card.baselines:
        rows = [
            (f"this model ({card.model_name})", _num(model.auc), _num(model.ece), _oe(model), "")
        ]
        rows += [
            (name, _num(b.auc), _num(b.ece), _oe(b), f"{model.auc - b.auc:+.4f}")
            for name, b in card.baselines.items()
        ]
        lines += [
            f"{card.horizon}-month PD ({card.pd_threshold}) against the baselines:",
            "",
            *_table(("model", "AUC", "ECE", "O/E [95%]", "model AUC minus this"), rows),
            "",
        ]
    else:
        lines += ["No baselines were evaluated in this run.", ""]
    ratio = card.oracle_ratio
    if card.oracle_auc is not None and ratio is not None:
        lines.append(
            f"Oracle (the simulator's true PD on the same rows): AUC {_num(card.oracle_auc)}; "
            f"model/oracle AUC ratio {_num(ratio, 3)}."
        )
    else:
        lines.append("No ground-truth oracle was given (only a simulated book has one).")
    return lines


def _grades(card: ModelCard) -> list[str]:
    table = card.grade_table
    rows = [
        (
            grade,
            f"{int(row.get('loans', 0)):,}",
            _pct(row.get("observed_default_rate", float("nan"))),
            _pct(row.get("default_capture", float("nan"))),
        )
        for grade, row in table.iterrows()
    ]
    return [
        "## Warning grades on the test window",
        "",
        f"Grade policy version `{card.grade_policy_version}`.",
        "",
        *_table(("grade", "loans", "observed default rate", "share of all defaults"), rows),
    ]


def _segments(card: ModelCard) -> list[str]:
    if card.segments is None or card.segments.empty:
        return ["## Segments", "", "No segment metrics were computed in this run."]
    rows = [
        (
            r["segment"],
            r["value"],
            f"{int(r['n']):,}",
            f"{int(r['events']):,}",
            _num(r["auc"]),
            _num(r["ece"]),
            _pct(r["mean_predicted"]),
            _pct(r["observed_rate"]),
            r.get("note", "") or "",
        )
        for _, r in card.segments.iterrows()
    ]
    headers = ("segment", "value", "rows", "events", "AUC", "ECE", "mean predicted", "observed")
    return [
        f"## Segments ({card.horizon}-month PD)",
        "",
        *_table((*headers, "note"), rows),
    ]


def _decision(card: ModelCard) -> list[str]:
    lines = ["## Promotion decision", ""]
    if card.decision is None:
        return [*lines, "Not decided when this card was written; see the run and the registry."]
    verdict = "promote" if card.decision.promote else "do not promote"
    return [*lines, f"Decision: **{verdict}**.", "", *(f"- {r}" for r in card.decision.reasons)]


def render_model_card(card: ModelCard) -> str:
    """The card as Markdown (see module docstring); the same facts give the same text."""
    version = (
        f"version {card.model_version}"
        if card.model_version
        else "version assigned at registration, see the run"
    )
    run = f" (run `{card.run_id}`)" if card.run_id else ""
    limitations = [text.format(horizon=card.horizon) for text in STANDARD_LIMITATIONS]
    lines = [
        f"# Model card: {card.model_name}",
        "",
        f"Registered as `{card.model_name}`, {version}{run}.",
        "",
        "## Intended use",
        "",
        "Post-loan early warning for Red Financial Credit loans in Huzhou. The model estimates "
        f"P(S>=1), P(S>=2) and P(S>=3) over the next {card.horizon} months; a versioned grade "
        "policy turns them, with days-past-due backstops, into green, blue, yellow, orange or red "
        f"warnings with actions per grade. P(S>=3) is the {card.horizon}-month PD that feeds "
        "loan-loss provisions (ECL = PD x LGD x EAD).",
        "",
        "Not intended for: loan approval or pricing, rating Party organizations, or loans "
        "outside the segments evidenced below.",
        "",
        *_windows(card),
        "",
        f"Probabilities are calibrated with the **{card.calibration_method}** method on the "
        "calibration window, scored out of fold (by trees that never saw the borrower), the "
        "method chosen by Brier score on borrowers held out of that fit.",
        "",
        *_metrics(card),
        "",
        *_comparison(card),
        "",
        *_grades(card),
        "",
        *_segments(card),
        "",
        "## Limitations",
        "",
        *(f"- {text}" for text in limitations),
        *(["", "Specific to this run:", ""] if card.limitations else []),
        *(f"- {text}" for text in card.limitations),
        "",
        *_decision(card),
        "",
    ]
    return "\n".join(lines)

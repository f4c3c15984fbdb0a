"""Drift of the scored book against the champion's reference: a monthly series, by segment.

Single responsibility: for every as-of month of a current scored frame, and for the whole book
and each segment (``monitoring.frames``), measure the PSI/CSI of every model input, of the PD
and of the grade mix against the same part of the reference, and give each a verdict by one
stated rule. Pure: frames in, frames out; reading the ledger and writing reports live elsewhere.

The rule (``DriftRule``), and why
---------------------------------
The bands of credit practice are kept: PSI below 0.10 is stable, 0.10-0.25 worth watching,
above 0.25 a shift. But a fixed band fires on sampling noise in a small segment: for two
samples of one law, PSI is about ``(1/n + 1/m) * chi2(B - 1)`` (``n`` current loans, ``m``
reference loans, ``B`` bins), so a segment of 100 loans against 300 reference rows shows a PSI
near 0.12 on average with ten bins and nothing changed. A figure is therefore in a band only
when it is also beyond the noise: ``psi > max(band, noise)`` where ``noise`` is that
chi-square's ``1 - alpha`` quantile scaled by ``1/n + 1/m`` (``B`` the bins the reference
fills). ``m`` counts the reference's *distinct loans*, not its rows: the reference holds each
loan once per month of its window, and a loan's three months are nearly one draw, so counting
rows would understate the noise threefold (on a drift-free book that fired on segments of
100-160 loans). Large segments are judged by the band (practical size), small ones by the
noise bound (statistical evidence), and a segment below ``min_rows`` on either side gets no
verdict at all (its figures are still shown, marked ``too small``).

What breaches. A segment-month is a **breach** when its PD distribution, its grade mix or its
orange/red share shifts, or when more than ``dataset_share`` of the inputs shift at once; it
is on **watch** when one of the three is in its watch band. The orange/red share (the loans a
post-loan manager must act on) has its own test because it is where a shock to part of a
segment shows first: a moderate shock to 350 loans doubles it while the decile PSI of the PD
stays inside its noise bound (docs/monitoring.md). It is judged by the ratio of the shares
(watch 1.5x, shift 2x) once a one-sided two-proportion test puts the rise beyond ``alpha``.
Inputs alone do not breach: inputs move for reasons the model does not weigh (a book growing
older moves ``months_on_book`` every month; seasonal industries move their 3-month trends
with the season), and an input shift that matters moves the PD or the grades. Every input's
CSI is reported with its own band so a reader sees what drives a PD shift.

Population. Loans already 90 or more days past due are left out on both sides: they are
defaults, not predictions (their grade is red by the backstop whatever the model says), and a
book whose stock of defaulted loans builds up would otherwise show PD drift that is only that
stock. Their count is reported per month (``n_in_default``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from monitoring.bins import ReferenceBins, fit_column_bins, fit_reference_bins, psi_from_counts
from monitoring.frames import (
    AS_OF,
    GRADE,
    GRADE_ORDER,
    LOAN_KEY,
    PD,
    WHOLE_BOOK,
    Segment,
    iter_segments,
    missing_columns,
)
from monitoring.outcomes import DPD_NOW, performing

STABLE, WATCH, SHIFT, TOO_SMALL = "stable", "watch", "shift", "too small"
BREACH: Final = "breach"
#: Grades counted as the "orange/red share" (the loans a post-loan manager must act on).
ACTION_GRADES: Final = ("orange", "red")
#: The PD and grade-mix rows of the PSI table carry these names in ``column``.
PD_FIGURE, GRADE_FIGURE = "pd", "grade_mix"


@dataclass(frozen=True)
class DriftRule:
    """The verdict rule (module docstring); every field is recorded with each run."""

    bins: int = 10
    watch: float = 0.10
    shift: float = 0.25
    alpha: float = 0.001
    min_rows: int = 200
    dataset_share: float = 0.5
    action_watch: float = 1.5
    action_shift: float = 2.0

    def __post_init__(self) -> None:
        if self.bins < 2:
            raise ValueError(f"bins must be at least 2, got {self.bins}")
        if not 0 < self.watch < self.shift:
            raise ValueError(f"need 0 < watch < shift, got {self.watch} and {self.shift}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.min_rows < 1:
            raise ValueError(f"min_rows must be positive, got {self.min_rows}")
        if not 0 < self.dataset_share <= 1:
            raise ValueError(f"dataset_share must lie in (0, 1], got {self.dataset_share}")

    def noise(self, n_current: np.ndarray, n_reference: np.ndarray, bins: np.ndarray) -> np.ndarray:
        """The PSI that sampling alone exceeds with probability ``alpha`` (no drift)."""
        dof = np.maximum(np.asarray(bins) - 1, 1)
        with np.errstate(divide="ignore"):
            scale = 1.0 / np.asarray(n_current, float) + 1.0 / np.asarray(n_reference, float)
        return scale * chi2.ppf(1.0 - self.alpha, dof)

    def band(
        self, psi: np.ndarray, noise: np.ndarray, n_current: np.ndarray, n_reference: np.ndarray
    ) -> np.ndarray:
        """``stable`` / ``watch`` / ``shift`` / ``too small`` for each figure."""
        psi = np.asarray(psi, float)
        out = np.full(psi.shape, STABLE, dtype=object)
        beyond = psi > noise
        out[beyond & (psi > self.watch)] = WATCH
        out[beyond & (psi > self.shift)] = SHIFT
        small = (np.asarray(n_current) < self.min_rows) | (np.asarray(n_reference) < self.min_rows)
        out[small | np.isnan(psi)] = TOO_SMALL
        return out

    def action_rise(
        self, reference_share: float, reference_loans: int, current_count: int, current_n: int
    ) -> ActionRise:
        """Has the orange/red share risen beyond chance? A one-sided two-proportion z-test
        (the reference share estimated from its distinct loans, with half a loan added so an
        empty reference share is not certainty), banded by the ratio of the shares."""
        if current_n < self.min_rows or reference_loans < self.min_rows:
            return ActionRise(float("nan"), float("nan"), TOO_SMALL)
        ref = (reference_share * reference_loans + 0.5) / (reference_loans + 1)
        cur = current_count / current_n
        se = math.sqrt(ref * (1 - ref) * (1 / current_n + 1 / reference_loans))
        p_value = float(norm.sf((cur - ref) / se))
        ratio = cur / ref
        band = STABLE
        if p_value < self.alpha and ratio >= self.action_watch:
            band = SHIFT if ratio >= self.action_shift else WATCH
        return ActionRise(ratio, p_value, band)

    def describe(self) -> str:
        """The rule in one sentence, for reports and the JSON summary."""
        return (
            f"PSI with {self.bins} reference-quantile bins (plus a missing bin; categories by "
            f"reference level); a figure is 'watch' above {self.watch} and 'shift' above "
            f"{self.shift} only when also above the no-drift noise (1/n + 1/m) x "
            f"chi2_(1-{self.alpha})(B-1); segments under {self.min_rows} rows on either side "
            f"get no verdict; the orange/red share is 'watch' at {self.action_watch}x and "
            f"'shift' at {self.action_shift}x the reference's when its rise is significant at "
            f"{self.alpha}; breach = PD, grade mix or orange/red share 'shift', or more than "
            f"{self.dataset_share:.0%} of the inputs 'shift'; loans already 90+ days past due "
            "are left out (they are defaults, not predictions)"
        )


@dataclass(frozen=True)
class ActionRise:
    """The orange/red share against the reference's: ratio, one-sided p-value, band."""

    ratio: float
    p_value: float
    band: str


@dataclass(frozen=True)
class DriftResult:
    """The monthly drift series.

    ``psi``: one row per (as_of, segment, column) with ``figure`` (input / pd / grade_mix),
    ``psi``, ``n_reference``, ``n_current``, ``bins`` (filled by the reference), ``noise``
    and ``band``. ``segments``: one row per (as_of, segment) with the verdict and what drives
    it. ``grade_mix``: the share of each grade per (as_of, segment) beside the reference's.
    """

    rule: DriftRule
    psi: pd.DataFrame
    segments: pd.DataFrame
    grade_mix: pd.DataFrame
    inputs: tuple[str, ...] = field(default=())

    def breaches(self) -> pd.DataFrame:
        """The segment-months in breach."""
        return self.segments[self.segments["status"] == BREACH].reset_index(drop=True)

    def rule_record(self) -> dict[str, object]:
        return {**asdict(self.rule), "text": self.rule.describe()}


def merge_drift(results: Sequence[DriftResult]) -> DriftResult:
    """Drift results of consecutive months (each ``compute_drift`` on one month, same
    reference and rule) as one: what ``compute_drift`` gives on the months together."""
    if not results:
        raise ValueError("no monthly drift results to merge")
    first = results[0]
    return DriftResult(
        rule=first.rule,
        psi=pd.concat([r.psi for r in results], ignore_index=True),
        segments=pd.concat([r.segments for r in results], ignore_index=True),
        grade_mix=pd.concat([r.grade_mix for r in results], ignore_index=True),
        inputs=first.inputs,
    )


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    inputs: Sequence[str],
    rule: DriftRule | None = None,
    dimensions: Sequence[str] | None = None,
) -> DriftResult:
    """Drift of every month of ``current`` against ``reference`` (both scored frames).

    Parameters
    ----------
    reference, current : pandas.DataFrame
        Scored frames (``monitoring.frames``); ``current`` may hold many as-of months.
    inputs : sequence of str
        The model inputs to measure (the champion's inputs).
    rule : DriftRule, optional
        The verdict rule (default ``DriftRule()``).
    dimensions : sequence of str, optional
        Segment dimensions (default: every one, crossed included).

    Raises
    ------
    ValueError
        If a frame lacks an input, the PD or the grade, or ``current`` is empty.
    """
    rule = rule or DriftRule()
    wanted = [*inputs, PD, GRADE, LOAN_KEY, DPD_NOW]
    for name, frame in (("reference", reference), ("current", current)):
        absent = missing_columns(frame, wanted)
        if absent:
            raise ValueError(f"the {name} lacks columns: {', '.join(absent)}")
    if current.empty:
        raise ValueError("the current sample is empty: nothing was scored in these months")
    reference = performing(reference).reset_index(drop=True)
    scored_rows = current.groupby(AS_OF).size()
    current = performing(current)
    if current.empty:
        raise ValueError("every loan scored in these months is already 90+ days past due")
    bins = fit_reference_bins(reference, list(inputs), rule.bins)
    pd_bins = ReferenceBins((fit_column_bins(reference[PD], rule.bins),))
    grade_bins = ReferenceBins(
        (fit_column_bins(pd.Series(pd.Categorical(reference[GRADE], GRADE_ORDER), name=GRADE)),)
    )
    figures = {"input": bins, PD_FIGURE: pd_bins, GRADE_FIGURE: grade_bins}
    # The reference side of every segment is summarised once, not once a month.
    ref_codes = {k: b.encode(reference) for k, b in figures.items()}
    ref_loans = pd.factorize(reference[LOAN_KEY])[0]
    ref_parts = {
        s.name: _Part.of(figures, ref_codes, reference, m.to_numpy(), ref_loans)
        for s, m in iter_segments(reference, dimensions)
    }
    empty = _Part.of(figures, ref_codes, reference, np.zeros(len(reference), dtype=bool))

    psi_rows: list[pd.DataFrame] = []
    segment_rows: list[dict[str, object]] = []
    mix_rows: list[dict[str, object]] = []
    for as_of, month in current.groupby(AS_OF, sort=True):
        month = month.reset_index(drop=True)
        cur_codes = {k: b.encode(month) for k, b in figures.items()}
        for segment, mask in iter_segments(month, dimensions):
            ref = ref_parts.get(segment.name, empty)
            cur = _Part.of(figures, cur_codes, month, mask.to_numpy())
            table = _segment_psi(figures, ref, cur, rule)
            table.insert(0, "segment", segment.name)
            table.insert(0, "dimension", segment.dimension)
            table.insert(0, AS_OF, as_of)
            psi_rows.append(table)
            verdict = _segment_verdict(as_of, segment, table, ref, cur, rule)
            if segment == WHOLE_BOOK:
                verdict["n_in_default"] = int(scored_rows.get(as_of, 0)) - cur.rows
            segment_rows.append(verdict)
            mix_rows.extend(_grade_mix(as_of, segment, ref, cur))
    return DriftResult(
        rule=rule,
        psi=pd.concat(psi_rows, ignore_index=True),
        segments=pd.DataFrame(segment_rows),
        grade_mix=pd.DataFrame(mix_rows),
        inputs=tuple(inputs),
    )


@dataclass(frozen=True)
class _Part:
    """One side (reference or current) of one segment: its rows, distinct loans, bin counts
    per figure, grade counts and mean PD."""

    rows: int
    loans: int
    counts: dict[str, np.ndarray]
    grades: pd.Series
    mean_pd: float

    @classmethod
    def of(
        cls,
        figures: dict[str, ReferenceBins],
        codes: dict[str, np.ndarray],
        frame: pd.DataFrame,
        mask: np.ndarray,
        loans: np.ndarray | None = None,
    ) -> _Part:
        """``loans`` numbers the frame's loans (the reference holds each loan once per month
        of its window); without it every row is its own loan (a current month)."""
        rows = int(mask.sum())
        grades = frame[GRADE][mask].astype(str).value_counts()
        return cls(
            rows=rows,
            loans=rows if loans is None else int(np.unique(loans[mask]).size),
            counts={k: b.counts(codes[k][mask]) for k, b in figures.items()},
            grades=grades.reindex(list(GRADE_ORDER), fill_value=0),
            mean_pd=float(frame[PD][mask].mean()) if rows else float("nan"),
        )

    def share(self, grades: Sequence[str]) -> float:
        return float(self.grades[list(grades)].sum()) / self.rows if self.rows else float("nan")


def _segment_psi(
    figures: dict[str, ReferenceBins], ref: _Part, cur: _Part, rule: DriftRule
) -> pd.DataFrame:
    parts = []
    for kind, bins in figures.items():
        psi, filled = psi_from_counts(bins, ref.counts[kind], cur.counts[kind])
        parts.append(
            pd.DataFrame(
                {
                    "figure": kind,
                    "column": bins.names if kind == "input" else [kind],
                    "psi": psi,
                    "bins": filled,
                },
            )
        )
    table = pd.concat(parts, ignore_index=True)
    n_cur_a = np.full(len(table), cur.rows)
    n_ref_a = np.full(len(table), ref.loans)  # distinct loans: a loan's months are one draw
    noise = rule.noise(n_cur_a, n_ref_a, table["bins"].to_numpy())
    return table.assign(
        n_reference=ref.rows,
        n_reference_loans=ref.loans,
        n_current=cur.rows,
        noise=noise,
        band=rule.band(table["psi"].to_numpy(), noise, n_cur_a, n_ref_a),
    )


def _segment_verdict(
    as_of: object,
    segment: Segment,
    table: pd.DataFrame,
    ref: _Part,
    cur: _Part,
    rule: DriftRule,
) -> dict[str, object]:
    by_column = table.set_index("column")
    inputs = table[table["figure"] == "input"]
    judged = inputs[inputs["band"] != TOO_SMALL]
    shifted = judged[judged["band"] == SHIFT]
    share = len(shifted) / len(judged) if len(judged) else float("nan")
    pd_band, grade_band = by_column.at[PD_FIGURE, "band"], by_column.at[GRADE_FIGURE, "band"]
    action = rule.action_rise(
        ref.share(ACTION_GRADES),
        ref.loans,
        int(cur.grades[list(ACTION_GRADES)].sum()),
        cur.rows,
    )
    bands = (pd_band, grade_band, action.band)
    reasons = [f"PD {pd_band}" for b in [pd_band] if b in (WATCH, SHIFT)]
    reasons += [f"grade mix {grade_band}" for b in [grade_band] if b in (WATCH, SHIFT)]
    if action.band in (WATCH, SHIFT):
        reasons.append(f"orange/red share x{action.ratio:.1f} ({action.band})")
    if SHIFT in bands or (len(judged) and share > rule.dataset_share):
        status = BREACH
        if len(judged) and share > rule.dataset_share:
            reasons.append(f"{share:.0%} of inputs shifted")
    elif WATCH in bands:
        status = WATCH
    elif TOO_SMALL in (pd_band,):
        status = TOO_SMALL
    else:
        status = STABLE
    top = inputs.sort_values("psi", ascending=False).head(3)
    return {
        AS_OF: as_of,
        "dimension": segment.dimension,
        "segment": segment.name,
        "n_reference": ref.rows,
        "n_reference_loans": ref.loans,
        "n_current": cur.rows,
        "pd_psi": float(by_column.at[PD_FIGURE, "psi"]),
        "pd_noise": float(by_column.at[PD_FIGURE, "noise"]),
        "pd_band": pd_band,
        "grade_psi": float(by_column.at[GRADE_FIGURE, "psi"]),
        "grade_band": grade_band,
        "mean_pd_reference": ref.mean_pd,
        "mean_pd_current": cur.mean_pd,
        "action_share_reference": ref.share(ACTION_GRADES),
        "action_share_current": cur.share(ACTION_GRADES),
        "action_ratio": action.ratio,
        "action_p": action.p_value,
        "action_band": action.band,
        "inputs_watch": int((judged["band"] == WATCH).sum()),
        "inputs_shift": len(shifted),
        "drifted_input_share": share,
        "top_inputs": "; ".join(
            f"{c} {p:.3f}" for c, p in zip(top["column"], top["psi"], strict=True)
        ),
        "status": status,
        "reason": ", ".join(reasons) if reasons else "",
    }


def _grade_mix(as_of: object, segment: Segment, ref: _Part, cur: _Part) -> list[dict[str, object]]:
    return [
        {
            AS_OF: as_of,
            "segment": segment.name,
            GRADE: grade,
            "share_reference": float(ref.grades[grade]) / max(ref.rows, 1),
            "share_current": float(cur.grades[grade]) / max(cur.rows, 1),
            "n_reference": ref.rows,
            "n_current": cur.rows,
        }
        for grade in GRADE_ORDER
    ]

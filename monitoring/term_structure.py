"""What a 12-month PD implies for a shorter window, fitted on matured outcomes.

Single responsibility: map ``pd_12m`` to P(default within h months) for the early reads
(``monitoring.performance.early_reads``), which judge a month on its 3- and 6-month outcomes
long before the 12-month ones mature.

Why not ``1 - (1 - pd) ** (h / 12)``: that spreads the 12-month hazard evenly over the year,
but a default (S3) needs 90 days past due, so a loan current at ``as_of`` can reach S3 at the
earliest with the statement three months on, and most defaults of a year ahead come late in
it; the loans that do default within three months are mostly those already behind. The shape
depends on the book, so it is measured: for each window an isotonic regression of
``defaulted_{h}m`` on ``pd_12m`` over the rows whose h-month window has matured, on the
champion's development months (where its PDs are calibrated). Isotonic because the implied
probability must rise with the PD and nothing else is assumed about its shape.

Two constraints that hold for the true probabilities are then imposed on the fitted curves,
because each window is fitted on its own rows and noise can break them: a default within h
months is a default within any longer window, so the implied probabilities never fall as the
window grows (a running minimum from the longest window down); and a window no longer than 12
months never exceeds the PD itself (``cap_at_pd``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_is_fitted

from features.labels import DEFAULT_HORIZON
from monitoring.frames import PD
from monitoring.outcomes import defaulted_column, matured_column, performing

#: The early windows read before the 12-month outcomes mature.
EARLY_WINDOWS: Final = (3, 6)


class TermStructureError(ValueError):
    """The term structure cannot be fitted or applied (no matured rows, an unfitted window)."""


class TermStructure(BaseEstimator):
    """Implied h-month default probability as a monotone function of ``pd_12m``.

    Parameters
    ----------
    windows : sequence of int
        Outcome windows in months (3 and 6 by default).
    probability : str
        The 12-month PD column of the frames given to ``fit`` and ``transform``.
    cap_at_pd : bool
        Never imply more for a window of at most 12 months than the 12-month PD itself.

    Attributes
    ----------
    windows_ : tuple of int
        The fitted windows, ascending.
    isotonic_ : dict of int to IsotonicRegression
        The fitted regression of each window.
    n_rows_, n_defaults_ : dict of int to int
        Matured rows and defaults each window was fitted on (how much evidence the curve has).
    """

    def __init__(
        self,
        windows: Sequence[int] = EARLY_WINDOWS,
        probability: str = PD,
        cap_at_pd: bool = True,
    ) -> None:
        self.windows = windows
        self.probability = probability
        self.cap_at_pd = cap_at_pd

    def fit(self, X: pd.DataFrame, y: object = None) -> TermStructure:
        """Fit each window on the rows of ``X`` whose window has matured.

        ``X`` is a scored frame joined to outcomes (``monitoring.outcomes.join_outcomes``):
        the PD column and ``defaulted_{h}m`` / ``matured_{h}m`` for every window. ``y`` is
        ignored (the outcomes are columns of ``X``, one per window).
        """
        windows = tuple(sorted(int(h) for h in self.windows))
        if not windows or windows[0] < 1 or len(set(windows)) != len(windows):
            raise TermStructureError(f"windows must be distinct months >= 1, got {self.windows}")
        wanted = [self.probability, *(c for h in windows for c in _outcome(h))]
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise TermStructureError(f"the reference frame lacks column(s) {missing}")
        isotonic, rows, defaults = {}, {}, {}
        for h in windows:
            matured = X[matured_column(h)].to_numpy(dtype=bool)
            if not matured.any():
                raise TermStructureError(f"no row of the reference frame has a matured {h}m window")
            p = X[self.probability].to_numpy(dtype=float)[matured]
            event = X[defaulted_column(h)].to_numpy(dtype=bool)[matured].astype(float)
            model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            isotonic[h] = model.fit(p, event)
            rows[h], defaults[h] = int(matured.sum()), int(event.sum())
        self.windows_ = windows
        self.isotonic_ = isotonic
        self.n_rows_ = rows
        self.n_defaults_ = defaults
        return self

    def implied(self, pd_12m: np.ndarray | pd.Series, window: int) -> np.ndarray:
        """P(default within ``window`` months) implied by each 12-month PD."""
        check_is_fitted(self, "isotonic_")
        if window not in self.windows_:
            raise TermStructureError(
                f"the term structure was fitted for windows {self.windows_}, not {window}"
            )
        return self._curves(np.asarray(pd_12m, dtype=float))[:, self.windows_.index(window)]

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Implied probabilities, one column per window of ``windows_`` (ascending).

        ``X`` is a frame with the PD column, or the PDs themselves (1-D).
        """
        check_is_fitted(self, "isotonic_")
        if isinstance(X, pd.DataFrame):
            if self.probability not in X.columns:
                raise TermStructureError(f"the frame lacks the PD column {self.probability!r}")
            values = X[self.probability].to_numpy(dtype=float)
        else:
            values = np.asarray(X, dtype=float).reshape(-1)
        return self._curves(values)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``pd_3m``, ``pd_6m``: names of the ``transform`` columns."""
        check_is_fitted(self, "isotonic_")
        return np.array([f"pd_{h}m" for h in self.windows_], dtype=object)

    def _curves(self, p: np.ndarray) -> np.ndarray:
        raw = np.column_stack([self.isotonic_[h].predict(p) for h in self.windows_])
        nested = np.minimum.accumulate(raw[:, ::-1], axis=1)[:, ::-1]
        if self.cap_at_pd:
            capped = np.array([h <= DEFAULT_HORIZON for h in self.windows_])
            nested[:, capped] = np.minimum(nested[:, capped], p[:, None])
        return nested


def _outcome(window: int) -> tuple[str, str]:
    return defaulted_column(window), matured_column(window)


def fit_term_structure(
    reference_frame: pd.DataFrame, windows: Sequence[int] = EARLY_WINDOWS
) -> TermStructure:
    """The curves of the champion's development months: ``TermStructure(windows)`` fitted on
    the rows of ``reference_frame`` that are predictions (``monitoring.outcomes.performing``:
    not already 90+ DPD) and, per window, whose h-month outcome has matured."""
    return TermStructure(windows=tuple(windows)).fit(performing(reference_frame))

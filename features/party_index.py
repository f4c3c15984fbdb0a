"""The unified Party-building index: one 0-100 scale across every area's native standard.

The six Huzhou areas rate Party organizations on incomparable scales (stars, letters, scores,
tiers), each with its own leniency: five stars in a lenient county is not five stars in a strict
district. The unifier maps each (issuing area, native level) to its **mid-rank percentile among
the ratings that area issued in the reference period**:

    unified(area, level) = 100 * (share of the area's ratings below level
                                  + share at or below level) / 2

so a level means "better than this share of organizations rated by the same area". This is the
only assumption: the organizations each area rates are alike in Party-building quality on the
whole, so differences in the distribution of native levels are differences in leniency. It needs
no outcomes (the index is not a credit score) and it is monotone in the native level within an
area by construction.

* Unseen levels of a known standard get the cumulative share at their place on the scale (the
  mid-rank of an empty level), so every level of the standard has a value.
* An area with fewer than ``min_area_ratings`` reference ratings (or none: a new area outside the
  pilot) is mapped through the pooled distribution of its standard across all areas.
* A standard never seen, or a missing level (an unrated borrower), gives NaN: "no rating" is
  information the feature pipeline keeps as its own indicator, never a silent zero.

Fit only on ratings awarded in the training period; ``crosswalk_`` is the published table, and
``PartyIndexUnifier.from_crosswalk`` restores a fitted unifier from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from features.party_scales import STANDARDS

INPUT_COLUMNS = ("issuing_area", "native_standard", "native_level")
POOLED = "(pooled)"
#: Columns of the published cross-walk (``crosswalk_``, ``party_crosswalk.csv``).
CROSSWALK_COLUMNS = (
    "issuing_area",
    "native_standard",
    "native_level",
    "rank",
    "count",
    "unified",
    "source",
)
SOURCES = ("area", "pooled")


def _as_columns(X: Any) -> dict[str, np.ndarray]:
    """Accept a DataFrame with the input columns, or any 3-column array-like in that order.

    Area and standard become strings; a missing level stays None (an unrated borrower).
    Sparse, 1-D or column-less input is refused with scikit-learn's own messages; no rows is
    accepted here (a request without ratings), ``fit`` refuses it.
    """
    if isinstance(X, pd.DataFrame) and set(INPUT_COLUMNS) <= set(X.columns):
        columns = [X[c].to_numpy(dtype=object) for c in INPUT_COLUMNS]
    else:
        values = check_array(X, dtype=object, ensure_all_finite=False, ensure_min_samples=0)
        if values.ndim != 2 or values.shape[1] != len(INPUT_COLUMNS):
            raise ValueError(
                f"expected the columns {', '.join(INPUT_COLUMNS)} (or a 3-column array), "
                f"got shape {values.shape}"
            )
        columns = [values[:, i] for i in range(len(INPUT_COLUMNS))]
    level = columns[2]
    missing = pd.isna(level)
    return {
        "issuing_area": columns[0].astype(str),
        "native_standard": columns[1].astype(str),
        "native_level": np.where(missing, None, level.astype(str)),
    }


def _level_rank(standard: pd.Series, level: pd.Series) -> np.ndarray:
    """Position of each level on its standard's scale; -1 if the standard or level is unknown."""
    rank = np.full(len(level), -1, dtype=np.int64)
    for name, scale in STANDARDS.items():
        rows = (standard == name).to_numpy()
        if rows.any():
            lookup = pd.Series(range(len(scale.levels)), index=list(scale.levels))
            found = level[rows].map(lookup)
            rank[rows] = found.fillna(-1).astype(np.int64).to_numpy()
    return rank


def _midranks(counts: np.ndarray) -> np.ndarray:
    """Mid-rank percentile (0-100) of every level given the count at each level."""
    share = counts / counts.sum()
    below = np.concatenate([[0.0], np.cumsum(share)[:-1]])
    return 100.0 * (below + np.cumsum(share)) / 2.0


def _crosswalk(ref: pd.DataFrame, min_area_ratings: int) -> pd.DataFrame:
    """The cross-walk table from reference ratings (``issuing_area``, ``native_standard`` and the
    level's ``rank`` on its scale): the pooled distribution of every standard, then every area
    with at least ``min_area_ratings`` ratings of its standard."""
    groups = [(POOLED, std, g) for std, g in ref.groupby("native_standard")]
    groups += [
        (area, std, g) for (area, std), g in ref.groupby(["issuing_area", "native_standard"])
    ]
    rows: list[pd.DataFrame] = []
    for area, standard, group in groups:
        levels = STANDARDS[standard].levels
        counts = np.bincount(group["rank"], minlength=len(levels)).astype(float)
        pooled = area == POOLED
        if not pooled and counts.sum() < min_area_ratings:
            continue
        rows.append(
            pd.DataFrame(
                {
                    "issuing_area": area,
                    "native_standard": standard,
                    "native_level": list(levels),
                    "rank": np.arange(len(levels)),
                    "count": counts.astype(np.int64),
                    "unified": _midranks(counts),
                    "source": "pooled" if pooled else "area",
                }
            )
        )
    if not rows:
        return _typed(pd.DataFrame(columns=list(CROSSWALK_COLUMNS)))
    return pd.concat(rows, ignore_index=True)


def _typed(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """The cross-walk columns with the dtypes ``fit`` gives them.

    A CSV read back by pandas has numbers for a level column holding only numeric scales
    (``4`` stars, ``87`` points), and object or integer columns elsewhere; the lookups key on
    strings, so a level must be the text ``"4"`` again.
    """
    missing = [c for c in CROSSWALK_COLUMNS if c not in crosswalk.columns]
    if missing:
        raise ValueError(f"the cross-walk lacks the column(s) {', '.join(missing)}")
    level = crosswalk["native_level"]
    if pd.api.types.is_numeric_dtype(level):
        level = level.astype(np.int64)
    return pd.DataFrame(
        {
            "issuing_area": crosswalk["issuing_area"].astype(str).to_numpy(dtype=object),
            "native_standard": crosswalk["native_standard"].astype(str).to_numpy(dtype=object),
            "native_level": level.astype(str).to_numpy(dtype=object),
            "rank": crosswalk["rank"].to_numpy(dtype=np.int64),
            "count": crosswalk["count"].to_numpy(dtype=np.int64),
            "unified": crosswalk["unified"].to_numpy(dtype=np.float64),
            "source": crosswalk["source"].astype(str).to_numpy(dtype=object),
        }
    )


def _unified_from_counts(crosswalk: pd.DataFrame) -> np.ndarray:
    """Each row's index recomputed from the counts of its (area, standard) block, as ``fit``
    computes it.

    A CSV round trip of the float ``unified`` column may be off in the last bit; the integer
    counts are exact, so a restored unifier recomputes from them and maps every rating exactly
    as the fitted one did.
    """
    unified = np.full(len(crosswalk), np.nan)
    rank = crosswalk["rank"].to_numpy()
    count = crosswalk["count"].to_numpy().astype(float)
    blocks = crosswalk.groupby(["issuing_area", "native_standard"], sort=False).indices
    for rows in blocks.values():
        ordered = rows[np.argsort(rank[rows], kind="stable")]
        unified[ordered] = _midranks(count[ordered])
    return unified


def _restored(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """A published cross-walk, typed and checked, with ``unified`` recomputed from the counts.

    Raises ``ValueError`` if a column is missing, a ``source`` is neither "area" nor "pooled",
    or the published ``unified`` disagrees with the counts (an edited or truncated table).
    """
    table = _typed(crosswalk)
    unknown = sorted(set(table["source"]) - set(SOURCES))
    if unknown:
        raise ValueError(f"the cross-walk has unknown source(s) {', '.join(unknown)}")
    unified = _unified_from_counts(table)
    off = ~np.isclose(unified, table["unified"].to_numpy(), rtol=0.0, atol=1e-9)
    if off.any():
        raise ValueError(
            f"the cross-walk's unified index disagrees with its counts in {off.sum()} row(s), "
            f"first at row {int(np.flatnonzero(off)[0])}"
        )
    return table.assign(unified=unified)


def _lookups(
    crosswalk: pd.DataFrame,
) -> tuple[dict[tuple[str, str, str], float], dict[tuple[str, str], float]]:
    """(area, standard, level) -> index of areas with their own block, and (standard, level)
    -> index of the pooled blocks.

    Plain dictionaries: a lookup per rating costs microseconds, which the online path needs.
    """
    own = crosswalk[crosswalk["source"] == "area"]
    pooled = crosswalk[crosswalk["source"] == "pooled"]
    area_keys = zip(own["issuing_area"], own["native_standard"], own["native_level"], strict=True)
    pooled_keys = zip(pooled["native_standard"], pooled["native_level"], strict=True)
    return (
        dict(zip(area_keys, own["unified"], strict=True)),
        dict(zip(pooled_keys, pooled["unified"], strict=True)),
    )


class PartyIndexUnifier(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):  # type: ignore[call-arg]
    """Map (issuing area, native standard, native level) to the unified 0-100 index.

    Parameters
    ----------
    min_area_ratings : int
        Reference ratings an area needs for its own cross-walk; below it the standard's pooled
        distribution is used.

    Attributes
    ----------
    crosswalk_ : DataFrame
        One row per (issuing_area, native_standard, native_level) with ``rank``, ``count`` in
        the reference period, ``unified`` and ``source`` ("area" or "pooled"); pooled rows
        carry ``issuing_area == "(pooled)"``.
    n_features_in_ : int
        Always 3.
    """

    def __init__(self, min_area_ratings: int = 30) -> None:
        self.min_area_ratings = min_area_ratings

    def fit(self, X: Any, y: Any = None) -> PartyIndexUnifier:
        """Learn each area's level distribution from reference ratings ``X``."""
        frame = pd.DataFrame(_as_columns(X))
        if frame.empty:
            raise ValueError(
                "PartyIndexUnifier needs at least one reference rating: found 0 sample(s) "
                f"(shape={np.shape(X)}) while a minimum of 1 is required"
            )
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(INPUT_COLUMNS, dtype=object)
        elif hasattr(self, "feature_names_in_"):  # a refit on an array has no names
            del self.feature_names_in_
        rank = _level_rank(frame["native_standard"], frame["native_level"])
        known = rank >= 0
        reference = frame[known].assign(rank=rank[known])
        self._use_crosswalk(_crosswalk(reference, self.min_area_ratings))
        return self

    @classmethod
    def from_crosswalk(
        cls, crosswalk: pd.DataFrame, min_area_ratings: int = 30
    ) -> PartyIndexUnifier:
        """A fitted unifier rebuilt from its published ``crosswalk_`` table.

        Training logs the table (``party_crosswalk.csv``) instead of a pickle, so the service
        restores the exact mapping from a reviewable file. Column types are normalised (a CSV
        read back turns levels such as ``4`` into numbers) and ``unified`` is recomputed from
        the exact integer counts, so every rating maps bit for bit as in the fitted unifier.

        Parameters
        ----------
        crosswalk : DataFrame
            The table with the columns of ``CROSSWALK_COLUMNS``, e.g. ``pd.read_csv`` of
            ``party_crosswalk.csv``.
        min_area_ratings : int
            The value the table was fitted with; kept for ``get_params`` only (the table
            already says which areas have their own block).

        Raises
        ------
        ValueError
            If columns are missing (named in the message), a ``source`` is unknown, or
            ``unified`` disagrees with the counts.
        """
        unifier = cls(min_area_ratings=min_area_ratings)
        unifier.feature_names_in_ = np.asarray(INPUT_COLUMNS, dtype=object)
        unifier._use_crosswalk(_restored(crosswalk))
        return unifier

    def _use_crosswalk(self, crosswalk: pd.DataFrame) -> None:
        """Set the fitted state from a typed cross-walk (both ``fit`` and ``from_crosswalk``)."""
        self.crosswalk_ = crosswalk
        self.n_features_in_ = len(INPUT_COLUMNS)
        self.area_values_, self.pooled_values_ = _lookups(crosswalk)

    def transform(self, X: Any) -> pd.DataFrame:
        """Unified index of each rating (NaN for a missing level or an unknown standard)."""
        check_is_fitted(self, "crosswalk_")
        frame = _as_columns(X)
        own, pooled = self.area_values_, self.pooled_values_
        value = np.array(
            [
                own.get((a, s, level), pooled.get((s, level), np.nan))
                for a, s, level in zip(
                    frame["issuing_area"],
                    frame["native_standard"],
                    frame["native_level"],
                    strict=True,
                )
            ],
            dtype=float,
        )
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame({"party_index": value}, index=index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The single output column, ``party_index``."""
        check_is_fitted(self, "crosswalk_")
        return np.asarray(["party_index"], dtype=object)

    def set_output(self, *, transform: str | None = None) -> PartyIndexUnifier:
        """Output is always a DataFrame; accepted for scikit-learn pipeline compatibility."""
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        # The output is the float index of label inputs, never the input's dtype.
        tags.transformer_tags.preserves_dtype = []
        return tags


def fit_party_index(
    ratings: pd.DataFrame, fit_until: pd.Timestamp | str, **params: Any
) -> PartyIndexUnifier:
    """Fit the unifier on ratings awarded on or before ``fit_until`` (the training period).

    A book with no rating before ``fit_until`` (a bank outside the six areas, say) gets the
    unifier of an empty cross-walk: every borrower's index is missing and ``party_unrated``
    carries the information. The estimator itself refuses an empty fit, as scikit-learn's
    contract asks."""
    reference = ratings[ratings["award_date"] <= pd.Timestamp(fit_until)]
    if reference.empty:
        nothing = pd.DataFrame(columns=list(CROSSWALK_COLUMNS))
        return PartyIndexUnifier.from_crosswalk(nothing, **params)
    return PartyIndexUnifier(**params).fit(reference)

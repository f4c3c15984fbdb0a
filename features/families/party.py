"""Party-building features: the latest rating known at ``as_of``, on the unified index.

A rating counts from its award date. Besides the unified index (``features.party_index``) the
family keeps the native facts a manager recognises (issuing area, native level, list level),
how old the rating is, the change since the previous rating, and whether the borrower is
unrated: "no rating" is information, not an error.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from features.families import Columns
from features.months import day_number, month_end, month_index
from features.party_index import PartyIndexUnifier

_SHIFT = 1 << 32
DOWNGRADE_POINTS = 10.0


def party_features(
    grid: pd.DataFrame,
    ratings: pd.DataFrame,
    borrower_codes: np.ndarray,
    unifier: PartyIndexUnifier,
) -> Columns:
    """Party family for every snapshot row (``grid`` has ``borrower_code``, ``as_of_month``)."""
    if ratings.empty:  # nobody rated at all: every row is unrated
        ratings = _no_ratings()
    day = day_number(ratings["award_date"])
    order = np.lexsort((day, borrower_codes))
    b, d = borrower_codes[order].astype(np.int64), day[order]
    unified = np.append(unifier.transform(ratings)["party_index"].to_numpy()[order], np.nan)
    award_month = np.append(month_index(ratings["award_date"].to_numpy()[order]), 0)
    key = b * _SHIFT + d
    rows_b = grid["borrower_code"].to_numpy().astype(np.int64)
    as_of_month = grid["as_of_month"].to_numpy()
    cutoff = day_number(month_end(as_of_month))
    last = np.searchsorted(key, rows_b * _SHIFT + cutoff, side="right") - 1
    # Position b.size is a sentinel "no rating" slot (NaN index, empty labels).
    b_ext = np.append(b, -1)
    last = np.where(last >= 0, last, b.size)
    rated = b_ext[last] == rows_b
    last = np.where(rated, last, b.size)
    prev = np.where(rated & (last >= 1), last - 1, b.size)
    prev = np.where(b_ext[prev] == rows_b, prev, b.size)

    def pick(column: str) -> np.ndarray:
        # Plain labels (None when unrated): the category set of a label depends on which
        # ratings a request carries, so the model's preprocessing fixes the categories.
        values = ratings[column].to_numpy(dtype=object)[order]
        return np.concatenate([values, np.array([None], dtype=object)])[last]

    index_now = unified[last]
    change = index_now - unified[prev]
    return {
        "party_index": index_now,
        "party_unrated": ~rated,
        "party_native_level": pick("native_level"),
        "party_issuing_area": pick("issuing_area"),
        "party_list_level": pick("list_level"),
        "party_rating_age_months": np.where(rated, as_of_month - award_month[last], np.nan),
        "party_index_change": change,
        "party_recent_downgrade": change < -DOWNGRADE_POINTS,
    }


@cache
def _no_ratings() -> pd.DataFrame:
    """An empty ratings table in plain dtypes, made once: one borrower's request often has no
    rating, and building it anew cost more than the rest of the family. Never modified."""
    return pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ("native_level", "issuing_area", "list_level")}
    ).assign(award_date=pd.Series(dtype="datetime64[ns]"), native_standard=pd.Series(dtype=object))

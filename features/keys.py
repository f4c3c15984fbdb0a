"""Resolving foreign keys to row positions, the one join every stage needs.

The contract checks that each child row's key exists in its parent table, and the snapshot
builder turns keys into integer codes; both ask "which parent row holds this key?".
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class KeyIndex:
    """Parent keys indexed once, for many lookups.

    A key repeated in the parent resolves to its first row (the repetition is reported by the
    parent's uniqueness rule); a null parent key matches nothing.
    """

    def __init__(self, parent_keys: pd.Series) -> None:
        values = parent_keys.to_numpy(dtype=object)
        index = pd.Index(values)
        if index.is_unique and not index.hasnans:  # the usual, validated case: no copy
            self._index, self._rows = index, np.r_[np.arange(values.size), -1]
            return
        usable = pd.notna(values) & ~index.duplicated()
        self._index = pd.Index(values[usable])
        self._rows = np.r_[np.flatnonzero(usable), -1]

    def positions(self, keys: pd.Series) -> np.ndarray:
        """Row position in the parent of each key; -1 if absent or null.

        Categorical keys with fewer categories than rows are looked up once per category (17
        million signal rows share 100,000 borrower ids); a handful of rows (one borrower's, on
        the online path) is looked up row by row even when it carries the whole book's
        categories.
        """
        if isinstance(keys.dtype, pd.CategoricalDtype) and len(keys.cat.categories) < len(keys):
            per_category = self._index.get_indexer(keys.cat.categories.astype(object))
            found = np.r_[per_category, -1][keys.cat.codes.to_numpy()]
        else:
            found = self._index.get_indexer(keys.to_numpy(dtype=object))
        return np.where(found >= 0, self._rows[found], -1).astype(np.int64)


def parent_positions(keys: pd.Series, parent_keys: pd.Series) -> np.ndarray:
    """Row position in the parent table of each entry of ``keys``; -1 if none (or null)."""
    return KeyIndex(parent_keys).positions(keys)

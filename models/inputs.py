"""The model's input contract: which snapshot columns a model reads, with which categories.

Snapshots carry keys (``loan_id``, ``borrower_id``, ``as_of``) and labels that a model must never
read (a loan id must not change a score), and label-like text columns. ``to_model_input`` keeps
the columns the feature catalogue declares (``features.catalog``, the one allow-list) and gives
every categorical one the full vocabulary of the contract as its categories, so a batch of a
whole book and one borrower's request encode "farmer" or "AA" with the same code (LightGBM
reads pandas categoricals by code).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from features.catalog import CATEGORY_LEVELS, FEATURE_BY_NAME

__all__ = ["CATEGORY_LEVELS", "model_features", "to_model_input"]


def model_features(columns: object) -> list[str]:
    """The declared features (``features.catalog``) among ``columns``, in their order: an
    allow-list, so a column the catalogue does not declare (a key, a label, a helper column)
    never reaches a model."""
    return [c for c in columns if c in FEATURE_BY_NAME]  # type: ignore[attr-defined]


_CATEGORY_DTYPES: Final = {c: pd.CategoricalDtype(list(v)) for c, v in CATEGORY_LEVELS.items()}


def to_model_input(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Feature columns of ``snapshots`` with fixed categories (unknown labels become NaN)."""
    features = model_features(snapshots.columns)
    text = [c for c in features if snapshots[c].dtype == object and c not in CATEGORY_LEVELS]
    numbers = [c for c in features if c not in CATEGORY_LEVELS and c not in text]
    out: dict[str, object] = {}
    if numbers:  # numbers and flags as float64 in one block conversion, not one per column
        block = snapshots[numbers].to_numpy(dtype=np.float64, na_value=np.nan)
        out.update(zip(numbers, block.T, strict=True))
    for column in text:  # text that should be numbers: pandas names the bad value
        out[column] = pd.to_numeric(snapshots[column]).astype("float64").to_numpy()
    for column in features:
        if column in CATEGORY_LEVELS:
            out[column] = _fixed_categories(snapshots[column], _CATEGORY_DTYPES[column])
    # One constructor, in the snapshot's column order: this runs on every online request.
    return pd.DataFrame({c: out[c] for c in features}, index=snapshots.index)


def _fixed_categories(values: pd.Series, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """``values`` coded in the contract's vocabulary ``dtype`` (-1, i.e. NaN, if outside it),
    looking each distinct label up once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        per_label = dtype.categories.get_indexer(values.cat.categories.astype(object))
        codes = np.r_[per_label, -1][values.cat.codes.to_numpy()]
    else:
        codes = dtype.categories.get_indexer(values.to_numpy(dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype)

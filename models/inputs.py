"""The model's input contract: which snapshot columns a model reads, with which categories.

Snapshots carry keys (``loan_id``, ``borrower_id``, ``as_of``) and labels that a model must never
read (a loan id must not change a score), and label-like text columns. ``to_model_input`` keeps
the feature columns and gives every categorical one the full vocabulary of the contract as its
categories, so a batch of a whole book and one borrower's request encode "farmer" or "AA" with
the same code (LightGBM reads pandas categoricals by code).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from features import vocab
from features.party_scales import STANDARDS
from features.snapshots import ID_COLUMNS, LABEL_COLUMNS

NOT_FEATURES: Final = (*ID_COLUMNS, *LABEL_COLUMNS)

CATEGORY_LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "borrower_type": vocab.BORROWER_TYPES,
    "industry": vocab.INDUSTRIES,
    "area": vocab.AREAS,
    "size": vocab.SIZES,
    "bank": vocab.BANKS,
    "product": vocab.PRODUCTS,
    "party_issuing_area": vocab.AREAS,
    "party_list_level": vocab.LIST_LEVELS,
    "party_native_level": tuple(
        sorted({level for standard in STANDARDS.values() for level in standard.levels})
    ),
}


_CATEGORY_DTYPES: Final = {c: pd.CategoricalDtype(list(v)) for c, v in CATEGORY_LEVELS.items()}


def to_model_input(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Feature columns of ``snapshots`` with fixed categories (unknown labels become NaN)."""
    out = {}
    for column in snapshots.columns:
        if column in NOT_FEATURES:
            continue
        values = snapshots[column]
        if column in CATEGORY_LEVELS:
            out[column] = pd.Categorical(values.astype(object), dtype=_CATEGORY_DTYPES[column])
        elif values.dtype == object:  # text that should be numbers: pandas names the bad value
            out[column] = pd.to_numeric(values).astype("float64").to_numpy()
        else:  # numbers and flags as float64: a JSON request may leave any of them missing
            out[column] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    # One constructor: this runs on every online request (per-column Series cost ~16 ms a row).
    return pd.DataFrame(out, index=snapshots.index)

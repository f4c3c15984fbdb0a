"""The out-of-time split: train on earlier months, calibrate on later ones, test on the last.

A credit model is used on months it has never seen, so it is judged that way: snapshot rows are
assigned to roles by their as-of month, and a share of borrowers (chosen by a stable hash of the
borrower id, so the choice does not depend on row order or on which months are loaded) is held
out for the test window only, so no borrower is both learnt from and tested on. Only labeled rows
(matured outcome windows) take part; the rest are ``unused``. ``borrower_folds`` numbers
borrowers into folds the same stable way, for the cross-fitted calibration (``training.pipeline``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ROLES = ("train", "calibrate", "test", "unused")


@dataclass(frozen=True)
class SplitPlan:
    """Month boundaries (inclusive ends, ``YYYY-MM``) and the held-out borrower share."""

    train_until: str
    calibrate_until: str
    test_until: str | None = None
    test_borrower_share: float = 0.3
    salt: str = "ews-split-v1"

    def __post_init__(self) -> None:
        ends = [pd.Period(self.train_until, "M"), pd.Period(self.calibrate_until, "M")]
        if self.test_until is not None:
            ends.append(pd.Period(self.test_until, "M"))
        if ends != sorted(ends) or len(set(ends)) != len(ends):
            raise ValueError(
                "split months must increase: train_until < calibrate_until < test_until"
            )
        if not 0 < self.test_borrower_share < 1:
            raise ValueError("test_borrower_share must lie strictly between 0 and 1")


def held_out_borrowers(borrower_ids: pd.Series, share: float, salt: str) -> np.ndarray:
    """Whether each borrower id is reserved for testing (stable across runs and row orders)."""
    keys = borrower_ids.astype(str) + "|" + salt
    hashed = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return (hashed % np.uint64(10_000)) < np.uint64(round(share * 10_000))


def borrower_folds(borrower_ids: pd.Series, folds: int, salt: str) -> np.ndarray:
    """Fold number 0..``folds``-1 of each row's borrower, by a stable hash of the borrower id
    (all rows of a borrower in one fold, whatever the row order or the months loaded)."""
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    keys = borrower_ids.astype(str) + "|" + salt
    hashed = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return (hashed % np.uint64(folds)).astype(np.int64)


def assign_roles(snapshots: pd.DataFrame, plan: SplitPlan) -> pd.Series:
    """Role of each snapshot row: ``train``, ``calibrate``, ``test`` or ``unused``."""
    month = snapshots["as_of"].dt.to_period("M")
    held_out = held_out_borrowers(snapshots["borrower_id"], plan.test_borrower_share, plan.salt)
    labeled = snapshots["labeled"].to_numpy(dtype=bool)
    train_end = pd.Period(plan.train_until, "M")
    calibrate_end = pd.Period(plan.calibrate_until, "M")
    in_test_window = (month > calibrate_end).to_numpy()
    if plan.test_until is not None:
        in_test_window &= (month <= pd.Period(plan.test_until, "M")).to_numpy()
    role = np.full(len(snapshots), "unused", dtype=object)
    role[labeled & ~held_out & (month <= train_end).to_numpy()] = "train"
    role[labeled & ~held_out & ((month > train_end) & (month <= calibrate_end)).to_numpy()] = (
        "calibrate"
    )
    role[labeled & held_out & in_test_window] = "test"
    return pd.Series(
        pd.Categorical(role, categories=list(ROLES)), index=snapshots.index, name="role"
    )

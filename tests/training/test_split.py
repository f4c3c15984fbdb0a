"""The out-of-time split keeps time order and never tests on a borrower it learnt from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.split import SplitPlan, assign_roles, borrower_folds, held_out_borrowers


def _snapshots(n_borrowers: int = 400) -> pd.DataFrame:
    months = pd.period_range("2023-01", "2024-12", freq="M").to_timestamp(how="end").normalize()
    rows = [(f"B{b:07d}", m) for b in range(n_borrowers) for m in months]
    frame = pd.DataFrame(rows, columns=["borrower_id", "as_of"])
    frame["labeled"] = frame["as_of"] <= "2024-06-30"  # windows after that have not matured
    return frame


PLAN = SplitPlan(train_until="2023-09", calibrate_until="2023-12", test_until="2024-06")


def test_roles_follow_time_and_borrowers_never_cross():
    snap = _snapshots()
    role = assign_roles(snap, PLAN)
    month = snap["as_of"].dt.to_period("M")
    assert month[role == "train"].max() <= pd.Period("2023-09", "M")
    assert month[role == "calibrate"].min() > pd.Period("2023-09", "M")
    assert month[role == "test"].min() > pd.Period("2023-12", "M")
    learnt = set(snap.loc[role.isin(["train", "calibrate"]), "borrower_id"])
    tested = set(snap.loc[role == "test", "borrower_id"])
    assert tested and learnt and not (learnt & tested)
    assert (role[~snap["labeled"]] == "unused").all()


def test_held_out_share_is_stable_and_about_right():
    ids = pd.Series([f"B{i:07d}" for i in range(20_000)])
    held = held_out_borrowers(ids, 0.3, "s")
    assert abs(held.mean() - 0.3) < 0.02
    shuffled = ids.sample(frac=1.0, random_state=1)
    np.testing.assert_array_equal(held_out_borrowers(shuffled, 0.3, "s"), held[shuffled.index])
    assert not np.array_equal(held_out_borrowers(ids, 0.3, "other salt"), held)


def test_plans_with_months_out_of_order_are_refused():
    with pytest.raises(ValueError, match="must increase"):
        SplitPlan(train_until="2024-01", calibrate_until="2023-12")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        SplitPlan(train_until="2023-01", calibrate_until="2023-06", test_borrower_share=1.0)


def test_borrower_folds_keep_a_borrower_together_and_do_not_depend_on_row_order():
    ids = pd.Series([f"B{i:07d}" for i in range(9_000)])
    folds = borrower_folds(ids, 3, "s")
    assert set(folds) == {0, 1, 2}
    assert np.abs(np.bincount(folds) / ids.size - 1 / 3).max() < 0.02
    shuffled = ids.sample(frac=1.0, random_state=1)
    np.testing.assert_array_equal(borrower_folds(shuffled, 3, "s"), folds[shuffled.index])
    repeated = pd.concat([ids, ids], ignore_index=True)  # a borrower's monthly rows
    np.testing.assert_array_equal(borrower_folds(repeated, 3, "s"), np.tile(folds, 2))
    assert not np.array_equal(borrower_folds(ids, 3, "other salt"), folds)
    with pytest.raises(ValueError, match="at least 2"):
        borrower_folds(ids, 1, "s")


def test_the_trees_fit_the_calibration_window_only_when_configured():
    from training.pipeline import TrainingConfig, split_rows

    snap = _snapshots(200)
    months = {"first_as_of": "2023-01", "train_until": "2023-09", "calibrate_until": "2023-12"}
    for fit_calibration in (True, False):
        config = TrainingConfig(
            **months, test_until="2024-06", fit_calibration_window=fit_calibration
        )
        rows = split_rows(snap, config)
        role = assign_roles(snap, PLAN).to_numpy()
        np.testing.assert_array_equal(rows.train, role == "train")
        np.testing.assert_array_equal(rows.calibrate, role == "calibrate")
        np.testing.assert_array_equal(rows.test, role == "test")
        expected = rows.train | rows.calibrate if fit_calibration else rows.train
        np.testing.assert_array_equal(rows.fit, expected)
        assert not (rows.fit & rows.test).any()

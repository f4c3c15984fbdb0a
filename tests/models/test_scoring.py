"""The scoring core: one probability frame for every model, monotone across thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.scoring import probability_frame


def test_a_three_threshold_model_gives_its_own_columns():
    cumulative = np.array([[0.5, 0.2, 0.1], [0.3, 0.3, 0.0]])
    frame = probability_frame(np.array([0, 1, 2, 3]), cumulative)
    assert list(frame.columns) == ["p_s1", "p_s2", "p_s3"]
    np.testing.assert_array_equal(frame.to_numpy(), cumulative)


def test_a_binary_default_model_gives_a_monotone_frame_with_its_pd_in_p_s3():
    """Serving named a one-column model's probability p_s1 and training p_s3; now both p_s3,
    and the thresholds it lacks stay monotone (P(S>=1) is at least the PD)."""
    frame = probability_frame(np.array([0, 3]), np.array([[0.07], [0.2]]))
    assert frame["p_s3"].tolist() == [0.07, 0.2]
    assert (frame["p_s1"] >= frame["p_s2"]).all() and (frame["p_s2"] >= frame["p_s3"]).all()


def test_a_model_without_the_default_threshold_has_a_zero_pd():
    frame = probability_frame(np.array([0, 1]), np.array([[0.4]]))
    assert frame.iloc[0].to_dict() == {"p_s1": 0.4, "p_s2": 0.0, "p_s3": 0.0}
    assert isinstance(frame, pd.DataFrame)

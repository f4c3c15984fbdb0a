"""Pure parts of the scoring path: request records to raw tables, model inputs to JSON."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from features.schemas import DATE
from serving.scoring import ScoredLoans, _days, json_value


def _scored(inputs: pd.DataFrame) -> ScoredLoans:
    n = len(inputs)
    return ScoredLoans(
        keys=pd.DataFrame({"loan_id": [f"L{i}" for i in range(n)]}),
        inputs=inputs,
        proba=pd.DataFrame({"p_s3": np.zeros(n)}),
        grades=pd.Series(["green"] * n),
        dpd=np.zeros(n),
        stages=np.ones(n, dtype=np.int64),
        stage_basis=[""] * n,
        stage_basis_zh=[""] * n,
        reasons=[[] for _ in range(n)],
    )


def test_feature_dicts_give_each_value_as_json_value_does():
    """Built column by column, the records hold exactly what the value-by-value conversion
    gives: floats, None for NaN and for a missing label, labels as text, and flags of the
    feature catalogue as true/false (what ``/score_features`` takes back)."""
    inputs = pd.DataFrame(
        {
            "amount": [1.5e6, np.nan, 0.0],
            "delinquent_24m": np.array([1.0, 0.0, np.nan]),
            "area": pd.Categorical(["anji", None, "deqing"], categories=["anji", "deqing"]),
            "dpd_now": np.array([0.0, 31.0, -0.0]),
        }
    )
    got = _scored(inputs).feature_dicts()
    expected = [
        {c: json_value(bool(v) if c == "delinquent_24m" and v == v else v) for c, v in r.items()}
        for r in inputs.astype(object).to_dict("records")
    ]
    assert got == expected
    assert got[1] == {"amount": None, "delinquent_24m": False, "area": None, "dpd_now": 31.0}
    assert [row["delinquent_24m"] for row in got] == [True, False, None]
    assert all(type(v) in (float, str, bool, type(None)) for row in got for v in row.values())
    assert not any(isinstance(v, float) and math.isnan(v) for row in got for v in row.values())


def test_request_dates_become_the_contracts_datetimes():
    days = [date(1970, 1, 1), date(2025, 12, 31), None, date(1900, 3, 1), date(2199, 12, 31)]
    got = _days(days)
    assert got.dtype == np.dtype(DATE)
    expected = np.array(days[:2] + [None] + days[3:], dtype="datetime64[D]").astype(DATE)
    np.testing.assert_array_equal(got, expected)
    assert np.isnat(got[2])

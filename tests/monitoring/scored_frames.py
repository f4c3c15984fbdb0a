"""Synthetic scored frames (monitoring.frames) for drift tests: loans, segments, PDs, grades."""

from __future__ import annotations

import numpy as np
import pandas as pd

AREAS = ("anji", "deqing", "wuxing")
INDUSTRIES = ("manufacturing", "agriculture_livestock")
INPUTS = ("signal", "amount", "dpd_now", "area", "borrower_type", "industry")


def make_scored(
    rng: np.random.Generator,
    loans: int,
    months: list[str],
    *,
    start_key: int = 0,
    shift_where: tuple[str, str] | None = None,
    shift: float = 0.0,
) -> pd.DataFrame:
    """``loans`` loans scored in each of ``months``; the PD is a logistic of ``signal``, which
    moves by ``shift`` for loans in (area, industry) ``shift_where``."""
    area = rng.choice(AREAS, loans, p=[0.5, 0.3, 0.2])
    industry = rng.choice(INDUSTRIES, loans)
    kind = rng.choice(["farmer", "private_enterprise"], loans)
    level = rng.normal(0, 1, loans)
    amount = rng.lognormal(12, 1, loans)
    frames = []
    for month in months:
        signal = level + rng.normal(0, 0.3, loans)
        if shift_where is not None:
            hit = (area == shift_where[0]) & (industry == shift_where[1])
            signal = signal + shift * hit
        pd_12m = 1 / (1 + np.exp(-(signal - 3.0)))
        grade = np.select(
            [pd_12m < 0.02, pd_12m < 0.05, pd_12m < 0.1, pd_12m < 0.2],
            ["green", "blue", "yellow", "orange"],
            "red",
        )
        frames.append(
            pd.DataFrame(
                {
                    "as_of": pd.Period(month, "M").end_time.normalize(),
                    "loan_key": [f"L{start_key + i}" for i in range(loans)],
                    "p_s1": np.minimum(1, pd_12m * 3),
                    "p_s2": np.minimum(1, pd_12m * 2),
                    "p_s3": pd_12m,
                    "pd_12m": pd_12m,
                    "grade": grade,
                    "signal": signal,
                    "amount": amount,
                    "dpd_now": np.where(pd_12m > 0.6, 95.0, 0.0),
                    "area": pd.Categorical(area, categories=AREAS),
                    "borrower_type": pd.Categorical(kind),
                    "industry": pd.Categorical(industry, categories=INDUSTRIES),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)

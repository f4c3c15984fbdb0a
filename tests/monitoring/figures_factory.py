"""A small, seeded table of monthly monitoring figures, as the monitoring run produces them.

Every figure the dashboard panels show (monitoring's PANEL_FIGURES and the provision run's
PROVISION_PANEL_FIGURES), over ``months``
month ends; realized AUC only for the first months (later outcomes have not matured), a
second segment's PD PSI that the book panels must leave out, and a worst segment that changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.grade_policy import GRADES

FIRST_MONTH = "2025-01-31"
#: Months with a realized AUC (outcomes matured); the later months have none.
REALIZED_MONTHS = 2


def figures_table(months: int = 5, seed: int = 20261203) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    def add(as_of, figure, value, segment="book", label="", n=20_000):
        rows.append(
            {
                "as_of": as_of,
                "figure": figure,
                "segment": segment,
                "label": label,
                "value": float(value),
                "n": n,
            }
        )

    worst = ["area=deqing", "area x industry=deqing x manufacturing", "industry=retail"]
    for i, as_of in enumerate(pd.date_range(FIRST_MONTH, periods=months, freq="ME")):
        add(as_of, "drifted_input_share", 0.02 + 0.04 * i)
        add(as_of, "pd_psi", 0.03 + 0.05 * i)
        add(as_of, "pd_psi", 0.30 + 0.01 * i, segment="area=deqing", n=3_000)
        shares = rng.dirichlet(np.array([60, 20, 10, 6, 4]))
        for grade, share in zip(GRADES, shares, strict=True):
            add(as_of, "grade_share", share, label=grade)
        add(as_of, "segments_in_breach", float(i // 2), n=60)
        add(as_of, "action_share", 0.05 + 0.004 * i, label="current")
        add(as_of, "worst_segment_pd_psi", 0.2 + 0.03 * i, label=worst[i % len(worst)], n=800)
        observed, expected = 0.030 + 0.002 * i, 0.028 + 0.001 * i
        add(as_of, "observed_default_rate", observed, n=15_000)
        add(as_of, "expected_default_rate", expected, n=15_000)
        add(as_of, "oe_ratio", observed / expected, n=15_000)
        for horizon, scale in (("3m", 0.25), ("6m", 0.5)):
            add(as_of, "early_read_observed", observed * scale * (1 + 0.02 * i), label=horizon)
            add(as_of, "early_read_expected", expected * scale, label=horizon)
        add(as_of, "auc_estimated", 0.78 - 0.005 * i)
        if i < REALIZED_MONTHS:
            add(as_of, "auc_realized", 0.77 - 0.01 * i, n=12_000)
        # the provision run's figures (ews-provision run)
        modelled, approved = 9.0e6 + 2.0e5 * i, 1.0e5 * (i // 2)
        add(as_of, "allowance", modelled, label="modelled")
        add(as_of, "allowance", modelled + approved, label="booked")
        add(as_of, "overlays", 1.5e5, label="proposed", n=0)
        add(as_of, "overlays", approved, label="approved", n=0)
        for stage, share in ((1, 0.4), (2, 0.35), (3, 0.25)):
            add(as_of, "allowance_by_stage", share * modelled, label=f"stage {stage}")
        for area, share in (("anji", 0.2), ("deqing", 0.3 + 0.01 * i), ("wuxing", 0.5)):
            add(as_of, "allowance_by_area", share * modelled, label=area, n=4_000)
            add(as_of, "stage23_share_by_area", 0.05 + share / 10, label=area, n=4_000)
        add(as_of, "provision_coverage", 1.35 - 0.02 * i)
        add(as_of, "loan_provision_ratio", 0.019 + 0.0005 * i)
    return pd.DataFrame(rows)

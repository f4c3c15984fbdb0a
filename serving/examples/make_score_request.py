"""Write ``score_request.json``: a valid ``/score`` body for two borrowers of the demo book.

Run after ``make demo`` (or on any validated book):

    python serving/examples/make_score_request.py --data .ews/data/portfolio --as-of 2025-12

It picks one borrower whose loan is in arrears at ``as_of`` and one current borrower with a
Party-building rating, so the example shows both a warning and a quiet loan.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from features.snapshots import recent_history
from features.validation import load_validated_portfolio
from serving.client import score_request


def pick_borrowers(tables: dict, as_of: str) -> list[str]:
    """One borrower in arrears at ``as_of`` and one current, rated borrower (deterministic)."""
    import pandas as pd

    recent = recent_history(tables, as_of)
    statements = recent["repayments"]
    month = pd.Period(as_of, freq="M")
    last = statements[statements["due_date"].dt.to_period("M") == month]
    open_now = last[last["status"].astype(str).isin(["current", "delinquent"])]
    loans = tables["loans"].set_index("loan_id")["borrower_id"].astype(str)
    owner = open_now["loan_id"].astype(str).map(loans)
    rated = set(recent["party_ratings"]["borrower_id"].astype(str))
    late = sorted(owner[(open_now["dpd"] >= 30).to_numpy()].unique())
    current = sorted(b for b in owner[(open_now["dpd"] == 0).to_numpy()].unique() if b in rated)
    if not late or not current:
        raise SystemExit(f"no suitable borrowers at {as_of}")
    rng = np.random.default_rng(0)
    return [str(rng.choice(late)), str(rng.choice(current))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--as-of", default="2025-12")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("score_request.json"))
    args = parser.parse_args()
    tables = load_validated_portfolio(args.data)
    body = score_request(tables, pick_borrowers(tables, args.as_of), args.as_of, "zh")
    args.out.write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(body['borrowers'])} borrowers)")


if __name__ == "__main__":
    main()

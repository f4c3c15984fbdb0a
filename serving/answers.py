"""From scored loans to what leaves the scoring code: ledger records and response entries.

The endpoint, the feature-row endpoint and the portfolio run all record the same fields and
answer in the same shape, so these live in one place, free of the web framework.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from serving.bundle import ScoringBundle
from serving.ledger import WarningRecord
from serving.schemas import LoanScore, ReasonOut, StageHint
from serving.scoring import ScoredLoans


def ledger_records(
    scored: ScoredLoans,
    bundle: ScoringBundle,
    request_id: str,
    source: str,
    scored_at: datetime,
    as_of: Sequence[date],
    notes: Sequence[list[str]],
) -> list[WarningRecord]:
    """One ledger record per scored loan."""
    features = scored.feature_dicts()
    # Plain lists, not per-value DataFrame lookups: a portfolio run makes tens of thousands.
    loan_ids = scored.keys["loan_id"].astype(str).tolist()
    borrower_ids = scored.keys["borrower_id"].astype(str).tolist()
    p1, p2, p3 = (scored.proba[c].astype(float).tolist() for c in ("p_s1", "p_s2", "p_s3"))
    grades = scored.grades.astype(str).tolist()
    stages = [int(s) for s in scored.stages]
    return [
        WarningRecord(
            request_id=request_id,
            scored_at=scored_at,
            as_of=as_of[i],
            loan_id=loan_ids[i],
            borrower_id=borrower_ids[i],
            source=source,
            model_name=bundle.info.model_name,
            model_version=bundle.info.model_version,
            policy_version=bundle.policy.version,
            p_s1=p1[i],
            p_s2=p2[i],
            p_s3=p3[i],
            grade=grades[i],
            stage_hint=stages[i],
            features=features[i],
            reasons=scored.reason_records[i],
            notes=list(notes[i]),
        )
        for i in range(len(scored))
    ]


def loan_scores(
    scored: ScoredLoans,
    bundle: ScoringBundle,
    language: str,
    as_of: Sequence[date],
    notes: Sequence[list[str]],
) -> list[LoanScore]:
    """The response entries, in the asked language."""
    out = []
    for i in range(len(scored)):
        grade = str(scored.grades.iat[i])
        out.append(
            LoanScore(
                loan_id=str(scored.keys.at[i, "loan_id"]),
                borrower_id=str(scored.keys.at[i, "borrower_id"]),
                as_of=as_of[i],
                pd_12m=float(scored.proba.at[i, "p_s3"]),
                p_severity={
                    f"s{k + 1}": float(scored.proba.iat[i, k]) for k in range(scored.proba.shape[1])
                },
                grade=grade,
                reasons=[
                    ReasonOut(
                        feature=r["feature"],
                        value=r["value"],
                        contribution=r["contribution"],
                        text=r["text_zh"] if language == "zh" else r["text_en"],
                    )
                    for r in scored.reason_records[i]
                ],
                actions=bundle.policy.action(grade, language),
                stage_hint=StageHint(
                    stage=int(scored.stages[i]),
                    basis=(scored.stage_basis_zh if language == "zh" else scored.stage_basis)[i],
                ),
                notes=list(notes[i]),
            )
        )
    return out

"""Reason codes: why a loan's 12-month PD is high, in words a post-loan manager uses.

LightGBM's own per-feature contributions (``pred_contrib``: exact tree SHAP values on the logit
of the P(S>=3) model) say how much each feature moved this loan's score away from the book's
average. The reasons are the largest contributions that *raise* risk, each turned into a
sentence from the feature's meaning and value, in Chinese (Huzhou's post-loan managers) and in
English. Features without a template get a plain "name = value" line rather than no reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.graded import GradedWarningClassifier

Texts = Callable[[float], tuple[str, str]]


def _fmt(en: str, zh: str) -> Texts:
    """Sentences with the value formatted into ``{v}``."""
    return lambda v: (en.format(v=v), zh.format(v=v))


def _trend(what_en: str, what_zh: str, period_en: str, period_zh: str) -> Texts:
    def texts(v: float) -> tuple[str, str]:
        change = math.expm1(v)
        if change < 0:
            return (
                f"{what_en} {-change:.0%} below {period_en}",
                f"{what_zh}较{period_zh}下降{-change:.0%}",
            )
        return (
            f"{what_en} {change:.0%} above {period_en}",
            f"{what_zh}较{period_zh}上升{change:.0%}",
        )

    return texts


TEMPLATES: dict[str, Texts] = {
    "dpd_now": _fmt("{v:.0f} days past due now", "当前逾期{v:.0f}天"),
    "worst_dpd_3m": _fmt(
        "{v:.0f} days past due at worst in the last 3 months", "近3个月最长逾期{v:.0f}天"
    ),
    "worst_dpd_6m": _fmt(
        "{v:.0f} days past due at worst in the last 6 months", "近6个月最长逾期{v:.0f}天"
    ),
    "worst_dpd_12m": _fmt(
        "{v:.0f} days past due at worst in the last 12 months", "近12个月最长逾期{v:.0f}天"
    ),
    "missed_instalments_12m": _fmt(
        "{v:.0f} instalments missed in the last 12 months", "近12个月未还款{v:.0f}期"
    ),
    "partial_payments_12m": _fmt(
        "{v:.0f} partial payments in the last 12 months", "近12个月部分还款{v:.0f}期"
    ),
    "cures_12m": _fmt(
        "{v:.0f} returns to current after arrears in 12 months", "近12个月逾期后结清{v:.0f}次"
    ),
    # Both read the last 24 months of statements only (features.months.HISTORY_MONTHS).
    "months_since_delinquent": _fmt("last past due {v:.0f} months ago", "距上次逾期{v:.0f}个月"),
    "delinquent_24m": lambda v: (
        ("past due at least once in the last 24 months", "近24个月曾逾期")
        if v
        else ("not past due in the last 24 months", "近24个月无逾期")
    ),
    "renewed_from_delinquent_loan": lambda v: (
        ("renews a loan that was past due (借新还旧)", "借新还旧：续贷前原贷款存在逾期")
        if v
        else ("not a renewal of a past-due loan", "非逾期续贷")
    ),
    "vat_revenue_trend_yoy": _trend(
        "VAT-invoice revenue", "开票收入", "the same months last year", "去年同期"
    ),
    "vat_revenue_trend_3v12": _trend(
        "VAT-invoice revenue", "开票收入", "its 12-month average", "近12个月均值"
    ),
    "tax_paid_trend_yoy": _trend("tax paid", "纳税额", "the same months last year", "去年同期"),
    "electricity_kwh_trend_yoy": _trend(
        "electricity use", "用电量", "the same months last year", "去年同期"
    ),
    "electricity_kwh_trend_3v12": _trend(
        "electricity use", "用电量", "its 12-month average", "近12个月均值"
    ),
    "social_insurance_headcount_trend_3v12": _trend(
        "insured headcount", "社保参保人数", "its 12-month average", "近12个月均值"
    ),
    "wage_arrears_6m": lambda v: (
        f"wage arrears of {v:,.0f} yuan in 6 months",
        f"近6个月欠薪{v:,.0f}元",
    ),
    "utility_arrears_6m": lambda v: (
        f"utility arrears of {v:,.0f} yuan in 6 months",
        f"近6个月欠缴水电费{v:,.0f}元",
    ),
    "vat_revenue_months_stale": _fmt("no VAT report for {v:.0f} months", "已{v:.0f}个月无开票数据"),
    "court_case_12m": _fmt("{v:.0f} court cases in 12 months", "近12个月涉诉{v:.0f}起"),
    "enforcement_12m": _fmt("{v:.0f} enforcement orders in 12 months", "近12个月被执行{v:.0f}次"),
    "administrative_penalty_12m": _fmt(
        "{v:.0f} administrative penalties in 12 months", "近12个月行政处罚{v:.0f}次"
    ),
    "legal_representative_change_12m": _fmt(
        "{v:.0f} changes of legal representative in 12 months", "近12个月法定代表人变更{v:.0f}次"
    ),
    "party_index": lambda v: (
        f"unified Party-building index {v:.0f} of 100",
        f"党建统一指数{v:.0f}分（满分100）",
    ),
    "party_unrated": lambda v: (
        ("no Party-building rating", "无党建评级")
        if v
        else ("has a Party-building rating", "有党建评级")
    ),
    "utilisation": lambda v: (f"{v:.0%} of the line drawn", f"额度使用率{v:.0%}"),
}


@dataclass(frozen=True)
class Reason:
    """One risk-raising reason for one loan."""

    feature: str
    value: Any
    contribution: float  # on the logit of P(S>=3)
    text_en: str
    text_zh: str


def describe(feature: str, value: Any) -> tuple[str, str]:
    """English and Chinese sentence for a feature value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (f"{feature}: not reported", f"{feature}：无数据")
    template = TEMPLATES.get(feature)
    if template is not None and isinstance(
        value, int | float | np.integer | np.floating | bool | np.bool_
    ):
        return template(float(value))
    return (f"{feature} = {value}", f"{feature} = {value}")


def explain(model: GradedWarningClassifier, X: pd.DataFrame, top: int = 3) -> list[list[Reason]]:
    """The ``top`` risk-raising reasons of each row's 12-month PD (highest threshold model)."""
    booster = model.estimators_[-1].booster_
    contributions = np.asarray(booster.predict(X, pred_contrib=True))[:, :-1]
    names = list(X.columns)
    reasons: list[list[Reason]] = []
    for row, contrib in enumerate(contributions):
        order = np.argsort(-contrib, kind="stable")
        picked = []
        for j in order[:top]:
            if contrib[j] <= 0:
                break
            value = X.iat[row, j]
            en, zh = describe(names[j], value)
            picked.append(Reason(names[j], value, float(contrib[j]), en, zh))
        reasons.append(picked)
    return reasons

"""Reason sentences: every feature of a built snapshot reads as English and Chinese words.

The feature list is not written down here: it is the columns of snapshots built on a small
simulated book, so a new column without wording, or a feature that loses its row in
``models.wording.FEATURES``, fails these tests instead of showing "name = value" to a manager.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from features.party_index import fit_party_index
from features.simulator import simulate_portfolio
from features.snapshots import build_snapshots
from models.graded import GradedWarningClassifier
from models.inputs import CATEGORY_LEVELS, to_model_input
from models.reasons import explain
from models.wording import FEATURES, describe

IDENTIFIER = re.compile(r"[a-z]+_[a-z_]+")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tables = simulate_portfolio(300, 36, 1).tables
    unifier = fit_party_index(tables["party_ratings"], "2024-06-30")
    snap = build_snapshots(tables, "2025-06", unifier, with_labels=False)
    return to_model_input(snap)


def _values(column: pd.Series) -> list[object]:
    """A typical value, the most extreme one, zero, NaN and None for one feature column."""
    present = column.dropna()
    if isinstance(column.dtype, pd.CategoricalDtype):
        typical, extreme = present.mode().iloc[0], present.iloc[-1]
    else:
        typical, extreme = present.median(), present.abs().max()
    return [typical, extreme, 0.0, np.float64(0.0), float("nan"), np.nan, None]


def _problems(feature: str, value: object) -> list[str]:
    en, zh = describe(feature, value)
    found = []
    if not en.strip() or not zh.strip():
        found.append("empty text")
    # "amount" or "area" are English words; a snake_case name or the fallback's "=" is not.
    if ("_" in feature and feature in en + zh) or "=" in en + zh:
        found.append("raw feature name")
    if IDENTIFIER.search(zh) or IDENTIFIER.search(en):
        found.append("snake_case identifier")
    if not CJK.search(zh):
        found.append("no Chinese character")
    if "nan" in en.lower().split() or "nan" in zh.lower():
        found.append("'nan' shown")
    return [f"{feature}={value!r}: {p}: {en!r} / {zh!r}" for p in found]


def test_every_snapshot_feature_has_a_row_in_the_table(features):
    assert len(features.columns) > 70
    assert sorted(set(features.columns) - set(FEATURES)) == []


def test_every_snapshot_feature_reads_as_words_for_typical_zero_and_missing_values(features):
    problems = [
        problem
        for feature in features.columns
        for value in _values(features[feature])
        for problem in _problems(feature, value)
    ]
    assert problems == []


def test_every_category_level_of_the_contract_is_worded(features):
    problems = []
    for feature, levels in CATEGORY_LEVELS.items():
        assert feature in features.columns
        for level in levels:
            problems += _problems(feature, level)
            zh = describe(feature, level)[1]
            if feature != "party_native_level" and re.search(r"[A-Za-z]", zh):
                problems.append(f"{feature}={level!r}: Latin letters in {zh!r}")
    assert problems == []


@pytest.mark.parametrize(
    ("feature", "value", "en", "zh"),
    [
        (
            "vat_revenue_trend_yoy",
            math.log(0.62),
            "VAT-invoice revenue 38% below the same months last year",
            "开票收入较去年同期下降38%",
        ),
        (
            "wage_arrears_6m",
            120_000.0,
            "wage arrears of 120,000 yuan in the last 6 months",
            "近6个月欠薪120,000元",
        ),
        (
            "utilisation_change_6m",
            0.12,
            "share of the line drawn up 12 points over 6 months",
            "近6个月额度使用率上升12个百分点",
        ),
        ("vat_revenue_last", float("nan"), "no VAT-invoice data reported", "无开票数据"),
        (
            "vat_revenue_missing_12m",
            12.0,
            "no VAT-invoice data in the last 12 months",
            "近12个月无开票数据",
        ),
        (
            "vat_revenue_months_stale",
            3.0,
            "latest VAT-invoice data from 3 months ago",
            "最近一期开票数据为3个月前",
        ),
        (
            "electricity_kwh_last",
            5969.33,
            "latest monthly electricity use 5,969 kWh",
            "最近一月用电量5,969千瓦时",
        ),
        ("annual_rate", 0.0507, "annual rate 5.07%", "年利率5.07%"),
        ("dpd_now", 1.0, "1 day past due now", "当前逾期1天"),
        (
            "worst_dpd_6m",
            31.0,
            "31 days past due at worst in the last 6 months",
            "近6个月最长逾期31天",
        ),
        (
            "delinquent_24m",
            np.True_,
            "past due at least once in the last 24 months",
            "近24个月曾逾期",
        ),
        ("court_case_12m", 1.0, "1 court case in the last 12 months", "近12个月涉诉案件1起"),
        ("remaining_term_months", -2.0, "2 months past maturity", "已超过到期日2个月"),
        ("months_since_delinquent", None, "not past due in the last 24 months", "近24个月无逾期"),
        ("area", "nantaihu", "located in Nantaihu New Area", "位于南太湖新区"),
        ("area", "outside_pilot", "located in an area outside the pilot", "位于试点区域外"),
        ("borrower_type", "farmer", "borrower is a farmer", "借款人为农户"),
        (
            "product",
            "red_financial_credit",
            "a Red Financial Credit loan",
            "贷款产品为红色金融信贷",
        ),
        (
            "party_native_level",
            "pioneer",
            "native Party-building level “pioneer”",
            "本地党建评级为先锋",
        ),
        ("party_native_level", "AA", "native Party-building level AA", "本地党建评级为AA"),
        (
            "party_index",
            86.25,
            "unified Party-building index 86 of 100",
            "党建统一指数86分（满分100）",
        ),
    ],
)
def test_sentences_say_the_value_with_its_unit(feature, value, en, zh):
    assert describe(feature, value) == (en, zh)


def test_flags_read_the_same_from_bools_numbers_and_json_text():
    yes = describe("renewed_from_delinquent_loan", True)
    assert yes == describe("renewed_from_delinquent_loan", 1.0)
    assert yes == describe("renewed_from_delinquent_loan", "true")
    assert "借新还旧" in yes[1]
    assert describe("is_renewal", np.False_) == describe("is_renewal", 0)


def test_a_feature_outside_the_contract_still_gets_a_line():
    assert describe("no_template", 2) == ("no_template = 2", "no_template = 2")
    assert describe("no_template", float("nan"))[0] == "no_template: not reported"


@pytest.fixture(scope="module")
def fitted():
    tables = simulate_portfolio(1500, 30, 5).tables
    unifier = fit_party_index(tables["party_ratings"], "2023-12-31", min_area_ratings=10)
    snap = build_snapshots(tables, "2023-06:2023-12", unifier)
    snap = snap[snap["labeled"]].reset_index(drop=True)
    X = to_model_input(snap)
    y = snap["severity"].astype(int).to_numpy()
    return GradedWarningClassifier(n_estimators=30, min_child_samples=20).fit(X, y), X


def test_explain_gives_only_risk_raising_reasons_in_words(fitted):
    model, X = fitted
    pd_12m = model.estimators_[-1].predict_proba(X)[:, 1]
    rows = X.iloc[np.argsort(-pd_12m)[:40]]
    reasons = explain(model, rows, top=3)
    assert len(reasons) == len(rows) and all(1 <= len(r) <= 3 for r in reasons)
    for i, row in enumerate(reasons):
        contributions = [r.contribution for r in row]
        assert min(contributions) > 0 and contributions == sorted(contributions, reverse=True)
        for reason in row:
            value = rows[reason.feature].iloc[i]
            assert reason.value == value or (pd.isna(reason.value) and pd.isna(value))
            assert (reason.text_en, reason.text_zh) == describe(reason.feature, reason.value)
            assert _problems(reason.feature, reason.value) == []

"""The wording catalogue: every model input turned into a sentence, in English and Chinese.

One table, :data:`FEATURES`, drives both languages: for every feature of the snapshot contract
(``features.catalog``) it holds an English and a Chinese label and a *form* that says how a
value becomes words (an amount in yuan, a count over a window, a year-on-year trend, a
category, a flag...). Every form also phrases zero and a missing value, so a reason never shows
a raw identifier such as ``vat_revenue_last: not reported`` to a post-loan manager. A feature
outside the table (a future column not yet worded) still gets a plain ``name = value`` line
rather than no reason; a test keeps every catalogued feature out of that fallback. The
explainer that picks which features to word is ``models.reasons``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from features.families.party import DOWNGRADE_POINTS

Texts = tuple[str, str]  # (English, Chinese)


# Numbers ------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not one (a stray string, inf).

    JSON requests may carry numbers as text ("12"); inf has no sensible sentence.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _is_missing(value: Any) -> bool:
    """Whether ``value`` means "not reported" (None, NaN, pandas NA, an empty string)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("", "nan")
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _whole(v: float) -> str:
    """Counts, days, months and yuan: rounded, with thousands separators."""
    return f"{abs(v):,.0f}" if round(v) == 0 else f"{v:,.0f}"


def _one_decimal(v: float) -> str:
    """Ages in years: a decimal tells 0.4 from 1.4 years."""
    return f"{v:,.1f}"


def _percent(v: float) -> str:
    """Shares such as line utilisation: 0.59 -> 59%."""
    return f"{v:.0%}"


def _rate(v: float) -> str:
    """Interest rates keep two decimals: 0.0507 -> 5.07%."""
    return f"{v * 100:.2f}%"


def _plural(shown: str) -> str:
    """English plural ending for a formatted number ("1 day", "2 days")."""
    return "" if shown in ("1", "1.0", "-1") else "s"


# Forms: how a value becomes words --------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """How one kind of feature value is worded; subclasses phrase present values.

    The default for a missing value uses the feature's labels ("loan amount not reported" /
    "无贷款金额数据"), which suits most features; forms whose missing value means something
    specific (no delinquency in the window, never rated) pass ``missing``.
    """

    missing: Texts | None = field(default=None, kw_only=True)

    def absent(self, label: Label) -> Texts:
        """Sentences for a missing value."""
        if self.missing is not None:
            return self.missing
        return (f"{label.en} not reported", f"无{label.zh}数据")

    def words(self, label: Label, value: Any) -> Texts:
        """Sentences for a present value (numbers by default)."""
        number = _number(value)
        if number is None:  # a non-number where a number belongs: say so in the label's words
            return (f"{label.en}: {value}", f"{label.zh}：{value}")
        return self.number(label, number)

    def number(self, label: Label, v: float) -> Texts:
        """Sentences for a finite number; forms for numbers override this."""
        raise NotImplementedError


@dataclass(frozen=True)
class Words(Form):
    """A sentence pair with the number in ``{n}`` (and the English plural ending in ``{s}``).

    ``zero`` replaces the sentences when the number shows as 0 ("not past due now" reads
    better than "0 days past due now"); ``one`` is the English sentence for exactly one where
    the plural sits inside the phrase ("1 change of legal representative"); ``negative``
    words a value below zero with its magnitude (a loan past its maturity date).
    """

    en: str
    zh: str
    zero: Texts | None = None
    one: str | None = None
    negative: Texts | None = None
    fmt: Callable[[float], str] = _whole

    def number(self, label: Label, v: float) -> Texts:
        shown = self.fmt(v)
        if self.zero is not None and self.fmt(abs(v)) == self.fmt(0.0):
            return self.zero
        en, zh = self.en, self.zh
        if self.negative is not None and v < 0:
            en, zh = self.negative
            shown = self.fmt(-v)
        if self.one is not None and shown == "1":
            en = self.one
        return (en.format(n=shown, s=_plural(shown)), zh.format(n=shown))


@dataclass(frozen=True)
class Trend(Form):
    """A log ratio (mean log of recent months against a base) as a percentage change.

    The snapshot stores ``log(recent / base)``; a manager reads "38% below the same months last
    year", so the ratio is turned back into a percentage (``expm1``).
    """

    period_en: str
    period_zh: str
    data: Texts  # the data series, for a trend that cannot be computed

    def absent(self, label: Label) -> Texts:
        return (
            f"too little {self.data[0]} to compare with {self.period_en}",
            f"{self.data[1]}不足，无法与{self.period_zh}比较",
        )

    def number(self, label: Label, v: float) -> Texts:
        change = math.expm1(min(v, 50.0))  # exp(50) is already beyond any real ratio
        shown = f"{abs(change) * 100:,.0f}%"
        if shown == "0%":
            return (f"{label.en} level with {self.period_en}", f"{label.zh}与{self.period_zh}持平")
        if change < 0:
            return (
                f"{label.en} {shown} below {self.period_en}",
                f"{label.zh}较{self.period_zh}下降{shown}",
            )
        return (
            f"{label.en} {shown} above {self.period_en}",
            f"{label.zh}较{self.period_zh}上升{shown}",
        )


@dataclass(frozen=True)
class Change(Form):
    """A difference in points over a period (utilisation, the Party-building index).

    ``scale`` turns a share into percentage points (0.12 -> 12 points). ``zh_pattern`` places
    the Chinese label around the period ("近6个月{label}" vs "{label}较上次评级").
    """

    period_en: str
    zh_pattern: str
    unit_en: str
    unit_zh: str
    scale: float = 1.0

    def number(self, label: Label, v: float) -> Texts:
        shown = f"{abs(v) * self.scale:,.0f}"
        subject_zh = self.zh_pattern.format(label=label.zh)
        if shown == "0":
            return (f"{label.en} unchanged {self.period_en}", f"{subject_zh}持平")
        way_en, way_zh = ("up", "上升") if v > 0 else ("down", "下降")
        return (
            f"{label.en} {way_en} {shown} {self.unit_en} {self.period_en}",
            f"{subject_zh}{way_zh}{shown}{self.unit_zh}",
        )


@dataclass(frozen=True)
class Stale(Form):
    """Months since the latest known month of a government-data series (its labels: the data).

    The latest value usually describes last month, so 1 is normal and more is a warning sign;
    no known month at all in the lookback window is "no recent data".
    """

    def absent(self, label: Label) -> Texts:
        return (f"no recent {label.en}", f"近期无{label.zh}")

    def number(self, label: Label, v: float) -> Texts:
        shown = _whole(v)
        if shown == "0":
            return (f"{label.en} up to date", f"{label.zh}已更新至本月")
        return (
            f"latest {label.en} from {shown} month{_plural(shown)} ago",
            f"最近一期{label.zh}为{shown}个月前",
        )


@dataclass(frozen=True)
class Gaps(Form):
    """Months without data among the last 12 (its labels: the data)."""

    def absent(self, label: Label) -> Texts:
        return (f"months without {label.en} not reported", f"{label.zh}缺失月数未报告")

    def number(self, label: Label, v: float) -> Texts:
        shown = _whole(v)
        if shown == "0":
            return (f"{label.en} complete for the last 12 months", f"近12个月{label.zh}完整")
        if v >= 12:
            return (f"no {label.en} in the last 12 months", f"近12个月无{label.zh}")
        return (
            f"{label.en} missing for {shown} of the last 12 months",
            f"近12个月中有{shown}个月无{label.zh}",
        )


@dataclass(frozen=True)
class Flag(Form):
    """A yes/no feature with one sentence pair for each answer."""

    yes: Texts
    no: Texts

    def words(self, label: Label, value: Any) -> Texts:
        if isinstance(value, str):
            truth = value.strip().lower() in ("true", "1", "1.0", "yes")
        else:
            number = _number(value)
            truth = bool(value) if number is None else number != 0
        return self.yes if truth else self.no


@dataclass(frozen=True)
class Category(Form):
    """A categorical value in words: ``names`` maps each code to (English, Chinese) words.

    ``en``/``zh`` place the words in a sentence (``{w}``). Native Party-building levels are
    shown as given (``as_given``: "AA", "5"), only the word tiers translated; any other code
    outside ``names`` (a level of a newer contract) follows the label, with spaces for
    underscores, rather than being dropped.
    """

    names: Mapping[str, Texts]
    en: str = "{w}"
    zh: str = "{w}"
    as_given: bool = False  # codes outside ``names`` are words in their own right ("AA", "5")

    def words(self, label: Label, value: Any) -> Texts:
        code = _category_code(value)
        if code in self.names or self.as_given:
            en_w, zh_w = self.names.get(code, (code, code))
            return (self.en.format(w=en_w), self.zh.format(w=zh_w))
        shown = code.replace("_", " ")
        return (f"{label.en} {shown}", f"{label.zh}为{shown}")


def _category_code(value: Any) -> str:
    """A category code as text (a native level 5 may arrive as 5.0 from JSON)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Label:
    """A feature's name in both languages and its form: one row of :data:`FEATURES`."""

    en: str
    zh: str
    form: Form

    def describe(self, value: Any) -> Texts:
        """Sentences for ``value``, missing or not."""
        if _is_missing(value):
            return self.form.absent(self)
        return self.form.words(self, value)


# Vocabularies in words ---------------------------------------------------------------------

BORROWER_TYPES: Final[dict[str, Texts]] = {
    "private_enterprise": ("a private enterprise", "民营企业"),
    "social_organization": ("a social organization", "社会组织"),
    "individual_entrepreneur": ("an individual business", "个体工商户"),
    "farmer": ("a farmer", "农户"),
}

AREAS: Final[dict[str, Texts]] = {
    "wuxing": ("Wuxing District", "吴兴区"),
    "nanxun": ("Nanxun District", "南浔区"),
    "nantaihu": ("Nantaihu New Area", "南太湖新区"),
    "deqing": ("Deqing County", "德清县"),
    "changxing": ("Changxing County", "长兴县"),
    "anji": ("Anji County", "安吉县"),
    "outside_pilot": ("an area outside the pilot", "试点区域外"),
}

INDUSTRIES: Final[dict[str, Texts]] = {
    "manufacturing": ("manufacturing", "制造业"),
    "construction": ("construction", "建筑业"),
    "wholesale_retail": ("wholesale and retail", "批发零售业"),
    "hospitality_tourism": ("hospitality and tourism", "住宿餐饮与旅游业"),
    "services": ("services", "服务业"),
    "agriculture_crops": ("crop farming", "种植业"),
    "agriculture_livestock": ("livestock farming", "畜牧业"),
    "aquaculture": ("aquaculture", "水产养殖业"),
    "tea_bamboo": ("tea and bamboo", "茶叶和竹产业"),
}

SIZES: Final[dict[str, Texts]] = {
    "micro": ("micro-sized", "微型"),
    "small": ("small", "小型"),
    "medium": ("medium-sized", "中型"),
}

BANKS: Final[dict[str, Texts]] = {f"bank_{i}": (f"Bank {i}", f"银行{i}") for i in range(1, 8)}

PRODUCTS: Final[dict[str, Texts]] = {
    "red_financial_credit": ("a Red Financial Credit loan", "红色金融信贷"),
    "ordinary": ("an ordinary loan", "普通贷款"),
}

_LIST = ("“Strong Agriculture with Science and Machinery” list", "“科技强农、机械强农”名单")
LIST_LEVELS: Final[dict[str, Texts]] = {
    "province": (f"on the provincial {_LIST[0]}", f"列入省级{_LIST[1]}"),
    "city": (f"on the city {_LIST[0]}", f"列入市级{_LIST[1]}"),
    "county": (f"on the county {_LIST[0]}", f"列入县级{_LIST[1]}"),
    "none": (f"on no {_LIST[0]}", f"未列入{_LIST[1]}"),
}

#: Native levels shown as given; only the word scales need Chinese (stars, letters and scores
#: read the same in both languages).
NATIVE_LEVELS: Final[dict[str, Texts]] = {
    "rectify": ("“rectify”", "整改"),
    "standard": ("“standard”", "达标"),
    "excellent": ("“excellent”", "优秀"),
    "pioneer": ("“pioneer”", "先锋"),
    "poor": ("“poor”", "较差"),
    "fair": ("“fair”", "一般"),
    "good": ("“good”", "良好"),
}


# Families ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """An operating signal's names: the measure, its data series, and its unit."""

    en: str
    zh: str
    data_en: str
    data_zh: str
    unit_en: str
    unit_zh: str
    monthly: bool = True  # a flow per month (revenue, kWh) rather than a level (headcount)


SIGNALS: Final[dict[str, Signal]] = {
    "vat_revenue": Signal(
        "VAT-invoice revenue", "开票收入", "VAT-invoice data", "开票数据", " yuan", "元"
    ),
    "tax_paid": Signal("tax paid", "纳税额", "tax data", "纳税数据", " yuan", "元"),
    "electricity_kwh": Signal(
        "electricity use", "用电量", "electricity data", "用电数据", " kWh", "千瓦时"
    ),
    "social_insurance_headcount": Signal(
        "insured headcount", "社保参保人数", "social-insurance data", "社保数据", "", "人", False
    ),
}

ARREARS: Final[dict[str, Signal]] = {
    "wage_arrears": Signal("wage arrears", "欠薪", "wage-arrears data", "欠薪数据", " yuan", "元"),
    "utility_arrears": Signal(
        "utility arrears", "欠缴水电费", "utility-arrears data", "水电费数据", " yuan", "元"
    ),
}


@dataclass(frozen=True)
class Event:
    """A public-record event's names: English singular/plural, Chinese count noun and unit."""

    one: str
    many: str
    zh: str  # what is counted: 近12个月{zh}{n}{unit_zh}
    unit_zh: str
    verb_zh: str  # the event as it happens: 距最近一次{verb_zh}…个月, 本月{verb_zh}
    record_zh: str  # 无{record_zh}


EVENTS: Final[dict[str, Event]] = {
    "court_case": Event("court case", "court cases", "涉诉案件", "起", "涉诉", "涉诉记录"),
    "enforcement": Event(
        "enforcement order", "enforcement orders", "被执行记录", "条", "被执行", "被执行记录"
    ),
    "administrative_penalty": Event(
        "administrative penalty",
        "administrative penalties",
        "行政处罚",
        "次",
        "受行政处罚",
        "行政处罚记录",
    ),
    "legal_representative_change": Event(
        "change of legal representative",
        "changes of legal representative",
        "法定代表人变更",
        "次",
        "法定代表人变更",
        "法定代表人变更记录",
    ),
    "executive_change": Event(
        "change of executives",
        "changes of executives",
        "高管变更",
        "次",
        "高管变更",
        "高管变更记录",
    ),
}

_LAST_YEAR = ("the same months last year", "去年同期")
_YEAR_AVERAGE = ("its 12-month average", "近12个月均值")


def _signal_labels(name: str, s: Signal) -> dict[str, Label]:
    """The five features of a measured signal (latest value, two trends, staleness, gaps)."""
    latest = "latest monthly" if s.monthly else "latest"
    data = (s.data_en, s.data_zh)
    return {
        f"{name}_last": Label(
            s.en,
            s.zh,
            Words(
                f"{latest} {s.en} {{n}}{s.unit_en}",
                f"最近一月{s.zh}{{n}}{s.unit_zh}",
                missing=(f"no {s.data_en} reported", f"无{s.data_zh}"),
            ),
        ),
        f"{name}_trend_yoy": Label(s.en, s.zh, Trend(*_LAST_YEAR, data)),
        f"{name}_trend_3v12": Label(s.en, s.zh, Trend(*_YEAR_AVERAGE, data)),
        **_data_labels(name, s),
    }


def _arrears_labels(name: str, s: Signal) -> dict[str, Label]:
    """The four features of an arrears signal (6-month sum, months with arrears, data gaps)."""
    none = (f"no {s.en} in the last 6 months", f"近6个月无{s.zh}")
    no_data = (f"no {s.data_en} for the last 6 months", f"近6个月无{s.data_zh}")
    return {
        f"{name}_6m": Label(
            s.en,
            s.zh,
            Words(
                f"{s.en} of {{n}}{s.unit_en} in the last 6 months",
                f"近6个月{s.zh}{{n}}{s.unit_zh}",
                zero=none,
                missing=no_data,
            ),
        ),
        f"{name}_months": Label(
            s.en,
            s.zh,
            Words(
                f"{s.en} in {{n}} of the last 6 months",
                f"近6个月中有{{n}}个月{s.zh}",
                zero=none,
                missing=no_data,
            ),
        ),
        **_data_labels(name, s),
    }


def _data_labels(name: str, s: Signal) -> dict[str, Label]:
    """Staleness and gaps of any signal's data series: itself a warning sign."""
    return {
        f"{name}_months_stale": Label(s.data_en, s.data_zh, Stale()),
        f"{name}_missing_12m": Label(s.data_en, s.data_zh, Gaps()),
    }


def _event_labels(name: str, e: Event) -> dict[str, Label]:
    """Count in the last 12 months and months since the latest known event of one kind."""
    return {
        f"{name}_12m": Label(
            e.many,
            e.zh,
            _count_12m(e.one, e.many, e.zh, e.unit_zh),
        ),
        f"months_since_{name}": Label(
            e.one,
            e.zh,
            Words(
                f"last {e.one} {{n}} month{{s}} ago",
                f"距最近一次{e.verb_zh}{{n}}个月",
                zero=(f"{e.one} this month", f"本月{e.verb_zh}"),
                missing=(f"no {e.one} on record", f"无{e.record_zh}"),
            ),
        ),
    }


def _dpd(window: int | None) -> Label:
    """Days past due now (``window`` None) or at worst over the last ``window`` months."""
    if window is None:
        form = Words(
            "{n} day{s} past due now", "当前逾期{n}天", zero=("not past due now", "当前无逾期")
        )
    else:
        form = Words(
            f"{{n}} day{{s}} past due at worst in the last {window} months",
            f"近{window}个月最长逾期{{n}}天",
            zero=(f"not past due in the last {window} months", f"近{window}个月无逾期"),
        )
    return Label("days past due", "逾期天数", form)


def _count_12m(one: str, many: str, zh: str, unit_zh: str) -> Form:
    """A count over the last 12 months ("2 missed instalments" / "近12个月未还款2期")."""
    return Words(
        f"{{n}} {many} in the last 12 months",
        f"近12个月{zh}{{n}}{unit_zh}",
        zero=(f"no {many} in the last 12 months", f"近12个月无{zh}"),
        one=f"1 {one} in the last 12 months",
        missing=(f"no data on {many}", f"无{zh}数据"),
    )


_NOT_RATED = ("no Party-building rating", "无党建评级")

STATIC: Final[dict[str, Label]] = {
    "borrower_type": Label(
        "borrower type", "借款人类型", Category(BORROWER_TYPES, "borrower is {w}", "借款人为{w}")
    ),
    "industry": Label("industry", "行业", Category(INDUSTRIES, "operates in {w}", "所属行业为{w}")),
    "area": Label("area", "所在地区", Category(AREAS, "located in {w}", "位于{w}")),
    "in_pilot_area": Label(
        "pilot-area status",
        "试点区域",
        Flag(
            yes=("located in a pilot area", "位于试点区域内"),
            no=("located outside the pilot areas", "位于试点区域外"),
        ),
    ),
    "size": Label("business size", "经营规模", Category(SIZES, "{w} business", "经营规模为{w}")),
    "has_party_org": Label(
        "Party organization",
        "党组织",
        Flag(
            yes=("has a Party organization", "已建立党组织"),
            no=("has no Party organization", "未建立党组织"),
        ),
    ),
    "party_members": Label(
        "Party members",
        "党员",
        Words(
            "{n} Party member{s}",
            "有党员{n}名",
            zero=("no Party members", "无党员"),
            missing=("Party membership not reported", "无党员人数数据"),
        ),
    ),
    "borrower_age_years": Label(
        "founding date",
        "成立日期",
        Words(
            "founded {n} years ago",
            "成立{n}年",
            zero=("newly founded", "新成立"),
            fmt=_one_decimal,
        ),
    ),
    "bank": Label("lending bank", "贷款银行", Category(BANKS, "lent by {w}", "贷款银行为{w}")),
    "product": Label("loan product", "贷款产品", Category(PRODUCTS, "{w}", "贷款产品为{w}")),
    "amount": Label("loan amount", "贷款金额", Words("loan of {n} yuan", "贷款金额{n}元")),
    "annual_rate": Label("annual rate", "年利率", Words("annual rate {n}", "年利率{n}", fmt=_rate)),
    "term_months": Label("loan term", "贷款期限", Words("{n}-month term", "贷款期限{n}个月")),
    "is_renewal": Label(
        "renewal status",
        "续贷",
        Flag(
            yes=("renewal of an earlier loan", "本笔为续贷"),
            no=("new loan, not a renewal", "本笔为新增贷款（非续贷）"),
        ),
    ),
}

REPAYMENT: Final[dict[str, Label]] = {
    "dpd_now": _dpd(None),
    "worst_dpd_3m": _dpd(3),
    "worst_dpd_6m": _dpd(6),
    "worst_dpd_12m": _dpd(12),
    "statements_so_far": Label(
        "instalment count",
        "到期期数",
        Words(
            "{n} instalment{s} due so far",
            "已到期{n}期",
            zero=("no instalment due yet", "尚无到期还款"),
        ),
    ),
    "missed_instalments_12m": Label(
        "missed instalments",
        "未还款",
        _count_12m("missed instalment", "missed instalments", "未还款", "期"),
    ),
    "partial_payments_12m": Label(
        "partial payments",
        "部分还款",
        _count_12m("partial payment", "partial payments", "部分还款", "期"),
    ),
    "cures_12m": Label(
        "returns to current after arrears",
        "逾期后恢复正常",
        _count_12m(
            "return to current after arrears",
            "returns to current after arrears",
            "逾期后恢复正常",
            "次",
        ),
    ),
    # Both read the last 24 months of statements only (features.months.HISTORY_MONTHS).
    "months_since_delinquent": Label(
        "past due",
        "逾期",
        Words(
            "last past due {n} month{s} ago",
            "距上次逾期{n}个月",
            zero=("past due this month", "本月逾期"),
            missing=("not past due in the last 24 months", "近24个月无逾期"),
        ),
    ),
    "delinquent_24m": Label(
        "repayment history",
        "还款记录",
        Flag(
            yes=("past due at least once in the last 24 months", "近24个月曾逾期"),
            no=("not past due in the last 24 months", "近24个月无逾期"),
        ),
    ),
    "outstanding_balance": Label(
        "outstanding balance", "贷款余额", Words("outstanding balance {n} yuan", "贷款余额{n}元")
    ),
    "utilisation": Label(
        "line utilisation",
        "额度使用率",
        Words("{n} of the line drawn", "额度使用率{n}", fmt=_percent),
    ),
    "utilisation_change_6m": Label(
        "share of the line drawn",
        "额度使用率",
        Change(
            "over 6 months",
            "近6个月{label}",
            "points",
            "个百分点",
            scale=100.0,
            missing=("change in line utilisation not reported", "无额度使用率变化数据"),
        ),
    ),
    "months_on_book": Label(
        "months on book",
        "放款月数",
        Words(
            "{n} month{s} since disbursement",
            "放款已{n}个月",
            zero=("disbursed this month", "本月放款"),
        ),
    ),
    "remaining_term_months": Label(
        "remaining term",
        "剩余期限",
        Words(
            "{n} month{s} to maturity",
            "距到期{n}个月",
            zero=("matures this month", "本月到期"),
            negative=("{n} month{s} past maturity", "已超过到期日{n}个月"),
        ),
    ),
    "renewed_from_delinquent_loan": Label(
        "renewal history",
        "续贷记录",
        Flag(
            yes=("renews a loan that was past due (借新还旧)", "借新还旧：续贷前原贷款存在逾期"),
            no=("not a renewal of a past-due loan", "不属于借新还旧"),
        ),
    ),
}

PARTY: Final[dict[str, Label]] = {
    "party_index": Label(
        "Party-building index",
        "党建统一指数",
        Words(
            "unified Party-building index {n} of 100",
            "党建统一指数{n}分（满分100）",
            missing=("no unified Party-building index (not rated)", "无党建统一指数（未评级）"),
        ),
    ),
    "party_unrated": Label(
        "Party-building rating",
        "党建评级",
        Flag(yes=_NOT_RATED, no=("has a Party-building rating", "有党建评级")),
    ),
    "party_native_level": Label(
        "native Party-building level",
        "本地党建评级",
        Category(
            NATIVE_LEVELS,
            "native Party-building level {w}",
            "本地党建评级为{w}",
            as_given=True,
            missing=_NOT_RATED,
        ),
    ),
    "party_issuing_area": Label(
        "Party-building rating area",
        "党建评级评定地区",
        Category(
            AREAS,
            "Party-building rating issued by {w}",
            "党建评级评定地区为{w}",
            missing=_NOT_RATED,
        ),
    ),
    "party_list_level": Label(
        f"{_LIST[0]} level",
        f"{_LIST[1]}级别",
        Category(LIST_LEVELS, missing=("no list membership reported", "无名单入选数据")),
    ),
    "party_rating_age_months": Label(
        "Party-building rating",
        "党建评级",
        Words(
            "Party-building rating awarded {n} month{s} ago",
            "党建评级已评定{n}个月",
            zero=("Party-building rating awarded this month", "本月获党建评级"),
            missing=_NOT_RATED,
        ),
    ),
    "party_index_change": Label(
        "Party-building index",
        "党建统一指数",
        Change(
            "since the previous rating",
            "{label}较上次评级",
            "points",
            "分",
            missing=("no earlier Party-building rating to compare", "无上次党建评级可比"),
        ),
    ),
    "party_recent_downgrade": Label(
        "Party-building rating change",
        "党建评级变化",
        Flag(
            yes=(
                f"Party-building index fell more than {DOWNGRADE_POINTS:.0f} points "
                "at the latest rating",
                f"最近一次党建评级下降超过{DOWNGRADE_POINTS:.0f}分",
            ),
            no=("no Party-building downgrade at the latest rating", "最近一次党建评级未下调"),
        ),
    ),
}

#: Every feature of the snapshot contract: English and Chinese label and how a value is worded.
FEATURES: Final[dict[str, Label]] = {
    **STATIC,
    **REPAYMENT,
    **{k: v for name, s in SIGNALS.items() for k, v in _signal_labels(name, s).items()},
    **{k: v for name, s in ARREARS.items() for k, v in _arrears_labels(name, s).items()},
    **{k: v for name, e in EVENTS.items() for k, v in _event_labels(name, e).items()},
    **PARTY,
}


def describe(feature: str, value: Any) -> tuple[str, str]:
    """English and Chinese sentence for a feature value.

    Parameters
    ----------
    feature : str
        A snapshot column. Columns outside :data:`FEATURES` get ``name = value`` so that a
        newer model's reasons still show something; the snapshot contract never gets there.
    value : Any
        The value the model read: a number, a flag, a category code, or missing (None/NaN).

    Returns
    -------
    tuple of str
        (English, Chinese).
    """
    label = FEATURES.get(feature)
    if label is not None:
        return label.describe(value)
    if _is_missing(value):
        return (f"{feature}: not reported", f"{feature}：无数据")
    return (f"{feature} = {value}", f"{feature} = {value}")

"""Datong residents' outpatient chronic/special-disease payment ratio — SPEC §15 R-BEN-003, A-16, E-13.

The ratio depends on the institution's **charging class** (收费标准类别) and the **service date**
(就诊日期), never the settlement date: a stay or a batch of visits spanning 2026-04-01 or
2027-04-01 uses each visit's own date. The table is the dated parameter
``benefit.resident_chronic_ratio``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

from yibao.errors import YibaoError, define
from yibao.explain import Decision, Reason, Record, reason
from yibao.money import round_fen, sum_lines
from yibao.policy import Policy

BEN_UNKNOWN_CHARGING_CLASS = define(
    "BEN_UNKNOWN_CHARGING_CLASS",
    "医疗机构收费标准类别无效：{value}（应为 1、2、3 或对应的医院等级）",
    "unknown charging class {value!r} (expected 1, 2, 3 or a hospital grade that maps to one)",
)
BEN_BAD_AMOUNT = define(
    "BEN_BAD_AMOUNT",
    "符合规定的费用金额无效：{value}（应为不小于0、精确到分的金额）",
    "invalid eligible amount {value!r} (expected at least 0, to the fen)",
)
BEN_RATIO_TABLE_INVALID = define(
    "BEN_RATIO_TABLE_INVALID",
    "统筹区 {region} 在 {on} 的门诊慢特病支付比例表缺少 {charging_class} 或取值无效",
    "the chronic/special outpatient ratio table of region {region} on {on} has no valid value for {charging_class}",
)

# Charging class by hospital grade (SPEC R-BEN-003 table header).
_GRADE_CLASS = {
    "三级甲等": "CLASS_1",
    "三甲": "CLASS_1",
    "三级乙等": "CLASS_2",
    "二级甲等": "CLASS_2",
    "二级乙等": "CLASS_3",
    "二级及以下": "CLASS_3",
    "一级": "CLASS_3",
    "县级": "CLASS_3",
}


def charging_class(value: object) -> str:
    """``1``/``"1"``/``"CLASS_1"``/``"三级甲等"`` → ``"CLASS_1"``; an unknown value is rejected."""
    if isinstance(value, bool):
        raise YibaoError(BEN_UNKNOWN_CHARGING_CLASS, field="charging_class", value=value)
    s = str(value).strip().upper().replace(" ", "")
    if s in ("1", "2", "3"):
        return f"CLASS_{s}"
    if s in ("CLASS_1", "CLASS_2", "CLASS_3"):
        return s
    for grade, cls in _GRADE_CLASS.items():
        if s.startswith(grade):
            return cls
    raise YibaoError(BEN_UNKNOWN_CHARGING_CLASS, field="charging_class", value=value)



@dataclass(frozen=True)
class ChronicPayment(Record):
    _computed = ('self_pay',)

    service_date: date
    charging_class: str
    eligible_amount: Decimal
    ratio: Decimal
    fund_pays: Decimal

    @property
    def self_pay(self) -> Decimal:
        """The in-policy remainder that flows on to critical-illness insurance and assistance."""
        return self.eligible_amount - self.fund_pays


def _eligible(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise YibaoError(BEN_BAD_AMOUNT, field="eligible_amount", value=value)
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or round_fen(amount) != amount:
        raise YibaoError(BEN_BAD_AMOUNT, field="eligible_amount", value=value)
    return amount


def chronic_outpatient_payment(
    eligible_amount: Decimal,
    charging_class_value: object,
    service_date: date,
    policy: Policy,
    region: str,
) -> Decision[ChronicPayment]:
    """R-BEN-003: fund payment = eligible amount (after the class-B self-pay) × ratio(class, service date)."""
    amount = _eligible(eligible_amount)
    cls = charging_class(charging_class_value)
    p = policy.param(region, "benefit.resident_chronic_ratio", service_date)
    raw = p.value.get(cls)
    try:
        ratio = Decimal(str(raw))
    except Exception:
        ratio = None
    if raw is None or isinstance(raw, bool) or ratio is None or not ratio.is_finite() or not 0 <= ratio <= 1:
        raise YibaoError(BEN_RATIO_TABLE_INVALID, field="benefit.resident_chronic_ratio", region=region, on=service_date, charging_class=cls)
    pays = round_fen(amount * ratio)
    r = reason(
        "R-BEN-003",
        f"就诊日期 {service_date}，收费标准类别 {cls[-1]} 类：支付比例 {ratio}（{p.effective_from} 起），"
        f"符合规定费用 {amount} × {ratio} = {pays}，计入居民医保年度最高支付限额",
        f"service on {service_date}, charging class {cls[-1]}: ratio {ratio} (in force from {p.effective_from}); "
        f"eligible {amount} × {ratio} = {pays}, counted toward the resident annual maximum",
        parameters=[p],
        citations=[policy.cite("S13")],
        service_date=service_date,
        charging_class=cls,
    )
    return Decision(ChronicPayment(service_date, cls, amount, ratio, pays), (r,))


def chronic_outpatient_payments(
    visits: Iterable[tuple[date, object, Decimal]],
    policy: Policy,
    region: str,
) -> Decision[tuple[ChronicPayment, ...]]:
    """R-BEN-003 / E-13 for several visits ``(service_date, charging_class, eligible_amount)``: each by its own date."""
    payments: list[ChronicPayment] = []
    reasons: list[Reason] = []
    for service_date, cls, amount in visits:
        d = chronic_outpatient_payment(amount, cls, service_date, policy, region)
        payments.append(d.value)
        reasons.extend(d.reasons)
    total = sum_lines(p.fund_pays for p in payments)
    reasons.append(
        reason(
            "R-BEN-003",
            f"各次就诊按各自就诊日期的比例计算，基金合计支付 {total}",
            f"each visit uses the ratio of its own service date; the fund pays {total} in all",
        )
    )
    return Decision(tuple(payments), tuple(reasons))


# --- R-BEN-001: Datong employee 大额 band ---------------------------------------------------------


@dataclass(frozen=True)
class MajorMedicalPayment(Record):
    """大额医疗费用补助 for one calendar year's cumulative eligible expense ``E``."""

    year: int
    eligible_expense: Decimal
    band_amount: Decimal  # min(E, ceiling) - threshold, when E > threshold
    ratio: Decimal
    payment: Decimal  # min(ratio × band, max_pay)
    capped: bool


def major_medical_payment(eligible_expense: Decimal, year: int, policy: Policy, region: str) -> Decision[MajorMedicalPayment]:
    """R-BEN-001: the band between the threshold and the ceiling, paid at ``ratio``, at most ``max_pay`` a year.

    A-17: the 500 000 cap applies whatever the ratio; the ratio is a parameter (default 1.0 until the
    local rate is confirmed). The year is the calendar year; its parameters are those in force at
    the year-end settlement (Dec 31), so 2025 uses the band that took effect on 2025-07-01.
    """
    if eligible_expense < 0 or eligible_expense != round_fen(eligible_expense):
        raise YibaoError(BEN_BAD_AMOUNT, field="eligible_expense", value=str(eligible_expense))
    on = date(year, 12, 31)
    p_threshold = policy.param(region, "benefit.dae_threshold", on)
    p_ceiling = policy.param(region, "benefit.dae_ceiling", on)
    p_max = policy.param(region, "benefit.dae_max_pay", on)
    p_ratio = policy.param(region, "benefit.dae_ratio", on)
    threshold, ceiling, max_pay, ratio = p_threshold.value, p_ceiling.value, p_max.value, p_ratio.value
    band = max(Decimal(0), min(eligible_expense, ceiling) - threshold)
    raw = round_fen(band * ratio)
    payment = min(raw, max_pay)
    why = reason(
        "R-BEN-001",
        f"{year} 年度符合规定费用 {eligible_expense}：起付线 {threshold}、封顶线 {ceiling} 之间的 {band} 按 {ratio} 支付，年度最高 {max_pay}，支付 {payment}",
        f"{year} eligible expense {eligible_expense}: the band of {band} between {threshold} and {ceiling}, paid at {ratio}, at most {max_pay} a year: {payment}",
        parameters=[p_threshold, p_ceiling, p_max, p_ratio],
        citations=[policy.cite("S12")],
    )
    return Decision(MajorMedicalPayment(year, eligible_expense, round_fen(band), ratio, payment, raw > max_pay), (why,))

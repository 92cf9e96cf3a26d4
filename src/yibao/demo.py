"""A realistic demo population for `yibao serve` (issue 3): a few thousand people in the four regions
of the sources with varied histories — steady employees, flexible workers with gaps and back-payments,
switches between schemes, residents paying in and out of the window, newborns, students, seasonal
workers, Luzhou lump-sum pensioners, the assistance population, and a few planted duplicates.

Deterministic for a seed, so screenshots, tests and demos agree. Pure: it returns facts; the caller
stores them (:func:`yibao.store.repository.add_facts`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterator

from yibao.codes import CertType, ContributionKind, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth, month_range
from yibao.ids import mod11_2_check_char
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    EventKind,
    GroupMembership,
    IdentityDocument,
    LifeEvent,
    PersonFacts,
    PayerType,
    PersonGroup,
    StatusChange,
    StatusReason,
)

REGIONS = ("510500", "220000", "140200", "210200")
# county codes used for the address part of generated ID numbers
ADDRESS = {"510500": "510502", "220000": "220102", "140200": "140202", "210200": "210202"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏建华飞鑫波斌宇浩凯健俊帆帅旭宁婷雪琳晨欣悦"
# contribution amounts per month (illustrative, roughly 2 % + 7 % of a 6 300 base)
UNIT_MONTH = Decimal("441.00")
INDIV_MONTH = Decimal("126.00")
FLEX_MONTH = Decimal("567.00")
RESIDENT_YEAR = {y: Decimal(v) for y, v in {2019: "250", 2020: "280", 2021: "320", 2022: "350", 2023: "380", 2024: "400", 2025: "400", 2026: "400"}.items()}


@dataclass(frozen=True)
class DemoPerson:
    facts: PersonFacts
    story: str  # what kind of history this is, for the dashboard and for tests


def resident_id(rng: random.Random, region: str, birth: date, female: bool) -> str:
    seq = rng.randint(0, 99) * 10 + (rng.choice([0, 2, 4, 6, 8]) if female else rng.choice([1, 3, 5, 7, 9]))
    body = f"{ADDRESS[region]}{birth:%Y%m%d}{seq:03d}"
    return body + mod11_2_check_char(body)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


class _Builder:
    def __init__(self, rng: random.Random, psn_no: str, region: str, birth: date, female: bool, used: set[str]) -> None:
        self.rng = rng
        self.psn_no = psn_no
        self.region = region
        self.birth = birth
        self.female = female
        self.enrollments: list[Enrollment] = []
        self.lines: list[ContributionLine] = []
        self.groups: list[GroupMembership] = []
        self.events: list[LifeEvent] = []
        self.death: date | None = None
        number = resident_id(rng, region, birth, female)
        while number in used:  # one number, one person (R-ID-005): draw another sequence on a collision
            number = resident_id(rng, region, birth, female)
        used.add(number)
        self.docs = [IdentityDocument(CertType.RESIDENT_ID, number)]

    def relation(self, insutype: InsuType, psn: PsnType, start: date, end: date | None = None, region: str | None = None, status=()) -> str:
        rid = f"{self.psn_no}-{len(self.enrollments) + 1}"
        wages = (DeclaredWage(YearMonth.of(start), Decimal(self.rng.choice(["4500", "6300", "8000", "12000"]))),) if insutype is InsuType.EMPLOYEE_BASIC else ()
        self.enrollments.append(Enrollment(rid, insutype, region or self.region, psn, start, end, tuple(status), None, wages))
        return rid

    def employee_months(self, rid: str, first: YearMonth, last: YearMonth, *, flexible: bool, paid_late: date | None = None) -> None:
        for m in month_range(first, last):
            paid_on = paid_late or (m.first_day() + timedelta(days=14))
            kind = ContributionKind.INTERRUPTION_BACKPAY if paid_late else ContributionKind.REGULAR
            if flexible:
                self.lines.append(ContributionLine(rid, kind, PayerType.INDIVIDUAL, paid_on, FLEX_MONTH, month=m))
            else:
                self.lines.append(ContributionLine(rid, kind, PayerType.UNIT, paid_on, UNIT_MONTH, month=m))
                self.lines.append(ContributionLine(rid, kind, PayerType.INDIVIDUAL, paid_on, INDIV_MONTH, month=m))

    def resident_year(self, rid: str, year: int, paid_on: date, payer: PayerType = PayerType.INDIVIDUAL) -> None:
        self.lines.append(ContributionLine(rid, ContributionKind.REGULAR, payer, paid_on, RESIDENT_YEAR.get(year, Decimal("400")), benefit_year=year))

    def facts(self, name: str) -> PersonFacts:
        sex = "F" if self.female else "M"
        return PersonFacts(
            self.psn_no, name, self.birth, sex, tuple(self.docs), tuple(self.groups), tuple(self.events), (),
            tuple(self.enrollments), tuple(self.lines), self.death,
        )


def _window_day(rng: random.Random, year: int) -> date:
    return date(year - 1, rng.randint(9, 12), rng.randint(1, 28))


def population(size: int = 3000, *, seed: int = 20251123, today: date = date(2026, 11, 23)) -> Iterator[DemoPerson]:
    """``size`` people with varied, consistent histories up to ``today``."""
    rng = random.Random(seed)
    now = YearMonth.of(today)
    stories = [
        ("steady_employee", 30), ("flexible_gap_backpaid", 8), ("flexible_long_gap", 6), ("resident_continuous", 20),
        ("resident_late_payer", 6), ("switch_resident_to_employee", 6), ("seasonal_worker", 3), ("newborn", 4),
        ("student", 4), ("retiree", 7), ("luzhou_lump_sum", 1), ("assistance", 3), ("duplicate_residents", 1), ("deceased", 1),
    ]
    names, weights = zip(*stories)
    used: set[str] = set()
    for i in range(size):
        story = rng.choices(names, weights)[0]
        region = REGIONS[i % len(REGIONS)] if story != "luzhou_lump_sum" else "510500"
        female = rng.random() < 0.5
        birth = date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28))
        if story == "newborn":
            birth = today - timedelta(days=rng.randint(20, 500))
        elif story == "student":
            birth = date(rng.randint(2004, 2007), rng.randint(1, 12), rng.randint(1, 28))
        elif story in ("retiree", "luzhou_lump_sum"):
            birth = date(rng.randint(1950, 1964), rng.randint(1, 12), rng.randint(1, 28))
        b = _Builder(rng, f"D{i + 1:06d}", region, birth, female, used)
        _STORIES[story](b, rng, today, now)
        yield DemoPerson(b.facts(_name(rng)), story)


def _steady_employee(b: _Builder, rng, today, now) -> None:
    start = YearMonth(rng.randint(2012, 2024), rng.randint(1, 12))
    rid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.EMPLOYEE_IN_SERVICE, start.first_day())
    last = now - rng.choice([0, 0, 0, 1])
    b.employee_months(rid, start, last, flexible=False)


def _flexible_gap_backpaid(b: _Builder, rng, today, now) -> None:
    start = YearMonth(rng.randint(2015, 2022), rng.randint(1, 12))
    rid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.FLEXIBLE_IN_SERVICE, start.first_day())
    gap_start = YearMonth(rng.randint(start.year + 1, 2025), rng.randint(1, 9))
    gap = rng.randint(1, 3)
    b.employee_months(rid, start, gap_start - 1, flexible=True)
    resume = gap_start + gap
    b.employee_months(rid, resume, min(now, resume + 24), flexible=True)
    if rng.random() < 0.7:  # most of them back-pay the gap
        b.employee_months(rid, gap_start, resume - 1, flexible=True, paid_late=resume.first_day() + timedelta(days=20))


def _flexible_long_gap(b: _Builder, rng, today, now) -> None:
    start = YearMonth(rng.randint(2014, 2020), rng.randint(1, 12))
    rid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.FLEXIBLE_IN_SERVICE, start.first_day())
    stop = start + rng.randint(12, 48)
    b.employee_months(rid, start, stop, flexible=True)
    resume = stop + rng.randint(5, 30)
    if resume <= now:
        b.employee_months(rid, resume, min(now, resume + rng.randint(2, 20)), flexible=True)


def _resident_continuous(b: _Builder, rng, today, now) -> None:
    first = rng.randint(2017, 2024)  # insutype 390 exists from 2016-01-12 (R-CODE-001 data)
    rid = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(first, 1, 1))
    for y in range(first, min(today.year + (1 if today.month >= 9 else 0), 2026) + 1):
        if y <= today.year or rng.random() < 0.6:
            b.resident_year(rid, y, _window_day(rng, y))


def _resident_late_payer(b: _Builder, rng, today, now) -> None:
    first = rng.randint(2018, 2022)
    rid = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(first, 1, 1))
    for y in range(first, today.year + 1):
        r = rng.random()
        if r < 0.5:
            b.resident_year(rid, y, _window_day(rng, y))
        elif r < 0.8 and date(y, 3, 1) <= today:
            b.resident_year(rid, y, date(y, rng.randint(2, 10), rng.randint(1, 28)))


def _switch_resident_to_employee(b: _Builder, rng, today, now) -> None:
    first = rng.randint(2017, 2022)
    last_resident = rng.randint(first + 1, 2024)
    rid = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(first, 1, 1), date(last_resident, 12, 31))
    for y in range(first, last_resident + 1):
        b.resident_year(rid, y, _window_day(rng, y))
    start = YearMonth(last_resident + 1, rng.randint(1, 8))
    eid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.EMPLOYEE_IN_SERVICE, start.first_day())
    b.employee_months(eid, start, now, flexible=False)


def _seasonal_worker(b: _Builder, rng, today, now) -> None:
    year = rng.randint(2023, today.year)
    work_from, work_to = YearMonth(year, rng.randint(4, 6)), YearMonth(year, rng.randint(7, 9))
    rid = b.relation(
        InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(year - 2, 1, 1),
        status=[StatusChange(work_from.first_day(), InsuStatus.SUSPENDED, StatusReason.SEASONAL_EMPLOYMENT, "季节性务工")],
    )
    for y in range(year - 2, year + 1):
        b.resident_year(rid, y, _window_day(rng, y))
    eid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.EMPLOYEE_IN_SERVICE, work_from.first_day(), work_to.last_day())
    b.employee_months(eid, work_from, work_to, flexible=False)
    b.groups.append(GroupMembership(PersonGroup.SEASONAL_WORKER, work_from.first_day(), work_to.last_day()))


def _newborn(b: _Builder, rng, today, now) -> None:
    paid = b.birth + timedelta(days=rng.choice([10, 40, 80, 89, 120]))
    if paid > today:
        paid = today
    rid = b.relation(InsuType.RESIDENT_BASIC, PsnType.NEWBORN, paid)
    b.docs.append(IdentityDocument(CertType.BIRTH_CERTIFICATE, f"O{b.psn_no[1:]}{b.birth:%y%m%d}"))
    b.resident_year(rid, b.birth.year, paid)
    if paid.year > b.birth.year:
        b.resident_year(rid, paid.year, paid)


def _student(b: _Builder, rng, today, now) -> None:
    entry = rng.randint(2022, 2025)
    home = b.relation(InsuType.RESIDENT_BASIC, PsnType.PUPIL, date(entry - 2, 1, 1), date(entry, 12, 31))
    for y in range(entry - 2, entry + 1):
        b.resident_year(home, y, _window_day(rng, y))
    school_region = rng.choice([r for r in REGIONS if r != b.region])
    school = b.relation(InsuType.RESIDENT_BASIC, PsnType.COLLEGE_STUDENT, date(entry, 9, 10), region=school_region)
    b.groups.append(GroupMembership(PersonGroup.STUDENT, date(entry, 9, 1), None, school_region))
    for y in range(entry + 1, today.year + 1):
        b.resident_year(school, y, _window_day(rng, y))


def _retiree(b: _Builder, rng, today, now) -> None:
    retire = date(b.birth.year + (50 if b.female else 60), b.birth.month, 1)
    # the employee scheme exists from 1999 (国发〔1998〕44号): contributions start then at the earliest
    start = max(YearMonth(1999, 1), YearMonth.of(retire) - rng.randint(180, 300))
    rid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.EMPLOYEE_IN_SERVICE, start.first_day())
    b.employee_months(rid, start, YearMonth.of(retire) - 1, flexible=False)
    b.events.append(LifeEvent(EventKind.RETIRED, retire, b.region))


def _luzhou_lump_sum(b: _Builder, rng, today, now) -> None:
    paid = date(rng.randint(2021, 2025), rng.randint(1, 12), rng.randint(1, 28))
    b.events.append(LifeEvent(EventKind.PENSION_START, date(paid.year - rng.randint(1, 5), 1, 1), "510500"))
    rid = b.relation(InsuType.EMPLOYEE_BASIC, PsnType.EMPLOYEE_RETIRED, paid)
    b.lines.append(ContributionLine(rid, ContributionKind.LUMP_SUM, PayerType.INDIVIDUAL, paid, Decimal("36000.00"), months_credited=180))


def _assistance(b: _Builder, rng, today, now) -> None:
    group = rng.choice([PersonGroup.LOW_INCOME, PersonGroup.EXTREME_POVERTY, PersonGroup.LIFTED_FROM_POVERTY])
    since = date(rng.randint(2019, 2024), rng.randint(1, 12), 1)
    b.groups.append(GroupMembership(group, since))
    rid = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, since)
    for y in range(since.year, today.year + 1):
        paid = max(since, _window_day(rng, y))
        b.resident_year(rid, y, paid, PayerType.MEDICAL_ASSISTANCE)


def _duplicate_residents(b: _Builder, rng, today, now) -> None:
    year = rng.randint(2023, today.year)
    other = rng.choice([r for r in REGIONS if r != b.region])
    a = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(year, 1, 1))
    c = b.relation(InsuType.RESIDENT_BASIC, PsnType.ADULT_RESIDENT, date(year, 1, 1), region=other)
    b.resident_year(a, year, _window_day(rng, year))
    b.resident_year(c, year, _window_day(rng, year))


def _deceased(b: _Builder, rng, today, now) -> None:
    _steady_employee(b, rng, today, now)
    death = date(rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28))
    # never before the relation began: nobody is enrolled after death (the importer's AFTER_DEATH)
    b.death = min(max(death, b.enrollments[0].start + timedelta(days=31)), today)
    b.lines = [l for l in b.lines if l.month is None or l.month.first_day() <= b.death]


_STORIES = {
    "steady_employee": _steady_employee,
    "flexible_gap_backpaid": _flexible_gap_backpaid,
    "flexible_long_gap": _flexible_long_gap,
    "resident_continuous": _resident_continuous,
    "resident_late_payer": _resident_late_payer,
    "switch_resident_to_employee": _switch_resident_to_employee,
    "seasonal_worker": _seasonal_worker,
    "newborn": _newborn,
    "student": _student,
    "retiree": _retiree,
    "luzhou_lump_sum": _luzhou_lump_sum,
    "assistance": _assistance,
    "duplicate_residents": _duplicate_residents,
    "deceased": _deceased,
}

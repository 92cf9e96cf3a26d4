"""Immutable facts about one person (DESIGN §1). State is never stored here: it is derived by the rules.

Every fact carries ``recorded_on``, the day the agency learned it. :meth:`PersonFacts.known_on`
returns the facts as known on a date K, which is how the timeline answers "as known on K"
(a back-payment recorded on K makes past months covered from K on).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from yibao.codes import CertType, ContributionKind, FundLine, InsuStatus, InsuType, PsnType, Scheme
from yibao.dates import YearMonth


class PayerType(StrEnum):
    """Who paid a contribution line; refunds go back through the same channel (R-REF-002)."""

    UNIT = "UNIT"  # 单位
    INDIVIDUAL = "INDIVIDUAL"  # 个人
    UI_FUND = "UI_FUND"  # 失业保险基金 (R-ENR-001(5))
    MEDICAL_ASSISTANCE = "MEDICAL_ASSISTANCE"  # 医疗救助 (R-CONT-008)
    FISCAL_SUBSIDY = "FISCAL_SUBSIDY"  # 财政补助 (resident subsidy)
    MUNICIPAL_FINANCE = "MUNICIPAL_FINANCE"  # 市财政 (R-CONT-009 closed enterprises)
    GOVERNMENT = "GOVERNMENT"  # 政府代缴 (land-lost farmers, R-SPEC-002)
    PERSONAL_ACCOUNT = "PERSONAL_ACCOUNT"  # 个人账户划扣 (R-CONT-009)
    HEIR = "HEIR"  # 继承人 (E-07 arrears settled after death)


class PersonGroup(StrEnum):
    """人员身份类别 psn_idet_type: special identities held for a period (R-CODE-002 note)."""

    LOW_INCOME = "LOW_INCOME"  # 低保对象
    EXTREME_POVERTY = "EXTREME_POVERTY"  # 特困人员
    ORPHAN = "ORPHAN"  # 孤儿
    LIFTED_FROM_POVERTY = "LIFTED_FROM_POVERTY"  # 脱贫人口
    RELAPSE_MONITORED = "RELAPSE_MONITORED"  # 防止返贫监测对象
    MEDICAL_ASSISTANCE = "MEDICAL_ASSISTANCE"  # 医疗救助对象
    STUDENT = "STUDENT"  # 大中专学生（含全日制研究生）
    DISCHARGED_SERVICE_MEMBER = "DISCHARGED_SERVICE_MEMBER"  # 退役军人
    MILITARY_SPOUSE = "MILITARY_SPOUSE"  # 随军未就业军人配偶
    LAND_LOST_FARMER = "LAND_LOST_FARMER"  # 被征地农民
    SEASONAL_WORKER = "SEASONAL_WORKER"  # 短期季节性务工人员
    FLEXIBLE_WORKER = "FLEXIBLE_WORKER"  # 灵活就业人员
    UNEMPLOYED_ON_BENEFIT = "UNEMPLOYED_ON_BENEFIT"  # 领取失业保险金人员
    PENSIONER = "PENSIONER"  # 领取基本养老金人员
    RELEASED_PRISONER = "RELEASED_PRISONER"  # 刑满释放人员

    @property
    def is_assistance(self) -> bool:
        """The medical-assistance population of R-SPEC-004 / R-WAIT-013."""
        return self in ASSISTANCE_GROUPS


ASSISTANCE_GROUPS = frozenset(
    {
        PersonGroup.LOW_INCOME,
        PersonGroup.EXTREME_POVERTY,
        PersonGroup.ORPHAN,
        PersonGroup.LIFTED_FROM_POVERTY,
        PersonGroup.RELAPSE_MONITORED,
        PersonGroup.MEDICAL_ASSISTANCE,
    }
)


class StatusReason(StrEnum):
    """Why a relation's status changed (R-CODE-003)."""

    ENROLLMENT = "ENROLLMENT"
    DUPLICATE_CLEANUP = "DUPLICATE_CLEANUP"  # R-DUP
    SEASONAL_EMPLOYMENT = "SEASONAL_EMPLOYMENT"  # R-SPEC-001
    FLEXIBLE_DUPLICATE = "FLEXIBLE_DUPLICATE"  # R-DUP-006
    LAND_LOST_FARMER_EMPLOYED = "LAND_LOST_FARMER_EMPLOYED"  # R-SPEC-002
    STUDENT_EMPLOYED = "STUDENT_EMPLOYED"  # R-DUP-004
    SCHEME_SWITCH = "SCHEME_SWITCH"  # R-WAIT-003
    ASSISTANCE_SWITCH = "ASSISTANCE_SWITCH"  # R-WAIT-013
    TRANSFER_OUT = "TRANSFER_OUT"  # R-XFER
    EMPLOYMENT_ENDED = "EMPLOYMENT_ENDED"
    DEATH = "DEATH"
    EMIGRATION = "EMIGRATION"
    RESTORE = "RESTORE"
    OTHER = "OTHER"

    @property
    def restores_when_employee_cover_ends(self) -> bool:
        """Suspensions that end by themselves when the employee cover that caused them ends (R-SPEC-001 ex. 2)."""
        return self in (
            StatusReason.SEASONAL_EMPLOYMENT,
            StatusReason.FLEXIBLE_DUPLICATE,
            StatusReason.LAND_LOST_FARMER_EMPLOYED,
        )


class EventKind(StrEnum):
    """Life events the rules look at."""

    HIRED = "HIRED"  # 入职 (R-ENR-001: 30-day registration)
    LABOUR_END = "LABOUR_END"  # 劳动关系终止 (R-WAIT-004)
    DISCHARGED = "DISCHARGED"  # 退役 (R-WAIT-012)
    SPOUSE_EMPLOYED = "SPOUSE_EMPLOYED"  # 随军配偶就业 (R-WAIT-012)
    RETIRED = "RETIRED"  # 办理退休 (R-RET)
    PENSION_START = "PENSION_START"  # 开始领取基本养老金 (R-WAIT-009)
    SCHOOL_ENTRY = "SCHOOL_ENTRY"  # 入学 (R-RES-002)
    TRANSFER_ACCEPTED = "TRANSFER_ACCEPTED"  # 转移申请受理 (R-XFER-002)


@dataclass(frozen=True)
class IdentityDocument:
    """证件: a document the person holds or held (R-ID-005 document history)."""

    cert_type: CertType
    number: str  # normalised
    nationality: str | None = None
    valid_from: date | None = None
    recorded_on: date | None = None


@dataclass(frozen=True)
class GroupMembership:
    """A special identity held for a period, e.g. 低保 from 2024-03-01 to 2025-12-31."""

    group: PersonGroup
    start: date
    end: date | None = None
    region: str | None = None  # where it was recognised (e.g. a student's place of study)
    recorded_on: date | None = None

    def active_on(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)


@dataclass(frozen=True)
class LifeEvent:
    kind: EventKind
    on: date
    region: str | None = None
    recorded_on: date | None = None


@dataclass(frozen=True)
class ServicePeriod:
    """Active military service, deemed employee contribution years (R-XFER-003)."""

    start: YearMonth
    end: YearMonth
    recorded_on: date | None = None

    @property
    def months(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class StatusChange:
    """A change of a relation's 参保状态, effective from ``effective`` (the first day in the new status)."""

    effective: date
    status: InsuStatus
    reason: StatusReason = StatusReason.OTHER
    note: str = ""
    recorded_on: date | None = None
    recorded_by: str = ""


@dataclass(frozen=True)
class DeclaredWage:
    """The wage declared for an employee from a contribution month on (R-CONT-001 input)."""

    from_month: YearMonth
    monthly_wage: Decimal


@dataclass(frozen=True)
class Enrollment:
    """参保关系: one person × one insutype × one pooling region × one period, with its status history."""

    relation_id: str
    insutype: InsuType
    region: str  # admdvs, 6 digits
    psn_type: PsnType
    start: date
    end: date | None = None
    status_changes: tuple[StatusChange, ...] = ()
    employer: str | None = None  # USCC of the unit, for 310 unit relations
    wages: tuple[DeclaredWage, ...] = ()
    previous_relation_id: str | None = None  # re-enrollment after termination links to the old relation
    recorded_on: date | None = None

    @property
    def scheme(self) -> Scheme | None:
        if self.insutype in (InsuType.EMPLOYEE_BASIC, InsuType.RETIRED_CADRE, InsuType.RED_ARMY_VETERAN):
            return Scheme.EMPLOYEE
        if self.insutype in (InsuType.RESIDENT_BASIC, InsuType.OTHER_SPECIAL):
            return Scheme.RESIDENT
        return None

    @property
    def is_flexible(self) -> bool:
        return self.psn_type.is_flexible

    def status_on(self, d: date) -> InsuStatus:
        """参保状态 on day ``d`` from the status history (NOT_ENROLLED outside the period)."""
        if d < self.start or (self.end is not None and d > self.end):
            return InsuStatus.NOT_ENROLLED
        status = InsuStatus.NORMAL
        for change in sorted(self.status_changes, key=lambda c: c.effective):
            if change.effective <= d:
                status = change.status
        return status

    def wage_for(self, month: YearMonth) -> Decimal | None:
        wage = None
        for w in sorted(self.wages, key=lambda w: w.from_month):
            if w.from_month <= month:
                wage = w.monthly_wage
        return wage


@dataclass(frozen=True)
class ContributionLine:
    """缴费明细: money for one contribution month (``month``) or one resident benefit year (``benefit_year``).

    ``amount`` is positive for a payment and negative for a refund (kind 20). A lump sum (趸缴, kind
    33/40) that credits years without naming months has ``months_credited``.
    """

    relation_id: str
    kind: ContributionKind
    payer: PayerType
    paid_on: date
    amount: Decimal
    month: YearMonth | None = None
    benefit_year: int | None = None
    fund: FundLine | None = None
    base: Decimal | None = None
    months_credited: int = 0
    key: str | None = None  # idempotency key
    supersedes: str | None = None  # key of the line this one corrects
    legacy_benefit_start: date | None = None  # migrated start date (R-WAIT-010, A-08)
    recorded_on: date | None = None

    @property
    def known_from(self) -> date:
        return self.recorded_on or self.paid_on

    @property
    def is_refund(self) -> bool:
        return self.kind is ContributionKind.REFUND or self.amount < 0


@dataclass(frozen=True)
class PersonFacts:
    """Everything recorded about one (merged) person. Pure data; the rules derive the rest."""

    person_id: str
    name: str = ""
    birth_date: date | None = None
    sex: str | None = None  # "M" / "F"
    documents: tuple[IdentityDocument, ...] = ()
    groups: tuple[GroupMembership, ...] = ()
    events: tuple[LifeEvent, ...] = ()
    service_periods: tuple[ServicePeriod, ...] = ()
    enrollments: tuple[Enrollment, ...] = ()
    contributions: tuple[ContributionLine, ...] = ()
    death_date: date | None = None
    death_recorded_on: date | None = None

    def relation(self, relation_id: str) -> Enrollment:
        for e in self.enrollments:
            if e.relation_id == relation_id:
                return e
        raise KeyError(relation_id)

    def lines_for(self, relation_id: str) -> tuple[ContributionLine, ...]:
        return tuple(c for c in self.contributions if c.relation_id == relation_id)

    def groups_on(self, d: date) -> frozenset[PersonGroup]:
        return frozenset(g.group for g in self.groups if g.active_on(d))

    def events_of(self, kind: EventKind) -> tuple[LifeEvent, ...]:
        return tuple(sorted((e for e in self.events if e.kind is kind), key=lambda e: e.on))

    def known_on(self, k: date | None) -> "PersonFacts":
        """The facts as the agency knew them at the end of day ``k`` (None: everything)."""
        if k is None:
            return self

        def known(recorded: date | None, fallback: date | None = None) -> bool:
            when = recorded or fallback
            return when is None or when <= k

        enrollments = tuple(
            replace(e, status_changes=tuple(s for s in e.status_changes if known(s.recorded_on, s.effective)))
            for e in self.enrollments
            if known(e.recorded_on, e.start)
        )
        known_relations = {e.relation_id for e in enrollments}
        # a line is known only with its relation (a payment recorded before its relation waits for it)
        lines = [c for c in self.contributions if known(c.recorded_on, c.paid_on) and c.relation_id in known_relations]
        superseded = {c.supersedes for c in lines if c.supersedes}
        lines = [c for c in lines if c.key is None or c.key not in superseded]
        death_known = self.death_date is not None and known(self.death_recorded_on, self.death_date)
        return replace(
            self,
            groups=tuple(g for g in self.groups if known(g.recorded_on, g.start)),
            events=tuple(e for e in self.events if known(e.recorded_on, e.on)),
            service_periods=tuple(s for s in self.service_periods if known(s.recorded_on)),
            enrollments=enrollments,
            contributions=tuple(lines),
            death_date=self.death_date if death_known else None,
            death_recorded_on=self.death_recorded_on if death_known else None,
        )

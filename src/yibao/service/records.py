"""The records service: registry, enrollment lifecycle and contribution ledger over the store."""

from __future__ import annotations

import hashlib
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from yibao import ids
from yibao.codes import (
    RIDER_BASE,
    RIDER_WITHOUT_BASE,
    CertType,
    ContributionKind,
    InsuStatus,
    InsuType,
    PsnType,
    check_psn_type_matches,
    parse_code,
)
from yibao.dates import YearMonth
from yibao.errors import INVALID_INPUT, Notice, YibaoError, define
from yibao.explain import Decision
from yibao.model import ContributionLine, DeclaredWage, Enrollment, IdentityDocument, PersonFacts, StatusChange, StatusReason
from yibao.policy import Policy, default_policy
from yibao.rules.contribution import NEGATIVE_AMOUNT, ContributionSchedule, contribution_schedule
from yibao.rules.entitlement import Timeline, build_timeline, check_resident_payment
from yibao.rules.quote import Quote, quote
from yibao.rules.retirement import check_payment_after_death
from yibao.rules.status import check_transition
from yibao.service.cases import CaseUseCases
from yibao.service.common import (  # noqa: F401  (re-exported: other modules import them from here too)
    AFTER_DEATH,
    AFTER_DEATH_FUTURE,
    BEFORE_RELATION_START,
    DEATH_BEFORE_BIRTH,
    EMPTY_PAYMENT,
    MAX_BY,
    MAX_KEY,
    MAX_NAME,
    MAX_RELATION_ID,
    STATUS_DATE_ORDER,
    _check_length,
    _lock_person,
    _relation,
)
from yibao.service.corrections import CorrectionUseCases
from yibao.service.coverage import CoverageQueries
from yibao.service.places import PlaceUseCases
from yibao.store import repository as repo
from yibao.store.db import create_engine_for, migrate, session_factory
from yibao.store.auth_models import PersonHomeRow
from yibao.store.errors import IDEMPOTENCY_CONFLICT
from yibao.store.models import EnrollmentRow, LineRow
from yibao.store.types import check_money

SHANGHAI = ZoneInfo("Asia/Shanghai")

ZERO_AMOUNT = define("ZERO_AMOUNT", "缴费金额不能为0", "a contribution amount cannot be zero")
NO_DOCUMENT = define("NO_DOCUMENT", "登记参保人至少需要一个证件", "registering a person needs at least one identity document")


@dataclass(frozen=True)
class Registered:
    psn_no: str
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class Posted:
    """Lines posted by a payment or back-payment; ``new`` counts the ones not recorded before."""

    keys: tuple[str, ...]
    new: int
    quote: Quote | None = None


class RecordsService(CaseUseCases, CorrectionUseCases, CoverageQueries, PlaceUseCases):
    """Use cases over one database. Thread-safe: each call opens its own session."""

    def __init__(self, sessions: sessionmaker[Session], policy: Policy | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.sessions = sessions
        self.policy = policy or default_policy()
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    @classmethod
    def open(cls, url: str | None = None, *, policy: Policy | None = None, migrate_first: bool = True) -> "RecordsService":
        engine = create_engine_for(url)
        if migrate_first:
            migrate(engine)
        return cls(session_factory(engine), policy)

    @property
    def engine(self) -> Engine:
        return self.sessions.kw["bind"]

    def today(self) -> date:
        return self.clock().astimezone(SHANGHAI).date()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back everything on any error."""
        with self.sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    # ----------------------------------------------------------------------------- registry

    def register_person(
        self,
        *,
        by: str,
        documents: Sequence[tuple[str, str, str | None]],
        name: str = "",
        birth_date: date | None = None,
        sex: str | None = None,
        home_region: str | None = None,
    ) -> Registered:
        """Register a person (人员登记) with documents; birth date and sex derive from the ID (R-ID-007).

        ``home_region``: the pooling region the person belongs to until enrolled (the registering
        clerk's region), written in the same transaction.
        """
        if not documents:
            raise YibaoError(NO_DOCUMENT, field="documents")
        _check_length(by, MAX_BY, "by")
        _check_length(name, MAX_NAME, "name")
        today = self.today()
        docs: list[IdentityDocument] = []
        notices: list[Notice] = []
        for i, (cert_type, number, nationality) in enumerate(documents):
            ct = CertType(parse_code("cert_type", cert_type, field=f"documents.{i}.cert_type", on=today))
            try:
                doc = ids.validate_document(ct, number, nationality=nationality, registration_date=today)
            except YibaoError as exc:
                exc.field = f"documents.{i}.{_document_field(exc)}"
                raise
            notices.extend(ids.check_declared_attributes(doc, declared_birth_date=birth_date, declared_sex=sex))
            birth_date = birth_date or doc.birth_date
            sex = sex or doc.sex
            docs.append(IdentityDocument(ct, doc.number, doc.nationality, None, today))
        if home_region is not None:
            home_region = self.policy.check_region(home_region)
        with self._tx() as session:
            at = self.clock()
            row = repo.add_person(session, by=by, name=name, birth_date=birth_date, sex=sex, documents=docs, at=at)
            if home_region is not None:
                session.add(PersonHomeRow(psn_no=row.psn_no, region=home_region, recorded_at=at, recorded_by=by))
            return Registered(row.psn_no, tuple(notices))

    def add_document(self, psn_no: str, *, by: str, cert_type: str, number: str, nationality: str | None = None) -> None:
        """A new document for a known person (a new PR card, a residence permit after a travel permit)."""
        _check_length(by, MAX_BY, "by")
        ct = CertType(parse_code("cert_type", cert_type, field="cert_type", on=self.today()))
        try:
            doc = ids.validate_document(ct, number, nationality=nationality, registration_date=self.today())
        except YibaoError as exc:
            exc.field = _document_field(exc)
            raise
        with self._tx() as session:
            try:
                repo.add_document(session, psn_no, IdentityDocument(ct, doc.number, doc.nationality, None, self.today()), by=by, at=self.clock())
            except YibaoError as exc:  # the repository names the document "documents.number"
                if exc.field and exc.field.startswith("documents."):
                    exc.field = exc.field.removeprefix("documents.")
                raise

    def find_person(self, cert_type: str, number: str, nationality: str | None = None) -> str | None:
        with self._read() as session:
            try:
                row = repo.find_person(session, cert_type, number, nationality)
            except YibaoError as exc:
                exc.field = _document_field(exc)
                raise
            return row.psn_no if row is not None else None

    def merge_persons(self, keep: str, absorb: str, *, by: str, reason: str) -> None:
        """人员多号合并 (R-ID-005): every document, relation and line moves to ``keep``, audited."""
        with self._tx() as session:
            repo.merge_persons(session, keep, absorb, by=by, reason=reason, at=self.clock())

    # ----------------------------------------------------------------------------- enrollment

    def enroll(
        self,
        psn_no: str,
        *,
        by: str,
        insutype: str,
        region: str,
        psn_type: str,
        start: date,
        employer: str | None = None,
        monthly_wage: Decimal | None = None,
        relation_id: str | None = None,
    ) -> Decision[str]:
        """Open a 参保关系. Codes are checked (no legacy insutypes), riders need their base (R-CODE-001),
        the employer code is validated; an overlapping normal core relation is reported (R-ENR-002)."""
        _check_length(by, MAX_BY, "by")
        if relation_id is not None:
            _check_length(relation_id, MAX_RELATION_ID, "relation_id")
        region = self.policy.check_region(region)
        it = InsuType(parse_code("insutype", insutype, field="insutype", on=start))
        pt = PsnType(parse_code("psn_type", psn_type, field="psn_type", on=start))
        check_psn_type_matches(pt, InsuType(RIDER_BASE.get(it.value, it.value)), field="psn_type")
        if employer is not None:
            employer = ids.validate_uscc(employer, field="employer")
        if monthly_wage is not None and monthly_wage < 0:
            raise YibaoError(NEGATIVE_AMOUNT, field="monthly_wage", what="monthly_wage", value=str(monthly_wage))
        if monthly_wage is not None:
            monthly_wage = check_money(monthly_wage, field="monthly_wage")  # the store would name it "wages.0.monthly"
        rid = relation_id or f"R{uuid.uuid4().hex[:10].upper()}"
        wages = (DeclaredWage(YearMonth.of(start), monthly_wage),) if monthly_wage is not None else ()
        enrollment = Enrollment(rid, it, region, pt, start, None, (), employer, wages, None, self.today())
        with self._tx() as session:
            facts = repo.load_facts(session, psn_no)
            if facts.death_date is not None and start > facts.death_date:
                raise YibaoError(AFTER_DEATH, field="start", death=facts.death_date.isoformat(), action="enroll")
            base = RIDER_BASE.get(it.value)
            if base is not None and not any(
                e.insutype.value == base and e.region == region and e.status_on(start) is InsuStatus.NORMAL for e in facts.enrollments
            ):
                raise YibaoError(RIDER_WITHOUT_BASE, field="insutype", code=it.value, base=base)
            notices = []
            if it.is_core:
                for other in facts.enrollments:
                    if other.insutype.is_core and other.status_on(start) is InsuStatus.NORMAL and (other.end is None or other.end >= start):
                        notices.append(Notice.of(ALREADY_ENROLLED, field="insutype", relation=other.relation_id, insutype=other.insutype.value, region=other.region))
            repo.add_enrollment(session, psn_no, enrollment, by=by, at=self.clock())
        return Decision(rid, (), tuple(notices))

    def change_status(
        self,
        psn_no: str,
        relation_id: str,
        *,
        by: str,
        status: InsuStatus,
        effective: date,
        reason: StatusReason,
        note: str = "",
    ) -> None:
        """Suspend / restore / terminate (R-CODE-003): a terminated relation is final; changes go forward in time."""
        with self._tx() as session:
            facts = repo.load_facts(session, psn_no)
            rel = _relation(facts, relation_id)
            if effective < rel.start:
                raise YibaoError(BEFORE_RELATION_START, field="effective", effective=effective.isoformat(), start=rel.start.isoformat())
            last = max((c.effective for c in rel.status_changes), default=None)
            if last is not None and effective < last:
                raise YibaoError(STATUS_DATE_ORDER, field="effective", effective=effective.isoformat(), last=last.isoformat())
            terminated = next((c.effective for c in rel.status_changes if c.status is InsuStatus.TERMINATED), None)
            check_transition(rel.status_on(max(effective, rel.start)), status, terminated_on=terminated, field="status")
            change = StatusChange(effective, status, reason, note, self.today(), by)
            repo.append_status_change(session, psn_no, relation_id, change, by=by, at=self.clock())

    def suspend(self, psn_no: str, relation_id: str, *, by: str, effective: date, reason: StatusReason, note: str = "") -> None:
        self.change_status(psn_no, relation_id, by=by, status=InsuStatus.SUSPENDED, effective=effective, reason=reason, note=note)

    def restore(self, psn_no: str, relation_id: str, *, by: str, effective: date, note: str = "") -> None:
        self.change_status(psn_no, relation_id, by=by, status=InsuStatus.NORMAL, effective=effective, reason=StatusReason.RESTORE, note=note)

    def terminate(self, psn_no: str, relation_id: str, *, by: str, effective: date, reason: StatusReason, note: str = "") -> None:
        self.change_status(psn_no, relation_id, by=by, status=InsuStatus.TERMINATED, effective=effective, reason=reason, note=note)

    def record_death(self, psn_no: str, death_date: date, *, by: str) -> None:
        if death_date > self.today():
            raise YibaoError(AFTER_DEATH_FUTURE, field="death_date", death=death_date.isoformat())
        with self._tx() as session:
            birth = repo.person_values(session, _lock_person(session, psn_no))["birth_date"]  # as corrected
            if birth is not None and death_date < birth:
                raise YibaoError(DEATH_BEFORE_BIRTH, field="death_date", death=death_date.isoformat(), birth=birth.isoformat())
            repo.record_death(session, psn_no, death_date, by=by, at=self.clock())

    # ----------------------------------------------------------------------------- money

    def record_contributions(self, psn_no: str, lines: Sequence[ContributionLine], *, by: str) -> Posted:
        """Post contribution lines (缴费明细), idempotent by key: a line posted twice is recorded once.

        Checks before writing: the relation is the person's, amounts are non-zero, a next-year resident
        payment is inside the window where the region requires it (R-RES-001), nothing is paid after
        death unless an heir settles earlier months (E-07).
        """
        if not lines:
            raise YibaoError(EMPTY_PAYMENT, field="lines")
        _check_length(by, MAX_BY, "by")
        with self._tx() as session:
            _lock_person(session, psn_no)
            return self._record(session, psn_no, lines, by=by)

    def _record(self, session: Session, psn_no: str, lines: Sequence[ContributionLine], *, by: str) -> Posted:
        """record_contributions inside the caller's transaction (which holds the person's lock)."""
        facts = repo.load_facts(session, psn_no)
        keyed = []
        for i, line in enumerate(lines):
            rel = _relation(facts, line.relation_id, field=f"lines.{i}.relation_id")
            if line.month is not None and line.benefit_year is not None:
                raise YibaoError(INVALID_INPUT, field=f"lines.{i}.benefit_year", reason="a line is for one contribution month or one benefit year, not both")
            if line.month is None and line.benefit_year is None and line.months_credited <= 0:
                raise YibaoError(INVALID_INPUT, field=f"lines.{i}.month", reason="a line needs a month, a benefit year or months_credited (lump sum)")
            if line.key is not None:
                _check_length(line.key, MAX_KEY, f"lines.{i}.key")
            if line.amount == 0:
                raise YibaoError(ZERO_AMOUNT, field=f"lines.{i}.amount")
            if line.benefit_year is not None and line.amount > 0 and line.benefit_year > line.paid_on.year:
                try:
                    check_resident_payment(self.policy, rel.region, line.benefit_year, line.paid_on)
                except YibaoError as exc:
                    exc.field = f"lines.{i}.paid_on"
                    raise
            if facts.death_date is not None:
                try:
                    check_payment_after_death(line, facts.death_date)
                except YibaoError as exc:
                    exc.field = f"lines.{i}.{exc.field or 'paid_on'}"
                    raise
            keyed.append(line if line.key else replace(line, key=_line_key(psn_no, line)))
        inserted: set[LineRow] = set()  # an idempotent repeat returns the earlier row, which is not inserted

        @event.listens_for(session, "before_flush")
        def _collect(flushing: Session, _context: object, _instances: object) -> None:
            inserted.update(o for o in flushing.new if isinstance(o, LineRow))

        try:
            rows = repo.append_lines(session, psn_no, keyed, by=by, at=self.clock())
        except YibaoError as exc:  # the repository numbers "contributions", this use case takes "lines"
            if exc.field and exc.field.startswith("contributions."):
                exc.field = "lines." + exc.field.removeprefix("contributions.").replace(".relation", ".relation_id")
            raise
        new = len({row for row in rows if row in inserted})  # a key given twice in one payment is one row
        return Posted(tuple(l.key for l in keyed if l.key), new)

    def quote(self, psn_no: str, pay_on: date) -> Decision[Quote]:
        """What to pay (and back-pay) on ``pay_on`` and what it buys — the rules' quote over the stored facts."""
        return quote(self.facts(psn_no), self.policy, pay_on, as_known_on=max(pay_on, self.today()))

    def post_backpayment(self, psn_no: str, pay_on: date, *, by: str, payment_key: str) -> Posted:
        """Quote, then post exactly the quoted lines (补缴/当月), keyed by ``payment_key`` — posting twice records once."""
        _check_length(by, MAX_BY, "by")
        if not payment_key:
            raise YibaoError(INVALID_INPUT, field="payment_key", reason="a payment key is required / 必须提供缴费幂等键")
        # One transaction holding the person's lock: the check for an earlier posting, the quote and the
        # posting see the same facts, so a payment posted twice at the same time is posted once (and
        # the second does not buy the next month with the same key).
        with self._tx() as session:
            _lock_person(session, psn_no)
            earlier = session.execute(
                select(LineRow.idempotency_key, LineRow.paid_on, EnrollmentRow.psn_no)
                .join(EnrollmentRow, LineRow.enrollment_id == EnrollmentRow.id)
                .where(LineRow.idempotency_key.startswith(f"{payment_key}:", autoescape=True))  # "_" and "%" are no wildcards
            ).all()
            if earlier:  # this payment was posted already: record nothing again — unless the key names another payment
                if any(p != psn_no for _, _, p in earlier):  # never name the other person (another region's clerk may ask)
                    raise YibaoError(IDEMPOTENCY_CONFLICT, field="payment_key", key=payment_key, differences="another person / 其他参保人")
                days = sorted({d.isoformat() for _, d, _ in earlier if d != pay_on})
                if days:
                    raise YibaoError(IDEMPOTENCY_CONFLICT, field="payment_key", key=payment_key, differences=f"paid_on {', '.join(days)}")
                return Posted(tuple(sorted(k for k, _, _ in earlier if k)), 0)
            decision = quote(repo.load_facts(session, psn_no), self.policy, pay_on, as_known_on=max(pay_on, self.today()))
            posted: list[ContributionLine] = []
            for item in decision.value.items:
                for due, period in zip(item.lines, item.periods):
                    month = period if isinstance(period, YearMonth) else None
                    year = period if isinstance(period, int) else None
                    kind = ContributionKind.INTERRUPTION_BACKPAY if month is not None and month in item.backpay_months else ContributionKind.REGULAR
                    key = f"{payment_key}:{item.relation_id}:{period}:{due.share.value}:{due.payer.value}"
                    _check_length(key, MAX_KEY, "payment_key")
                    posted.append(
                        ContributionLine(item.relation_id, kind, due.payer, pay_on, due.amount, month=month, benefit_year=year, base=due.base, key=key)
                    )
            if not posted:  # e.g. no wage declared: the quote names the months but no amounts
                raise YibaoError(EMPTY_PAYMENT, field="pay_on")
            result = self._record(session, psn_no, posted, by=by)
            return Posted(result.keys, result.new, decision.value)

    # ----------------------------------------------------------------------------- queries

    def facts(self, psn_no: str, *, as_known_on: date | None = None) -> PersonFacts:
        with self._read() as session:
            return repo.load_facts(session, psn_no, as_known_on=as_known_on)

    def timeline(self, psn_no: str, *, as_known_on: date | None = None) -> Timeline:
        k = as_known_on or self.today()
        return build_timeline(self.facts(psn_no, as_known_on=k), self.policy, k)

    def contributions_due(self, psn_no: str, first: YearMonth, last: YearMonth, *, as_known_on: date | None = None) -> Decision[ContributionSchedule]:
        k = as_known_on or self.today()
        return contribution_schedule(self.facts(psn_no, as_known_on=k), self.policy, first, last, as_of=k)


ALREADY_ENROLLED = define(
    "ALREADY_ENROLLED",
    "参保人已有正常的基本医保关系 {relation}（{insutype}，{region}），新关系可能构成重复参保（R-ENR-002）",
    "the person already has a normal core relation {relation} ({insutype}, {region}); the new one may be a duplicate (R-ENR-002)",
)


def _line_key(psn_no: str, line: ContributionLine) -> str:
    """A deterministic idempotency key for a line posted without one: the same payment twice is one line.

    The amount is written with two decimals, so that 400, 400.0 and 400.00 are the same payment; keys
    longer than the column (long person or relation numbers) are shortened to a digest.
    """
    period = str(line.month) if line.month is not None else f"Y{line.benefit_year}" if line.benefit_year else f"L{line.months_credited}"
    try:
        amount = format(Decimal(line.amount).quantize(Decimal("0.01")), "f")
    except (InvalidOperation, TypeError, ValueError):  # refused later, with its field, by the store's money check
        amount = str(line.amount)
    key = f"{psn_no}:{line.relation_id}:{period}:{line.kind.value}:{line.payer.value}:{line.paid_on.isoformat()}:{amount}"
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _document_field(exc: YibaoError) -> str:
    """The service's name for the input an ID check refused (the ids package calls the number "cert_no")."""
    return "nationality" if exc.field == "nationality" else "cert_type" if exc.field == "cert_type" else "number"

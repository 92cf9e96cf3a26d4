"""Bulk import of people, relations and contribution lines from CSV or Parquet (``yibao import``).

Format (also in ``docs/import.md``)
-----------------------------------
One file per kind of fact. The kind is recognised from the file's columns (the required columns of
exactly one kind, and no column that kind does not know); the file name does not matter. CSV files
are UTF-8 (with or without a byte-order mark), comma-separated, with a header row; an empty cell is
"not given". Parquet files have the same column names; their columns may be strings or typed (date,
integer, decimal; a float is read through its shortest decimal form — prefer decimals for money).

===========  ==========================================================  =================================================
kind         required columns                                            optional columns
===========  ==========================================================  =================================================
persons      psn_no, cert_type, number                                   name, birth_date, sex, nationality, valid_from,
                                                                         death_date, death_recorded_on, recorded_on
groups       psn_no, group, start                                        end, region, recorded_on
events       psn_no, event, on                                           region, recorded_on
relations    psn_no, relation_id, insutype, region, psn_type, start      end, employer, monthly_wage,
                                                                         previous_relation_id, recorded_on
statuses     psn_no, relation_id, effective, status                      reason, note, recorded_on
lines        psn_no, relation_id, paid_on, kind, payer, amount           month, benefit_year, base, key, fund,
                                                                         months_credited, legacy_benefit_start, recorded_on
===========  ==========================================================  =================================================

* persons: one row per identity document; a person with two documents has two rows with the same
  ``psn_no`` (name, birth date and sex may be repeated or left empty on the second). ``birth_date``
  and ``sex`` (M/F) default to what the document number says (R-ID-007).
* codes: ``cert_type``, ``insutype``, ``psn_type``, ``kind`` (缴费类型) are national codes;
  ``status`` is 1 / 2 / 4 (or NORMAL / SUSPENDED / TERMINATED); ``payer``, ``group``, ``event`` and
  ``reason`` are the names of :class:`yibao.model.PayerType`, ``PersonGroup``, ``EventKind`` and
  ``StatusReason``; ``fund`` is a fund-line code (310100 …).
* dates are ISO ``YYYY-MM-DD``, ``month`` is ``YYYY-MM``; a line has exactly one of ``month`` and
  ``benefit_year`` (or neither, for a lump sum with ``months_credited``); ``monthly_wage`` is the
  wage declared from the relation's first month.
* ``recorded_on`` is the day the agency learned the fact. When it is empty the fact is stored as a
  migrated fact whose knowledge date is unknown, and the rules use the fact's own date (a payment is
  known from the day it was paid) — exactly as for a case file.

Files are imported in the order persons, groups, events, relations, statuses, lines (then in the
order given), so that a relation finds its person and a line its relation.

Validation
----------
Each row is checked with the rules of the records service (:mod:`yibao.service.records`): documents
through :func:`yibao.ids.validate_document` (the person key, R-ID-005), codes through
:func:`yibao.codes.parse_code` (no legacy insutype, no code before it took effect), the psn_type of
the insutype, regions through the policy, employers (USCC), riders need their base (R-CODE-001),
the status machine (R-CODE-003), the resident collection window (R-RES-001), payments after death
(E-07), non-zero amounts, exact money. ``migration=True`` (``--migration``) admits what a data
migration may: legacy insutypes, codes before their effective date, 15-digit resident IDs.

Batches, errors, idempotency
----------------------------
* Rows are read and written in batches (default 1 000 rows of one file). **A batch is all or
  nothing:** it is one transaction, and a batch with any invalid row is rejected whole — none of its
  rows is written — and reported; the other batches proceed. A crash or a kill mid-import leaves no
  partial batch (the open transaction is rolled back by the database).
* The error report (CSV, UTF-8 with BOM so that spreadsheets show Chinese) has the columns
  ``file, row, field, code, message_zh, message_en``: ``row`` is the 1-based number of the data
  record (the header is not counted), ``field`` is the column. After the invalid rows of a rejected
  batch, one ``BATCH_REJECTED`` line names the rows that were not imported with it. Rows that depend
  on a rejected row (the relations of a rejected person …) are rejected in their own batches.
* Importing is idempotent, so re-running a file (after a crash, or after fixing the rejected rows)
  records nothing twice: a person by its person key (a document held by the same ``psn_no`` is
  skipped), a relation by (``psn_no``, ``relation_id``), a status change by (relation, ``effective``,
  ``status``), a group by (``psn_no``, ``group``, ``start``), an event by (``psn_no``, ``event``, ``on``),
  a line by its idempotency key — the ``key`` column, or when empty the key the records service
  derives from the line's content (person, relation, period, kind, payer, paid_on, amount), so two
  identical lines without keys are one payment. A row whose key is stored with *different* content
  is an error (``IMPORT_CONFLICT``, or ``IDEMPOTENCY_CONFLICT`` for lines), never an overwrite.
  Corrections made since stand: a value as first imported or as corrected now (a person's
  attributes, a relation's start/end/psn_type/employer, a wage, a status change or death corrected
  or withdrawn) is present; another is the conflict, naming the current value (docs/decisions.md).

    result = import_files([Path("persons.csv"), Path("lines.parquet")], "sqlite:///yibao.db", report=Path("errors.csv"))
    result.read, result.imported, result.skipped, result.rejected
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from yibao import ids
from yibao.codes import (
    RIDER_BASE,
    RIDER_WITHOUT_BASE,
    CertType,
    ContributionKind,
    FundLine,
    InsuStatus,
    InsuType,
    PsnType,
    check_psn_type_matches,
    parse_code,
)
from yibao.dates import YearMonth
from yibao.errors import YibaoError, define
from yibao.model import (
    ContributionLine,
    DeclaredWage,
    Enrollment,
    EventKind,
    GroupMembership,
    IdentityDocument,
    LifeEvent,
    PayerType,
    PersonFacts,
    PersonGroup,
    StatusChange,
    StatusReason,
)
from yibao.policy import Policy, default_policy
from yibao.rules.contribution import NEGATIVE_AMOUNT
from yibao.rules.entitlement import check_resident_payment
from yibao.rules.retirement import check_payment_after_death
from yibao.rules.status import check_transition
from yibao.service.records import (
    AFTER_DEATH,
    AFTER_DEATH_FUTURE,
    BEFORE_RELATION_START,
    DEATH_BEFORE_BIRTH,
    STATUS_DATE_ORDER,
    ZERO_AMOUNT,
    _line_key as derived_line_key,
)
from yibao.store import repository as repo
from yibao.store.correction_models import RELATION_FIELDS
from yibao.store.errors import DEATH_ALREADY_RECORDED, DUPLICATE_PERSON_KEY
from yibao.store.models import DeathRow, EnrollmentRow, EventRow, GroupRow, LineRow, PersonRow, StatusChangeRow, WageRow
from yibao.store.types import check_money

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_BATCH_SIZE = 1000
DEFAULT_BY = "import"

IMPORT_UNREADABLE = define("IMPORT_UNREADABLE", "无法读取导入文件 {path}：{reason}", "cannot read import file {path}: {reason}")
IMPORT_BAD_HEADER = define("IMPORT_BAD_HEADER", "导入文件 {path} 的表头无法识别：{reason}", "the header of import file {path} is not recognised: {reason}")
IMPORT_DATABASE = define("IMPORT_DATABASE", "无法打开数据库 {url}：{reason}", "cannot open the database {url}: {reason}")
IMPORT_MISSING = define("IMPORT_MISSING", "必填字段 {column} 为空", "the required column {column} is empty")
IMPORT_VALUE = define("IMPORT_VALUE", "字段 {column} 的值 {value} 无效：{reason_zh}", "column {column} has an invalid value {value}: {reason_en}")
IMPORT_ROW_SHAPE = define("IMPORT_ROW_SHAPE", "该行有 {got} 个字段，表头有 {expected} 个", "the row has {got} fields, the header {expected}")
IMPORT_CONFLICT = define(
    "IMPORT_CONFLICT",
    "{what_zh} 已存在，但 {column} 不同（已存：{stored}；文件：{given}）",
    "{what_en} exists already with another {column} (stored: {stored}; file: {given})",
)
BATCH_REJECTED = define(
    "BATCH_REJECTED",
    "第 {first}–{last} 行所在的批次因第 {bad} 行有误而整批未导入",
    "the batch of rows {first}–{last} was not imported because of the invalid row(s) {bad}",
)

REPORT_COLUMNS = ("file", "row", "field", "code", "message_zh", "message_en")
MAX_PSN_NO, MAX_RELATION_ID, MAX_NAME, MAX_KEY = 40, 64, 200, 128


@dataclass(frozen=True)
class Kind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("persons", ("psn_no", "cert_type", "number"),
             ("name", "birth_date", "sex", "nationality", "valid_from", "death_date", "death_recorded_on", "recorded_on")),
        Kind("groups", ("psn_no", "group", "start"), ("end", "region", "recorded_on")),
        Kind("events", ("psn_no", "event", "on"), ("region", "recorded_on")),
        Kind("relations", ("psn_no", "relation_id", "insutype", "region", "psn_type", "start"),
             ("end", "employer", "monthly_wage", "previous_relation_id", "recorded_on")),
        Kind("statuses", ("psn_no", "relation_id", "effective", "status"), ("reason", "note", "recorded_on")),
        Kind("lines", ("psn_no", "relation_id", "paid_on", "kind", "payer", "amount"),
             ("month", "benefit_year", "base", "key", "fund", "months_credited", "legacy_benefit_start", "recorded_on")),
    )
}
ORDER = tuple(KINDS)  # the import order


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    field: str
    code: str
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, file: str, row: int, exc: YibaoError) -> "RowError":
        return cls(file, row, exc.field or "", exc.code, exc.message_zh, exc.message_en)


@dataclass
class FileResult:
    path: Path
    kind: str
    read: int = 0
    imported: int = 0
    skipped: int = 0  # already present (or a repeat of an earlier row): nothing written
    rejected: int = 0  # rows of rejected batches
    batches: int = 0
    rejected_batches: int = 0


@dataclass
class ImportResult:
    files: list[FileResult] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # invalid rows, then BATCH_REJECTED lines, per batch

    def _sum(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def read(self) -> int:
        return self._sum("read")

    @property
    def imported(self) -> int:
        return self._sum("imported")

    @property
    def skipped(self) -> int:
        return self._sum("skipped")

    @property
    def rejected(self) -> int:
        return self._sum("rejected")

    @property
    def rejected_batches(self) -> int:
        return self._sum("rejected_batches")

    @property
    def ok(self) -> bool:
        return self.rejected_batches == 0


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

RawRow = dict[str, "str | None"]


class Source:
    """One input file: its kind, an estimate of its rows (for the progress bar) and its batches."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.label = str(path)
        if not self.path.is_file():
            raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason="no such file / 文件不存在")
        try:
            with self.path.open("rb") as fh:
                self.is_parquet = fh.read(4) == b"PAR1"
        except OSError as exc:
            raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason=exc.strerror or type(exc).__name__) from None
        self.columns = self._parquet_header() if self.is_parquet else self._csv_header()
        self.kind = self._kind(self.columns)

    # -- header and kind

    def _parquet_header(self) -> list[str]:
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason=str(exc).splitlines()[0][:200]) from None
        self.total = meta.metadata.num_rows
        return [str(n).strip().lower() for n in meta.schema_arrow.names]

    def _csv_header(self) -> list[str]:
        # One pass over the bytes before anything is imported: the whole file must be UTF-8, and
        # the number of lines estimates the rows for the progress bar.
        decoder = codecs.getincrementaldecoder("utf-8")()
        lines, offset, last = 0, 0, b"\n"
        try:
            with self.path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label,
                                         reason=f"not UTF-8 at byte {offset + exc.start} / 第 {offset + exc.start} 字节不是 UTF-8 编码") from None
                    lines += chunk.count(b"\n")
                    offset += len(chunk)
                    last = chunk[-1:]
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason="not UTF-8 at the end / 文件末尾不是 UTF-8 编码") from None
            if last != b"\n":
                lines += 1  # a last line without a line break
        except OSError as exc:
            raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason=exc.strerror or type(exc).__name__) from None
        self.total = max(lines - 1, 0)
        with self._open_csv() as fh:
            try:
                header = next(csv.reader(fh))
            except StopIteration:
                raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label, reason="the file is empty / 文件为空") from None
            except csv.Error as exc:
                raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label, reason=str(exc)) from None
        return [h.strip().lower() for h in header]  # column names are matched without case

    def _kind(self, columns: list[str]) -> Kind:
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label, reason=f"columns named twice: {', '.join(dupes)}")
        given = set(columns)
        matches = [k for k in KINDS.values() if set(k.required) <= given]
        if len(matches) == 1:
            kind = matches[0]
            unknown = [c for c in columns if c not in kind.columns]
            if unknown:
                raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label,
                                 reason=f"{kind.name}: unknown columns {', '.join(unknown)} (known: {', '.join(kind.columns)})")
            return kind
        if len(matches) > 1:
            raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label,
                             reason=f"the columns fit several kinds: {', '.join(k.name for k in matches)}")
        closest = max(KINDS.values(), key=lambda k: len(set(k.required) & given))
        missing = [c for c in closest.required if c not in given]
        raise YibaoError(IMPORT_BAD_HEADER, field="files", path=self.label,
                         reason=f"no kind of file has these columns; {closest.name} would need {', '.join(missing)}")

    # -- rows

    def _open_csv(self) -> io.TextIOWrapper:
        return self.path.open("r", encoding="utf-8-sig", newline="")

    def batches(self, size: int) -> Iterator[list[tuple[int, RawRow | YibaoError]]]:
        """Lists of (row number, row) — or (row number, the error that makes the row unreadable)."""
        rows = self._parquet_rows(size) if self.is_parquet else self._csv_rows()
        batch: list[tuple[int, RawRow | YibaoError]] = []
        for item in rows:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _csv_rows(self) -> Iterator[tuple[int, RawRow | YibaoError]]:
        width = len(self.columns)
        with self._open_csv() as fh:
            reader = csv.reader(fh)
            next(reader, None)
            number = 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    number += 1
                    yield number, YibaoError(IMPORT_VALUE, field="", column="(row)", value="", reason_zh=str(exc), reason_en=str(exc))
                    continue
                if not values or all(not v.strip() for v in values):
                    continue  # blank line
                number += 1
                if len(values) != width:
                    yield number, YibaoError(IMPORT_ROW_SHAPE, field="", got=len(values), expected=width)
                    continue
                yield number, {c: (v.strip() or None) for c, v in zip(self.columns, values)}

    def _parquet_rows(self, size: int) -> Iterator[tuple[int, RawRow | YibaoError]]:
        import pyarrow.parquet as pq

        number = 0
        try:
            for record_batch in pq.ParquetFile(self.path).iter_batches(batch_size=size):
                for values in record_batch.to_pylist():
                    number += 1
                    yield number, {str(c).strip().lower(): _text(v) for c, v in values.items()}
        except Exception as exc:  # a damaged page
            raise YibaoError(IMPORT_UNREADABLE, field="files", path=self.label, reason=f"row {number + 1}: {str(exc).splitlines()[0][:200]}") from None


def _text(value: Any) -> str | None:
    """A Parquet value as the text a CSV cell would hold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):  # pandas writes NaN for a missing number
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip() or None
    return str(value).strip() or None


# --------------------------------------------------------------------------------------
# parsing one row (pure: no database)
# --------------------------------------------------------------------------------------


class _Row:
    """Typed access to the cells of one row; every fault names its column."""

    def __init__(self, raw: RawRow, today: date, migration: bool, policy: Policy) -> None:
        self.raw, self.today, self.migration, self.policy = raw, today, migration, policy

    def opt(self, column: str, limit: int | None = None) -> str | None:
        value = self.raw.get(column)
        if value is not None and limit is not None and len(value) > limit:
            raise self.bad(column, value, f"最多 {limit} 个字符", f"at most {limit} characters")
        return value

    def req(self, column: str, limit: int | None = None) -> str:
        value = self.opt(column, limit)
        if value is None:
            raise YibaoError(IMPORT_MISSING, field=column, column=column)
        return value

    def bad(self, column: str, value: Any, zh: str, en: str) -> YibaoError:
        shown = str(value) if len(str(value)) <= 40 else str(value)[:37] + "…"
        return YibaoError(IMPORT_VALUE, field=column, column=column, value=shown, reason_zh=zh, reason_en=en)

    def day(self, column: str, required: bool = False) -> date | None:
        value = self.req(column) if required else self.opt(column)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise self.bad(column, value, "应为 YYYY-MM-DD 格式的日期", "expected a date YYYY-MM-DD") from None

    def month(self, column: str) -> YearMonth | None:
        value = self.opt(column)
        return None if value is None else YearMonth.parse(value, field=column)

    def integer(self, column: str, low: int | None = None, high: int | None = None) -> int | None:
        value = self.opt(column)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise self.bad(column, value, "应为整数", "expected a whole number") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise self.bad(column, value, f"应在 {low}–{high} 之间", f"expected {low}..{high}")
        return number

    def money(self, column: str, required: bool = False) -> Decimal | None:
        value = self.req(column) if required else self.opt(column)
        if value is None:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self.bad(column, value, "应为金额（元，最多两位小数）", "expected an amount in yuan") from None
        if not amount.is_finite():
            raise self.bad(column, value, "应为金额（元，最多两位小数）", "expected an amount in yuan")
        return check_money(amount, field=column)

    def member(self, column: str, enum: type[Enum], *, default: Any = None) -> Any:
        value = self.opt(column)
        if value is None:
            if default is None:
                raise YibaoError(IMPORT_MISSING, field=column, column=column)
            return default
        try:
            return enum[value.strip().upper()]
        except KeyError:
            names = ", ".join(m.name for m in enum)  # type: ignore[attr-defined]
            raise self.bad(column, value, f"应为以下之一：{names}", f"expected one of {names}") from None

    def code(self, table: str, column: str, on: date | None = None) -> Any:
        return parse_code(table, self.req(column), field=column, on=on, migration=self.migration)

    def region(self, column: str, required: bool = True) -> str | None:
        value = self.req(column) if required else self.opt(column)
        return None if value is None else self.policy.check_region(value, field=column)

    def recorded_on(self) -> date | None:
        day = self.day("recorded_on")
        if day is not None and day > self.today:
            raise self.bad("recorded_on", day, "不能晚于今天", "cannot be after today")
        return day


@dataclass(frozen=True)
class PersonIn:
    psn_no: str
    name: str | None
    birth_date: date | None
    sex: str | None
    document: IdentityDocument
    derived_birth: date | None
    derived_sex: str | None
    death_date: date | None
    death_recorded_on: date | None


@dataclass(frozen=True)
class ByPerson:
    """A parsed row of any other kind: its person and the fact it carries."""

    psn_no: str
    fact: Any


_SEX = {"M": "M", "F": "F", "男": "M", "女": "F"}


def _parse_person(r: _Row) -> PersonIn:
    psn_no = r.req("psn_no", MAX_PSN_NO)
    ct = CertType(r.code("cert_type", "cert_type", on=r.today))
    try:
        doc = ids.validate_document(ct, r.req("number"), nationality=r.opt("nationality"),
                                    registration_date=r.today, migration=r.migration)
    except YibaoError as exc:
        exc.field = "nationality" if exc.field == "nationality" else "cert_type" if exc.field == "cert_type" else "number"
        raise
    sex = r.opt("sex")
    if sex is not None:
        if sex.upper() not in _SEX:
            raise r.bad("sex", sex, "应为 M 或 F（或 男 / 女）", "expected M or F")
        sex = _SEX[sex.upper()]
    birth = r.day("birth_date")
    if birth is not None and birth > r.today:
        raise r.bad("birth_date", birth, "不能晚于今天", "cannot be after today")
    death = r.day("death_date")
    if death is not None:
        if death > r.today:
            raise YibaoError(AFTER_DEATH_FUTURE, field="death_date", death=death.isoformat())
        born = birth or doc.birth_date
        if born is not None and death < born:
            raise YibaoError(DEATH_BEFORE_BIRTH, field="death_date", death=death.isoformat(), birth=born.isoformat())
    document = IdentityDocument(doc.cert_type, doc.number, doc.nationality, r.day("valid_from"), r.recorded_on())
    return PersonIn(psn_no, r.opt("name", MAX_NAME), birth, sex, document, doc.birth_date, doc.sex, death, r.day("death_recorded_on"))


def _parse_group(r: _Row) -> ByPerson:
    start, end = r.day("start", True), r.day("end")
    if end is not None and start is not None and end < start:
        raise r.bad("end", end, f"早于开始日 {start}", f"before the start {start}")
    return ByPerson(r.req("psn_no", MAX_PSN_NO), GroupMembership(r.member("group", PersonGroup), start, end, r.region("region", False), r.recorded_on()))  # type: ignore[arg-type]


def _parse_event(r: _Row) -> ByPerson:
    return ByPerson(r.req("psn_no", MAX_PSN_NO), LifeEvent(r.member("event", EventKind), r.day("on", True), r.region("region", False), r.recorded_on()))  # type: ignore[arg-type]


def _parse_relation(r: _Row) -> ByPerson:
    psn_no = r.req("psn_no", MAX_PSN_NO)
    relation_id = r.req("relation_id", MAX_RELATION_ID)
    region = r.region("region")
    start = r.day("start", True)
    assert start is not None
    it = InsuType(r.code("insutype", "insutype", on=start))
    pt = PsnType(r.code("psn_type", "psn_type", on=start))
    check_psn_type_matches(pt, InsuType(RIDER_BASE.get(it.value, it.value)), field="psn_type")
    end = r.day("end")
    if end is not None and end < start:
        raise r.bad("end", end, f"早于开始日 {start}", f"before the start {start}")
    employer = r.opt("employer")
    if employer is not None:
        employer = ids.validate_uscc(employer, field="employer")
    wage = r.money("monthly_wage")
    if wage is not None and wage < 0:
        raise YibaoError(NEGATIVE_AMOUNT, field="monthly_wage", what="monthly_wage", value=str(wage))
    wages = (DeclaredWage(YearMonth.of(start), wage),) if wage is not None else ()
    previous = r.opt("previous_relation_id", MAX_RELATION_ID)
    return ByPerson(psn_no, Enrollment(relation_id, it, region, pt, start, end, (), employer, wages, previous, r.recorded_on()))  # type: ignore[arg-type]


def _parse_status(r: _Row) -> ByPerson:
    raw = r.req("status")
    if raw.upper() in InsuStatus.__members__:
        status = InsuStatus[raw.upper()]
    else:
        status = InsuStatus(parse_code("insu_status", raw, field="status"))
    reason = r.member("reason", StatusReason, default=StatusReason.RESTORE if status is InsuStatus.NORMAL else StatusReason.OTHER)
    change = StatusChange(r.day("effective", True), status, reason, r.opt("note") or "", r.recorded_on())  # type: ignore[arg-type]
    return ByPerson(r.req("psn_no", MAX_PSN_NO), (r.req("relation_id", MAX_RELATION_ID), change))


def _parse_line(r: _Row) -> ByPerson:
    psn_no = r.req("psn_no", MAX_PSN_NO)
    relation_id = r.req("relation_id", MAX_RELATION_ID)
    paid_on = r.day("paid_on", True)
    assert paid_on is not None
    kind = ContributionKind(r.code("clct_type", "kind"))
    payer = r.member("payer", PayerType)
    amount = r.money("amount", True)
    assert amount is not None
    if amount == 0:
        raise YibaoError(ZERO_AMOUNT, field="amount")
    month = r.month("month")
    year = r.integer("benefit_year", 1900, 2200)
    credited = r.integer("months_credited", 0, 1200) or 0
    if month is not None and year is not None:
        raise r.bad("benefit_year", year, "一条明细只能有费款所属期或待遇年度之一", "a line has a month or a benefit year, not both")
    if month is None and year is None and credited <= 0:
        raise YibaoError(IMPORT_MISSING, field="month", column="month / benefit_year / months_credited")
    fund = r.opt("fund")
    fund_line = None
    if fund is not None:
        try:
            fund_line = FundLine(fund)
        except ValueError:
            codes = ", ".join(f.value for f in FundLine)
            raise r.bad("fund", fund, f"应为以下之一：{codes}", f"expected one of {codes}") from None
    base = r.money("base")
    if base is not None and base < 0:
        raise YibaoError(NEGATIVE_AMOUNT, field="base", what="base", value=str(base))
    recorded_on = r.recorded_on()
    if recorded_on is not None and recorded_on < paid_on:
        raise r.bad("recorded_on", recorded_on, f"缴费不能在缴费日 {paid_on} 之前入账", f"a payment cannot be recorded before it was paid ({paid_on})")
    line = ContributionLine(relation_id, kind, payer, paid_on, amount, month=month, benefit_year=year, fund=fund_line, base=base,
                            months_credited=credited, key=r.opt("key", MAX_KEY), legacy_benefit_start=r.day("legacy_benefit_start"),
                            recorded_on=recorded_on)
    if line.key is None:
        line = replace(line, key=derived_line_key(psn_no, line))
    return ByPerson(psn_no, line)


PARSERS: dict[str, Callable[[_Row], Any]] = {
    "persons": _parse_person,
    "groups": _parse_group,
    "events": _parse_event,
    "relations": _parse_relation,
    "statuses": _parse_status,
    "lines": _parse_line,
}


# --------------------------------------------------------------------------------------
# applying one person's rows of a batch (inside the batch's transaction)
# --------------------------------------------------------------------------------------

IMPORTED, SKIPPED = "imported", "skipped"


class _RowFailed(Exception):
    """Rows of a person's group failed: its savepoint is rolled back (the batch will be too).

    ``failures`` are (index in the group, error); the rows after the first failure are checked only
    where that costs nothing (lines), else on the next run.
    """

    def __init__(self, index: int, error: YibaoError, more: Sequence[tuple[int, YibaoError]] = ()) -> None:
        self.failures = [(index, error), *more]


def _conflict(what: tuple[str, str], column: str, stored: Any, given: Any) -> YibaoError:
    return YibaoError(IMPORT_CONFLICT, field=column, what_zh=what[0], what_en=what[1], column=column, stored=_shown(stored), given=_shown(given))


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


@dataclass(frozen=True)
class _AsImported:
    """A relation as first recorded, whatever was corrected since: what a re-run of its files gives."""

    columns: tuple[Any, ...]  # start, end, psn_type, employer: the enrollment row's own (RELATION_FIELDS)
    wage: Decimal | None  # the amount of its first declared wage as recorded
    statuses: tuple[StatusChange, ...]  # its status changes as recorded and superseded since (replaced or withdrawn)


class _Context:
    def __init__(self, importer: "Importer", session: Session) -> None:
        self.session = session
        self.by, self.at, self.policy = importer.by, importer.at, importer.policy
        self.as_imported: dict[tuple[str, str], _AsImported] = {}  # (psn_no, relation_id), of the relations :meth:`facts` read

    def facts(self, psn_no: str) -> PersonFacts:
        """The person's current facts without contribution lines (what the checks of a row need).

        :func:`repository.load_facts` without the lines, which a re-run would load again for
        every batch: current (not superseded) rows only, and the relations' start, end, psn_type and
        employer as corrected now (``repository.current_relation``), as ``load_facts`` gives them for
        "now". The relations as first recorded are kept in :attr:`as_imported`.
        """
        s = self.session
        repo.get_person(s, psn_no)  # PERSON_NOT_FOUND, PERSON_MERGED

        def current(model: Any, *where: Any) -> list[Any]:
            return list(s.scalars(select(model).where(*where, model.superseded_at.is_(None)).order_by(model.id)))

        def recorded(model: Any, *where: Any) -> list[Any]:  # the current rows, and the rows as first recorded corrected since
            return list(s.scalars(select(model).where(*where, or_(model.superseded_at.is_(None), model.supersedes_id.is_(None))).order_by(model.id)))

        cur = repo.current_relation()
        found = s.execute(
            select(EnrollmentRow, cur.start, cur.end, cur.psn_type, cur.employer).select_from(cur.source)
            .where(EnrollmentRow.psn_no == psn_no).order_by(EnrollmentRow.id)
        ).all()
        rels = [row.EnrollmentRow for row in found]
        now = {row.EnrollmentRow.id: row for row in found}  # the correctable columns as corrected now
        by_id = {r.id: r for r in rels}
        changes: dict[int, list[StatusChange]] = {r.id: [] for r in rels}
        wages: dict[int, list[DeclaredWage]] = {r.id: [] for r in rels}
        replaced: dict[int, list[StatusChange]] = {r.id: [] for r in rels}
        first_wage: dict[int, Decimal] = {}
        if rels:
            for c in recorded(StatusChangeRow, StatusChangeRow.enrollment_id.in_(by_id)):
                change = StatusChange(c.effective, c.status, c.status_reason, c.note, None, c.recorded_by)
                (changes if c.superseded_at is None else replaced)[c.enrollment_id].append(change)
            for w in recorded(WageRow, WageRow.enrollment_id.in_(by_id)):
                if w.superseded_at is None:
                    wages[w.enrollment_id].append(DeclaredWage(w.from_month, w.monthly_wage))
                if w.supersedes_id is None:
                    first_wage.setdefault(w.enrollment_id, w.monthly_wage)
        for r in rels:
            self.as_imported[(psn_no, r.relation_id)] = _AsImported(
                tuple(getattr(r, c) for c in RELATION_FIELDS), first_wage.get(r.id), tuple(replaced[r.id])
            )
        enrollments = tuple(
            Enrollment(r.relation_id, r.insutype, r.region, c.psn_type, c.start, c.end, tuple(changes[r.id]), c.employer, tuple(wages[r.id]),
                       by_id[r.previous_id].relation_id if r.previous_id in by_id else None)
            for r in rels
            for c in (now[r.id],)
        )
        deaths = current(DeathRow, DeathRow.psn_no == psn_no)
        return PersonFacts(
            psn_no,
            groups=tuple(GroupMembership(g.group, g.start, g.end, g.region) for g in current(GroupRow, GroupRow.psn_no == psn_no)),
            events=tuple(LifeEvent(e.kind, e.on, e.region) for e in current(EventRow, EventRow.psn_no == psn_no)),
            enrollments=enrollments,
            death_date=deaths[-1].death_date if deaths else None,
        )


def _apply_persons(ctx: _Context, psn_no: str, rows: Sequence[PersonIn]) -> list[str]:
    out = []
    for i, p in enumerate(rows):
        try:
            out.append(_apply_person(ctx, psn_no, p))
        except YibaoError as exc:
            raise _RowFailed(i, exc) from exc
    return out


def _apply_person(ctx: _Context, psn_no: str, p: PersonIn) -> str:
    s = ctx.session
    doc = p.document
    holder = repo.find_person(s, doc.cert_type, doc.number, doc.nationality)
    person = s.get(PersonRow, psn_no)
    outcome = SKIPPED
    if person is None:
        if holder is not None:
            raise YibaoError(DUPLICATE_PERSON_KEY, field="number", cert_type=doc.cert_type.value, number=ids.mask(doc.number), existing=holder.psn_no)
        repo.add_person(s, by=ctx.by, at=ctx.at, psn_no=psn_no, name=p.name or "", birth_date=p.birth_date or p.derived_birth,
                        sex=p.sex or p.derived_sex, documents=[doc], migration=True)
        outcome = IMPORTED
    else:
        survivor = repo.get_person(s, psn_no, follow_merges=True)  # a merged number's documents moved to the survivor
        # the same as the values imported (a re-run of that file) or as those corrected since (a later
        # extract that has the correction): present; anything else is a conflict with the current value
        cur = repo.current_person()
        now = s.execute(select(cur.name, cur.birth_date, cur.sex).select_from(cur.source).where(PersonRow.psn_no == psn_no)).one()
        for column, given, stored in (("name", p.name, now.name), ("birth_date", p.birth_date, now.birth_date), ("sex", p.sex, now.sex)):
            if given is not None and given != stored and given != getattr(person, column):
                raise _conflict((f"人员 {psn_no}", f"person {psn_no}"), column, stored, given)
        if holder is None:
            repo.add_document(s, psn_no, doc, by=ctx.by, at=ctx.at, migration=True)  # PERSON_MERGED for a merged number
            outcome = IMPORTED
        elif holder.psn_no != survivor.psn_no:
            raise YibaoError(DUPLICATE_PERSON_KEY, field="number", cert_type=doc.cert_type.value, number=ids.mask(doc.number), existing=holder.psn_no)
    if p.death_date is not None:
        survivor = repo.get_person(s, psn_no, follow_merges=True)
        current = s.scalars(select(DeathRow).where(DeathRow.psn_no == survivor.psn_no, DeathRow.superseded_at.is_(None))).first()
        # a death as first recorded and corrected or withdrawn since (更正死亡日期): present, never re-recorded
        corrected_away = s.scalars(select(DeathRow.id).where(DeathRow.psn_no == survivor.psn_no, DeathRow.death_date == p.death_date,
                                                             DeathRow.supersedes_id.is_(None), DeathRow.superseded_at.is_not(None))).first()
        if current is None and corrected_away is None:
            repo.record_death(s, psn_no, p.death_date, by=ctx.by, at=ctx.at, recorded_on=p.death_recorded_on, migration=True)
            outcome = IMPORTED
        elif current is not None and current.death_date != p.death_date and corrected_away is None:
            raise YibaoError(DEATH_ALREADY_RECORDED, field="death_date", psn_no=psn_no, death_date=current.death_date.isoformat())
    return outcome


def _apply_groups(ctx: _Context, psn_no: str, rows: Sequence[ByPerson]) -> list[str]:
    repo.get_person(ctx.session, psn_no)
    held = list(ctx.facts(psn_no).groups)
    out = []
    for i, row in enumerate(rows):
        g: GroupMembership = row.fact
        try:
            same = next((h for h in held if (h.group, h.start) == (g.group, g.start)), None)
            if same is not None:
                for column in ("end", "region"):
                    if getattr(same, column) != getattr(g, column):
                        raise _conflict((f"人员身份 {g.group.value} {g.start}", f"group {g.group.value} {g.start}"), column, getattr(same, column), getattr(g, column))
                out.append(SKIPPED)
                continue
            repo.add_group(ctx.session, psn_no, g, by=ctx.by, at=ctx.at, migration=True)
            held.append(g)
            out.append(IMPORTED)
        except YibaoError as exc:
            raise _RowFailed(i, exc) from exc
    return out


def _apply_events(ctx: _Context, psn_no: str, rows: Sequence[ByPerson]) -> list[str]:
    repo.get_person(ctx.session, psn_no)
    held = list(ctx.facts(psn_no).events)
    out = []
    for i, row in enumerate(rows):
        e: LifeEvent = row.fact
        try:
            same = next((h for h in held if (h.kind, h.on) == (e.kind, e.on)), None)
            if same is not None:
                if same.region != e.region:
                    raise _conflict((f"事件 {e.kind.value} {e.on}", f"event {e.kind.value} {e.on}"), "region", same.region, e.region)
                out.append(SKIPPED)
                continue
            repo.add_event(ctx.session, psn_no, e, by=ctx.by, at=ctx.at, migration=True)
            held.append(e)
            out.append(IMPORTED)
        except YibaoError as exc:
            raise _RowFailed(i, exc) from exc
    return out


_RELATION_CONTENT = ("insutype", "region", "psn_type", "start", "end", "employer", "previous_relation_id")


def _apply_relations(ctx: _Context, psn_no: str, rows: Sequence[ByPerson]) -> list[str]:
    facts = ctx.facts(psn_no)
    out = []
    for i, row in enumerate(rows):
        e: Enrollment = row.fact
        try:
            existing = next((x for x in facts.enrollments if x.relation_id == e.relation_id), None)
            if existing is not None:
                # start, end, psn_type, employer (corrected as a whole, 更正参保关系): the values as imported
                # (a re-run of that file) or as corrected now (a later extract that has the correction) are
                # present; anything else is a conflict with the current value — never an overwrite
                now = tuple(getattr(existing, c) for c in RELATION_FIELDS)
                first = ctx.as_imported.get((psn_no, e.relation_id), _AsImported(now, None, ()))
                present = tuple(getattr(e, c) for c in RELATION_FIELDS) in (now, first.columns)
                for column in _RELATION_CONTENT:
                    if present and column in RELATION_FIELDS:
                        continue
                    if getattr(existing, column) != getattr(e, column):
                        raise _conflict((f"参保关系 {e.relation_id}", f"relation {e.relation_id}"), column, getattr(existing, column), getattr(e, column))
                # the wage as recorded or as corrected (更正申报工资); by amount: the file's wage is from the start
                # month it gives, which a corrected start may have moved
                if e.wages and e.wages[0].monthly_wage not in [*(w.monthly_wage for w in existing.wages[:1]), first.wage]:
                    raise _conflict((f"参保关系 {e.relation_id}", f"relation {e.relation_id}"), "monthly_wage",
                                    existing.wages[0].monthly_wage if existing.wages else None, e.wages[0].monthly_wage)
                out.append(SKIPPED)
                continue
            # the checks of RecordsService.enroll
            if facts.death_date is not None and e.start > facts.death_date:
                raise YibaoError(AFTER_DEATH, field="start", death=facts.death_date.isoformat(), action="enroll")
            base = RIDER_BASE.get(e.insutype.value)
            if base is not None and not any(
                b.insutype.value == base and b.region == e.region and b.status_on(e.start) is InsuStatus.NORMAL for b in facts.enrollments
            ):
                raise YibaoError(RIDER_WITHOUT_BASE, field="insutype", code=e.insutype.value, base=base)
            repo.add_enrollment(ctx.session, psn_no, e, by=ctx.by, at=ctx.at, migration=True)
            facts = replace(facts, enrollments=facts.enrollments + (e,))
            out.append(IMPORTED)
        except YibaoError as exc:
            raise _RowFailed(i, exc) from exc
    return out


def _apply_statuses(ctx: _Context, psn_no: str, rows: Sequence[ByPerson]) -> list[str]:
    facts = ctx.facts(psn_no)
    out = []
    for i, row in enumerate(rows):
        relation_id, change = row.fact
        try:
            rel = next((x for x in facts.enrollments if x.relation_id == relation_id), None)
            if rel is None:
                raise YibaoError(repo.RELATION_NOT_FOUND, field="relation_id", psn_no=psn_no, relation_id=relation_id)
            same = next((c for c in rel.status_changes if (c.effective, c.status) == (change.effective, change.status)), None)
            first = ctx.as_imported.get((psn_no, relation_id))
            if first is not None and any(_same_status(c, change) for c in first.statuses):
                out.append(SKIPPED)  # recorded as in the file, then corrected or withdrawn (更正参保状态变更): never re-added
                continue
            if same is not None:
                for column in ("reason", "note"):
                    if getattr(same, column) != getattr(change, column):
                        raise _conflict((f"状态变更 {relation_id} {change.effective}", f"status change {relation_id} {change.effective}"), column, getattr(same, column), getattr(change, column))
                out.append(SKIPPED)
                continue
            # the checks of RecordsService.change_status
            if change.effective < rel.start:
                raise YibaoError(BEFORE_RELATION_START, field="effective", effective=change.effective.isoformat(), start=rel.start.isoformat())
            last = max((c.effective for c in rel.status_changes), default=None)
            if last is not None and change.effective < last:
                raise YibaoError(STATUS_DATE_ORDER, field="effective", effective=change.effective.isoformat(), last=last.isoformat())
            terminated = next((c.effective for c in rel.status_changes if c.status is InsuStatus.TERMINATED), None)
            check_transition(rel.status_on(max(change.effective, rel.start)), change.status, terminated_on=terminated, field="status")
            change = replace(change, recorded_by=ctx.by)
            repo.append_status_change(ctx.session, psn_no, relation_id, change, by=ctx.by, at=ctx.at, migration=True)
            updated = replace(rel, status_changes=rel.status_changes + (change,))
            facts = replace(facts, enrollments=tuple(updated if x is rel else x for x in facts.enrollments))
            out.append(IMPORTED)
        except YibaoError as exc:
            raise _RowFailed(i, exc) from exc
    return out


def _same_status(a: StatusChange, b: StatusChange) -> bool:
    return (a.effective, a.status, a.reason, a.note) == (b.effective, b.status, b.reason, b.note)


_LINE_CONTENT = ("kind", "payer", "paid_on", "amount", "month", "benefit_year", "fund", "base", "months_credited", "legacy_benefit_start")


def _stored_lines(session: Session, keys: list[str]) -> dict[str, Any]:
    """The stored lines with these keys: owner, relation and content (what the repository compares)."""
    columns = [LineRow.idempotency_key, EnrollmentRow.psn_no, EnrollmentRow.relation_id, LineRow.supersedes_id,
               *(getattr(LineRow, c) for c in _LINE_CONTENT)]
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):  # well under any database's limit of bound parameters
        chunk = keys[start:start + 500]
        query = select(*columns).join(EnrollmentRow, LineRow.enrollment_id == EnrollmentRow.id).where(LineRow.idempotency_key.in_(chunk))
        found.update({row.idempotency_key: row for row in session.execute(query)})
    return found


def _same_line(stored: Any, psn_no: str, line: ContributionLine) -> bool:
    return (stored.psn_no, stored.relation_id, stored.supersedes_id) == (psn_no, line.relation_id, None) and all(
        getattr(stored, c) == getattr(line, c) for c in _LINE_CONTENT
    )


def _apply_lines(ctx: _Context, psn_no: str, rows: Sequence[ByPerson]) -> list[str]:
    s = ctx.session
    repo.get_person(s, psn_no)  # PERSON_NOT_FOUND, PERSON_MERGED
    # what the checks need of the person's facts, without loading every line they already have
    regions = dict(s.execute(select(EnrollmentRow.relation_id, EnrollmentRow.region).where(EnrollmentRow.psn_no == psn_no)).all())
    death = s.scalars(select(DeathRow.death_date).where(DeathRow.psn_no == psn_no, DeathRow.superseded_at.is_(None))).first()
    lines: list[ContributionLine] = [r.fact for r in rows]
    stored = _stored_lines(s, list(dict.fromkeys(l.key for l in lines if l.key)))
    out = []
    seen: set[str] = set()
    handed: list[int] = []  # lines for the repository: new keys, and stored keys with other content (its conflict error)
    failures: list[tuple[int, YibaoError]] = []
    for i, line in enumerate(lines):
        try:  # the checks of RecordsService.record_contributions
            region = regions.get(line.relation_id)
            if region is None:
                raise YibaoError(repo.RELATION_NOT_FOUND, field="relation_id", psn_no=psn_no, relation_id=line.relation_id)
            if line.benefit_year is not None and line.amount > 0 and line.benefit_year > line.paid_on.year:
                try:
                    check_resident_payment(ctx.policy, region, line.benefit_year, line.paid_on)
                except YibaoError as exc:
                    exc.field = "paid_on"
                    raise
            if death is not None:
                check_payment_after_death(line, death)
        except YibaoError as exc:
            failures.append((i, exc))
            continue
        # a key stored already, or met earlier in this group, is a repeat (recorded once); the
        # repository decides whether a repeat with other content is a conflict
        out.append(SKIPPED if line.key in stored or line.key in seen else IMPORTED)
        seen.add(line.key)  # type: ignore[arg-type]
        if line.key not in stored or not _same_line(stored[line.key], psn_no, line):
            handed.append(i)
    if failures:
        raise _RowFailed(*failures[0], failures[1:])
    if handed:
        try:
            repo.append_lines(s, psn_no, [lines[i] for i in handed], by=ctx.by, at=ctx.at, migration=True)
        except YibaoError as exc:
            index, column = _line_index(exc.field)
            exc.field = column
            raise _RowFailed(handed[index] if index < len(handed) else 0, exc) from exc
    return out


def _line_index(field_name: str | None) -> tuple[int, str]:
    """``contributions.3.key`` → (3, "key"); the repository numbers the lines it was given."""
    parts = (field_name or "").split(".")
    if len(parts) >= 3 and parts[0] == "contributions" and parts[1].isdigit():
        column = parts[2]
        return int(parts[1]), {"relation": "relation_id"}.get(column, column)
    return 0, field_name or ""


APPLIERS: dict[str, Callable[[_Context, str, Sequence[Any]], list[str]]] = {
    "persons": _apply_persons,
    "groups": _apply_groups,
    "events": _apply_events,
    "relations": _apply_relations,
    "statuses": _apply_statuses,
    "lines": _apply_lines,
}


# --------------------------------------------------------------------------------------
# the importer
# --------------------------------------------------------------------------------------


class Importer:
    """Imports files into one database, batch by batch (see the module doc)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        policy: Policy | None = None,
        by: str = DEFAULT_BY,
        batch_size: int = DEFAULT_BATCH_SIZE,
        migration: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if batch_size < 1:
            raise YibaoError(IMPORT_VALUE, field="batch_size", column="batch_size", value=batch_size, reason_zh="应为正整数", reason_en="expected a positive number")
        if not by or not by.strip() or len(by) > 100:
            raise YibaoError(IMPORT_VALUE, field="by", column="by", value=by, reason_zh="应为 1–100 个字符", reason_en="expected 1 to 100 characters")
        self.sessions = sessions
        self.policy = policy or default_policy()
        self.by = by.strip()
        self.batch_size = batch_size
        self.migration = migration
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.at = self.clock()

    def run(
        self,
        paths: Iterable[Path] | Sequence[Source],
        *,
        report: Path | None = None,
        progress: Callable[[Source, int], None] | None = None,
    ) -> ImportResult:
        given = list(paths)
        sources = given if all(isinstance(p, Source) for p in given) else open_sources(given)  # type: ignore[arg-type]
        result = ImportResult()
        self.at = self.clock()
        today = self.at.astimezone(SHANGHAI).date()
        for source in sources:  # type: ignore[assignment]
            stats = FileResult(source.path, source.kind.name)
            result.files.append(stats)
            for batch in source.batches(self.batch_size):
                self._batch(source, batch, today, stats, result.errors)
                if progress is not None:
                    progress(source, len(batch))
        if report is not None:
            write_report(report, result.errors)
        return result

    def _batch(self, source: Source, batch: list[tuple[int, RawRow | YibaoError]], today: date, stats: FileResult,
               errors: list[RowError]) -> None:
        kind = source.kind.name
        parse = PARSERS[kind]
        bad: dict[int, YibaoError] = {}
        parsed: list[tuple[int, Any]] = []
        for number, raw in batch:
            if isinstance(raw, YibaoError):
                bad[number] = raw
                continue
            try:
                parsed.append((number, parse(_Row(raw, today, self.migration, self.policy))))
            except YibaoError as exc:
                bad[number] = exc
        groups: OrderedDict[str, list[tuple[int, Any]]] = OrderedDict()
        for number, row in parsed:
            groups.setdefault(row.psn_no, []).append((number, row))
        failed_people = {_psn_no_of(raw) for number, raw in batch if number in bad}
        outcomes: dict[int, str] = {}
        with self.sessions() as session:
            tx = session.begin()
            try:
                ctx = _Context(self, session)
                for psn_no, rows in groups.items():
                    if psn_no in failed_people:
                        continue  # reported already; its other rows would only repeat the consequence
                    try:
                        with session.begin_nested():
                            results = APPLIERS[kind](ctx, psn_no, [r for _, r in rows])
                    except _RowFailed as failure:
                        for index, error in failure.failures:
                            bad[rows[index][0]] = error
                        continue
                    except YibaoError as exc:  # the person itself (not found, merged)
                        bad[rows[0][0]] = exc
                        continue
                    outcomes.update({number: outcome for (number, _), outcome in zip(rows, results)})
                if bad:
                    tx.rollback()
                else:
                    tx.commit()
            except BaseException:
                if tx.is_active:
                    tx.rollback()
                raise
        stats.read += len(batch)
        stats.batches += 1
        if bad:
            stats.rejected += len(batch)
            stats.rejected_batches += 1
            for number in sorted(bad):
                errors.append(RowError.of(source.label, number, bad[number]))
            first, last = batch[0][0], batch[-1][0]
            listed = ", ".join(str(n) for n in sorted(bad)[:20]) + (" …" if len(bad) > 20 else "")
            errors.append(RowError.of(source.label, first, YibaoError(BATCH_REJECTED, field="", first=first, last=last, bad=listed)))
        else:
            stats.imported += sum(1 for o in outcomes.values() if o == IMPORTED)
            stats.skipped += sum(1 for o in outcomes.values() if o == SKIPPED)


def open_sources(paths: Iterable[Path | str]) -> list[Source]:
    """Every file checked (readable, UTF-8, a known header) before anything is imported; in import order."""
    sources = [Source(Path(p)) for p in paths]
    return sorted(sources, key=lambda s: ORDER.index(s.kind.name))  # stable: the given order within a kind


def _psn_no_of(raw: RawRow | YibaoError) -> str | None:
    return None if isinstance(raw, YibaoError) else raw.get("psn_no")


def write_report(path: Path, errors: Sequence[RowError]) -> None:
    """The error report: a header, then one line per invalid row (and per rejected batch)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for e in errors:
            writer.writerow((e.file, e.row, e.field, e.code, e.message_zh, e.message_en))
    tmp.replace(path)


def import_files(
    files: Sequence[Path],
    database: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report: Path | None = None,
    by: str = DEFAULT_BY,
    migration: bool = False,
    policy: Policy | None = None,
    progress: Callable[[Source, int], None] | None = None,
    on_open: Callable[[list[Source]], None] | None = None,
) -> ImportResult:
    """Check every file, open (and migrate) the database, import, write the report."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from yibao.store.db import create_engine_for, migrate, session_factory

    importer_policy = policy or default_policy()
    Importer(sessionmaker(), policy=importer_policy, by=by, batch_size=batch_size, migration=migration)  # checks the options
    sources = open_sources(files)
    try:
        engine = create_engine_for(database)
        migrate(engine)
    except (ArgumentError, OperationalError, ValueError) as exc:
        raise YibaoError(IMPORT_DATABASE, field="database", url=_masked_url(database), reason=str(exc).splitlines()[0][:200]) from None
    except ImportError as exc:
        raise YibaoError(IMPORT_DATABASE, field="database", url=_masked_url(database), reason=f"driver missing: {exc.name}") from None
    try:
        if on_open is not None:
            on_open(sources)
        importer = Importer(session_factory(engine), policy=importer_policy, by=by, batch_size=batch_size, migration=migration)
        return importer.run(sources, report=report, progress=progress)
    finally:
        engine.dispose()


def _masked_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


# --------------------------------------------------------------------------------------
# the inverse: facts as import rows (to export a population, or to build import files)
# --------------------------------------------------------------------------------------


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, YearMonth)):
        return str(value) if isinstance(value, YearMonth) else value.isoformat()
    return str(value)


def rows_from_facts(people: Iterable[PersonFacts]) -> dict[str, list[dict[str, str | None]]]:
    """Import rows, per kind, for these facts (what :class:`Importer` reads back into the same facts).

    Raises ``ValueError`` for what the flat format cannot carry: corrections (``supersedes``),
    military service periods, and wage histories other than one wage from the relation's start.
    """
    out: dict[str, list[dict[str, str | None]]] = {k: [] for k in ORDER}

    def add(kind_: str, **values: Any) -> None:
        out[kind_].append({c: _cell(values.get(c)) for c in KINDS[kind_].columns})  # payer, group … : value == name

    for f in people:
        if f.service_periods:
            raise ValueError(f"{f.person_id}: military service periods have no import format")
        for i, d in enumerate(f.documents):
            add("persons", psn_no=f.person_id, name=f.name or None, birth_date=f.birth_date, sex=f.sex, cert_type=d.cert_type,
                number=d.number, nationality=d.nationality, valid_from=d.valid_from, recorded_on=d.recorded_on,
                death_date=f.death_date if i == 0 else None, death_recorded_on=f.death_recorded_on if i == 0 else None)
        for g in f.groups:
            add("groups", psn_no=f.person_id, group=g.group, start=g.start, end=g.end, region=g.region, recorded_on=g.recorded_on)
        for e in f.events:
            add("events", psn_no=f.person_id, event=e.kind, on=e.on, region=e.region, recorded_on=e.recorded_on)
        for r in f.enrollments:
            if r.wages and (len(r.wages) > 1 or r.wages[0].from_month != YearMonth.of(r.start)):
                raise ValueError(f"{f.person_id}/{r.relation_id}: only one wage, from the first month, has an import format")
            add("relations", psn_no=f.person_id, relation_id=r.relation_id, insutype=r.insutype, region=r.region, psn_type=r.psn_type,
                start=r.start, end=r.end, employer=r.employer, monthly_wage=r.wages[0].monthly_wage if r.wages else None,
                previous_relation_id=r.previous_relation_id, recorded_on=r.recorded_on)
            for c in r.status_changes:
                add("statuses", psn_no=f.person_id, relation_id=r.relation_id, effective=c.effective, status=c.status, reason=c.reason,
                    note=c.note or None, recorded_on=c.recorded_on)
        for c in f.contributions:
            if c.supersedes:
                raise ValueError(f"{f.person_id}: corrections (supersedes) have no import format")
            add("lines", psn_no=f.person_id, relation_id=c.relation_id, month=c.month, benefit_year=c.benefit_year, paid_on=c.paid_on,
                kind=c.kind, payer=c.payer, amount=c.amount, base=c.base, key=c.key, fund=c.fund,
                months_credited=c.months_credited or None, legacy_benefit_start=c.legacy_benefit_start, recorded_on=c.recorded_on)
    return out


def write_files(rows: dict[str, list[dict[str, str | None]]], directory: Path, fmt: str = "csv") -> list[Path]:
    """One file per non-empty kind (``persons.csv`` … or ``.parquet``, string columns)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, table in rows.items():
        if not table:
            continue
        columns = list(KINDS[kind].columns)
        path = directory / f"{kind}.{fmt}"
        if fmt == "csv":
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                for row in table:
                    writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
        elif fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            data = pa.table({c: pa.array([row.get(c) for row in table], type=pa.string()) for c in columns})
            pq.write_table(data, path)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        written.append(path)
    return written


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "KINDS",
    "ORDER",
    "REPORT_COLUMNS",
    "FileResult",
    "ImportResult",
    "Importer",
    "RowError",
    "Source",
    "import_files",
    "open_sources",
    "rows_from_facts",
    "write_files",
    "write_report",
]

"""Error codes of the store, and the translation of database integrity errors into them.

A database ``IntegrityError`` never leaves the store raw: :func:`translate` names the broken
business rule (:data:`DUPLICATE_PERSON_KEY`, :data:`IDEMPOTENCY_CONFLICT`,
:data:`APPEND_ONLY_VIOLATION` …), and :func:`integrity_guard` wraps a flush or a commit.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import IntegrityError

from yibao.errors import YibaoError, define

DUPLICATE_PERSON_KEY = define(
    "DUPLICATE_PERSON_KEY",
    "证件 {cert_type} {number} 已属于人员 {existing}（同一证件只能对应一个人员，R-ID-005）",
    "document {cert_type} {number} already belongs to person {existing} (one document, one person, R-ID-005)",
)
DUPLICATE_PERSON = define("DUPLICATE_PERSON", "人员编号 {psn_no} 已存在", "person number {psn_no} already exists")
IDEMPOTENCY_CONFLICT = define(
    "IDEMPOTENCY_CONFLICT",
    "幂等键 {key} 已用于内容不同的缴费明细（{differences}）",
    "idempotency key {key} was already used for a different contribution line ({differences})",
)
PERSON_NOT_FOUND = define("PERSON_NOT_FOUND", "没有人员 {psn_no}", "no person {psn_no}")
PERSON_MERGED = define(
    "PERSON_MERGED",
    "人员 {psn_no} 已于 {merged_at} 合并到 {merged_into}",
    "person {psn_no} was merged into {merged_into} at {merged_at}",
)
RELATION_NOT_FOUND = define(
    "RELATION_NOT_FOUND", "人员 {psn_no} 没有参保关系 {relation_id}", "person {psn_no} has no enrollment relation {relation_id}"
)
DUPLICATE_RELATION = define(
    "DUPLICATE_RELATION", "人员 {psn_no} 已有参保关系 {relation_id}", "person {psn_no} already has an enrollment relation {relation_id}"
)
LINE_NOT_FOUND = define("LINE_NOT_FOUND", "没有幂等键为 {key} 的缴费明细", "no contribution line with idempotency key {key}")
ALREADY_SUPERSEDED = define(
    "ALREADY_SUPERSEDED", "{table} 记录 {row_id} 已被更正，只能更正当前记录", "{table} row {row_id} was already superseded; correct the current row"
)
DEATH_ALREADY_RECORDED = define(
    "DEATH_ALREADY_RECORDED",
    "人员 {psn_no} 已登记死亡日期 {death_date}；如需更正请以更正记录（注明原因）代替",
    "a death on {death_date} is already recorded for person {psn_no}; supersede it with a reason to correct it",
)
REASON_REQUIRED = define("REASON_REQUIRED", "更正必须说明原因", "a correction needs a reason")
RECORDED_ON_MISMATCH = define(
    "RECORDED_ON_MISMATCH",
    "记录日期 {recorded_on} 与记录时间 {recorded_at}（北京时间）不一致",
    "recorded_on {recorded_on} disagrees with recorded_at {recorded_at} (Asia/Shanghai)",
)
MERGE_CONFLICT = define("MERGE_CONFLICT", "无法合并人员 {keep} 和 {absorb}：{reason_zh}", "cannot merge person {absorb} into {keep}: {reason_en}")
APPEND_ONLY_VIOLATION = define(
    "APPEND_ONLY_VIOLATION",
    "事实记录只能追加，不能修改或删除；请以更正（注明原因）代替：{detail}",
    "facts are append-only and are never updated or deleted; supersede them with a reason: {detail}",
)
STORE_INTEGRITY = define("STORE_INTEGRITY", "数据完整性约束被违反：{detail}", "a database integrity constraint was violated: {detail}")


def translate(exc: IntegrityError) -> YibaoError:
    """The typed error for a database integrity error (by constraint name, or SQLite's message)."""
    orig = exc.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None) or ""
    text = f"{constraint} {orig}"
    detail = str(orig).splitlines()[0][:300] if orig is not None else ""
    if "YIBAO_APPEND_ONLY" in text:
        return YibaoError(APPEND_ONLY_VIOLATION, detail=detail)
    if "uq_person_document_key" in text or "person_document.cert_type, person_document.number" in text:
        return YibaoError(DUPLICATE_PERSON_KEY, field="documents", cert_type="?", number="?", existing="?")
    if "uq_contribution_line_idempotency_key" in text or "contribution_line.idempotency_key" in text:
        return YibaoError(IDEMPOTENCY_CONFLICT, field="key", key="?", differences="concurrent write")
    if "uq_enrollment_relation" in text or "enrollment.psn_no, enrollment.relation_id" in text:
        return YibaoError(DUPLICATE_RELATION, field="relation_id", psn_no="?", relation_id="?")
    if constraint == "pk_person" or "UNIQUE constraint failed: person.psn_no" in text:
        return YibaoError(DUPLICATE_PERSON, field="psn_no", psn_no="?")
    return YibaoError(STORE_INTEGRITY, detail=detail)


@contextmanager
def integrity_guard() -> Iterator[None]:
    """Turn an ``IntegrityError`` raised inside the block into a :class:`YibaoError`."""
    try:
        yield
    except IntegrityError as exc:
        raise translate(exc) from exc

"""What the records service's use-case modules share (records, cases, corrections, duplicates):
error codes of the lifecycle, the store's column widths, the person lock and small checks.

Its own module so that the mixins of :class:`~yibao.service.records.RecordsService` import it at
module level (``records`` imports the mixins, so they cannot import ``records``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import INVALID_INPUT, YibaoError, define
from yibao.model import Enrollment, PersonFacts
from yibao.store import repository as repo
from yibao.store.models import PersonRow

STATUS_DATE_ORDER = define(
    "STATUS_DATE_ORDER",
    "状态变更日期 {effective} 早于该参保关系最近一次变更（{last}）；更正历史请使用更正功能",
    "the status change on {effective} is before the relation's latest change ({last}); correct the history with a correction instead",
)
BEFORE_RELATION_START = define(
    "BEFORE_RELATION_START",
    "日期 {effective} 早于参保关系开始日 {start}",
    "{effective} is before the relation starts on {start}",
)
AFTER_DEATH = define(
    "AFTER_DEATH",
    "参保人已于 {death} 死亡，不能办理 {action}",
    "the person died on {death}; {action} is not possible",
)
AFTER_DEATH_FUTURE = define("AFTER_DEATH_FUTURE", "死亡日期 {death} 晚于今天", "the date of death {death} is in the future")
DEATH_BEFORE_BIRTH = define(
    "DEATH_BEFORE_BIRTH", "死亡日期 {death} 早于出生日期 {birth}", "the date of death {death} is before the date of birth {birth}"
)
EMPTY_PAYMENT = define("EMPTY_PAYMENT", "缴费明细为空", "no contribution lines were given")

# Column widths of the store (store/models.py): a longer value is refused here, with its field, instead
# of failing as an untyped database error on PostgreSQL (and being stored silently on SQLite).
MAX_NAME, MAX_BY, MAX_RELATION_ID, MAX_KEY = 200, 100, 64, 128


def _lock_person(session: Session, psn_no: str) -> PersonRow:
    """The person, locked until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's BEGIN IMMEDIATE
    serialises writers anyway): payments and a death of one person are decided one at a time."""
    session.execute(select(PersonRow.psn_no).where(PersonRow.psn_no == psn_no).with_for_update())
    return repo.get_person(session, psn_no)


def _relation(facts: PersonFacts, relation_id: str, *, field: str = "relation_id") -> Enrollment:
    for e in facts.enrollments:
        if e.relation_id == relation_id:
            return e
    raise YibaoError(repo.RELATION_NOT_FOUND, field=field, relation=relation_id, psn_no=facts.person_id)


def _check_length(value: str | None, limit: int, field: str) -> None:
    if value is not None and len(value) > limit:
        raise YibaoError(INVALID_INPUT, field=field, reason=f"at most {limit} characters / 最多 {limit} 个字符")

"""R-CODE-003: the relation status state machine (0 → 1 ⇄ 2, 1/2 → 4 final)."""

from __future__ import annotations

from typing import Iterable

from yibao.codes import InsuStatus
from yibao.errors import YibaoError, define
from yibao.model import StatusChange

TERMINATED_IS_FINAL = define(
    "TERMINATED_IS_FINAL",
    "参保关系已于 {terminated_on} 终止，不能再变更为 {status}；重新参保应建立新的参保关系",
    "the relation was terminated on {terminated_on} and cannot become {status}; re-enrolling creates a new relation",
)
BAD_TRANSITION = define(
    "BAD_TRANSITION",
    "参保状态不能从 {old} 变更为 {new}",
    "a relation cannot go from status {old} to {new}",
)

_ALLOWED = {
    InsuStatus.NORMAL: {InsuStatus.SUSPENDED, InsuStatus.TERMINATED},
    InsuStatus.SUSPENDED: {InsuStatus.NORMAL, InsuStatus.TERMINATED},
    InsuStatus.TERMINATED: set(),
}


def check_transition(current: InsuStatus, new: InsuStatus, *, terminated_on: object = None, field: str = "status") -> None:
    if current is InsuStatus.TERMINATED:
        raise YibaoError(TERMINATED_IS_FINAL, field=field, terminated_on=terminated_on, status=new.name)
    if new not in _ALLOWED.get(current, set()):
        raise YibaoError(BAD_TRANSITION, field=field, old=current.name, new=new.name)


def check_transitions(changes: Iterable[StatusChange], *, field: str = "status_changes") -> None:
    """Validate a relation's status history in effective-date order, starting from NORMAL.

    A first entry NORMAL records the enrollment itself (0 → 1) and is accepted.
    """
    current = InsuStatus.NORMAL
    terminated_on = None
    for i, change in enumerate(sorted(changes, key=lambda c: c.effective)):
        if i == 0 and change.status is InsuStatus.NORMAL:
            continue
        check_transition(current, change.status, terminated_on=terminated_on, field=field)
        current = change.status
        if current is InsuStatus.TERMINATED:
            terminated_on = change.effective

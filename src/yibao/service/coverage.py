"""The hospital-facing "is X covered on D" lookup, served from the coverage projection.

The answer is always the rules' own (:func:`yibao.rules.entitlement.answer_coverage`); what changes
is where the :class:`~yibao.rules.entitlement.CoverageIndex` comes from:

* asked as known **today** (the default), from the person's projection row when it is usable
  today — one indexed query finds the document's holder, its regions and the stored index;
* otherwise (no row yet, invalidated by a write, or computed on a day whose facts-as-known have
  changed since) the index is computed from the facts and stored for the next lookups, unless a
  write came in meanwhile (see :mod:`yibao.store.projection`);
* asked **as known on another day**, always from the facts (the projection only knows today).

``refresh_coverage`` computes every stale row in bulk (``yibao coverage refresh``), e.g. after
the month turns (every index's ``stable_through`` ends with its month at the latest).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable, Iterator

from sqlalchemy.orm import Session

from yibao.errors import YibaoError
from yibao.explain import Decision
from yibao.model import PersonFacts
from yibao.rules import coverage_codec
from yibao.rules.entitlement import Coverage, CoverageIndex, answer_coverage, build_timeline, coverage_index, knowledge_stable_through
from yibao.store import projection
from yibao.store import repository as repo
from yibao.store.errors import PERSON_NOT_FOUND

log = logging.getLogger("yibao.coverage")

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from yibao.policy import Policy


@dataclass(frozen=True)
class DocumentCoverage:
    """The answer for the holder of a document, with what the region rule needs."""

    psn_no: str
    regions: frozenset[str] | None  # the regions of the person's relations; None: not read
    answer: Decision[Coverage]
    from_projection: bool


class CoverageQueries:
    """Mixed into :class:`~yibao.service.records.RecordsService` (uses its sessions, policy and clock)."""

    policy: "Policy"
    sessions: Callable[[], Session]
    engine: "Engine"
    today: Callable[[], date]
    clock: Callable[[], datetime]

    def covered_on(self, psn_no: str, on: date, *, as_known_on: date | None = None) -> Decision[Coverage]:
        """Is the person covered on ``on``, under which relation, and why (the hospital-facing question)."""
        today = self.today()
        if as_known_on is not None and as_known_on != today:
            return answer_coverage(self.timeline(psn_no, as_known_on=as_known_on), on)  # type: ignore[attr-defined]
        with self.sessions() as session:
            found = projection.find_by_person(session, psn_no)
        if found is None:
            raise YibaoError(PERSON_NOT_FOUND, field="psn_no", psn_no=psn_no)
        if found.merged:
            return answer_coverage(self.timeline(psn_no, as_known_on=today), on)  # type: ignore[attr-defined]
        index, _ = self._index(found, today)
        return answer_coverage(index, on)

    @property
    def lookups(self) -> "Engine":
        """Connections for single-statement reads (the hospital path): plain Core, in autocommit on
        PostgreSQL, so a lookup costs its query and no BEGIN/ROLLBACK round trips. Same pool."""
        engine = self.__dict__.get("_lookups")
        if engine is None:
            engine = self.engine.execution_options(isolation_level="AUTOCOMMIT") if self.engine.dialect.name == "postgresql" else self.engine
            self.__dict__["_lookups"] = engine
        return engine

    def locate_document(
        self, cert_type: str, number: str, nationality: str | None = None, *, connection: "Connection | None" = None
    ) -> projection.Found | None:
        """The current holder of a document with its projection row, in one indexed query (None: nobody).

        ``found.regions`` can be trusted for the region rule only when ``found.usable_on(today)``.
        ``connection``: a connection of :attr:`lookups` the caller already holds.
        """
        key = self.document_lookup_key(cert_type, number, nationality)
        if connection is not None:
            return projection.find_by_document(connection, **key)
        with self.lookups.connect() as own:
            return projection.find_by_document(own, **key)

    @staticmethod
    def document_lookup_key(cert_type: str, number: str, nationality: str | None = None) -> dict[str, object]:
        """The parameters of :data:`yibao.store.projection.BY_DOCUMENT` for a document (normalised, R-ID-005)."""
        try:
            kind, normalised, key_nationality, _ = repo.document_key(cert_type, number, nationality)
        except YibaoError as exc:  # the service's names for the inputs (the ids package says "cert_no")
            exc.field = exc.field if exc.field in ("nationality", "cert_type") else "number"
            raise
        return {"cert_type": kind, "number": normalised, "key_nationality": key_nationality}

    def coverage_of_found(self, found: projection.Found, on: date, *, as_known_on: date | None = None) -> DocumentCoverage:
        """The answer for a holder found by :meth:`locate_document` (after the caller's access check)."""
        today = self.today()
        if found.merged or (as_known_on is not None and as_known_on != today):
            owner = repo_owner(self, found.psn_no)
            k = as_known_on or today
            return DocumentCoverage(owner, None, answer_coverage(self.timeline(owner, as_known_on=k), on), False)  # type: ignore[attr-defined]
        fresh = found.usable_on(today)
        index, regions = self._index(found, today)
        return DocumentCoverage(found.psn_no, regions, answer_coverage(index, on), fresh)

    # --------------------------------------------------------------------------- the projection

    def _index(self, found: projection.Found, today: date) -> tuple[CoverageIndex, frozenset[str]]:
        if found.usable_on(today):
            assert found.payload is not None
            index = coverage_codec.decode(found.payload)
            if index is not None:
                return index, found.regions
        return self._compute(found.psn_no, found.revision, today)

    def _compute(self, psn_no: str, seen_revision: int | None, today: date) -> tuple[CoverageIndex, frozenset[str]]:
        """Compute the index from the facts and keep it unless a write came in since ``seen_revision``."""
        with self.sessions() as session, session.begin():
            known = repo.load_facts(session, psn_no, as_known_on=today)
            everything = repo.load_facts(session, psn_no)  # facts dated after today become known without a write
            index, regions = index_from_facts(known, everything, self.policy, today)
            try:
                payload = coverage_codec.encode(index)
            except coverage_codec.Unencodable as exc:  # answer from the facts, keep nothing
                log.warning("coverage index of %s not stored: %s", psn_no, exc)
                return index, regions
            projection.store(
                session, psn_no, seen_revision, payload=payload, known_on=today, stable_through=index.stable_through, regions=regions, at=self.clock()
            )
        return index, regions

    def refresh_coverage(self, *, batch: int = 500, limit: int | None = None) -> Iterator[int]:
        """Compute every projection row that is missing or not usable today, ``batch`` persons at a
        time; yields the number done after each batch (for a progress bar)."""
        today = self.today()
        after, done = "", 0
        while limit is None or done < limit:
            with self.sessions() as session:
                todo = projection.stale(session, today, after=after, limit=batch if limit is None else min(batch, limit - done))
            if not todo:
                return
            for psn_no, revision in todo:
                self._compute(psn_no, revision, today)
            after = todo[-1][0]
            done += len(todo)
            yield done

    def coverage_counts(self) -> dict[str, int]:
        with self.sessions() as session:
            return projection.counts(session, self.today())


def index_from_facts(known: PersonFacts, everything: PersonFacts, policy: "Policy", today: date) -> tuple[CoverageIndex, frozenset[str]]:
    """The coverage index as known ``today`` and the regions of the person's relations.

    ``known`` is what ``load_facts(as_known_on=today)`` returns, ``everything`` all current facts
    (their dates bound ``stable_through`` too: a fact dated after today becomes known without a write).
    """
    through = min(knowledge_stable_through(known, today), knowledge_stable_through(everything, today))
    return coverage_index(build_timeline(known, policy, today), through), frozenset(e.region for e in everything.enrollments)


def repo_owner(service: CoverageQueries, psn_no: str) -> str:
    """The person ``psn_no`` was merged into (itself if not merged)."""
    with service.sessions() as session:
        return repo.get_person(session, psn_no, follow_merges=True).psn_no


__all__ = ["CoverageQueries", "DocumentCoverage", "index_from_facts"]

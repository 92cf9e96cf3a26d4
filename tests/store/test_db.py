"""Engine set-up: SQLite in WAL with foreign keys and a busy timeout; timestamps stay aware."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from yibao.store import repository as repo
from yibao.store.db import DEFAULT_URL, SQLITE_BUSY_TIMEOUT_MS, create_engine_for
from yibao.store.models import PersonRow

from .helpers import ID_A, doc


def test_default_url_is_sqlite():
    assert DEFAULT_URL == "sqlite:///yibao.db"
    engine = create_engine_for()
    try:
        assert engine.url.get_backend_name() == "sqlite" and engine.url.database == "yibao.db"
    finally:
        engine.dispose()  # never connected: no file is created


def test_sqlite_pragmas(tmp_path):
    engine = create_engine_for(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(db):
    from yibao.codes import CertType
    from yibao.errors import YibaoError
    from yibao.store.errors import integrity_guard
    from yibao.store.models import DocumentRow

    with db.session() as s:
        s.add(DocumentRow(psn_no="NOBODY", cert_type=CertType.RESIDENT_ID, number=ID_A, key_nationality="",
                          recorded_at=datetime.now(timezone.utc), recorded_by="raw"))
        with pytest.raises(YibaoError) as info, integrity_guard():
            s.flush()
        assert info.value.code == "STORE_INTEGRITY"


def test_recorded_at_round_trips_as_an_aware_instant(db):
    moment = datetime(2024, 12, 31, 23, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)], at=moment)
    with db.session() as s:
        stored = s.get(PersonRow, "P1").recorded_at
        assert stored == moment and stored.tzinfo is not None
        facts = repo.load_facts(s, "P1")
        assert facts.documents[0].recorded_on.isoformat() == "2024-12-31"  # Beijing date, though UTC says 15:30 that day


def test_a_lost_race_is_typed_and_the_transaction_stays_usable(db, monkeypatch):
    """A concurrent writer stores the same key between the check and the insert (simulated by
    hiding it from the first check): the insert fails inside a SAVEPOINT, the repository reports
    the business error, and the caller's transaction goes on (pysqlite's implicit BEGIN is off)."""
    from yibao.errors import YibaoError

    from .helpers import ID_B, line, relation

    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)])
        repo.add_enrollment(s, "P1", relation(), by="clerk")
        repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")

    def blind_once(real, nothing):
        calls = []

        def check(*args):
            calls.append(args)
            return real(*args) if len(calls) > 1 else nothing
        return check

    with db.Session.begin() as s:
        monkeypatch.setattr(repo, "_current_document", blind_once(repo._current_document, None))
        with pytest.raises(YibaoError) as info:
            repo.add_person(s, by="clerk", psn_no="P2", documents=[doc(ID_A)])
        assert info.value.code == "DUPLICATE_PERSON_KEY" and info.value.details["existing"] == "P1"
        monkeypatch.undo()
        monkeypatch.setattr(repo, "_lines_by_keys", blind_once(repo._lines_by_keys, {}))
        assert repo.append_lines(s, "P1", [line("2024-01", key="PAY-1")], by="clerk")[0].idempotency_key == "PAY-1"
        monkeypatch.undo()
        monkeypatch.setattr(repo, "_lines_by_keys", blind_once(repo._lines_by_keys, {}))
        with pytest.raises(YibaoError) as info:
            repo.append_lines(s, "P1", [line("2024-01", key="PAY-1", amount="1.00")], by="clerk")
        assert info.value.code == "IDEMPOTENCY_CONFLICT"
        monkeypatch.undo()
        repo.add_person(s, by="clerk", psn_no="P3", documents=[doc(ID_B)])
    with db.session() as s:
        assert s.execute(text("SELECT psn_no FROM person ORDER BY psn_no")).scalars().all() == ["P1", "P2", "P3"]
        assert s.execute(text("SELECT count(*) FROM contribution_line")).scalar() == 1


def test_concurrent_use_cases_and_the_same_payment_posted_twice(db):
    """Four clerks post the same ten payments at once: every one is recorded once, nobody gets an error."""
    import threading

    from .helpers import line, relation

    with db.Session.begin() as s:
        repo.add_person(s, by="clerk", psn_no="P1", documents=[doc(ID_A)])
        repo.add_enrollment(s, "P1", relation(), by="clerk")
    errors: list[str] = []

    def clerk(n: int) -> None:
        for m in range(1, 11):
            try:
                with db.Session.begin() as s:
                    repo.load_facts(s, "P1")  # read, then write: one use case
                    repo.append_lines(s, "P1", [line(f"2024-{m:02d}", key=f"PAY-{m}")], by=f"clerk-{n}")
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM contribution_line")).scalar() == 10

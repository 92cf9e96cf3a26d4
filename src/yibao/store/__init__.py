"""The store: SQLAlchemy 2 models of the append-only facts, Alembic migrations, and the repository.

    from yibao.store import create_engine_for, migrate, session_factory, repository
    engine = create_engine_for()            # sqlite:///yibao.db (WAL); or postgresql+psycopg://…
    migrate(engine)
    with session_factory(engine).begin() as session:
        repository.add_facts(session, facts, by="import")
        facts_again = repository.load_facts(session, facts.person_id, as_known_on=date(2025, 6, 30))

``rules`` never imports this package (DESIGN §3); the service layer calls it.
"""

from yibao.store import projection, repository
from yibao.store import case_models  # noqa: F401,E402  (revision 0004: the records cases' tables on Base)
from yibao.store import worklist_models  # noqa: F401,E402  (revision 0005: the duplicate worklist on Base)
from yibao.store import correction_models  # noqa: F401,E402  (revision 0006: corrections of relations and persons on Base)
from yibao.store import place_models  # noqa: F401,E402  (revision 0007: a person's places for the duplicate rules on Base)
from yibao.store.db import DEFAULT_URL, create_engine_for, migrate, session_factory

__all__ = ["DEFAULT_URL", "create_engine_for", "migrate", "projection", "repository", "session_factory"]

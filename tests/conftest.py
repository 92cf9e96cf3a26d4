import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

# CI runs the property tests derandomized so that a run is reproducible; locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the whole test session (store, service and API suites), with a
    migrated template database to clone per test (tests/store/pg.py, tests/store/conftest.py)."""
    from store import pg
    from store.conftest import PostgresCluster

    server = pg.PostgresServer(pg.binaries_or_skip()).start()
    cluster = PostgresCluster(server)
    try:
        yield cluster
    finally:
        cluster.admin.dispose()
        server.stop()

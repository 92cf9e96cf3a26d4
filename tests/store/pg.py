"""The test session's PostgreSQL server: :mod:`yibao.store.throwaway`, plus the tests' policy —
skip without the binaries locally, fail when ``CI`` is set."""

from __future__ import annotations

import os

from yibao.store.throwaway import PostgresServer, find_binaries

__all__ = ["PostgresServer", "binaries_or_skip", "find_binaries"]


def binaries_or_skip() -> dict[str, str]:
    """The binaries; without them skip the PostgreSQL tests — or fail them when ``CI`` is set."""
    import pytest

    bins = find_binaries()
    if bins is None:
        message = "PostgreSQL binaries (initdb, pg_ctl, postgres) not found"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must test the PostgreSQL backend", pytrace=False)
        pytest.skip(message)
    return bins

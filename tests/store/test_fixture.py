"""The PostgreSQL half is skipped without binaries locally, and fails in CI."""

from __future__ import annotations

import pytest

from . import pg


def test_missing_binaries_skip_locally(monkeypatch):
    monkeypatch.setattr(pg, "find_binaries", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        pg.binaries_or_skip()


def test_missing_binaries_fail_in_ci(monkeypatch):
    monkeypatch.setattr(pg, "find_binaries", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        pg.binaries_or_skip()

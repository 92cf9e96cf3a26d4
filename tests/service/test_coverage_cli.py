"""``yibao coverage status`` and ``refresh`` on a SQLite database with two persons."""

from __future__ import annotations


from typer.testing import CliRunner

from yibao.cli import app
from yibao.service.records import RecordsService

from .helpers import ID_A, ID_B


def test_status_and_refresh(tmp_path):
    url = f"sqlite:///{tmp_path / 'cov.db'}"
    svc = RecordsService.open(url)
    for number in (ID_A, ID_B):
        svc.register_person(by="clerk-1", documents=[("01", number, None)])
    runner = CliRunner()
    before = runner.invoke(app, ["coverage", "status", "--database", url])
    assert before.exit_code == 0 and "待计算 stale or missing 2" in before.output
    done = runner.invoke(app, ["coverage", "refresh", "--database", url])
    assert done.exit_code == 0 and "已计算 computed 2" in done.output
    after = runner.invoke(app, ["coverage", "status", "--database", url])
    assert "可用 usable today 2" in after.output and "待计算 stale or missing 0" in after.output
    assert svc.coverage_counts()["fresh"] == 2
    svc.engine.dispose()

"""``yibao serve``: create, migrate, load the demo and the demo users once; later starts reuse them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from yibao import cli_serve, demo
from yibao.store.auth_models import UserRow
from yibao.store.models import PersonRow

from .conftest import BACKENDS, TestClient, database_url


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path_factory) -> str:
    return database_url(request.param, request, tmp_path_factory)


def _counts(service) -> tuple[int, list[str]]:
    with service.sessions() as s:
        persons = s.scalar(select(func.count()).select_from(PersonRow)) or 0
        users = sorted(s.scalars(select(UserRow.username)))
    return persons, users


def test_first_start_loads_the_demo_and_users_and_the_second_reuses_them(url, capsys):
    service = cli_serve.prepare(url, 12, show_progress=False)
    persons, users = _counts(service)
    assert persons == 12
    assert users == ["admin"] + [f"clerk-{r}" for r in sorted(demo.REGIONS)]
    out = capsys.readouterr().out
    assert "admin" in out and "clerk-510500" in out and "仅供演示" in out
    service.engine.dispose()

    again = cli_serve.prepare(url, 12, show_progress=False)
    assert _counts(again) == (12, users)
    assert "admin" not in capsys.readouterr().out  # credentials are printed once
    again.engine.dispose()


def test_an_interrupted_load_resumes_and_real_data_never_gets_the_demo(tmp_path):
    from yibao.service.records import RecordsService

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    service = RecordsService.open(url)
    assert cli_serve.load_demo(service, 5, show_progress=False) == 5
    assert cli_serve.load_demo(service, 9, show_progress=False) == 4
    assert cli_serve.load_demo(service, 9, show_progress=False) == 0
    service.register_person(by="clerk", documents=[("01", "510502199003070014", None)])
    assert cli_serve.load_demo(service, 20, show_progress=False) == 0
    service.engine.dispose()


def test_demo_credentials_log_in(tmp_path):
    from yibao.api import create_app
    from yibao.service.records import RecordsService

    service = RecordsService.open(f"sqlite:///{tmp_path / 'u.db'}")
    made = cli_serve.bootstrap_users(service, demo_regions=["510500"])
    assert [m[0] for m in made] == ["admin", "clerk-510500"]
    assert cli_serve.bootstrap_users(service, demo_regions=["510500"]) == []
    client = TestClient(create_app(service))
    for username, password, role, _ in made:
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200 and r.json()["role"] == role
    service.engine.dispose()


def test_serve_runs_uvicorn_on_localhost_8000_with_masked_logs(tmp_path, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    cli_serve.serve(database=f"sqlite:///{tmp_path / 's.db'}", host="127.0.0.1", port=8000, demo_size=4, reload=False)
    (app, kw), = calls
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8000 and kw["access_log"] is False
    assert all("mask_ids" in h.get("filters", []) for h in kw["log_config"]["handlers"].values())
    assert TestClient(app).get("/healthz").json() == {"status": "ok", "database": "sqlite"}
    app.state.yibao.service.engine.dispose()


def test_postgres_scheme_is_accepted():
    assert cli_serve._normalise_url("postgres://u@h/db") == "postgresql://u@h/db"
    assert cli_serve._normalise_url("sqlite:///x.db") == "sqlite:///x.db"

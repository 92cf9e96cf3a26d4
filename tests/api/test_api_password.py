"""Login throttling, changing one's own password, and the purge of expired sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from yibao.store.auth_models import TokenRow

from .conftest import World

V1 = "/api/v1"


def _user(world: World, name: str, password: str = "first-password-1") -> None:
    r = world.call("admin", "POST", f"{V1}/users", json={"username": name, "password": password, "role": "clerk", "regions": ["510500"]})
    assert r.status_code == 201, r.text


def _login(world: World, name: str, password: str):
    return world.client.post(f"{V1}/auth/token", json={"username": name, "password": password})


def test_too_many_failures_throttle_the_username_even_with_the_right_password(world: World):
    _user(world, "throttled-clerk")
    for _ in range(5):
        assert _login(world, "throttled-clerk", "wrong-password").status_code == 401
    r = _login(world, "throttled-clerk", "first-password-1")
    assert r.status_code == 429 and r.json()["error"]["code"] == "LOGIN_THROTTLED"
    assert "秒后再试" in r.json()["error"]["message_zh"]
    world.clock.offset = timedelta(minutes=16)
    try:
        assert _login(world, "throttled-clerk", "first-password-1").status_code == 200
    finally:
        world.clock.offset = timedelta(0)


def test_a_success_clears_the_count(world: World):
    _user(world, "forgetful-clerk")
    for _ in range(4):
        assert _login(world, "forgetful-clerk", "wrong-password").status_code == 401
    assert _login(world, "forgetful-clerk", "first-password-1").status_code == 200
    for _ in range(4):
        assert _login(world, "forgetful-clerk", "wrong-password").status_code == 401
    assert _login(world, "forgetful-clerk", "first-password-1").status_code == 200


def test_change_password_revokes_the_other_sessions(world: World):
    _user(world, "moving-clerk")
    first = {"Authorization": f"Bearer {_login(world, 'moving-clerk', 'first-password-1').json()['access_token']}"}
    second = {"Authorization": f"Bearer {_login(world, 'moving-clerk', 'first-password-1').json()['access_token']}"}
    wrong = world.client.post(f"{V1}/auth/password", headers=first, json={"current_password": "nope-nope", "new_password": "second-password-2"})
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "current_password"
    same = world.client.post(f"{V1}/auth/password", headers=first, json={"current_password": "first-password-1", "new_password": "first-password-1"})
    assert same.status_code == 400 and same.json()["error"]["code"] == "PASSWORD_UNCHANGED"
    short = world.client.post(f"{V1}/auth/password", headers=first, json={"current_password": "first-password-1", "new_password": "short"})
    assert short.status_code == 400
    r = world.client.post(f"{V1}/auth/password", headers=first, json={"current_password": "first-password-1", "new_password": "second-password-2"})
    assert r.status_code == 200 and r.json() == {"revoked_sessions": 1}
    assert world.client.get(f"{V1}/auth/me", headers=first).status_code == 200
    assert world.client.get(f"{V1}/auth/me", headers=second).status_code == 401
    assert _login(world, "moving-clerk", "first-password-1").status_code == 401
    assert _login(world, "moving-clerk", "second-password-2").status_code == 200


def test_a_system_token_has_no_password(world: World):
    token = world.call("admin", "POST", f"{V1}/tokens", json={"name": "hospital-x", "role": "auditor", "regions": ["*"]}).json()["token"]
    r = world.client.post(f"{V1}/auth/password", headers={"Authorization": f"Bearer {token}"},
                          json={"current_password": "whatever", "new_password": "whatever-else"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "NOT_A_USER"


def test_expired_sessions_are_purged_at_the_next_login(world: World):
    _user(world, "old-clerk")
    assert _login(world, "old-clerk", "first-password-1").status_code == 200
    world.clock.offset = timedelta(days=8)
    try:
        with world.service.sessions() as s:
            before = s.scalar(select(func.count()).select_from(TokenRow).where(TokenRow.name == "login old-clerk"))
        assert before >= 1
        assert _login(world, "old-clerk", "first-password-1").status_code == 200
        with world.service.sessions() as s:
            after = s.scalar(select(func.count()).select_from(TokenRow).where(TokenRow.name == "login old-clerk"))
        assert after == 1  # the expired one is gone, the new one is there
    finally:
        world.clock.offset = timedelta(0)

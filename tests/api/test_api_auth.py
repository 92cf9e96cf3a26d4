"""Authentication and roles: passwords, session and system tokens, expiry, revocation, role limits."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import select

from yibao.store.auth_models import TokenRow, UserRow

from .conftest import PASSWORD, World, resident_id

V1 = "/api/v1"


def code(r) -> str:
    return r.json()["error"]["code"]


def login(world: World, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = world.client.post(f"{V1}/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_missing_malformed_and_unknown_credentials(world: World):
    for headers, expected in (
        ({}, "AUTH_REQUIRED"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "AUTH_REQUIRED"),
        ({"Authorization": "Bearer "}, "AUTH_REQUIRED"),
        ({"Authorization": "Bearer not-a-token"}, "TOKEN_INVALID"),
        ({"Authorization": "Bearer ybs_" + "x" * 43}, "TOKEN_INVALID"),
        ({"Authorization": "Bearer ybt_" + "y" * 43}, "TOKEN_INVALID"),
    ):
        r = world.client.get(f"{V1}/persons/A510", headers=headers)
        assert r.status_code == 401 and code(r) == expected, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


def test_wrong_password_and_unknown_user_look_the_same(world: World):
    a = world.client.post(f"{V1}/auth/token", json={"username": "clerk510", "password": "wrong-password"})
    b = world.client.post(f"{V1}/auth/token", json={"username": "nobody-here", "password": "wrong-password"})
    assert a.status_code == b.status_code == 401 and a.json() == b.json()


def test_session_expires(world: World):
    headers = login(world, "clerk510")
    assert world.client.get(f"{V1}/auth/me", headers=headers).status_code == 200
    world.clock.offset = timedelta(hours=8, minutes=1)
    try:
        r = world.client.get(f"{V1}/auth/me", headers=headers)
        assert r.status_code == 401 and code(r) == "TOKEN_INVALID"
    finally:
        world.clock.offset = timedelta(0)


def test_system_token_expires(world: World):
    token = world.call("admin", "POST", f"{V1}/tokens", json={"name": "short", "role": "auditor", "regions": ["*"], "expires_in_days": 1}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert world.client.get(f"{V1}/persons/A210", headers=headers).status_code == 200
    world.clock.offset = timedelta(days=1, minutes=1)
    try:
        assert code(world.client.get(f"{V1}/persons/A210", headers=headers)) == "TOKEN_INVALID"
    finally:
        world.clock.offset = timedelta(0)


def test_deactivation_and_region_changes_apply_at_once(world: World):
    world.call("admin", "POST", f"{V1}/users", json={"username": "mover", "password": "long-enough-1", "role": "clerk", "regions": ["510500"]})
    headers = login(world, "mover", "long-enough-1")
    assert world.client.get(f"{V1}/persons/A510", headers=headers).status_code == 200
    world.call("admin", "PATCH", f"{V1}/users/mover", json={"regions": ["210200"]})
    assert code(world.client.get(f"{V1}/persons/A510", headers=headers)) == "REGION_FORBIDDEN"
    assert world.client.get(f"{V1}/persons/A210", headers=headers).status_code == 200
    world.call("admin", "PATCH", f"{V1}/users/mover", json={"active": False})
    assert code(world.client.get(f"{V1}/persons/A210", headers=headers)) == "TOKEN_INVALID"
    world.call("admin", "PATCH", f"{V1}/users/mover", json={"active": True, "password": "another-pass-2"})
    assert world.client.post(f"{V1}/auth/token", json={"username": "mover", "password": "long-enough-1"}).status_code == 401
    login(world, "mover", "another-pass-2")


def test_role_limits(world: World):
    psn_no, rid, _ = world.new_person("510500")
    # auditors read, never write
    assert world.call("auditor510", "GET", f"{V1}/persons/{psn_no}").status_code == 200
    for method, path, body in (
        ("POST", "/persons", {"documents": [{"cert_type": "01", "number": resident_id("510500")}], "region": "510500"}),
        ("POST", f"/persons/{psn_no}/relations", {"insutype": "390", "region": "510500", "psn_type": "1501", "start": "2025-01-01"}),
        ("POST", f"/persons/{psn_no}/relations/{rid}/suspend", {"effective": "2025-01-01", "reason": "OTHER"}),
        ("POST", f"/persons/{psn_no}/contributions", {"lines": [{"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": "2025-01-15", "amount": "1", "month": "2025-01"}]}),
        ("POST", f"/persons/{psn_no}/backpayments", {"pay_on": "2026-11-20", "payment_key": "audit-1"}),
        ("POST", f"/persons/{psn_no}/death", {"death_date": "2025-01-01"}),
    ):
        with world.unchanged():
            r = world.call("auditor", method, V1 + path, json=body)
        assert r.status_code == 403 and code(r) == "ROLE_FORBIDDEN", (path, r.text)
    # clerks do not administer users, tokens or merges
    for method, path, body in (
        ("GET", "/users", None),
        ("POST", "/users", {"username": "sneaky", "password": "long-enough-1", "role": "administrator"}),
        ("PATCH", "/users/clerk510", {"regions": ["210200"]}),
        ("POST", "/tokens", {"name": "x", "role": "administrator"}),
        ("GET", "/tokens", None),
        ("DELETE", "/tokens/1", None),
        ("POST", "/persons/A510/merge", {"absorb": "ABOTH", "reason": "x"}),
    ):
        with world.unchanged():
            r = world.call("clerk510", method, V1 + path, json=body)
        assert r.status_code == 403 and code(r) == "ROLE_FORBIDDEN", (path, r.text)


def test_system_clerk_token_writes_in_its_region_only(world: World):
    token = world.call("admin", "POST", f"{V1}/tokens", json={"name": "cashier-510", "role": "clerk", "regions": ["510500"]}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    psn_no, rid, _ = world.new_person("510500")
    r = world.client.post(f"{V1}/persons/{psn_no}/contributions", headers=headers, json={"lines": [
        {"relation_id": rid, "payer": "INDIVIDUAL", "paid_on": "2024-01-15", "amount": "567.00", "month": "2024-01"}]})
    assert r.status_code == 200 and r.json()["new"] == 1
    assert code(world.client.get(f"{V1}/persons/A210", headers=headers)) == "REGION_FORBIDDEN"
    me = world.client.get(f"{V1}/auth/me", headers=headers).json()
    assert me == {"name": "cashier-510", "kind": "system", "role": "clerk", "regions": ["510500"]}


def test_passwords_are_argon2_hashes_and_tokens_are_stored_hashed(world: World):
    r = world.client.post(f"{V1}/auth/token", json={"username": "clerk510", "password": PASSWORD})
    secret = r.json()["access_token"]
    with world.service.sessions() as s:
        hashes = list(s.scalars(select(UserRow.password_hash)))
        tokens = list(s.scalars(select(TokenRow.token_hash)))
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    assert all(len(t) == 64 and secret not in t for t in tokens)
    snapshot = repr(world.snapshot())
    assert secret not in snapshot and PASSWORD not in snapshot


def test_password_hash_is_upgraded_at_login(world: World):
    access = world.client.app.state.yibao.access
    old = access.hasher
    world.call("admin", "POST", f"{V1}/users", json={"username": "upgrader", "password": "long-enough-1", "role": "auditor", "regions": ["*"]})
    try:
        access.hasher = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
        login(world, "upgrader", "long-enough-1")
    finally:
        access.hasher = old
    with world.service.sessions() as s:
        stored = s.scalar(select(UserRow.password_hash).where(UserRow.username == "upgrader"))
    assert ",t=2," in stored or "t=2" in stored.split("$")[3]

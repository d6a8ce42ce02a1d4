"""Admin pages (users, audit log), demo users, and the route × role table of the web package."""

from __future__ import annotations

import re

import asyncpg
import pytest

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.users import UserRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import FAST_HASHER, web_client
from callcenter.web.users import ensure_demo_users


@pytest.fixture
def settings() -> Settings:
    return Settings()


ROLES = ("admin", "supervisor", "qa", "agent", None)
# route → expected status per role (admin, supervisor, qa, agent, signed out)
ROUTES = {
    ("GET", "/"): (200, 200, 200, 200, 302),
    ("GET", "/users"): (200, 403, 403, 403, 302),
    ("POST", "/users"): (400, 403, 403, 403, 302),
    ("POST", "/users/nobody/disable"): (400, 403, 403, 403, 302),
    ("GET", "/audit"): (200, 403, 403, 403, 302),
    ("GET", "/wallboard"): (200, 200, 403, 403, 302),
    ("GET", "/api/v1/live"): (503, 503, 403, 403, 401),
    ("GET", "/healthz"): (200, 200, 200, 200, 200),
    ("GET", "/static/app.css"): (200, 200, 200, 200, 200),
}


async def test_route_role_table(settings: Settings, pool: asyncpg.Pool) -> None:
    for i, role in enumerate(ROLES):
        async with web_client(settings, pool, role=role, features=CORE_FEATURES) as client:
            for (method, path), expected in ROUTES.items():
                headers = {"X-CSRF-Token": client.csrf} if role else {}
                if method == "POST" and not role:
                    # signed out, a POST has no token to send: refused before the route
                    resp = await client.post(path, allow_redirects=False)
                    assert resp.status == 403, path
                    continue
                resp = await client.request(method, path, headers=headers,
                                            allow_redirects=False)
                assert resp.status == expected[i], (method, path, role, resp.status)


async def test_admin_manages_users_and_it_is_audited(settings: Settings,
                                                     pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role="admin", features=CORE_FEATURES) as admin, \
            web_client(settings, pool, role="qa", features=CORE_FEATURES) as qa:
        assert (await qa.get("/")).status == 200
        added = await admin.post("/users", headers={"Accept-Language": "en"}, data={
            "csrf_token": admin.csrf, "username": "wang", "role": "agent",
            "agent": "agent1002", "password": "good password", "language": "zh"})
        assert added.status == 200 and "User wang added." in await added.text()
        bad = await admin.post("/users", data={"csrf_token": admin.csrf, "username": "x y",
                                               "role": "qa", "password": "good password"},
                               headers={"Accept-Language": "en"})
        assert bad.status == 400 and "invalid username &#39;x y&#39;" in await bad.text()
        taken = await admin.post("/users", data={
            "csrf_token": admin.csrf, "username": "wang", "role": "qa",
            "password": "good password"}, headers={"Accept-Language": "zh"})
        assert taken.status == 400 and "用户名 &#39;wang&#39; 已被占用" in await taken.text()
        off = await admin.post(f"/users/{qa.username}/disable",
                               data={"csrf_token": admin.csrf})
        assert off.status == 200
        # the disabled user's session is gone at once
        assert (await qa.get("/", allow_redirects=False)).status == 302
        self_off = await admin.post(f"/users/{admin.username}/disable",
                                    data={"csrf_token": admin.csrf})
        assert self_off.status == 400
        pw = await admin.post("/users/wang/password",
                              data={"csrf_token": admin.csrf, "password": "short"})
        assert pw.status == 400 and "密码至少需要 8 个字符" in await pw.text()
        audit_page = await (await admin.get("/audit", params={"actor": admin.username})).text()
        assert "user_added" in audit_page and "user_disabled" in audit_page
    entries = await AuditRepository(pool).entries(actor="test_admin")
    assert [(e.action, e.object) for e in entries] == [
        ("user_disabled", "user:test_qa"), ("user_added", "user:wang")]
    assert entries[1].remote == "127.0.0.1"
    wang = await UserRepository(pool, FAST_HASHER).get("wang")
    assert wang is not None and (wang.role, wang.agent, wang.language) == (
        "agent", "agent1002", "zh")


async def test_demo_users_one_per_role_can_sign_in(pool: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"web": {"secure_cookies": False}})
    text = await ensure_demo_users(pool)
    creds = dict(re.findall(r"(\w+) / (\S+)", text))
    assert set(creds) == {"admin", "supervisor", "qa", "agent"}
    roles = {u.username: (u.role, u.agent) for u in await UserRepository(pool).list()}
    assert roles["agent"] == ("agent", "agent1001") and roles["qa"] == ("qa", None)
    again = dict(re.findall(r"(\w+) / (\S+)", await ensure_demo_users(pool)))
    assert again["admin"] != creds["admin"]  # fresh passwords on every demo start
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        page = await (await client.get("/login")).text()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        resp = await client.post("/login", data={"username": "supervisor",
                                                 "password": again["supervisor"],
                                                 "csrf_token": token}, allow_redirects=False)
        assert resp.status == 302 and "cc_session" in resp.cookies


async def test_users_change_their_own_password(settings: Settings, pool: asyncpg.Pool) -> None:
    async with web_client(settings, pool, role="qa", features=CORE_FEATURES) as me, \
            web_client(settings, pool, role="qa", features=CORE_FEATURES) as other_tab:
        users = UserRepository(pool, FAST_HASHER)
        await users.set_password(me.username, "old password", end_sessions=False)
        assert (await me.get("/account")).status == 200
        wrong = await me.post("/account/password", headers={"Accept-Language": "en"}, data={
            "csrf_token": me.csrf, "password": "nope", "new_password": "new password",
            "repeat": "new password"})
        assert wrong.status == 400 and "current password is wrong" in await wrong.text()
        differ = await me.post("/account/password", headers={"Accept-Language": "en"}, data={
            "csrf_token": me.csrf, "password": "old password", "new_password": "new password",
            "repeat": "new passw0rd"})
        assert differ.status == 400 and "differ" in await differ.text()
        ok = await me.post("/account/password", allow_redirects=False, data={
            "csrf_token": me.csrf, "password": "old password", "new_password": "new password",
            "repeat": "new password"})
        assert ok.status == 302 and "cc_session" in ok.cookies
        assert (await me.get("/account")).status == 200  # a fresh session
        assert (await other_tab.get("/", allow_redirects=False)).status == 302  # others ended
        assert await users.verify(me.username, "new password") is not None
    actions = [e.action for e in await AuditRepository(pool).entries(actor="test_qa")]
    assert actions == ["password_changed", "password_change_failed"]

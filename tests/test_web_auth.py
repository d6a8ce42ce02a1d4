"""The web app's sign-in, sessions, CSRF, throttling, roles and feature plug-in (real DB)."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.users import UserRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.auth import current_user, require_role
from callcenter.web.nav import add_nav
from callcenter.web.testing import FAST_HASHER, web_client
from tests.support.auth import csrf_of

PASSWORD = "correct horse"


async def sign_in(client: Any, username: str, password: str, **extra: str) -> Any:
    page = await client.get("/login")
    token = csrf_of(await page.text())
    return await client.post("/login", data={"username": username, "password": password,
                                             "csrf_token": token, **extra},
                             allow_redirects=False)


@pytest.fixture
def settings() -> Settings:
    return Settings()


async def test_sign_in_sets_a_safe_session_cookie_and_audits(settings: Settings,
                                                            pool: asyncpg.Pool) -> None:
    await UserRepository(pool, FAST_HASHER).add("alice", "supervisor", PASSWORD)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/login?next=/"
        resp = await sign_in(client, "alice", PASSWORD, next="/?x=1")
        assert resp.status == 302 and resp.headers["Location"] == "/?x=1"
        cookie = resp.cookies["cc_session"]
        assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
        home = await client.get("/")
        assert home.status == 200 and "alice" in await home.text()
        assert home.headers["X-Frame-Options"] == "DENY"
        token = csrf_of(await home.text())
        out = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
        assert out.headers["Location"] == "/login"
        assert (await client.get("/", allow_redirects=False)).status == 302
    actions = [e.action for e in await AuditRepository(pool).entries(actor="alice")]
    assert actions == ["logout", "login"]


async def test_insecure_cookie_setting_for_plain_http(pool: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"web": {"secure_cookies": False}})
    await UserRepository(pool, FAST_HASHER).add("alice", "qa", PASSWORD)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        resp = await sign_in(client, "alice", PASSWORD)
        assert not resp.cookies["cc_session"]["secure"]


async def test_no_open_redirect_after_sign_in(settings: Settings, pool: asyncpg.Pool) -> None:
    await UserRepository(pool, FAST_HASHER).add("alice", "qa", PASSWORD)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        resp = await sign_in(client, "alice", PASSWORD, next="//evil.example/")
        assert resp.headers["Location"] == "/"


async def test_wrong_password_unknown_and_disabled_users(settings: Settings,
                                                        pool: asyncpg.Pool) -> None:
    users = UserRepository(pool, FAST_HASHER)
    await users.add("alice", "qa", PASSWORD)
    await users.add("bob", "qa", PASSWORD)
    await users.set_disabled("bob", True)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        for name, password in (("alice", "wrong password"), ("nobody", PASSWORD),
                               ("bob", PASSWORD)):
            resp = await sign_in(client, name, password)
            assert resp.status == 401
            assert "cc_session" not in resp.cookies
            assert "Wrong username or password" in await resp.text() or \
                "用户名或密码错误" in await resp.text()
        empty = await sign_in(client, "", "")
        assert empty.status == 400
    reasons = {e.actor: e.details["reason"]
               for e in await AuditRepository(pool).entries(action="login_failed")}
    assert reasons == {"alice": "wrong_password", "nobody": "unknown_user", "bob": "disabled"}


async def test_throttling_per_user_and_address(pool: asyncpg.Pool) -> None:
    settings = Settings.model_validate({"web": {"login_max_failures": 3}})
    await UserRepository(pool, FAST_HASHER).add("alice", "qa", PASSWORD)
    await UserRepository(pool, FAST_HASHER).add("carol", "qa", PASSWORD)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        for _ in range(3):
            assert (await sign_in(client, "alice", "nope-nope")).status == 401
        blocked = await sign_in(client, "alice", PASSWORD)
        assert blocked.status == 429
        text = await blocked.text()
        assert "Try again in 15 minutes" in text or "15 分钟后再试" in text
        assert (await sign_in(client, "carol", PASSWORD)).status == 302  # other user: fine
    assert [e.object for e in await AuditRepository(pool).entries(action="login_locked")] == [
        "user:alice"]


async def test_csrf_is_required_on_state_changes(settings: Settings,
                                                 pool: asyncpg.Pool) -> None:
    await UserRepository(pool, FAST_HASHER).add("alice", "qa", PASSWORD)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        # sign-in without the login form's token is refused
        resp = await client.post("/login", data={"username": "alice", "password": PASSWORD},
                                 allow_redirects=False)
        assert resp.status == 403 and "CSRF" in await resp.text()
    async with web_client(settings, pool, role="qa", features=CORE_FEATURES) as client:
        assert (await client.post("/logout", allow_redirects=False)).status == 403
        bad = await client.post("/logout", data={"csrf_token": "forged"},
                                allow_redirects=False)
        assert bad.status == 403
        assert (await client.get("/")).status == 200  # still signed in
        ok = await client.post("/logout", headers={"X-CSRF-Token": client.csrf},
                               allow_redirects=False)
        assert ok.status == 302


def _fake_feature(name: str) -> str:
    """A feature module, as recordings/reports/... provide, registered in sys.modules."""

    @require_role("supervisor", "admin")
    async def page(request: web.Request) -> web.StreamResponse:
        user = await current_user(request)
        return web.Response(text=f"secret for {user.username}")

    @require_role("supervisor")
    async def api(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    async def change(request: web.Request) -> web.StreamResponse:
        return web.Response(text="changed")

    def setup(app: web.Application) -> None:
        app.router.add_get("/feature", page)
        app.router.add_get("/api/v1/feature", api)
        app.router.add_post("/feature", change)
        add_nav(app, "/feature", "Feature page", ["supervisor", "admin"])

    module = types.ModuleType(name)
    module.setup = setup  # type: ignore[attr-defined]
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules[name] = module
    return name


ROLE_RULES = [(None, 302, 401), ("agent", 403, 403), ("qa", 403, 403), ("supervisor", 200, 200),
              ("admin", 200, 403)]


async def test_feature_modules_plug_in_with_role_rules(settings: Settings,
                                                      pool: asyncpg.Pool) -> None:
    feature = _fake_feature("tests_fake_feature")
    try:
        for role, page, api in ROLE_RULES:
            async with web_client(settings, pool, role=role,
                                  features=("callcenter.not_there.web", feature)) as client:
                assert (await client.get("/feature", allow_redirects=False)).status == page, role
                assert (await client.get("/api/v1/feature", allow_redirects=False)
                        ).status == api, role
                home = await (await client.get("/")).text()
                assert ('href="/feature"' in home) == (page == 200)
                if role:
                    resp = await client.post("/feature", headers={"X-CSRF-Token": client.csrf})
                    assert resp.status == 200
    finally:
        del sys.modules[feature]

"""Sign-in throttling under attack: parallel guesses, password spraying, restarts, unlocks.

Real app, real database; the password verifications are counted by wrapping the
hasher the app's user repository verifies with.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from callcenter import db
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.users import UserRepository
from callcenter.web.app import CORE_FEATURES
from callcenter.web.keys import THROTTLE, USERS
from callcenter.web.testing import FAST_HASHER, web_client
from callcenter.web.throttle import DEFAULT_MAX_VERIFYING, address_key
from tests.support.auth import csrf_of

PASSWORD = "correct horse"


class CountingHasher(PasswordHasher):
    """The test users' cheap argon2, counting its verifications (and how many ran at once);
    ``delay_s`` makes each one last at least that long."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.delay_s = delay_s
        self.count = self.running = self.most_at_once = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.count += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delay_s)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate({"web": {"default_language": "en"}})


def counting(client: Any, delay_s: float = 0.0) -> CountingHasher:
    """Make the app behind ``client`` verify passwords with a :class:`CountingHasher`."""
    hasher = CountingHasher(delay_s)
    client.server.app[USERS].hasher = hasher
    return hasher


async def login_token(client: Any) -> str:
    """The sign-in form's CSRF token (its cookie lands in the client's jar)."""
    return csrf_of(await (await client.get("/login")).text())


async def attempt(client: Any, token: str, username: str, password: str) -> tuple[int, Any]:
    resp = await client.post("/login", allow_redirects=False, data={
        "username": username, "password": password, "csrf_token": token})
    return resp.status, resp


async def add_users(pool: asyncpg.Pool, *names: str) -> None:
    users = UserRepository(pool, FAST_HASHER)
    for name in names:
        await users.add(name, "qa", PASSWORD)


async def test_sixty_parallel_guesses_verify_at_most_five(settings: Settings,
                                                          pool: asyncpg.Pool) -> None:
    await add_users(pool, "alice")
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        hasher = counting(client)
        client.server.app[THROTTLE].max_verifying = 60  # its own test is below
        token = await login_token(client)
        results = await asyncio.gather(*(attempt(client, token, "alice", "wrong guess")
                                         for _ in range(60)))
        statuses = Counter(status for status, _resp in results)
        assert statuses == {401: 5, 429: 55} and hasher.count == 5
        refused = next(resp for status, resp in results if status == 429)
        assert 800 < int(refused.headers["Retry-After"]) <= 900
        text = await refused.text()
        assert "Too many failed sign-ins for this account. Try again in 15 minutes" in text
        assert '<form method="post" action="/login">' in text and "</html>" in text
    audit = AuditRepository(pool)
    assert len(await audit.entries(action="login_failed")) == 5
    assert [e.object for e in await audit.entries(action="login_locked")] == ["user:alice"]


async def test_the_refusal_is_translated(pool: asyncpg.Pool) -> None:
    await add_users(pool, "alice")
    settings = Settings.model_validate({"web": {"login_max_failures": 1}})
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        token = await login_token(client)
        assert (await attempt(client, token, "alice", "wrong guess"))[0] == 401
        status, resp = await attempt(client, token, "alice", PASSWORD)
        assert status == 429
        assert "该账号登录失败次数过多，请 15 分钟后再试，或请管理员解锁。" in await resp.text()


async def test_spraying_one_password_over_thirty_users(settings: Settings,
                                                       pool: asyncpg.Pool) -> None:
    names = [f"user{i:02d}" for i in range(30)]
    await add_users(pool, *names, "dave")
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        hasher = counting(client)
        token = await login_token(client)
        results = [await attempt(client, token, name, "Summer2026!") for name in names]
        assert [status for status, _resp in results] == [401] * 20 + [429] * 10
        assert hasher.count == 20
        refused = next(resp for status, resp in results if status == 429)
        assert "Too many failed sign-ins from your address" in await refused.text()
        # the address is locked, for a right password too, until an admin lifts it
        assert (await attempt(client, token, "dave", PASSWORD))[0] == 429
        async with web_client(settings, pool, role="admin", features=CORE_FEATURES) as admin:
            page = await (await admin.get("/users")).text()
            assert 'data-address="127.0.0.1"' in page
            resp = await admin.post("/users/unlock-address", data={
                "address": "127.0.0.1", "csrf_token": admin.csrf})
            assert resp.status == 200 and 'data-address="127.0.0.1"' not in await resp.text()
        assert (await attempt(client, token, "dave", PASSWORD))[0] == 302
    audit = AuditRepository(pool)
    assert [e.object for e in await audit.entries(action="address_locked")] == [
        "address:127.0.0.1"]
    assert [e.actor for e in await audit.entries(action="address_unlocked")] == ["test_admin"]


async def test_a_lock_survives_a_restart_until_an_admin_lifts_it(
        settings: Settings, pool: asyncpg.Pool, fresh_dsn: str) -> None:
    await add_users(pool, "alice")
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        token = await login_token(client)
        for _ in range(5):
            assert (await attempt(client, token, "alice", "wrong guess"))[0] == 401
    restarted = await db.create_pool(fresh_dsn)  # a new process: new pool, new app
    try:
        async with web_client(settings, restarted, role=None,
                              features=CORE_FEATURES) as client:
            hasher = counting(client)
            token = await login_token(client)
            assert (await attempt(client, token, "alice", PASSWORD))[0] == 429
            assert hasher.count == 0
            async with web_client(settings, restarted, role="admin",
                                  features=CORE_FEATURES) as admin:
                page = await (await admin.get("/users")).text()
                row = page.split('data-user="alice"')[1].split("</tr>")[0]
                assert "locked until" in row and 'action="/users/alice/unlock"' in row
                resp = await admin.post("/users/alice/unlock", data={"csrf_token": admin.csrf})
                assert resp.status == 200 and "Sign-in of alice unlocked." in await resp.text()
                assert "locked until" not in await (await admin.get("/users")).text()
            assert (await attempt(client, token, "alice", PASSWORD))[0] == 302
    finally:
        await restarted.close()
    audit = AuditRepository(pool)
    assert [(e.actor, e.object) for e in await audit.entries(action="login_locked")] == [
        ("alice", "user:alice")]
    assert [(e.actor, e.object) for e in await audit.entries(action="login_unlocked")] == [
        ("test_admin", "user:alice")]


async def test_a_right_password_starts_the_count_afresh(settings: Settings,
                                                        pool: asyncpg.Pool) -> None:
    await add_users(pool, "alice")
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        token = await login_token(client)
        for _ in range(4):
            assert (await attempt(client, token, "alice", "wrong guess"))[0] == 401
        assert (await attempt(client, token, "alice", PASSWORD))[0] == 302
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        token = await login_token(client)
        for _ in range(5):
            assert (await attempt(client, token, "alice", "wrong guess"))[0] == 401
        locks = await client.server.app[THROTTLE].locks()
    # five failures since the success lock the user; the address (9 of 20) is not locked
    assert [(k.scope, k.key, k.attempts) for k in locks] == [("user", "alice", 5)]


async def test_verifications_in_flight_have_a_ceiling(settings: Settings,
                                                      pool: asyncpg.Pool) -> None:
    names = [f"user{i:02d}" for i in range(12)]
    await add_users(pool, *names)
    async with web_client(settings, pool, role=None, features=CORE_FEATURES) as client:
        hasher = counting(client, delay_s=0.3)
        token = await login_token(client)
        results = await asyncio.gather(*(attempt(client, token, name, PASSWORD)
                                         for name in names))
        statuses = Counter(status for status, _resp in results)
        assert hasher.most_at_once <= DEFAULT_MAX_VERIFYING
        assert statuses[302] == hasher.count and statuses[503] == 12 - hasher.count > 0
        busy = next(resp for status, resp in results if status == 503)
        assert busy.headers["Retry-After"] == "2"
        assert "Too many sign-ins at this moment" in await busy.text()
        # turned away unverified, they used up nothing: the address has no count left
        assert await client.server.app[THROTTLE].locks() == []
        address_rows = await pool.fetch(
            "SELECT attempts FROM login_throttle WHERE scope = 'address'")
        assert [r["attempts"] for r in address_rows] == [0]


@pytest.mark.parametrize(("remote", "key"), [
    ("192.0.2.7", "192.0.2.7"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"), ("", "")])
def test_address_key(remote: str, key: str) -> None:
    assert address_key(remote) == key

"""Test helper: a signed-in aiohttp TestClient on a real app and database (loopback only)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from callcenter.settings import Settings
from callcenter.store.users import UserRepository
from callcenter.web.app import create_app
from callcenter.web.auth import SESSION_COOKIE

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""A cheap argon2 for test users (tests sign in many times on a shared 2-core machine)."""


def username_for(role: str, agent: str | None) -> str:
    """The username ``web_client`` signs in as for ``role`` (and ``agent``)."""
    return f"test_{role}" + (f"_{agent}" if agent else "")


async def ensure_user(pool: asyncpg.Pool, role: str, agent: str | None = None,
                      password: str | None = None) -> tuple[str, str]:
    """Create (or reuse) the test user of ``role``; returns (username, password)."""
    users = UserRepository(pool, FAST_HASHER)
    name = username_for(role, agent)
    password = password or secrets.token_urlsafe(12)
    if await users.get(name) is None:
        await users.add(name, role, password, agent=agent)
    else:  # other clients of the same user stay signed in
        await users.set_password(name, password, end_sessions=False)
    return name, password


@contextlib.asynccontextmanager
async def web_client(settings: Settings, pool: asyncpg.Pool, role: str | None = "qa",
                     agent: str | None = None, **create_app_kwargs: Any
                     ) -> AsyncIterator[TestClient[Any, Any]]:
    """A TestClient of ``create_app(settings, pool, **create_app_kwargs)`` on 127.0.0.1.

    Signed in as a user of ``role`` (an agent user defaults to agent1001;
    ``role=None`` gives a client that is not signed in). ``client.csrf`` is the
    token to send with state-changing requests, ``client.username`` the user.
    The cookie jar treats the test server as a secure origin, so Secure
    cookies work over its plain HTTP.
    """
    if role == "agent" and agent is None:
        agent = "agent1001"
    app = create_app(settings, pool, **create_app_kwargs)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    client: TestClient[Any, Any] = TestClient(server, cookie_jar=jar)
    await client.start_server()
    client.csrf = ""  # type: ignore[attr-defined]
    client.username = None  # type: ignore[attr-defined]
    try:
        if role is not None:
            name, _password = await ensure_user(pool, role, agent)
            token, csrf = await UserRepository(pool).create_session(
                name, hours=settings.web.session_hours, remote="127.0.0.1")
            jar.update_cookies({SESSION_COOKIE: token}, response_url=server.make_url("/"))
            client.csrf = csrf  # type: ignore[attr-defined]
            client.username = name  # type: ignore[attr-defined]
        yield client
    finally:
        await client.close()

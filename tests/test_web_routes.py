"""Every route of the whole app (all installed features): behind a sign-in, and no 5xx.

Signed out, every page redirects to /login and every API route answers 401
(a state change without a CSRF token is refused first, 403), except the
public ones. Signed in, no role gets a 5xx from any GET.
"""

from __future__ import annotations

import asyncpg

from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.web.testing import web_client
from tests.support.routes import routes

PUBLIC = {"/login", "/healthz", "/api/v1/openapi.json"}


async def test_every_route_needs_a_sign_in_and_never_fails(pool: asyncpg.Pool) -> None:
    settings = Settings()
    live = LiveConsumer.from_settings(settings)
    async with web_client(settings, pool, role=None, live=live) as anonymous:
        table = routes(anonymous.server.app)
        assert len(table) >= 10
        for method, path in table:
            resp = await anonymous.request(method, path, allow_redirects=False)
            if path in PUBLIC:
                assert resp.status < 500, (method, path)
            elif method != "GET":
                assert resp.status == 403, (method, path, resp.status)
            elif path.startswith("/api/"):
                assert resp.status == 401, (method, path, resp.status)
            else:
                assert resp.status == 302, (method, path, resp.status)
                assert resp.headers["Location"].startswith("/login?next=")
    for role in ("admin", "supervisor", "qa", "agent"):
        async with web_client(settings, pool, role=role, live=live) as client:
            for method, path in table:
                if method != "GET" or path in ("/wallboard/events",) or "events" in path:
                    continue
                resp = await client.get(path, allow_redirects=False)
                assert resp.status < 500, (role, path, resp.status)
    await live.close()

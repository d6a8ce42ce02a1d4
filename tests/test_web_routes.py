"""Every route of the whole app (all installed features): behind a sign-in, and no 5xx.

Signed out, every page redirects to /login and every API route answers 401
(a state change without a CSRF token is refused first, 403), except the
public ones. Signed in, no role gets a 5xx from any GET.
"""

from __future__ import annotations

import re

import asyncpg

from callcenter.live import LiveConsumer
from callcenter.settings import Settings
from callcenter.web.testing import web_client

PUBLIC = {"/login", "/healthz", "/api/v1/openapi.json"}


def routes(app: object) -> list[tuple[str, str]]:
    """(method, a concrete path) of every route but HEAD and static files."""
    out = []
    for route in app.router.routes():  # type: ignore[attr-defined]
        info = route.resource.get_info() if route.resource else {}
        if "pattern" in info:  # a dynamic route: a value for each parameter
            regex = re.sub(r"\(\?P<\w+>([^)]*)\)", sample, info["pattern"].pattern)
            path = re.sub(r"\\(.)", r"\1", regex)
        else:
            path = info.get("path") or info.get("prefix") or ""
        if path and route.method != "HEAD" and not path.startswith("/static"):
            out.append((route.method, path))
    return sorted(set(out))


def sample(match: re.Match[str]) -> str:
    """A value for a path parameter: the first word of ``a|b``, else 1."""
    pattern = match.group(1)
    return pattern.split("|")[0] if re.fullmatch(r"[\w|-]+", pattern) else "1"


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

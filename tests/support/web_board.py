"""The web app served on a loopback port for browser tests, and signing in with a page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.settings import Settings
from callcenter.web.app import CORE_FEATURES, create_app


@contextlib.asynccontextmanager
async def serve(settings: Settings, pool: asyncpg.Pool, *, live: Any = None,
                commands: Any = None) -> AsyncIterator[str]:
    """The core web app on 127.0.0.1 (an ephemeral port); yields its base URL."""
    settings.web.secure_cookies = False
    runner = web.AppRunner(create_app(settings, pool, live=live, commands=commands,
                                      features=CORE_FEATURES))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def sign_in(page: Any, base: str, path: str, name: str, password: str) -> None:
    """Open ``path``, sign in on the login page it redirects to, land on ``path``."""
    await page.goto(f"{base}{path}")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", password)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_url(f"{base}{path}")

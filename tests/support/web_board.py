"""The web app served on a loopback port for browser tests, and signing in with a page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from callcenter.daemon import Daemon
from callcenter.live import LiveConsumer
from callcenter.settings import AmiServer, Settings
from callcenter.sim import PBXSimulator
from callcenter.web.app import CORE_FEATURES, create_app


@dataclass
class SimBoard:
    """The simulator, the daemon on it and the live state the daemon feeds."""

    settings: Settings
    sim: PBXSimulator
    daemon: Daemon
    live: LiveConsumer


@contextlib.asynccontextmanager
async def sim_board(pool: asyncpg.Pool, tmp_path: Path, speed: float = 10.0,
                    **sim_kwargs: Any) -> AsyncIterator[SimBoard]:
    """A started PBX simulator ("sim") and a daemon feeding a live consumer."""
    sim = PBXSimulator(speed=speed, systemname="sim", **sim_kwargs)
    await sim.start()
    settings = Settings()
    settings.database.spool_dir = str(tmp_path / "spool")
    settings.servers = [AmiServer(name="sim", host=sim.host, port=sim.port, secret="secret",
                                  reconnect_min_s=0.1, reconnect_max_s=1.0)]
    live = LiveConsumer.from_settings(settings)
    daemon = Daemon(settings, pool, consumers=[live], log_calls=False)
    await daemon.start()
    try:
        yield SimBoard(settings, sim, daemon, live)
    finally:
        await daemon.stop()
        await sim.stop()
        await live.close()


@contextlib.asynccontextmanager
async def serve(settings: Settings, pool: asyncpg.Pool, *, live: Any = None,
                commands: Any = None, features: Sequence[str] = CORE_FEATURES
                ) -> AsyncIterator[str]:
    """The web app (the core features by default) on 127.0.0.1 (an ephemeral port);
    yields its base URL."""
    settings.web.secure_cookies = False
    runner = web.AppRunner(create_app(settings, pool, live=live, commands=commands,
                                      features=features))
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

"""A dedicated PostgreSQL connection of the live sync, kept up with a backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import structlog

from callcenter.ami.client import backoff_delay
from callcenter.db import DATABASE_FAILURES

log = structlog.get_logger(__name__)

TIMEOUT_S = 5.0
"""How long connecting or one statement may take before the link counts as broken."""
Connect = Callable[[], Awaitable[asyncpg.Connection]]
Session = Callable[[asyncpg.Connection], Awaitable[None]]


@dataclass
class LinkHealth:
    """One link's state: connected now, how often it connected, its last error."""

    connected: bool = False
    connects: int = 0
    last_error: str | None = None


async def keep_connected(link: str, connect: Connect, session: Session, health: LinkHealth,
                         *, min_s: float = 0.2, max_s: float = 5.0) -> None:
    """Run ``session`` on a new connection, again after either fails, waiting a backoff
    (``min_s`` doubling up to ``max_s``) in between; until cancelled."""
    failures = 0
    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncio.wait_for(connect(), TIMEOUT_S)
            health.connected, health.connects, failures = True, health.connects + 1, 0
            await session(conn)
        except DATABASE_FAILURES as exc:
            (log.error if health.connected or not failures else log.warning)(
                "live_sync_link_failed", link=link, error=repr(exc))
            health.last_error = repr(exc)
        finally:
            health.connected = False
            if conn is not None:
                conn.terminate()
        failures += 1
        await asyncio.sleep(backoff_delay(failures, min_s, max_s))

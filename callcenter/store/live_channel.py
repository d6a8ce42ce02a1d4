"""PostgreSQL as the live state's channel between instances (LISTEN/NOTIFY): what the
live sync sends on its own connection."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

_NOTIFY = "SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m"


async def notify(conn: asyncpg.Connection, channel: str, messages: Sequence[str]) -> None:
    """Send each of ``messages`` on ``channel``, in order, in one statement."""
    await conn.execute(_NOTIFY, channel, list(messages))


async def ping(conn: asyncpg.Connection) -> None:
    """One round trip: raises when the connection is gone."""
    await conn.fetchval("SELECT 1")

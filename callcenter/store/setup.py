"""Opening the store: a pool on a migrated database, with a clear error when it fails."""

from __future__ import annotations

import asyncpg

from callcenter import db


class StoreUnavailable(Exception):
    """The database cannot be reached or migrated; the message says which and why."""


def _safe(dsn: str) -> str:
    """``dsn`` without its password."""
    scheme, sep, rest = dsn.partition("://")
    if "@" in rest:
        cred, _, host = rest.rpartition("@")
        rest = cred.split(":", 1)[0] + "@" + host
    return scheme + sep + rest


async def open_store(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    """A pool on ``dsn`` with the migrations applied."""
    try:
        pool = await db.create_pool(dsn, max_size=max_size)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
        raise StoreUnavailable(f"cannot connect to the database {_safe(dsn)}: {exc}") from None
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        await pool.close()
        raise StoreUnavailable(f"cannot migrate the database {_safe(dsn)}: {exc}") from None
    return pool

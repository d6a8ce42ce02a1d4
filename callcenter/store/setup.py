"""Opening the store: a pool on a database with this version's schema, or one clear error.

Only ``callcenter migrate``, ``run`` and ``demo`` create or migrate the schema
(``open_store(dsn, migrate=True)``, :func:`migrate_store`); every other command
opens with ``migrate=False``, which checks the schema and changes nothing.
"""

from __future__ import annotations

import asyncpg

from callcenter import db
from callcenter.db import SchemaError

__all__ = ["SchemaError", "StoreUnavailable", "migrate_store", "open_store"]

_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


class StoreUnavailable(Exception):
    """The database cannot be reached or migrated; the message says which and why."""


def _safe(dsn: str) -> str:
    """``dsn`` without its password."""
    scheme, sep, rest = dsn.partition("://")
    if "@" in rest:
        cred, _, host = rest.rpartition("@")
        rest = cred.split(":", 1)[0] + "@" + host
    return scheme + sep + rest


async def open_store(dsn: str, *, migrate: bool = True, max_size: int = 10) -> asyncpg.Pool:
    """A pool on ``dsn`` whose schema is this version's.

    ``migrate=True`` (run, demo) applies the pending migrations first;
    ``migrate=False`` (every read or maintenance command) only checks them
    (:func:`callcenter.db.check_schema`) and leaves the database as it is.
    Raises :class:`StoreUnavailable` when the database cannot be reached, and
    :class:`SchemaError` when its schema is absent (``migrate=False``), behind
    (``migrate=False``) or newer than this version (always): both say so in one line.
    """
    pool = await _connect(dsn, max_size)
    try:
        await _prepare(pool, dsn, migrate)
    except BaseException:
        await pool.close()
        raise
    return pool


async def migrate_store(dsn: str) -> list[str]:
    """Apply the pending migrations to ``dsn`` (``callcenter migrate``); the names applied."""
    pool = await _connect(dsn, 1)
    try:
        return await _prepare(pool, dsn, migrate=True)
    finally:
        await pool.close()


async def _connect(dsn: str, max_size: int) -> asyncpg.Pool:
    try:
        return await db.create_pool(dsn, max_size=max_size)
    except (*_DB_ERRORS, ValueError) as exc:
        raise StoreUnavailable(f"cannot connect to the database {_safe(dsn)}: {exc}") from None


async def _prepare(pool: asyncpg.Pool, dsn: str, migrate: bool) -> list[str]:
    """Migrate (the names applied now) or only check the schema of ``pool``'s database."""
    try:
        async with pool.acquire() as conn:
            if migrate:
                return await db.migrate(conn)
            await db.check_schema(conn)
            return []
    except SchemaError as exc:
        raise SchemaError(f"{_safe(dsn)}: {exc}") from None
    except _DB_ERRORS as exc:
        doing = "migrate" if migrate else "read the schema of"
        raise StoreUnavailable(f"cannot {doing} the database {_safe(dsn)}: {exc}") from None

"""Database connection: an asyncpg pool, the embedded server, and migrations.

SQL lives in ``callcenter/migrations/NNN_name.sql`` files, applied in order by
:func:`migrate` (``callcenter migrate``, and at the start of ``run`` and
``demo``). Each file runs once, in a transaction, and is recorded in
``schema_migrations``. Every other command only reads: :func:`check_schema`
refuses a database without the schema, behind it or ahead of it, and changes
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DATABASE_FAILURES: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What a background task's database work may fail with (the database down, stalled or
refusing): logged, counted and tried again, never the end of the task."""
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError, asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InternalClientError, asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.ObjectNotInPrerequisiteStateError)
"""What a request meets when PostgreSQL is down, restarting or unreachable: not a bug of
ours (a web request answers 503 and says so), unlike the other ``PostgresError``s. A
pooled connection left broken by a cut session raises ``InternalClientError``; a database
closed to connections (``ALLOW_CONNECTIONS false``, a maintenance window) refuses new ones
with ``ObjectNotInPrerequisiteState``, a dropped one with ``InvalidCatalogName``."""
_embedded: dict[str, Any] = {}


def embedded_dsn(data_dir: str | Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir`` and return its DSN."""
    key = str(Path(data_dir).resolve())
    if key not in _embedded:
        Path(key).mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # pgserver keeps its lock files in the user's runtime dir; without XDG_RUNTIME_DIR
            # (root in a container, cron) platformdirs falls back to /tmp/runtime-<uid>, which
            # serves as well, and says so with a warning an admin can do nothing about
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            import pgserver  # imported lazily: it is only needed without a DSN

            _embedded[key] = pgserver.get_server(key, cleanup_mode="stop")
    uri: str = _embedded[key].get_uri()
    return uri


def stop_embedded(data_dir: str | Path) -> None:
    """Stop the embedded PostgreSQL of ``data_dir`` if this process started it."""
    server = _embedded.pop(str(Path(data_dir).resolve()), None)
    if server is not None:
        server.cleanup()


def dsn_with_database(dsn: str, name: str) -> str:
    """``dsn`` pointed at database ``name`` of the same server (query parameters kept)."""
    base, _, query = dsn.partition("?")
    scheme, _, rest = base.partition("://")
    hostpart = rest.rsplit("/", 1)[0] if "/" in rest else rest
    return f"{scheme}://{hostpart}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def scratch_database(server_dsn: str, prefix: str, *, migrated: bool = False,
                           template: str = "") -> AsyncIterator[str]:
    """A new database on ``server_dsn``'s server (with the schema when ``migrated``, a copy
    of database ``template`` when given), for a test or a bench; its DSN, and the database
    dropped afterwards."""
    name = prefix + uuid.uuid4().hex[:12]
    copied = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copied}')
    finally:
        await admin.close()
    dsn = dsn_with_database(server_dsn, name)
    try:
        if migrated:
            conn = await asyncpg.connect(dsn)
            try:
                await migrate(conn)
            finally:
                await conn.close()
        yield dsn
    finally:
        admin = await asyncpg.connect(server_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def resolve_dsn(dsn: str, data_dir: str | Path) -> str:
    """``dsn`` when given, otherwise the embedded server's."""
    return dsn or embedded_dsn(data_dir)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """An asyncpg pool with JSON codecs for json/jsonb."""

    async def init(conn: asyncpg.Connection) -> None:
        import json

        for typ in ("json", "jsonb"):
            await conn.set_type_codec(
                typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init)
    assert pool is not None
    return pool


async def close_pool(pool: asyncpg.Pool, timeout_s: float = 1.0) -> None:
    """Close ``pool`` within ``timeout_s``; past it its connections are cut. (asyncpg's
    close waits for every connection to come back, and one whose acquire was cancelled
    mid-connect never does: closing hung for good.)"""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        pool.terminate()


def migration_files() -> list[Path]:
    """The migration files in the order they apply."""
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


class SchemaError(Exception):
    """The database's schema is not this version's (absent, behind or ahead); the
    message says which and what to do, in one line."""


async def applied_migrations(conn: asyncpg.Connection) -> set[str] | None:
    """Names recorded in ``schema_migrations``; None when there is no such table. Reads only."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return None
    return {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}


def _refuse_newer(applied: set[str]) -> None:
    unknown = sorted(applied - {p.name for p in migration_files()})
    if unknown:
        raise SchemaError(
            f"the database schema is newer than this version of callcenter (migration "
            f"{unknown[-1]} is unknown here): upgrade callcenter to use this database")


async def check_schema(conn: asyncpg.Connection) -> None:
    """Raise :class:`SchemaError` unless the schema is exactly this version's.

    Reads only: a database without the schema is left as it is (no table, no
    function, no ``schema_migrations``), for ``callcenter migrate`` to create.
    """
    applied = await applied_migrations(conn)
    if not applied:
        raise SchemaError("no callcenter schema in this database: create it with "
                          "`callcenter migrate` (this command changed nothing)")
    _refuse_newer(applied)
    pending = [p.name for p in migration_files() if p.name not in applied]
    if pending:
        raise SchemaError(
            f"the database schema is older than this version of callcenter "
            f"({len(pending)} migration(s) pending, from {pending[0]}): run `callcenter migrate`")


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now.

    Raises :class:`SchemaError`, changing nothing, when the database holds a
    migration this version does not have (a newer callcenter migrated it).
    """
    await conn.execute("SELECT pg_advisory_lock(717171)")
    try:
        _refuse_newer(await applied_migrations(conn) or set())
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = await applied_migrations(conn) or set()
        applied = []
        for path in migration_files():
            if path.name in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", path.name)
            log.info("migration_applied", name=path.name)
            applied.append(path.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(717171)")

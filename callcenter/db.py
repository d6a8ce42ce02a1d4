"""Database connection: an asyncpg pool, the embedded server, and migrations.

SQL lives in ``callcenter/migrations/NNN_name.sql`` files, applied in order by
:func:`migrate` (``callcenter migrate`` and at start). Each file runs once, in
a transaction, and is recorded in ``schema_migrations``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
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


def migration_files() -> list[Path]:
    """The migration files in the order they apply."""
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    await conn.execute("SELECT pg_advisory_lock(717171)")
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
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

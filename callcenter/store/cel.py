"""Reading the CEL rows Asterisk's ``cel_pgsql`` writes into the callcenter database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

_COLUMNS = ("id, eventtype, eventtime, cid_name, cid_num, exten, context, channame, appname,"
            " appdata, uniqueid, linkedid, peer, extra")


class CelRepository:
    """The CEL rows of one table (``servers[].cel_table``: one per PBX)."""

    def __init__(self, pool: asyncpg.Pool, table: str) -> None:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        self.pool = pool
        self.table = table

    async def linkedids_between(self, since: datetime, until: datetime) -> list[str]:
        """The calls that have a row strictly between ``since`` and ``until``."""
        rows = await self.pool.fetch(
            f'SELECT DISTINCT linkedid FROM "{self.table}"'
            " WHERE eventtime > $1 AND eventtime < $2 AND linkedid <> ''",
            _naive_utc(since), _naive_utc(until))
        return [r["linkedid"] for r in rows]

    async def rows_of(self, linkedids: Sequence[str]) -> list[asyncpg.Record]:
        """Every row of ``linkedids``, in the order written (as stored: the ingest's
        :class:`~callcenter.ingest.cel.rows.CelRow` reads them)."""
        rows = await self.pool.fetch(
            f'SELECT {_COLUMNS} FROM "{self.table}" WHERE linkedid = ANY($1::text[])'
            " ORDER BY eventtime, id", list(linkedids))
        return list(rows)

    async def last_before(self, until: datetime) -> datetime | None:
        """The time of the last row before ``until`` (a PBX's last moment before a restart)."""
        value = await self.pool.fetchval(
            f'SELECT max(eventtime) FROM "{self.table}" WHERE eventtime < $1', _naive_utc(until))
        return None if value is None else value.replace(tzinfo=UTC)


async def table_columns(conn: asyncpg.Connection, table: str) -> dict[str, str]:
    """The columns of ``table`` in the current schema and their types (none: no table)."""
    return dict(await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1", table))


def _naive_utc(at: datetime) -> datetime:
    """cel_pgsql's ``eventtime`` is a ``timestamp`` in UTC (``usegmtime = yes``)."""
    return at.astimezone(UTC).replace(tzinfo=None)

"""Recording rows (table ``recordings``): one per file MixMonitor announced for a call."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

import asyncpg

from callcenter.calls.model import CallRecord

RecordingStatus = Literal["pending", "ready", "empty", "missing", "corrupt", "purged"]
FINAL: frozenset[str] = frozenset({"ready", "empty", "missing", "corrupt", "purged"})
ON_DISK: tuple[str, ...] = ("ready", "empty", "corrupt")
"""Statuses whose file sits in the store (``path`` set)."""


@dataclass
class Recording:
    """One recording of a call; ``path`` is relative to ``recordings.store_dir``."""

    server: str
    linkedid: str
    file_name: str
    call_started_at: datetime
    status: RecordingStatus = "pending"
    source_path: str = ""
    path: str | None = None
    format: str | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    short: bool = False
    legal_hold: bool = False
    attempts: int = 0
    detail: str = ""
    queue: str | None = None
    talk_s: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(server, linkedid, file_name)."""
        return self.server, self.linkedid, self.file_name


@dataclass(frozen=True)
class Placement:
    """A file of the monitor directory matched to a call (:meth:`RecordingRepository.
    place_files`): ``filed`` rows the call has, ``has_row`` one for this very file."""

    file_name: str
    matched_id: str
    call: CallRecord
    filed: int
    has_row: bool


_WRITTEN = ("server", "linkedid", "file_name", "call_started_at", "status", "source_path",
            "path", "format", "duration_s", "size_bytes", "sha256", "attempts", "detail",
            "queue", "talk_s")
_INSERT = (f"INSERT INTO recordings ({', '.join(_WRITTEN)}) VALUES "
           f"({', '.join(f'${i}' for i in range(1, len(_WRITTEN) + 1))}) ")
_UPSERT = (
    _INSERT + "ON CONFLICT (server, linkedid, file_name) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _WRITTEN[3:]) + ", updated_at = now()")
_CREATE = _INSERT + "ON CONFLICT (server, linkedid, file_name) DO NOTHING RETURNING true"
_UNFILED = """SELECT server, linkedid, started_at, queue, answered_at, talk_ended_at, ended_at,
    recordings FROM calls c
WHERE ended_at >= $1 AND ended_at < $2 AND EXISTS (SELECT 1 FROM unnest(c.recordings) AS f(name)
    WHERE NOT EXISTS (SELECT 1 FROM recordings r WHERE r.server = c.server
                      AND r.linkedid = c.linkedid AND r.file_name = f.name))
ORDER BY ended_at"""
_PLACE = """WITH f AS (SELECT * FROM unnest($1::text[], $2::text[]) AS f(name, id)),
span AS (SELECT server, linkedid FROM calls WHERE started_at >= $3 AND started_at < $4),
hits AS (
    SELECT f.name, f.id, s.server, s.linkedid FROM f JOIN span s ON s.linkedid = f.id
    UNION
    SELECT f.name, f.id, ra.server, ra.linkedid FROM f JOIN ring_attempts ra ON ra.uniqueid = f.id
        JOIN span s ON s.server = ra.server AND s.linkedid = ra.linkedid)
SELECT h.name, h.id, c.server, c.linkedid, c.started_at, c.queue, c.answered_at,
    c.talk_ended_at, c.ended_at, c.recordings,
    (SELECT count(*) FROM recordings r WHERE r.server = c.server AND r.linkedid = c.linkedid)
        AS filed,
    EXISTS (SELECT 1 FROM recordings r WHERE r.server = c.server AND r.linkedid = c.linkedid
            AND r.file_name = h.name) AS has_row
FROM hits h JOIN calls c ON c.server = h.server AND c.linkedid = h.linkedid"""
_LINK = """UPDATE calls SET recordings = array_append(recordings, $3)
WHERE server = $1 AND linkedid = $2 AND NOT ($3 = ANY(recordings))"""
_MARK_SHORT = """UPDATE recordings r SET short = coalesce(r.status IN ('ready', 'empty')
    AND r.talk_s > 0 AND tot.d < $3 * r.talk_s, false)
FROM (SELECT coalesce(sum(duration_s) FILTER (WHERE status IN ('ready', 'empty')), 0) AS d
      FROM recordings WHERE server = $1 AND linkedid = $2) tot
WHERE r.server = $1 AND r.linkedid = $2"""
_COLUMNS = [f.name for f in fields(Recording)]


async def _lock_call(conn: asyncpg.Connection, server: str, linkedid: str) -> None:
    """One writer of a call's rows at a time (until commit): updates span the call's rows."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
                       f"recordings:{server}/{linkedid}")


def _row(r: asyncpg.Record) -> Recording:
    return Recording(**{c: r[c] for c in _COLUMNS})


class RecordingRepository:
    """Reads and writes recording rows; writes are idempotent per (server, linkedid, file)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def upsert(self, rec: Recording, short_ratio: float) -> None:
        """Write ``rec`` (legal hold and created_at are kept) and refresh the call's
        ``short`` flags: its ready and empty recordings together last less than
        ``short_ratio`` × talk time (an answered call recorded as a bare header is short)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await _lock_call(conn, rec.server, rec.linkedid)
            await conn.execute(_UPSERT, *(getattr(rec, c) for c in _WRITTEN))
            await conn.execute(_MARK_SHORT, rec.server, rec.linkedid, short_ratio)

    async def create(self, rec: Recording) -> bool:
        """Insert ``rec`` unless the recording has a row already; True when inserted."""
        return bool(await self.pool.fetchval(_CREATE, *(getattr(rec, c) for c in _WRITTEN)))

    async def unfiled_calls(self, ended_since: datetime, ended_before: datetime
                            ) -> list[CallRecord]:
        """Calls ended in [``ended_since``, ``ended_before``) naming a recording that has no
        row yet (their end was not seen, or the database was down): the fields filing needs."""
        rows = await self.pool.fetch(_UNFILED, ended_since, ended_before)
        return [CallRecord(r["server"], r["linkedid"], r["started_at"], queue=r["queue"],
                           answered_at=r["answered_at"], talk_ended_at=r["talk_ended_at"],
                           ended_at=r["ended_at"], recordings=list(r["recordings"]))
                for r in rows]

    async def place_files(self, names_ids: list[tuple[str, str]], started_since: datetime,
                          started_before: datetime) -> list[Placement]:
        """The calls started in [``started_since``, ``started_before``) whose linkedid, or
        the uniqueid of one of their rung channels, is the id of a (file name, id) pair:
        one :class:`Placement` per (file, id, call)."""
        if not names_ids:
            return []
        rows = await self.pool.fetch(_PLACE, [n for n, _ in names_ids],
                                     [i for _, i in names_ids], started_since, started_before)
        return [Placement(r["name"], r["id"], CallRecord(
            r["server"], r["linkedid"], r["started_at"], queue=r["queue"],
            answered_at=r["answered_at"], talk_ended_at=r["talk_ended_at"],
            ended_at=r["ended_at"], recordings=list(r["recordings"])), r["filed"], r["has_row"])
            for r in rows]

    async def link_to_call(self, server: str, linkedid: str, file_name: str) -> None:
        """Name ``file_name`` among the call's recordings (a file found by the sweep)."""
        await self.pool.execute(_LINK, server, linkedid, file_name)

    async def for_call(self, server: str, linkedid: str) -> list[Recording]:
        """The call's recordings, oldest first."""
        return await self._select("WHERE server = $1 AND linkedid = $2"
                                  " ORDER BY created_at, file_name", server, linkedid)

    async def get(self, server: str, linkedid: str, file_name: str) -> Recording | None:
        """One recording, or None."""
        rows = await self._select("WHERE server = $1 AND linkedid = $2 AND file_name = $3",
                                  server, linkedid, file_name)
        return rows[0] if rows else None

    async def problems(self, limit: int = 100) -> list[Recording]:
        """The latest recordings needing a look: missing, corrupt, or far shorter than
        the call's talk time; newest first."""
        return await self._select("WHERE status IN ('missing', 'corrupt') OR short"
                                  " ORDER BY updated_at DESC LIMIT $1", limit)

    async def pending(self) -> list[Recording]:
        """Recordings not yet filed (a daemon stopped while waiting for them)."""
        return await self._select("WHERE status = 'pending' ORDER BY call_started_at")

    async def on_disk(self) -> list[Recording]:
        """Recordings whose file is in the store, oldest call first."""
        return await self._select("WHERE status = ANY($1::text[]) AND path IS NOT NULL"
                                  " ORDER BY call_started_at, file_name", list(ON_DISK))

    async def purge_candidates(self, started_before: datetime) -> list[Recording]:
        """Stored recordings without legal hold of calls started before ``started_before``."""
        return await self._select(
            "WHERE status = ANY($1::text[]) AND path IS NOT NULL AND NOT legal_hold"
            " AND call_started_at < $2 ORDER BY call_started_at, file_name",
            list(ON_DISK), started_before)

    async def set_hold(self, server: str, linkedid: str, on: bool) -> int:
        """Set or clear the legal hold of every recording of the call; rows changed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await _lock_call(conn, server, linkedid)
            result = await conn.execute(
                "UPDATE recordings SET legal_hold = $3, updated_at = now()"
                " WHERE server = $1 AND linkedid = $2", server, linkedid, on)
        return int(result.split()[-1])

    @staticmethod
    async def claim_purge(conn: asyncpg.Connection, key: tuple[str, str, str]) -> bool:
        """Mark one stored recording 'purged' in ``conn``'s transaction (its row stays
        locked until commit); False when it is on legal hold or not stored any more."""
        done = await conn.fetchval(
            "UPDATE recordings SET status = 'purged', updated_at = now()"
            " WHERE server = $1 AND linkedid = $2 AND file_name = $3 AND NOT legal_hold"
            " AND status = ANY($4::text[]) RETURNING true", *key, list(ON_DISK))
        return bool(done)

    async def _select(self, where: str, *args: object) -> list[Recording]:
        rows = await self.pool.fetch(f"SELECT {', '.join(_COLUMNS)} FROM recordings {where}",
                                     *args)
        return [_row(r) for r in rows]

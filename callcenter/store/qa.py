"""The QA tables: samples, the inspectors' work queue (assignments) and reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.store.arrays import CALL_KEYS_IN


@dataclass(frozen=True)
class Candidate:
    """A call of the week with a ready recording, as the rules see it."""

    server: str
    linkedid: str
    agent: str
    started_at: datetime
    hold_s: float | None = 0.0
    talk_s: float | None = None
    ring_no_answer: bool = False
    complaint: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.linkedid)


@dataclass(frozen=True)
class Sample:
    """A call picked for review and why (``random`` and/or rule names)."""

    server: str
    linkedid: str
    agent: str
    reasons: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.linkedid)


_CANDIDATES = """SELECT c.server, c.linkedid, c.agent, c.started_at, c.hold_s, c.talk_s,
    EXISTS (SELECT 1 FROM ring_attempts a WHERE a.server = c.server AND a.linkedid = c.linkedid
            AND a.outcome = 'no_answer') AS ring_no_answer,
    {complaint} AS complaint
FROM calls c
WHERE c.started_at >= $1 AND c.started_at < $2 AND c.agent IS NOT NULL AND c.ended_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM recordings r WHERE r.server = c.server AND r.linkedid = c.linkedid
              AND r.status = 'ready')"""
_COMPLAINT = """EXISTS (SELECT 1 FROM call_notes n WHERE n.server = c.server
    AND n.linkedid = c.linkedid AND n.category = 'complaint')"""

_QUEUE = """SELECT a.id AS assignment_id, a.server, a.linkedid, a.inspector, a.calibration,
    a.assigned_at, s.agent, s.week, s.reasons, c.queue, c.started_at, c.talk_s,
    r.id AS review_id, r.status, r.total, r.grade
FROM qa_assignments a JOIN qa_samples s USING (server, linkedid)
LEFT JOIN calls c USING (server, linkedid)
LEFT JOIN qa_reviews r ON r.assignment_id = a.id
WHERE ($1::text IS NULL OR a.inspector = $1)
  AND ($2::bool OR r.status IS DISTINCT FROM 'submitted')
  AND ($3::bigint IS NULL OR a.id = $3)
ORDER BY (r.status IS NULL OR r.status = 'draft') DESC, c.started_at NULLS LAST, a.id"""


class MissingTable(Exception):
    """A table another area owns (e.g. ``recordings``) does not exist yet."""


@dataclass(frozen=True)
class QueueEntry:
    """One line of an inspector's work queue."""

    assignment_id: int
    server: str
    linkedid: str
    inspector: str
    calibration: bool
    assigned_at: datetime
    agent: str
    week: str
    reasons: list[str]
    queue: str | None
    started_at: datetime | None
    talk_s: float | None
    review_id: int | None
    status: str | None
    total: float | None
    grade: str | None


@dataclass(frozen=True)
class ReviewRow:
    """A stored review, as in table ``qa_reviews``."""

    id: int
    assignment_id: int
    server: str
    linkedid: str
    inspector: str
    agent: str
    form_id: str
    form_version: int
    form_hash: str
    form_definition: dict[str, Any]
    scores: dict[str, Any]
    comment: str
    total: float | None
    raw_total: float | None
    grade: str | None
    fatal: bool
    status: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    response: str | None
    response_comment: str
    responded_at: datetime | None
    resolution: str | None
    resolution_comment: str
    resolved_by: str | None
    resolved_at: datetime | None


_REVIEW_COLS = [f.name for f in fields(ReviewRow)]
_UPDATABLE = set(_REVIEW_COLS) - {"id", "assignment_id", "server", "linkedid", "created_at"}


def _review(row: asyncpg.Record) -> ReviewRow:
    return ReviewRow(**{k: row[k] for k in _REVIEW_COLS})


class QaRepository:
    """Reads and writes the QA tables; the service layer (``qa.reviews``) holds the rules."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def table_exists(self, name: str) -> bool:
        """True when table ``name`` exists on the search path."""
        return bool(await self.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", name))

    # ------------------------------------------------------------ sampling

    async def candidates(self, start: datetime, end: datetime) -> tuple[list[Candidate], bool]:
        """Ended calls with an agent and a ready recording started in [start, end) (UTC),
        and whether the complaint rule could be read (``call_notes`` exists)."""
        if not await self.table_exists("recordings"):
            raise MissingTable("table 'recordings' does not exist yet: "
                               "no call has a ready recording to sample")
        notes = await self.table_exists("call_notes")
        sql = _CANDIDATES.format(complaint=_COMPLAINT if notes else "false")
        rows = await self.pool.fetch(sql + " ORDER BY c.started_at", start, end)
        return [Candidate(r["server"], r["linkedid"], r["agent"], r["started_at"], r["hold_s"],
                          r["talk_s"], r["ring_no_answer"], r["complaint"]) for r in rows], notes

    async def sampled_keys(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of ``keys`` (server, linkedid) already sampled."""
        rows = await self.pool.fetch(f"SELECT server, linkedid FROM qa_samples WHERE {CALL_KEYS_IN}",
                                     [k[0] for k in keys], [k[1] for k in keys])
        return {(r["server"], r["linkedid"]) for r in rows}

    async def random_taken(self, week: str) -> dict[str, int]:
        """Random samples per agent already taken in ``week``."""
        rows = await self.pool.fetch(
            "SELECT agent, count(*) AS n FROM qa_samples WHERE week = $1"
            " AND 'random' = ANY(reasons) GROUP BY agent", week)
        return {r["agent"]: r["n"] for r in rows}

    async def add_samples(self, samples: Sequence[Sample], week: str, seed: int) -> int:
        """Store new samples (a call already sampled is left alone); returns how many were new."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "INSERT INTO qa_samples (server, linkedid, week, agent, reasons, seed)"
                " SELECT s, l, w, a, string_to_array(r, ','), sd FROM unnest($1::text[],"
                " $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])"
                " AS t(s, l, w, a, r, sd) ON CONFLICT DO NOTHING RETURNING 1",
                [s.server for s in samples], [s.linkedid for s in samples],
                [week] * len(samples), [s.agent for s in samples],
                [",".join(s.reasons) for s in samples], [seed] * len(samples))
        return len(rows)

    async def samples(self, week: str | None = None, *, unassigned: bool = False
                      ) -> list[Sample]:
        """Samples of ``week`` (all weeks when None), oldest call first; ``unassigned``
        keeps those no inspector has yet."""
        rows = await self.pool.fetch(
            "SELECT s.* FROM qa_samples s LEFT JOIN calls c USING (server, linkedid)"
            " WHERE ($1::text IS NULL OR s.week = $1) AND (NOT $2 OR NOT EXISTS"
            " (SELECT 1 FROM qa_assignments a WHERE a.server = s.server"
            " AND a.linkedid = s.linkedid)) ORDER BY c.started_at NULLS LAST, s.server,"
            " s.linkedid", week, unassigned)
        return [Sample(r["server"], r["linkedid"], r["agent"], tuple(r["reasons"]))
                for r in rows]

    # ------------------------------------------------------------ work queue

    async def open_load(self) -> dict[str, int]:
        """Per inspector, assignments without a submitted review."""
        rows = await self.pool.fetch(
            "SELECT a.inspector, count(*) AS n FROM qa_assignments a LEFT JOIN qa_reviews r"
            " ON r.assignment_id = a.id WHERE r.status IS DISTINCT FROM 'submitted'"
            " GROUP BY a.inspector")
        return {r["inspector"]: r["n"] for r in rows}

    async def qa_users(self) -> list[str]:
        """Enabled web users of role qa (table ``users``), [] without the table."""
        if not await self.table_exists("users"):
            return []
        rows = await self.pool.fetch(
            "SELECT username FROM users WHERE role = 'qa' AND NOT disabled ORDER BY username")
        return [r["username"] for r in rows]

    async def add_assignments(self, pairs: Sequence[tuple[Sample, str]], *,
                              calibration: bool = False) -> int:
        """Assign samples to inspectors (a pair already there is kept); returns new ones."""
        rows = await self.pool.fetch(
            "INSERT INTO qa_assignments (server, linkedid, inspector, calibration)"
            " SELECT *, $4::bool FROM unnest($1::text[], $2::text[], $3::text[])"
            " ON CONFLICT DO NOTHING RETURNING 1",
            [s.server for s, _ in pairs], [s.linkedid for s, _ in pairs],
            [i for _, i in pairs], calibration)
        return len(rows)

    async def work_queue(self, inspector: str | None, *, include_done: bool = False
                         ) -> list[QueueEntry]:
        """An inspector's assignments (everyone's when None): open ones first."""
        rows = await self.pool.fetch(_QUEUE, inspector, include_done, None)
        return [QueueEntry(**{k: r[k] for k in QueueEntry.__dataclass_fields__}) for r in rows]

    async def assignment(self, assignment_id: int) -> QueueEntry | None:
        """One assignment as a work-queue line, or None."""
        rows = await self.pool.fetch(_QUEUE, None, True, assignment_id)
        return QueueEntry(**{k: rows[0][k] for k in QueueEntry.__dataclass_fields__}) \
            if rows else None

    # ------------------------------------------------------------ reviews

    async def insert_review(self, conn: asyncpg.Connection, **values: Any) -> ReviewRow:
        """Create a review row (a draft) from column values."""
        cols = list(values)
        row = await conn.fetchrow(
            f"INSERT INTO qa_reviews ({', '.join(cols)}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(cols)))}) RETURNING *",
            *values.values())
        assert row is not None
        return _review(row)

    async def update_review(self, conn: asyncpg.Connection, review_id: int,
                            **values: Any) -> ReviewRow:
        """Set columns of a review (``updated_at`` = now) and return the new row."""
        bad = set(values) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(values))
        row = await conn.fetchrow(
            f"UPDATE qa_reviews SET {sets}, updated_at = now() WHERE id = $1 RETURNING *",
            review_id, *values.values())
        assert row is not None
        return _review(row)

    async def review(self, review_id: int, conn: asyncpg.Connection | None = None,
                     *, lock: bool = False) -> ReviewRow | None:
        """One review (``lock``: FOR UPDATE, inside ``conn``'s transaction)."""
        row = await (conn or self.pool).fetchrow(
            "SELECT * FROM qa_reviews WHERE id = $1" + (" FOR UPDATE" if lock else ""),
            review_id)
        return _review(row) if row else None

    async def review_of_assignment(self, assignment_id: int) -> ReviewRow | None:
        """The review started on an assignment, or None."""
        row = await self.pool.fetchrow("SELECT * FROM qa_reviews WHERE assignment_id = $1",
                                       assignment_id)
        return _review(row) if row else None

    async def reviews(self, *, agent: str | None = None, status: str | None = None,
                      disputed_open: bool = False, limit: int = 200) -> list[ReviewRow]:
        """Reviews, newest first, filtered by agent, status and open disputes."""
        rows = await self.pool.fetch(
            "SELECT * FROM qa_reviews WHERE ($1::text IS NULL OR agent = $1)"
            " AND ($2::text IS NULL OR status = $2)"
            " AND (NOT $3 OR (response = 'disputed' AND resolution IS NULL))"
            " ORDER BY coalesce(submitted_at, updated_at) DESC, id DESC LIMIT $4",
            agent, status, disputed_open, limit)
        return [_review(r) for r in rows]

    async def submitted_between(self, start: datetime, end: datetime) -> list[ReviewRow]:
        """Reviews submitted in [start, end) (UTC), oldest first."""
        rows = await self.pool.fetch(
            "SELECT * FROM qa_reviews WHERE status = 'submitted' AND submitted_at >= $1"
            " AND submitted_at < $2 ORDER BY submitted_at, id", start, end)
        return [_review(r) for r in rows]

    # ------------------------------------------------------------ call facts

    async def ready_recordings(self, server: str, linkedid: str) -> list[dict[str, Any]]:
        """The call's ready recordings (file_name, duration_s), [] without the table."""
        if not await self.table_exists("recordings"):
            return []
        rows = await self.pool.fetch(
            "SELECT * FROM recordings WHERE server = $1 AND linkedid = $2 AND status = 'ready'"
            " ORDER BY file_name", server, linkedid)
        return [{"file_name": r["file_name"], "duration_s": r.get("duration_s")} for r in rows]

    async def notes(self, server: str, linkedid: str) -> list[dict[str, Any]]:
        """The call's notes (table ``call_notes`` of the agent panel), [] without the table."""
        if not await self.table_exists("call_notes"):
            return []
        rows = await self.pool.fetch(
            "SELECT * FROM call_notes WHERE server = $1 AND linkedid = $2", server, linkedid)
        return [dict(r) for r in rows]

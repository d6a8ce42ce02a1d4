"""Call notes (the record sheets); a note may plan a follow-up (see
:mod:`callcenter.store.followups` for the rest of them) and register its complaint
(through :mod:`callcenter.store.complaints`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import asyncpg

from callcenter.store.complaints import ComplaintRepository, Registration


@dataclass
class CallNote:
    """What an agent wrote about one call; times UTC."""

    id: int
    server: str
    linkedid: str
    agent: str
    category: str
    content: str = ""
    result: str = ""
    follow_up_on: date | None = None
    customer_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_NOTE_COLS = ("id", "server", "linkedid", "agent", "category", "content", "result",
              "follow_up_on", "customer_id", "created_at", "updated_at")


def _note(row: asyncpg.Record | dict[str, Any], prefix: str = "") -> CallNote:
    return CallNote(**{c: row[prefix + c] for c in _NOTE_COLS})


_UPSERT_NOTE = """INSERT INTO call_notes (server, linkedid, agent, category, content, result,
    follow_up_on, customer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (server, linkedid, agent) DO UPDATE SET category = EXCLUDED.category,
    content = EXCLUDED.content, result = EXCLUDED.result, follow_up_on = EXCLUDED.follow_up_on,
    customer_id = EXCLUDED.customer_id, updated_at = now()
RETURNING *"""

_HANDLED = """(c.agent = $1 OR EXISTS (SELECT 1 FROM ring_attempts r WHERE r.server = c.server
    AND r.linkedid = c.linkedid AND r.agent = $1 AND r.outcome = 'answered')
    OR EXISTS (SELECT 1 FROM transfers t WHERE t.server = c.server AND t.linkedid = c.linkedid
    AND t.to_agent = $1))"""


class NoteRepository:
    """Call notes with the complaints and follow-ups they open."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # -- notes ---------------------------------------------------------------------------
    async def save_note(self, server: str, linkedid: str, agent: str, *, category: str,
                        content: str, result: str, follow_up_on: date | None,
                        customer_id: int | None, complaint: Registration | None = None,
                        actor: str = "", follow_up_number: str | None = None) -> CallNote:
        """Create or replace ``agent``'s note on the call, in one transaction.

        ``complaint`` registers the note's complaint (by ``actor``; once: a later
        edit keeps the first one). A ``follow_up_on`` date with a ``follow_up_number``
        plans (or moves) the note's follow-up; no date cancels an open one.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_UPSERT_NOTE, server, linkedid, agent, category, content,
                                      result, follow_up_on, customer_id)
            note = _note(row)
            if complaint is not None:
                await ComplaintRepository(self.pool).register(
                    replace(complaint, note_id=note.id), actor, conn=conn)
            if follow_up_on is not None and follow_up_number:
                await conn.execute(
                    "INSERT INTO follow_ups (agent, number, customer_id, note_id, due_on,"
                    " purpose) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (note_id) DO UPDATE"
                    " SET due_on = EXCLUDED.due_on, number = EXCLUDED.number,"
                    " customer_id = EXCLUDED.customer_id, purpose = EXCLUDED.purpose",
                    agent, follow_up_number, customer_id, note.id, follow_up_on, result or content)
            elif follow_up_on is None:
                await conn.execute("UPDATE follow_ups SET status = 'cancelled', done_at = now()"
                                   " WHERE note_id = $1 AND status = 'open'", note.id)
        return note

    async def note(self, server: str, linkedid: str, agent: str) -> CallNote | None:
        """``agent``'s note on the call, or None."""
        row = await self.pool.fetchrow(
            "SELECT * FROM call_notes WHERE server = $1 AND linkedid = $2 AND agent = $3",
            server, linkedid, agent)
        return _note(row) if row else None

    async def notes_for_calls(self, keys: Sequence[tuple[str, str]]
                              ) -> dict[tuple[str, str], list[CallNote]]:
        """The notes of each (server, linkedid), oldest first."""
        if not keys:
            return {}
        rows = await self.pool.fetch(
            "SELECT * FROM call_notes WHERE (server, linkedid) IN"
            " (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY created_at, id",
            [k[0] for k in keys], [k[1] for k in keys])
        out: dict[tuple[str, str], list[CallNote]] = {}
        for r in rows:
            out.setdefault((r["server"], r["linkedid"]), []).append(_note(r))
        return out

    async def notes_of_customer(self, customer_id: int, limit: int = 50) -> list[CallNote]:
        """The customer's notes, newest first."""
        rows = await self.pool.fetch(
            "SELECT * FROM call_notes WHERE customer_id = $1 ORDER BY created_at DESC, id DESC"
            " LIMIT $2", customer_id, limit)
        return [_note(r) for r in rows]

    async def calls_without_notes(self, agent: str, ended_before: datetime, since: datetime,
                                  limit: int = 100) -> list[dict[str, Any]]:
        """``agent``'s answered calls ended between ``since`` and ``ended_before`` (UTC) that
        have no note of theirs, oldest first."""
        rows = await self.pool.fetch(
            "SELECT c.server, c.linkedid, c.direction, c.caller, c.callee, c.queue,"
            f" c.started_at, c.ended_at FROM calls c WHERE {_HANDLED}"
            " AND c.answered_at IS NOT NULL AND c.ended_at >= $2 AND c.ended_at <= $3"
            " AND NOT EXISTS (SELECT 1 FROM call_notes n WHERE n.server = c.server"
            " AND n.linkedid = c.linkedid AND n.agent = $1)"
            " ORDER BY c.ended_at LIMIT $4", agent, since, ended_before, limit)
        return [dict(r) for r in rows]

    # -- reads of calls --------------------------------------------------------------------
    async def history(self, caller_ids: Sequence[str], dialled: Sequence[str],
                      customer_id: int | None, limit: int = 20) -> list[dict[str, Any]]:
        """Calls from any of ``caller_ids``, outbound calls to any of ``dialled``, and calls
        whose note names ``customer_id``; newest first, each with its ``notes``."""
        rows = await self.pool.fetch(
            "SELECT c.server, c.linkedid, c.direction, c.caller, c.callee, c.queue, c.agent,"
            " c.started_at, c.talk_s, c.disposition FROM calls c WHERE c.caller = ANY($1)"
            " OR (c.direction = 'outbound' AND c.callee = ANY($2)) OR EXISTS (SELECT 1"
            " FROM call_notes n WHERE n.server = c.server AND n.linkedid = c.linkedid"
            " AND n.customer_id = $3) ORDER BY c.started_at DESC LIMIT $4",
            list(caller_ids), list(dialled), customer_id, limit)
        calls = [dict(r) for r in rows]
        notes = await self.notes_for_calls([(c["server"], c["linkedid"]) for c in calls])
        for c in calls:
            c["notes"] = notes.get((c["server"], c["linkedid"]), [])
        return calls

    async def agent_calls(self, agent: str, since: datetime, until: datetime,
                          limit: int = 200) -> list[dict[str, Any]]:
        """Calls ``agent`` handled (logged to them, answered a ring, or got by transfer)
        that started in [since, until) UTC, newest first, with ``noted`` (a note of theirs)."""
        rows = await self.pool.fetch(
            f"SELECT c.server, c.linkedid, c.direction, c.caller, c.callee, c.queue,"
            f" c.started_at, c.answered_at, c.ended_at, c.talk_s, c.disposition,"
            f" EXISTS (SELECT 1 FROM call_notes n WHERE n.server = c.server"
            f" AND n.linkedid = c.linkedid AND n.agent = $1) AS noted"
            f" FROM calls c WHERE {_HANDLED} AND c.started_at >= $2 AND c.started_at < $3"
            f" ORDER BY c.started_at DESC LIMIT $4", agent, since, until, limit)
        return [dict(r) for r in rows]

    async def agent_day(self, agent: str, since: datetime, until: datetime) -> dict[str, Any]:
        """``agent``'s figures for [since, until) UTC: calls handled, talk seconds (and the
        ended calls whose talk is unknown, left out of them: ``talk_unknown``), rings
        missed (ring-no-answer), and the latest submitted QA scores (none without QA)."""
        row = await self.pool.fetchrow(
            f"SELECT count(*) AS calls, coalesce(sum(c.talk_s), 0) AS talk_s,"
            f" count(*) FILTER (WHERE c.talk_s IS NULL AND c.ended_at IS NOT NULL)"
            f" AS talk_unknown FROM calls c"
            f" WHERE {_HANDLED} AND (c.answered_at IS NOT NULL OR 'answer' = ANY(c.unknown))"
            f" AND c.started_at >= $2 AND c.started_at < $3", agent, since, until)
        missed = await self.pool.fetchval(
            "SELECT count(*) FROM ring_attempts WHERE agent = $1 AND outcome = 'no_answer'"
            " AND started_at >= $2 AND started_at < $3", agent, since, until)
        return {"calls": row["calls"], "talk_s": float(row["talk_s"]),
                "talk_unknown": row["talk_unknown"], "missed_rings": missed,
                "qa": await self._qa_scores(agent)}

    async def _qa_scores(self, agent: str, limit: int = 5) -> list[dict[str, Any]]:
        try:
            rows = await self.pool.fetch(
                "SELECT server, linkedid, form_id, total, grade, fatal, submitted_at"
                " FROM qa_reviews WHERE agent = $1 AND status = 'submitted'"
                " ORDER BY submitted_at DESC LIMIT $2", agent, limit)
        except asyncpg.UndefinedTableError:
            return []
        return [dict(r) for r in rows]

"""Call notes (the record sheets), follow-ups and the calls placed for them (a complaint
note registers its complaint through :mod:`callcenter.store.complaints`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from callcenter.store.complaints import ComplaintRepository, Registration

LINK_BEFORE = timedelta(minutes=1)
LINK_AFTER = timedelta(minutes=15)
"""A follow-up's call is the agent's first outbound call to its number that started
within this window around the click (PBX and database clocks may differ a little)."""


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


@dataclass
class FollowUp:
    """A planned callback (回访) of ``number`` by ``agent``; calls: the clicks to call it."""

    id: int
    agent: str
    number: str
    due_on: date
    purpose: str = ""
    status: str = "open"
    customer_id: int | None = None
    customer_name: str | None = None
    note_id: int | None = None
    created_at: datetime | None = None
    done_at: datetime | None = None
    calls: list[dict[str, Any]] | None = None


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

_FOLLOW_UPS = """SELECT f.*, c.name AS customer_name, coalesce((SELECT json_agg(json_build_object(
    'server', fc.server, 'requested_at', fc.requested_at, 'ok', fc.ok, 'message', fc.message,
    'linkedid', fc.linkedid) ORDER BY fc.requested_at) FROM follow_up_calls fc
    WHERE fc.follow_up_id = f.id), '[]') AS calls
FROM follow_ups f LEFT JOIN customers c ON c.id = f.customer_id"""

_LINK = """UPDATE follow_up_calls fc SET linkedid = (
    SELECT c.linkedid FROM calls c
    WHERE c.server = fc.server AND c.direction = 'outbound' AND c.agent = fc.agent
      AND c.callee IN (fc.number, fc.dialled)
      AND c.started_at BETWEEN fc.requested_at - $1::interval AND fc.requested_at + $2::interval
      AND NOT EXISTS (SELECT 1 FROM follow_up_calls o
                      WHERE o.server = c.server AND o.linkedid = c.linkedid)
    ORDER BY c.started_at LIMIT 1)
WHERE fc.linkedid IS NULL AND fc.ok AND fc.agent = $3"""

_HANDLED = """(c.agent = $1 OR EXISTS (SELECT 1 FROM ring_attempts r WHERE r.server = c.server
    AND r.linkedid = c.linkedid AND r.agent = $1 AND r.outcome = 'answered')
    OR EXISTS (SELECT 1 FROM transfers t WHERE t.server = c.server AND t.linkedid = c.linkedid
    AND t.to_agent = $1))"""


def _follow_up(row: asyncpg.Record) -> FollowUp:
    return FollowUp(row["id"], row["agent"], row["number"], row["due_on"], row["purpose"],
                    row["status"], row["customer_id"], row["customer_name"], row["note_id"],
                    row["created_at"], row["done_at"],
                    [{**c, "requested_at": datetime.fromisoformat(c["requested_at"])}
                     for c in row["calls"]])


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

    # -- follow-ups ----------------------------------------------------------------------
    async def create_follow_up(self, agent: str, number: str, due_on: date, purpose: str,
                               customer_id: int | None) -> FollowUp:
        """A new open follow-up of ``number`` (normalised) by ``agent``."""
        fid = await self.pool.fetchval(
            "INSERT INTO follow_ups (agent, number, customer_id, due_on, purpose)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            agent, number, customer_id, due_on, purpose)
        found = await self.follow_up(fid)
        assert found is not None
        return found

    async def follow_up(self, follow_up_id: int) -> FollowUp | None:
        """One follow-up with its calls, or None."""
        row = await self.pool.fetchrow(f"{_FOLLOW_UPS} WHERE f.id = $1", follow_up_id)
        return _follow_up(row) if row else None

    async def follow_ups(self, agent: str, *, open_only: bool = True,
                         limit: int = 200) -> list[FollowUp]:
        """``agent``'s follow-ups (open ones, or all), the earliest due first.

        Links the clicks to call with the outbound calls they produced first.
        """
        await self.pool.execute(_LINK, LINK_BEFORE, LINK_AFTER, agent)
        rows = await self.pool.fetch(
            f"{_FOLLOW_UPS} WHERE f.agent = $1 AND (NOT $2 OR f.status = 'open')"
            " ORDER BY f.status <> 'open', f.due_on, f.id LIMIT $3", agent, open_only, limit)
        return [_follow_up(r) for r in rows]

    async def set_follow_up_status(self, follow_up_id: int, status: str) -> FollowUp | None:
        """Mark done / cancelled / open again; None when there is no such follow-up."""
        found = await self.pool.fetchval(
            "UPDATE follow_ups SET status = $2, done_at = CASE WHEN $2 = 'open' THEN NULL"
            " ELSE now() END WHERE id = $1 RETURNING id", follow_up_id, status)
        return None if found is None else await self.follow_up(follow_up_id)

    async def add_follow_up_call(self, follow_up_id: int, *, server: str, agent: str,
                                 number: str, dialled: str, action_id: str, ok: bool,
                                 message: str) -> None:
        """Record a click-to-call of the follow-up and what Asterisk answered."""
        await self.pool.execute(
            "INSERT INTO follow_up_calls (follow_up_id, server, agent, number, dialled,"
            " action_id, ok, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            follow_up_id, server, agent, number, dialled, action_id, ok, message)

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

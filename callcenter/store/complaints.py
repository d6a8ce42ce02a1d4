"""Complaints, their timeline (complaint_events) and evidence (complaint_calls).

The states and which step leads where are decided by
:mod:`callcenter.complaints.workflow`; this module stores a step once it is
allowed: the complaint's new state, its event and its audit entry in one
transaction, refused when the complaint moved meanwhile (another user).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.store.audit import AuditRepository

PENDING = ("registered", "investigating", "escalated")
"""States that still owe the customer an answer (as workflow.PENDING)."""


@dataclass
class Complaint:
    """A complaint; times UTC. ``agent``: of the linked call or note; ``reason`` None
    until given."""

    id: int
    status: str
    opened_at: datetime
    due_at: datetime
    first_due_at: datetime | None = None
    round: int = 1
    reason: str | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    number: str | None = None
    server: str | None = None
    linkedid: str | None = None
    agent: str | None = None
    responsible_agent: str | None = None
    investigation: str = ""
    response: str = ""
    answered_by: str | None = None
    answered_at: datetime | None = None
    verdict: str | None = None
    verdict_source: str | None = None
    verdict_at: datetime | None = None
    escalated_to: str | None = None
    registered_by: str | None = None
    closed_at: datetime | None = None
    note_id: int | None = None
    summary: str | None = None
    """What the customer complained about, as registered."""

    def overdue(self, now: datetime) -> bool:
        """Past its deadline and not answered (nor closed)."""
        return self.status in PENDING and now > self.due_at


@dataclass(frozen=True)
class ComplaintEvent:
    """One step of a complaint's timeline."""

    id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    text: str = ""
    verdict: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """What a new complaint is registered with; ``number`` normalised."""

    due_at: datetime
    reason: str | None = None
    customer_id: int | None = None
    number: str | None = None
    server: str | None = None
    linkedid: str | None = None
    agent: str | None = None
    note_id: int | None = None
    text: str = ""


@dataclass(frozen=True)
class Listing:
    """Which complaints: each filter None = any."""

    status: str | None = None
    overdue_at: datetime | None = None
    """Only those overdue at this instant."""
    reason: str | None = None
    agent: str | None = None
    """The agent concerned or found responsible."""
    visible_to: str | None = None
    """An agent user's endpoint: only complaints about them, or registered by them."""
    limit: int = 200


_SELECT = """SELECT k.*, c.name AS customer_name, (SELECT e.text FROM complaint_events e
    WHERE e.complaint_id = k.id AND e.action = 'register' ORDER BY e.id LIMIT 1) AS summary
FROM complaints k LEFT JOIN customers c ON c.id = k.customer_id"""
_FIELDS = {f for f in Complaint.__dataclass_fields__}
_INSERT = """INSERT INTO complaints (note_id, due_at, first_due_at, reason, customer_id, number,
    server, linkedid, agent, registered_by) VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (note_id) DO NOTHING RETURNING id"""
_EVENT = """INSERT INTO complaint_events (complaint_id, actor, action, from_state, to_state,
    text, verdict, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
_LINK = """INSERT INTO complaint_calls (complaint_id, server, linkedid, added_by)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"""
_CHANGEABLE = frozenset({
    "status", "reason", "responsible_agent", "investigation", "response", "answered_by",
    "answered_at", "verdict", "verdict_source", "verdict_at", "escalated_to", "round", "due_at",
    "closed_at"})


def _complaint(row: asyncpg.Record) -> Complaint:
    return Complaint(**{k: v for k, v in dict(row).items() if k in _FIELDS})


class ComplaintRepository:
    """Reads and steps complaints; every step is an event and an audit entry."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.audit = AuditRepository(pool)

    async def register(self, reg: Registration, actor: str, *, remote: str = "",
                       conn: asyncpg.Connection | None = None) -> int | None:
        """A new complaint in state ``registered`` (in ``conn``'s transaction when given);
        None when its note already has one."""
        if conn is None:
            async with self.pool.acquire() as own, own.transaction():
                return await self.register(reg, actor, remote=remote, conn=own)
        cid: int | None = await conn.fetchval(
            _INSERT, reg.note_id, reg.due_at, reg.reason, reg.customer_id, reg.number,
            reg.server, reg.linkedid, reg.agent, actor)
        if cid is None:
            return None
        await conn.execute(_EVENT, cid, actor, "register", None, "registered", reg.text, None,
                           {"reason": reg.reason} if reg.reason else {})
        if reg.server and reg.linkedid:
            await conn.execute(_LINK, cid, reg.server, reg.linkedid, actor)
        await self.audit.record(actor, "complaint_register", f"complaint:{cid}", remote=remote,
                                details={"reason": reg.reason}, conn=conn)
        return cid

    async def get(self, complaint_id: int) -> Complaint | None:
        """One complaint, or None."""
        row = await self.pool.fetchrow(f"{_SELECT} WHERE k.id = $1", complaint_id)
        return _complaint(row) if row else None

    async def listing(self, q: Listing) -> list[Complaint]:
        """Complaints matching ``q``: pending ones first, the soonest deadline first."""
        rows = await self.pool.fetch(
            f"{_SELECT} WHERE ($1::text IS NULL OR k.status = $1)"
            " AND ($2::timestamptz IS NULL OR (k.status = ANY($7) AND k.due_at < $2))"
            " AND ($3::text IS NULL OR k.reason = $3)"
            " AND ($4::text IS NULL OR $4 IN (k.agent, k.responsible_agent))"
            " AND ($5::text IS NULL OR $5 IN (k.agent, k.responsible_agent)"
            "      OR k.registered_by IN (SELECT username FROM users WHERE agent = $5))"
            " ORDER BY k.status = ANY($7) DESC, k.due_at, k.id LIMIT $6",
            q.status, q.overdue_at, q.reason, q.agent, q.visible_to, q.limit, list(PENDING))
        return [_complaint(r) for r in rows]

    async def events(self, complaint_id: int) -> list[ComplaintEvent]:
        """The complaint's timeline, oldest first."""
        rows = await self.pool.fetch(
            "SELECT id, at, actor, action, from_state, to_state, text, verdict, details"
            " FROM complaint_events WHERE complaint_id = $1 ORDER BY at, id", complaint_id)
        return [ComplaintEvent(**dict(r)) for r in rows]

    async def evidence(self, complaint_id: int) -> list[dict[str, Any]]:
        """The linked calls (oldest first) with their times, agent, recordings and notes."""
        rows = await self.pool.fetch(
            "SELECT l.server, l.linkedid, l.added_by, l.added_at, c.direction, c.caller,"
            " c.callee, c.queue, c.agent, c.started_at, c.talk_s, c.survey_score,"
            " coalesce(c.recordings, '{}') AS recordings,"
            " coalesce((SELECT json_agg(json_build_object('agent', n.agent, 'category',"
            " n.category, 'content', n.content) ORDER BY n.created_at) FROM call_notes n"
            " WHERE n.server = l.server AND n.linkedid = l.linkedid), '[]') AS notes"
            " FROM complaint_calls l LEFT JOIN calls c USING (server, linkedid)"
            " WHERE l.complaint_id = $1 ORDER BY l.added_at, l.linkedid", complaint_id)
        return [dict(r) for r in rows]

    async def step(self, complaint: Complaint, action: str, actor: str, *,
                   changes: dict[str, Any], text: str = "", verdict: str | None = None,
                   link: tuple[str, str] | None = None, remote: str = "") -> Complaint | None:
        """Store ``action`` on ``complaint``: its ``changes`` (columns), the event and the
        audit entry; None when the complaint left the state it was read in meanwhile."""
        unknown = set(changes) - _CHANGEABLE
        assert not unknown, unknown
        cols = sorted(changes)
        sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(cols))
        async with self.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchval(
                f"UPDATE complaints SET {sets} WHERE id = $1 AND status = $2 RETURNING id",
                complaint.id, complaint.status, *(changes[c] for c in cols))
            if done is None:
                return None
            to_state = changes.get("status", complaint.status)
            details = {k: v for k, v in changes.items()
                       if k in ("reason", "responsible_agent", "escalated_to", "verdict_source")
                       and v is not None}
            if link is not None:
                await conn.execute(_LINK, complaint.id, link[0], link[1], actor)
                details["call"] = f"{link[0]}/{link[1]}"
            await conn.execute(_EVENT, complaint.id, actor, action, complaint.status, to_state,
                               text, verdict, details)
            await self.audit.record(actor, f"complaint_{action}", f"complaint:{complaint.id}",
                                    remote=remote, details=details, conn=conn)
        return await self.get(complaint.id)

    async def pending_deadlines(self) -> dict[int, datetime]:
        """Complaint id → deadline of every complaint still owing an answer."""
        rows = await self.pool.fetch(
            "SELECT id, due_at FROM complaints WHERE status = ANY($1)", list(PENDING))
        return {r["id"]: r["due_at"] for r in rows}

    async def call_facts(self, server: str, linkedid: str) -> dict[str, Any] | None:
        """The call's ``agent`` and customer number (``caller`` of an inbound call), or None
        when the call is not in the call log."""
        row = await self.pool.fetchrow(
            "SELECT agent, CASE WHEN direction = 'inbound' THEN caller END AS caller"
            " FROM calls WHERE server = $1 AND linkedid = $2", server, linkedid)
        return dict(row) if row else None

    async def customer_exists(self, customer_id: int) -> bool:
        """True when there is such a customer."""
        return bool(await self.pool.fetchval("SELECT 1 FROM customers WHERE id = $1",
                                             customer_id))

    async def supervisors(self) -> list[str]:
        """Usernames of the enabled supervisors (whom an escalation may go to)."""
        rows = await self.pool.fetch("SELECT username FROM users WHERE role = 'supervisor'"
                                     " AND NOT disabled ORDER BY username")
        return [r[0] for r in rows]

"""Follow-ups (回访): an agent's or a queue pool's, one-off or recurring, and their calls.

A follow-up is due on ``due_on`` at ``due_time`` in the centre's time zone, or at
the repository's ``default_time`` when it has none (rows planned with a date
only). Every read returns ``due_at``, that instant in UTC, computed by
PostgreSQL from the two (the first two parameters of every query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

LINK_BEFORE = timedelta(minutes=1)
LINK_AFTER = timedelta(minutes=15)
"""A follow-up's call is the agent's first outbound call to its number that started
within this window around the click (PBX and database clocks may differ a little)."""


@dataclass
class FollowUp:
    """A planned callback (回访) of ``number``: by ``agent``, or waiting in ``queue``'s pool
    (agent None) until a member takes it; ``every_days``: recurring; calls: the clicks."""

    id: int
    agent: str | None
    number: str
    due_on: date
    due_at: datetime
    due_time: time | None = None
    purpose: str = ""
    status: str = "open"
    queue: str | None = None
    every_days: int | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    note_id: int | None = None
    previous_id: int | None = None
    taken_at: datetime | None = None
    done_by: str | None = None
    created_at: datetime | None = None
    done_at: datetime | None = None
    calls: list[dict[str, Any]] | None = None


class NotTaken(Exception):
    """The pool follow-up could not be taken: ``by`` took it first (None: it is gone or
    closed)."""

    def __init__(self, by: str | None) -> None:
        super().__init__(f"already taken by {by}" if by else "no longer open")
        self.by = by


class NotMember(Exception):
    """The agent is not a member of the follow-up's queue."""


_DUE = "((f.due_on + coalesce(f.due_time, $1::time)) AT TIME ZONE $2::text)"
_SELECT = f"""SELECT f.*, {_DUE} AS due_at, c.name AS customer_name,
    coalesce((SELECT json_agg(json_build_object(
    'server', fc.server, 'requested_at', fc.requested_at, 'ok', fc.ok, 'message', fc.message,
    'linkedid', fc.linkedid) ORDER BY fc.requested_at) FROM follow_up_calls fc
    WHERE fc.follow_up_id = f.id), '[]') AS calls
FROM follow_ups f LEFT JOIN customers c ON c.id = f.customer_id"""
_MINE = "(f.agent = ${agent} OR (f.agent IS NULL AND f.queue = ANY(${queues})))"
"""The follow-ups an agent is reminded of: their own and their queues' pools'."""
_ORDER = " ORDER BY f.status <> 'open', due_at, f.id"

_LINK = """UPDATE follow_up_calls fc SET linkedid = (
    SELECT c.linkedid FROM calls c
    WHERE c.server = fc.server AND c.direction = 'outbound' AND c.agent = fc.agent
      AND c.callee IN (fc.number, fc.dialled)
      AND c.started_at BETWEEN fc.requested_at - $1::interval AND fc.requested_at + $2::interval
      AND NOT EXISTS (SELECT 1 FROM follow_up_calls o
                      WHERE o.server = c.server AND o.linkedid = c.linkedid)
    ORDER BY c.started_at LIMIT 1)
WHERE fc.linkedid IS NULL AND fc.ok AND fc.agent = $3"""

_TAKE = """UPDATE follow_ups f SET agent = $2, taken_at = now()
WHERE f.id = $1 AND f.agent IS NULL AND f.status = 'open'
  AND EXISTS (SELECT 1 FROM queue_members m WHERE m.queue = f.queue AND m.agent = $2)
RETURNING f.id"""

_NEXT = """INSERT INTO follow_ups (agent, queue, number, customer_id, due_on, due_time, purpose,
    every_days, previous_id)
SELECT CASE WHEN queue IS NULL THEN agent END, queue, number, customer_id,
    due_on + every_days, due_time, purpose, every_days, id
FROM follow_ups WHERE id = $1 AND every_days IS NOT NULL
ON CONFLICT (previous_id) DO NOTHING"""
"""The next occurrence of a recurring follow-up: for the same agent, or back into the
pool it came from; at most one per follow-up (previous_id is unique)."""


def _follow_up(row: asyncpg.Record) -> FollowUp:
    out = {k: row[k] for k in FollowUp.__dataclass_fields__ if k != "calls"}
    out["calls"] = [{**c, "requested_at": datetime.fromisoformat(c["requested_at"])}
                    for c in row["calls"]]
    return FollowUp(**out)


class FollowUpRepository:
    """Plans, lists, takes and closes follow-ups; records their click-to-calls."""

    def __init__(self, pool: asyncpg.Pool, timezone: str = "Asia/Shanghai",
                 default_time: time = time(10, 0)) -> None:
        self.pool = pool
        self.zone = (default_time, timezone)

    async def _fetch(self, where: str, *args: Any, limit: int = 200) -> list[FollowUp]:
        rows = await self.pool.fetch(f"{_SELECT} WHERE {where}{_ORDER} LIMIT {int(limit)}",
                                     *self.zone, *args)
        return [_follow_up(r) for r in rows]

    async def create(self, *, agent: str | None, number: str, due_on: date, purpose: str,
                     customer_id: int | None, due_time: time | None = None,
                     queue: str | None = None, every_days: int | None = None) -> FollowUp:
        """A new open follow-up of ``number`` (normalised): ``agent``'s, or (agent None) in
        ``queue``'s pool."""
        fid = await self.pool.fetchval(
            "INSERT INTO follow_ups (agent, queue, number, customer_id, due_on, due_time,"
            " purpose, every_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            agent, queue, number, customer_id, due_on, due_time, purpose, every_days)
        found = await self.get(fid)
        assert found is not None
        return found

    async def get(self, follow_up_id: int) -> FollowUp | None:
        """One follow-up with its calls, or None."""
        found = await self._fetch("f.id = $3", follow_up_id, limit=1)
        return found[0] if found else None

    async def of_agent(self, agent: str, *, open_only: bool = True,
                       limit: int = 200) -> list[FollowUp]:
        """``agent``'s follow-ups (open ones, or all), the earliest due first.

        Links the clicks to call with the outbound calls they produced first.
        """
        await self.pool.execute(_LINK, LINK_BEFORE, LINK_AFTER, agent)
        return await self._fetch("f.agent = $3 AND (NOT $4 OR f.status = 'open')",
                                 agent, open_only, limit=limit)

    async def member_queues(self, agent: str) -> list[str]:
        """The queues ``agent`` is a member of (as Asterisk reported them)."""
        rows = await self.pool.fetch(
            "SELECT DISTINCT queue FROM queue_members WHERE agent = $1 ORDER BY queue", agent)
        return [r["queue"] for r in rows]

    async def pool_of(self, queues: list[str], limit: int = 200) -> list[FollowUp]:
        """The open follow-ups waiting in the pools of ``queues``, the earliest due first."""
        return await self._fetch("f.agent IS NULL AND f.status = 'open' AND f.queue = ANY($3)",
                                 queues, limit=limit)

    async def take(self, follow_up_id: int, agent: str) -> FollowUp:
        """Give the pool follow-up to ``agent``, atomically: of two agents taking it at once
        one wins, the other gets :class:`NotTaken` naming the winner. :class:`NotMember`
        when ``agent`` is not in its queue."""
        taken = await self.pool.fetchval(_TAKE, follow_up_id, agent)
        found = await self.get(follow_up_id)
        if found is None:
            raise NotTaken(None)
        if taken is None:
            if found.agent is None and found.status == "open":
                raise NotMember(found.queue)
            raise NotTaken(found.agent if found.status == "open" else None)
        return found

    async def set_status(self, follow_up_id: int, status: str, actor: str) -> FollowUp | None:
        """Mark done / cancelled / open again; a recurring one that is done gets its next
        occurrence, ``every_days`` later. None when there is no such follow-up."""
        async with self.pool.acquire() as conn, conn.transaction():
            found = await conn.fetchval(
                "UPDATE follow_ups SET status = $2, done_at = CASE WHEN $2 = 'open' THEN NULL"
                " ELSE now() END, done_by = CASE WHEN $2 = 'open' THEN NULL ELSE $3 END"
                " WHERE id = $1 RETURNING id", follow_up_id, status, actor)
            if found is not None and status == "done":
                await conn.execute(_NEXT, follow_up_id)
        return None if found is None else await self.get(follow_up_id)

    async def next_of(self, follow_up_id: int) -> FollowUp | None:
        """The occurrence planned when ``follow_up_id`` was done, or None."""
        found = await self._fetch("f.previous_id = $3", follow_up_id, limit=1)
        return found[0] if found else None

    async def overdue(self, now: datetime, *, agent: str | None = None,
                      queue: str | None = None, limit: int = 500) -> list[FollowUp]:
        """Open follow-ups due before ``now``, optionally of one agent or queue (``agent``
        ``""``: only those still in a pool), the longest overdue first."""
        return await self._fetch(
            f"f.status = 'open' AND {_DUE} < $3 AND ($4::text IS NULL OR"
            " coalesce(f.agent, '') = $4) AND ($5::text IS NULL OR f.queue = $5)",
            now, agent, queue, limit=limit)

    async def falling_due(self, agent: str, queues: list[str], since: datetime,
                          until: datetime) -> list[FollowUp]:
        """Open follow-ups of ``agent`` or of the pools of ``queues`` whose due time is in
        (since, until]: the reminders to show now."""
        return await self._fetch(
            f"f.status = 'open' AND {_DUE} > $3 AND {_DUE} <= $4"
            f" AND {_MINE.format(agent=5, queues=6)}",
            since, until, agent, queues)

    async def next_due(self, agent: str, queues: list[str], after: datetime
                       ) -> datetime | None:
        """When the next open follow-up of ``agent`` or of the pools of ``queues`` falls due
        after ``after``, or None."""
        due: datetime | None = await self.pool.fetchval(
            f"SELECT min({_DUE}) FROM follow_ups f WHERE f.status = 'open' AND {_DUE} > $3"
            f" AND {_MINE.format(agent=4, queues=5)}", *self.zone, after, agent, queues)
        return due

    async def add_call(self, follow_up_id: int, *, server: str, agent: str, number: str,
                       dialled: str, action_id: str, ok: bool, message: str) -> None:
        """Record a click-to-call of the follow-up and what Asterisk answered."""
        await self.pool.execute(
            "INSERT INTO follow_up_calls (follow_up_id, server, agent, number, dialled,"
            " action_id, ok, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            follow_up_id, server, agent, number, dialled, action_id, ok, message)

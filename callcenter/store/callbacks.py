"""Queue callbacks: the requests callers made by pressing 1, their attempts, the day's counts.

An attempt is written (status ``dialling``) before its Originate leaves, with the linkedid
the daemon chose for it: a daemon killed while the call was being placed finds it here and
resolves it from its call record instead of placing it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

OPEN = ("waiting", "dialling")


@dataclass
class CallbackRequest:
    """One request; times UTC. ``position`` is the caller's place in the queue when they
    left it (None when the PBX did not say)."""

    id: int
    server: str
    linkedid: str
    queue: str
    number: str
    joined_at: datetime
    position: int | None
    requested_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    disposition: str | None = None
    dialling: str | None = None
    """The linkedid of the attempt in progress (status ``dialling``)."""
    dialling_since: datetime | None = None


@dataclass(frozen=True)
class CallbackCounts:
    """Callbacks of a period: requested, made (at least one attempt), reached."""

    requested: int
    made: int
    reached: int


_SELECT = """SELECT c.*, a.linkedid AS dialling, a.started_at AS dialling_since
FROM callbacks c LEFT JOIN callback_attempts a
  ON a.callback_id = c.id AND a.attempt = c.attempts AND a.outcome IS NULL"""


def _request(row: asyncpg.Record) -> CallbackRequest:
    return CallbackRequest(
        row["id"], row["server"], row["linkedid"], row["queue"], row["number"],
        row["joined_at"], row["position"], row["requested_at"], row["status"],
        row["attempts"], row["next_attempt_at"], row["disposition"], row["dialling"],
        row["dialling_since"])


class CallbackRepository:
    """Requests and attempts of queue callbacks."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def request(self, *, server: str, linkedid: str, queue: str, number: str,
                      joined_at: datetime, position: int | None) -> CallbackRequest:
        """Record a request (the same call asking twice keeps its first request)."""
        row = await self.pool.fetchrow(
            "INSERT INTO callbacks (server, linkedid, queue, number, joined_at, position)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (server, linkedid)"
            " DO UPDATE SET server = EXCLUDED.server RETURNING id",
            server, linkedid, queue, number, joined_at, position)
        found = await self.get(row["id"])
        assert found is not None
        return found

    async def get(self, callback_id: int) -> CallbackRequest | None:
        """One request, or None."""
        row = await self.pool.fetchrow(f"{_SELECT} WHERE c.id = $1", callback_id)
        return _request(row) if row else None

    async def open_requests(self) -> list[CallbackRequest]:
        """Requests waiting or being dialled, oldest join first."""
        rows = await self.pool.fetch(
            f"{_SELECT} WHERE c.status = ANY($1::text[]) ORDER BY c.joined_at, c.id", list(OPEN))
        return [_request(r) for r in rows]

    async def start_attempt(self, callback_id: int, linkedid: str, agent: str) -> bool:
        """Mark the next attempt as being dialled (before its Originate leaves); False when
        the request is no longer waiting (another instance or a stale view took it)."""
        async with self.pool.acquire() as conn, conn.transaction():
            attempt = await conn.fetchval(
                "UPDATE callbacks SET status = 'dialling', attempts = attempts + 1"
                " WHERE id = $1 AND status = 'waiting' RETURNING attempts", callback_id)
            if attempt is None:
                return False
            await conn.execute(
                "INSERT INTO callback_attempts (callback_id, attempt, linkedid, agent)"
                " VALUES ($1, $2, $3, $4)", callback_id, attempt, linkedid, agent)
        return True

    async def finish_attempt(self, linkedid: str, outcome: str, *, retry_at: datetime | None,
                             give_up: str | None, at: datetime) -> CallbackRequest | None:
        """End the attempt ``linkedid`` with ``outcome``: the request is reached, waits again
        until ``retry_at``, or gives up with disposition ``give_up``. None when that attempt
        is unknown or already ended."""
        async with self.pool.acquire() as conn, conn.transaction():
            callback_id = await conn.fetchval(
                "UPDATE callback_attempts SET outcome = $2, ended_at = $3"
                " WHERE linkedid = $1 AND outcome IS NULL RETURNING callback_id",
                linkedid, outcome, at)
            if callback_id is None:
                return None
            if outcome == "reached":
                await conn.execute("UPDATE callbacks SET status = 'reached', disposition ="
                                   " 'reached', done_at = $2 WHERE id = $1", callback_id, at)
            elif give_up is not None:
                await conn.execute("UPDATE callbacks SET status = 'gave_up', disposition = $2,"
                                   " done_at = $3 WHERE id = $1", callback_id, give_up, at)
            else:
                await conn.execute("UPDATE callbacks SET status = 'waiting', next_attempt_at ="
                                   " $2 WHERE id = $1", callback_id, retry_at or at)
        return await self.get(callback_id)

    async def undo_attempt(self, callback_id: int, linkedid: str) -> None:
        """The Originate was refused at once (nothing was placed): the attempt did not
        happen, the request waits again."""
        async with self.pool.acquire() as conn, conn.transaction():
            deleted = await conn.fetchval(
                "DELETE FROM callback_attempts WHERE linkedid = $1 AND outcome IS NULL"
                " RETURNING callback_id", linkedid)
            if deleted is not None:
                await conn.execute("UPDATE callbacks SET status = 'waiting',"
                                   " attempts = attempts - 1 WHERE id = $1", callback_id)

    async def call_outcome(self, server: str, linkedid: str) -> tuple[str | None, bool] | None:
        """(disposition, ended) of the call record ``linkedid``, or None when none exists."""
        row = await self.pool.fetchrow(
            "SELECT disposition, ended_at IS NOT NULL AS ended FROM calls"
            " WHERE server = $1 AND linkedid = $2", server, linkedid)
        return (row["disposition"], row["ended"]) if row else None

    async def counts(self, since: datetime, until: datetime,
                     queue: str | None = None) -> CallbackCounts:
        """Requests made in [since, until): how many, how many were called, how many reached."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS requested, count(*) FILTER (WHERE attempts > 0) AS made,"
            " count(*) FILTER (WHERE status = 'reached') AS reached FROM callbacks"
            " WHERE requested_at >= $1 AND requested_at < $2 AND ($3::text IS NULL OR queue = $3)",
            since, until, queue)
        return CallbackCounts(row["requested"], row["made"], row["reached"])

    async def customer_tries(self, callback_id: int) -> int:
        """Attempts of a request that reached the customer's phone and were not answered."""
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM callback_attempts WHERE callback_id = $1"
            " AND outcome IN ('no_answer', 'busy', 'failed')", callback_id))

    async def key_account(self, number: str) -> str | None:
        """The tier ('' without one) of the key account owning ``number``; None when the
        number is no key account's."""
        row = await self.pool.fetchrow(
            "SELECT c.tier FROM customers c JOIN customer_phones p ON p.customer_id = c.id"
            " WHERE p.number = $1 AND c.key_account", number)
        return None if row is None else (row["tier"] or "")

    async def attempts(self, callback_id: int) -> list[dict[str, object]]:
        """The attempts of a request, in order (linkedid, agent, outcome, times)."""
        rows = await self.pool.fetch(
            "SELECT * FROM callback_attempts WHERE callback_id = $1 ORDER BY attempt",
            callback_id)
        return [dict(r) for r in rows]

"""Agents, queues, queue members and the agent state history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from callcenter.calls.model import AgentStateChanged
from callcenter.store.arrays import columns

_AGENTS = """INSERT INTO agents (server, interface, agent, name, state, paused, reason, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[],
    $7::text[], $8::timestamptz[])
ON CONFLICT (server, interface) DO UPDATE SET agent = EXCLUDED.agent,
    name = coalesce(EXCLUDED.name, agents.name), state = EXCLUDED.state,
    paused = EXCLUDED.paused, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
WHERE agents.updated_at <= EXCLUDED.updated_at"""
_MEMBERS = """INSERT INTO queue_members (server, queue, interface, agent, in_queue, state, paused,
    reason, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[],
    $7::boolean[], $8::text[], $9::timestamptz[])
ON CONFLICT (server, queue, interface) DO UPDATE SET agent = EXCLUDED.agent,
    in_queue = EXCLUDED.in_queue, state = EXCLUDED.state, paused = EXCLUDED.paused,
    reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
WHERE queue_members.updated_at <= EXCLUDED.updated_at"""
_QUEUES = """INSERT INTO queues (server, name, first_seen, last_seen)
SELECT server, name, min(at), max(at)
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(server, name, at) GROUP BY 1, 2
ON CONFLICT (server, name) DO UPDATE SET
    first_seen = least(queues.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(queues.last_seen, EXCLUDED.last_seen)"""
_HISTORY = """INSERT INTO agent_state_history (server, interface, queue, at, agent, state, paused,
    reason, in_queue)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],
    $6::text[], $7::boolean[], $8::text[], $9::boolean[])
ON CONFLICT DO NOTHING"""
"""Each a single statement over arrays of rows (one per key: ON CONFLICT DO UPDATE
touches a row once): one round trip per table, and the reports' statement
triggers run once per batch, not per row."""


class AgentRepository:
    """Idempotent writes of agent state facts; reads of agents and queues."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def apply_states(self, facts: Sequence[AgentStateChanged],
                           conn: asyncpg.Connection | None = None) -> None:
        """Record ``facts``: latest state per agent and queue member, history rows, queues.

        An older fact never overwrites a newer state, and the same fact twice
        adds one history row, so replays change nothing.
        """
        if not facts:
            return
        if conn is None:
            async with self.pool.acquire() as c:
                await self.apply_states(facts, c)
            return
        latest = {(f.server, f.interface): f for f in facts}.values()
        members = {(f.server, f.queue, f.interface): f for f in facts if f.queue}.values()
        async with conn.transaction():
            await conn.execute(_AGENTS, *columns(
                ((f.server, f.interface, f.agent, f.name, f.state, f.paused, f.reason, f.at)
                 for f in latest), 8))
            if members:
                await conn.execute(_MEMBERS, *columns(
                    ((f.server, f.queue, f.interface, f.agent, f.in_queue, f.state, f.paused,
                      f.reason, f.at) for f in members), 9))
            # every fact, not only the latest per member: a queue's first_seen must not
            # depend on how facts were batched
            await self._touch_queues(conn, ((f.server, f.queue, f.at) for f in facts))
            await conn.execute(_HISTORY, *columns(
                ((f.server, f.interface, f.queue or "", f.at, f.agent, f.state, f.paused,
                  f.reason, f.in_queue) for f in facts), 9))

    async def touch_queues(self, seen: Iterable[tuple[str, str, datetime]],
                           conn: asyncpg.Connection | None = None) -> None:
        """Record queues (server, name, seen at) met on calls."""
        if conn is None:
            async with self.pool.acquire() as c:
                await self._touch_queues(c, seen)
        else:
            await self._touch_queues(conn, seen)

    @staticmethod
    async def _touch_queues(conn: asyncpg.Connection,
                            seen: Iterable[tuple[str, str | None, datetime]]) -> None:
        rows = [(s, q, at) for s, q, at in seen if q]
        if rows:
            await conn.execute(_QUEUES, *columns(rows, 3))

    async def list_agents(self, server: str | None = None) -> list[dict[str, Any]]:
        """Latest state of every agent, ordered by server and agent."""
        rows = await self.pool.fetch(
            "SELECT * FROM agents WHERE $1::text IS NULL OR server = $1 ORDER BY server, agent",
            server)
        return [dict(r) for r in rows]

    async def list_queues(self) -> list[dict[str, Any]]:
        """Every queue seen, with its members' latest state."""
        rows = await self.pool.fetch(
            "SELECT q.server, q.name, q.first_seen, q.last_seen, coalesce(json_agg(json_build_object("
            "'interface', m.interface, 'agent', m.agent, 'in_queue', m.in_queue, 'state', m.state,"
            "'paused', m.paused, 'reason', m.reason) ORDER BY m.interface)"
            " FILTER (WHERE m.interface IS NOT NULL), '[]') AS members"
            " FROM queues q LEFT JOIN queue_members m ON m.server = q.server AND m.queue = q.name"
            " GROUP BY q.server, q.name ORDER BY q.server, q.name")
        return [dict(r) for r in rows]

    async def history(self, interface: str, since: datetime | None = None
                      ) -> list[dict[str, Any]]:
        """State changes of one agent interface in time order."""
        rows = await self.pool.fetch(
            "SELECT * FROM agent_state_history WHERE interface = $1"
            " AND ($2::timestamptz IS NULL OR at >= $2) ORDER BY at, queue", interface, since)
        return [dict(r) for r in rows]

    async def display_name(self, interface: str) -> str | None:
        """The name Asterisk last gave the agent behind ``interface`` (its MemberName), or
        None when it never named one."""
        return await self.pool.fetchval(
            "SELECT name FROM agents WHERE interface = $1 AND name IS NOT NULL AND name <> ''"
            " ORDER BY updated_at DESC LIMIT 1", interface)

"""Reads of the agents' queue presence (tables of the agent state facts): where an
interface was last seen, its queue memberships, the queue and agent names."""

from __future__ import annotations

from typing import Any

import asyncpg


class PresenceReads:
    """What the agent panel and the report filters read of agents and queues."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def server_of(self, interface: str) -> str | None:
        """The AMI server where ``interface`` was last seen, or None."""
        server: str | None = await self.pool.fetchval(
            "SELECT server FROM agents WHERE interface = $1 ORDER BY updated_at DESC LIMIT 1",
            interface)
        return server

    async def memberships(self, interface: str) -> list[dict[str, Any]]:
        """The queue member rows of ``interface``, by queue."""
        rows = await self.pool.fetch(
            "SELECT server, queue, in_queue, state, paused, reason, updated_at"
            " FROM queue_members WHERE interface = $1 ORDER BY queue", interface)
        return [dict(r) for r in rows]

    async def queue_names(self) -> list[str]:
        """Every queue name met on any server, sorted."""
        return [r["name"] for r in await self.pool.fetch(
            "SELECT DISTINCT name FROM queues ORDER BY name")]

    async def agent_names(self) -> list[str]:
        """Every agent met on any server, sorted."""
        return [r["agent"] for r in await self.pool.fetch(
            "SELECT DISTINCT agent FROM agents ORDER BY agent")]

    async def queue_exists(self, name: str) -> bool:
        """True when a queue called ``name`` was met."""
        return bool(await self.pool.fetchval("SELECT 1 FROM queues WHERE name = $1", name))

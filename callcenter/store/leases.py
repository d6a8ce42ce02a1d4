"""Leases of PBXs between callcenter instances (``ha_leases``, ``ha_instances``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

FENCE_IDLE_MS = 1000
"""PostgreSQL ends a fenced write's transaction left idle this long (its instance paused
or its host lost mid-write), releasing the lease row it share-locks: a takeover waits
at most this long, not until the dead client's TCP connection times out."""


@dataclass(frozen=True)
class Lease:
    """``server`` owned by ``owner`` under fencing token ``epoch`` until ``expires_at``."""

    server: str
    owner: str
    epoch: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


class LeaseRepository:
    """Take, renew, give up and list leases; instances say they are alive."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def heartbeat(self, instance: str, host: str, pid: int) -> None:
        """``instance`` is alive now."""
        await self.pool.execute(
            "INSERT INTO ha_instances (instance, host, pid, started_at, seen_at)"
            " VALUES ($1, $2, $3, now(), now())"
            " ON CONFLICT (instance) DO UPDATE SET seen_at = now(), host = $2, pid = $3",
            instance, host, pid)

    async def live_instances(self, ttl_s: float) -> list[str]:
        """Instances seen within ``ttl_s``."""
        rows = await self.pool.fetch(
            "SELECT instance FROM ha_instances WHERE seen_at > now() - make_interval(secs => $1)"
            " ORDER BY instance", ttl_s)
        return [r["instance"] for r in rows]

    async def holdings(self) -> dict[str, int]:
        """Instance → how many unexpired leases it holds."""
        rows = await self.pool.fetch(
            "SELECT owner, count(*) AS n FROM ha_leases WHERE expires_at > now() GROUP BY owner")
        return {r["owner"]: int(r["n"]) for r in rows}

    async def acquire(self, server: str, instance: str, ttl_s: float) -> int | None:
        """Take ``server`` when nobody holds it (or its lease expired): its new epoch, or
        None when another instance holds it."""
        value = await self.pool.fetchval(
            "INSERT INTO ha_leases AS l (server, owner, epoch, acquired_at, renewed_at,"
            " expires_at) VALUES ($1, $2, 1, now(), now(), now() + make_interval(secs => $3))"
            " ON CONFLICT (server) DO UPDATE SET owner = $2, epoch = l.epoch + 1,"
            " acquired_at = now(), renewed_at = now(),"
            " expires_at = now() + make_interval(secs => $3) WHERE l.expires_at < now()"
            " RETURNING epoch", server, instance, ttl_s)
        return None if value is None else int(value)

    async def renew(self, server: str, instance: str, epoch: int, ttl_s: float) -> bool:
        """Extend the lease ``instance`` holds under ``epoch``; False when it lost it."""
        done = await self.pool.execute(
            "UPDATE ha_leases SET renewed_at = now(), expires_at = now()"
            " + make_interval(secs => $4) WHERE server = $1 AND owner = $2 AND epoch = $3",
            server, instance, epoch, ttl_s)
        return done.endswith(" 1")

    async def release(self, server: str, instance: str, epoch: int) -> None:
        """Give ``server`` up at once (another instance may take it now)."""
        await self.pool.execute(
            "UPDATE ha_leases SET expires_at = now() - interval '1 microsecond'"
            " WHERE server = $1 AND owner = $2 AND epoch = $3", server, instance, epoch)

    async def leave(self, instance: str) -> None:
        """``instance`` stops (its share goes to the others at once)."""
        await self.pool.execute("DELETE FROM ha_instances WHERE instance = $1", instance)

    async def leases(self) -> list[Lease]:
        """Every lease, by server."""
        rows = await self.pool.fetch(
            "SELECT server, owner, epoch, acquired_at, renewed_at, expires_at FROM ha_leases"
            " ORDER BY server")
        return [Lease(**dict(r)) for r in rows]

    @staticmethod
    async def fenced_epochs(conn: asyncpg.Connection, servers: Sequence[str]
                            ) -> dict[str, int]:
        """The current epoch of each of ``servers``' leases, share-locked until the end of
        ``conn``'s transaction (a takeover waits for the write that checked it, at most
        :data:`FENCE_IDLE_MS` once that transaction stops making progress)."""
        await conn.execute(f"SET LOCAL idle_in_transaction_session_timeout = {FENCE_IDLE_MS}")
        rows = await conn.fetch("SELECT server, epoch FROM ha_leases WHERE server = ANY($1)"
                                " FOR SHARE", list(servers))
        return {r["server"]: int(r["epoch"]) for r in rows}

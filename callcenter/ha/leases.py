"""Holding the leases of PBXs: renew them, take a fair share, give up what is not ours.

A lease table with heartbeats, not advisory locks: a paused (SIGSTOP) or partitioned
owner keeps its database session and so would keep an advisory lock for good, while its
lease row simply expires (within ``takeover_s``) and another instance takes it, raising
the epoch that fences the old owner's writes (:mod:`callcenter.store.writer`). An owner
that has not renewed a lease for :data:`SAFE_FRACTION` of its length (its database
unreachable, or it was paused) stops acting on that PBX at once: by then another
instance may own it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

import structlog

from callcenter.db import DATABASE_FAILURES
from callcenter.store.leases import LeaseRepository

log = structlog.get_logger(__name__)

LEASE_SHARE = 0.6
"""A lease lasts this share of ``takeover_s`` from its last renewal ..."""
PERIOD_SHARE = 0.15
"""... and is renewed (and free ones looked for) every this share: a dead owner's PBX is
taken within 0.75 of ``takeover_s``, its AMI login and resync fitting in the rest."""
SAFE_FRACTION = 0.8
"""A lease is acted on only this share of its length after its last renewal was sent."""

Hook = Callable[[str, int], Awaitable[None]]
Loss = Callable[[str, str], Awaitable[None]]


def instance_name(configured: str = "") -> str:
    """``configured``, else ``<host>-<pid>-<random>``: unique per process."""
    return configured or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def fair_share(servers: int, live: list[str], instance: str,
               held: Mapping[str, int] | None = None) -> int:
    """How many of ``servers`` PBXs ``instance`` serves among the ``live`` instances: an
    even split, one more each for the remainder, which goes first to instances that hold
    more than the even split now (``held``: instance → leases held), then by name. So an
    instance that comes back does not take a PBX from the one serving it: each hand-over
    is an outage of that PBX, filled from CEL, and is made only to even the load."""
    ordered = sorted(set(live) | {instance})
    base, extra = divmod(servers, len(ordered))
    holding = held or {}
    ranked = sorted(ordered, key=lambda name: (holding.get(name, 0) <= base, name))
    return base + (1 if ranked.index(instance) < extra else 0)


class LeaseKeeper:
    """Holds this instance's share of the leases of ``servers``; ``on_gain(server, epoch)``
    and ``on_loss(server, why)`` start and stop serving a PBX (run as tasks: a slow start
    never delays renewals)."""

    def __init__(self, repo: LeaseRepository, instance: str, servers: list[str], *,
                 takeover_s: float, on_gain: Hook, on_loss: Loss,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.repo = repo
        self.instance = instance
        self.servers = sorted(servers)
        self.takeover_s = takeover_s
        self.lease_s = takeover_s * LEASE_SHARE
        self.period_s = takeover_s * PERIOD_SHARE
        self.on_gain, self.on_loss = on_gain, on_loss
        self.clock = clock
        self.held: dict[str, int] = {}
        """server → the epoch this instance holds it under."""
        self._renewed: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.database_ok = True

    def holds(self, server: str) -> bool:
        """True while this instance may act on ``server``: within :data:`SAFE_FRACTION` of
        ``takeover_s`` from when its last renewal was sent (not answered: a slow answer
        would otherwise stretch the time it acts past the lease's expiry)."""
        renewed = self._renewed.get(server)
        return (server in self.held and renewed is not None
                and self.clock() - renewed < self.lease_s * SAFE_FRACTION)

    async def run(self) -> None:
        """Keep the leases until cancelled (every :data:`PERIOD_SHARE` of ``takeover_s``)."""
        while True:
            await self.step()
            await asyncio.sleep(self.period_s)

    async def step(self) -> None:
        """Renew, rebalance and take leases once; drop those not renewed in time."""
        try:
            await self._step()
            self.database_ok = True
        except DATABASE_FAILURES as exc:
            if self.database_ok:
                log.error("ha_database_unreachable", error=repr(exc))
            self.database_ok = False
        for server in [s for s in self.held if not self.holds(s)]:
            self._lose(server, "lease not renewed in time (database unreachable or paused)")

    async def _step(self) -> None:
        await self.repo.heartbeat(self.instance, socket.gethostname(), os.getpid())
        for server, epoch in list(self.held.items()):
            sent = self.clock()  # the lease runs from the database's now(), after this
            if await self.repo.renew(server, self.instance, epoch, self.lease_s):
                self._renewed[server] = sent
            else:
                self._lose(server, "another instance owns it now")
        share = fair_share(len(self.servers), await self.repo.live_instances(self.lease_s),
                           self.instance, await self.repo.holdings())
        for server in sorted(self.held)[share:]:  # a newcomer takes its share
            self._spawn(self._hand_over(server, self.held.pop(server)))
            self._renewed.pop(server, None)
        for server in self._preference():
            if len(self.held) >= share:
                break
            if server in self.held:
                continue
            sent = self.clock()
            epoch = await self.repo.acquire(server, self.instance, self.lease_s)
            if epoch is not None:
                self.held[server], self._renewed[server] = epoch, sent
                log.info("ha_lease_taken", server=server, epoch=epoch, instance=self.instance)
                self._spawn(self.on_gain(server, epoch))

    def _preference(self) -> list[str]:
        """Servers in an order of this instance's own (instances try different ones first)."""
        return sorted(self.servers, key=lambda s: hashlib.sha1(
            f"{self.instance}/{s}".encode()).hexdigest())

    def _lose(self, server: str, why: str) -> None:
        self.held.pop(server, None)
        self._renewed.pop(server, None)
        log.error("ha_lease_lost", server=server, reason=why, instance=self.instance)
        self._spawn(self.on_loss(server, why))

    async def _hand_over(self, server: str, epoch: int) -> None:
        """Stop serving ``server`` first (what it received is written under our epoch,
        not fenced off), then release its lease to the instance taking its share."""
        log.info("ha_lease_handed_over", server=server, instance=self.instance)
        try:
            await self.on_loss(server, "handed over to balance the instances")
        finally:
            with contextlib.suppress(*DATABASE_FAILURES):  # else it expires by itself
                await self.repo.release(server, self.instance, epoch)

    async def idle(self) -> None:
        """Wait until the gains, losses and hand-overs started so far are done."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def release_all(self) -> None:
        """Give every lease up and leave (a clean stop: the standby takes over at once)."""
        try:
            await self.repo.leave(self.instance)
            for server, epoch in list(self.held.items()):
                self.held.pop(server, None)
                self._renewed.pop(server, None)
                await self.repo.release(server, self.instance, epoch)
        except DATABASE_FAILURES:
            return

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("ha_lease_change_failed", error=repr(exc), exc_info=exc)

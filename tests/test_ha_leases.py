"""Leases of PBXs between instances, on a real PostgreSQL: spread, takeover after a pause,
the paused owner fenced off (it can neither act nor write)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from callcenter.calls.model import CallRecord
from callcenter.ha.leases import LeaseKeeper, fair_share
from callcenter.store.leases import LeaseRepository
from callcenter.store.writer import StoreWriter
from tests.support.wait import until

SERVERS = ["pbx1", "pbx2", "pbx3", "pbx4"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def keeper(pool: asyncpg.Pool, name: str, clock: FakeClock, log: list[tuple[str, str]],
           takeover_s: float = 1.0, servers: list[str] = SERVERS) -> LeaseKeeper:
    async def gain(server: str, epoch: int) -> None:
        log.append((name, f"+{server}"))

    async def loss(server: str, why: str) -> None:
        log.append((name, f"-{server}"))

    return LeaseKeeper(LeaseRepository(pool), name, servers, takeover_s=takeover_s,
                       on_gain=gain, on_loss=loss, clock=clock)


async def test_leases_spread_and_a_paused_owner_is_taken_over_and_fenced(
        pool: asyncpg.Pool) -> None:
    import asyncio

    clock, log = FakeClock(), []
    a, b, c = (keeper(pool, n, clock, log) for n in ("a", "b", "c"))
    for k in (a, b, c, a, b, c):
        await k.step()
        await k.idle()
    held = [set(k.held) for k in (a, b, c)]
    assert sorted(len(h) for h in held) == [1, 1, 2]  # ceil(4 / 3): each PBX once
    assert set().union(*held) == set(SERVERS) and sum(map(len, held)) == 4
    # c is paused (SIGSTOP): it renews nothing; past takeover_s the others take its PBXs
    paused = dict(c.held)
    await asyncio.sleep(1.1)
    clock.now += 1.1
    for k in (a, b, a, b):
        await k.step()
        await k.idle()
    assert set(a.held) | set(b.held) == set(SERVERS)
    leases = {lease.server: lease for lease in await LeaseRepository(pool).leases()}
    assert all(leases[s].epoch > e and leases[s].owner in ("a", "b")
               for s, e in paused.items())
    # c resumes: before its next step it may not act; its step finds the leases gone
    assert not any(c.holds(s) for s in paused)
    await c.step()
    assert c.held == {} and {("c", f"-{s}") for s in paused} <= set(log)


async def test_writes_under_a_stale_epoch_are_fenced_off(pool: asyncpg.Pool,
                                                         tmp_path: Path) -> None:
    repo = LeaseRepository(pool)
    assert await repo.acquire("pbx1", "old", 0.001) == 1
    await asyncio_sleep(0.01)
    assert await repo.acquire("pbx1", "new", 5.0) == 2  # the old lease expired: taken over
    writer = StoreWriter(pool, tmp_path)
    fenced: list[str] = []
    writer.fence, writer.on_fenced = {"pbx1": 1}, fenced.append  # the old owner's view
    await writer.start()
    call = CallRecord("pbx1", "pbx1-1.0", datetime.now(UTC), direction="inbound")
    await writer.write_calls([call])
    writer.fence = {"pbx1": 2}  # the new owner's
    await writer.write_calls([CallRecord("pbx1", "pbx1-2.0", datetime.now(UTC),
                                         direction="inbound")])
    await writer.close()
    assert fenced == ["pbx1"]
    assert [r["linkedid"] for r in await pool.fetch("SELECT linkedid FROM calls")] == ["pbx1-2.0"]


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_a_clean_release_lets_another_take_at_once(pool: asyncpg.Pool) -> None:
    clock, log = FakeClock(), []
    a = keeper(pool, "a", clock, log, takeover_s=30.0)
    await a.step()
    assert set(a.held) == set(SERVERS)
    await a.release_all()
    b = keeper(pool, "b", clock, log, takeover_s=30.0)
    await b.step()
    assert set(b.held) == set(SERVERS)  # no 30 s wait


async def test_ha_status_says_who_serves_what(fresh_dsn: str, pool: asyncpg.Pool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from callcenter.cli import main

    clock, log = FakeClock(), []
    a = keeper(pool, "a", clock, log, takeover_s=30.0)
    await a.step()
    assert await asyncio.to_thread(main, ["ha", "status", "--dsn", fresh_dsn]) == 0
    out = [line for line in capsys.readouterr().out.splitlines()
           if line.startswith(("pbx", "live"))]  # not the log lines
    assert [line.split(" (")[0] for line in out[:4]] == [f"{s}: a" for s in SERVERS]
    assert all("epoch 1, serving" in line for line in out[:4])
    assert out[-1] == "live instances: a"


class SlowRepository(LeaseRepository):
    """Renewals answered ``delay_s`` (on the fake clock) after they were sent."""

    def __init__(self, pool: asyncpg.Pool, clock: FakeClock, delay_s: float) -> None:
        super().__init__(pool)
        self.clock, self.delay_s = clock, delay_s

    async def renew(self, server: str, instance: str, epoch: int, ttl_s: float) -> bool:
        renewed = await super().renew(server, instance, epoch, ttl_s)
        self.clock.now += self.delay_s
        return renewed


async def test_a_slow_renewal_does_not_stretch_the_time_the_owner_acts(
        pool: asyncpg.Pool) -> None:
    """The lease runs from the database's now(), which is after the renewal was sent: the
    owner counts its safe time from the sending, so a renewal answered late cannot make
    it act after the lease expired (and another instance took it over)."""
    clock = FakeClock()

    async def nothing(server: str, detail: object) -> None:
        return None

    owner = LeaseKeeper(SlowRepository(pool, clock, delay_s=3.0), "a", ["pbx1"],
                        takeover_s=10.0, on_gain=nothing, on_loss=nothing, clock=clock)
    await owner.step()  # acquires at 0
    await owner.step()  # renews: sent at 0, answered at 3
    assert clock.now == 3.0 and owner.holds("pbx1")
    clock.now += 2.0  # 5 s after the renewal was sent: past 0.8 of the 6 s lease
    assert not owner.holds("pbx1")


async def test_an_owner_frozen_inside_a_write_does_not_block_the_takeover(
        pool: asyncpg.Pool) -> None:
    """The owner is paused (or its host lost) inside a fenced write, holding the share
    lock of its lease row: PostgreSQL ends that idle transaction, so the takeover is not
    held up until the dead client's TCP connection times out (hours)."""
    import asyncio

    repo = LeaseRepository(pool)
    assert await repo.acquire("pbx1", "old", 0.5) == 1
    frozen = await pool.acquire()
    writing = frozen.transaction()
    await writing.start()
    await LeaseRepository.fenced_epochs(frozen, ["pbx1"])  # then nothing: paused
    await asyncio.sleep(0.6)  # the lease expired
    try:
        assert await asyncio.wait_for(repo.acquire("pbx1", "new", 5.0), 5.0) == 2
    finally:
        await pool.release(frozen)


def test_the_remainder_stays_with_who_serves_it() -> None:
    # one PBX, two instances: "a" would take it by name, but "b" serves it now
    assert fair_share(1, ["a", "b"], "a", {"b": 1}) == 0
    assert fair_share(1, ["a", "b"], "b", {"b": 1}) == 1
    assert fair_share(1, ["a", "b"], "a", {}) == 1  # nobody serves it: by name
    # an even split is still made: 4 PBXs all on "b" when "a" comes back
    assert fair_share(4, ["a", "b"], "b", {"b": 4}) == 2
    assert fair_share(4, ["a", "b"], "a", {"b": 4}) == 2
    # 5 PBXs on 3 instances: the two extras stay with the two that hold more
    held = {"a": 1, "b": 2, "c": 2}
    assert [fair_share(5, ["a", "b", "c"], i, held) for i in "abc"] == [1, 2, 2]


async def test_an_instance_that_comes_back_does_not_take_its_pbx_back(
        pool: asyncpg.Pool) -> None:
    clock, log = FakeClock(), []
    three = SERVERS[:3]
    b = keeper(pool, "b", clock, log, servers=three)
    for _ in range(2):
        await b.step()
    assert set(b.held) == set(three)  # "a" is away: "b" serves all three
    a = keeper(pool, "a", clock, log, servers=three)
    for k in (a, b, a, b, a, b):
        await k.step()
        await k.idle()
    assert (len(a.held), len(b.held)) == (1, 2)  # one hand-over: the extra stays with "b"
    # "a" stops cleanly and comes back: it takes its one again, not the extra
    await a.release_all()
    for _ in range(2):
        await b.step()
    assert len(b.held) == 3
    a = keeper(pool, "a", clock, log, servers=three)
    for k in (a, b, a, b, a, b):
        await k.step()
        await k.idle()
    assert (len(a.held), len(b.held)) == (1, 2)
    handed = [e for e in log if e[0] == "b" and e[1].startswith("-")]
    assert len(handed) == 2  # one hand-over each time "a" came, never the PBX back and forth


async def test_a_hand_over_stops_serving_before_it_releases_the_lease(
        pool: asyncpg.Pool) -> None:
    clock, log = FakeClock(), []
    repo = LeaseRepository(pool)
    owner_while_stopping: list[str] = []

    async def gain(server: str, epoch: int) -> None:
        log.append(("b", f"+{server}"))

    async def loss(server: str, why: str) -> None:  # "b" flushes what it received
        [lease] = [x for x in await repo.leases() if x.server == server]
        owner_while_stopping.append(lease.owner if lease.expires_at > datetime.now(UTC) else "")

    b = LeaseKeeper(repo, "b", SERVERS, takeover_s=5.0, on_gain=gain, on_loss=loss,
                    clock=clock)
    await b.step()
    assert set(b.held) == set(SERVERS)
    a = keeper(pool, "a", clock, log, takeover_s=5.0)
    await a.step()  # "a" is seen: "b" hands two over at its next round
    await b.step()
    await until(lambda: len(owner_while_stopping) == 2)
    assert owner_while_stopping == ["b", "b"]  # its writes were not fenced off meanwhile

    async def released() -> bool:
        return (await repo.holdings()).get("b") == 2

    await until(released)
    await a.step()
    assert len(a.held) == 2 and len(b.held) == 2

"""Two ``callcenter run`` instances share two simulated PBXs through leases in PostgreSQL:
each PBX is served once; kill -9 the owner of a PBX under traffic and the other instance
serves it within the takeover time, records the takeover as an outage (filled from the
PBX's CEL) and stores every call once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from callcenter.sim import AgentScript, PBXSimulator
from tests.support.ha import CEL, HA, both_ready, pbxs, serving

ANSWERS = AgentScript(1.0, 30.0)
from tests.support.run import running
from tests.support.wait import until


async def test_kill_9_the_owner_and_the_standby_serves_its_pbx(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with pbxs(fresh_dsn, pool) as sims, \
            running(fresh_dsn, sims, tmp_path, name="one", extra=HA, cel_tables=CEL) as one, \
            running(fresh_dsn, sims, tmp_path, name="two", extra=HA, cel_tables=CEL) as two:
        reports = await both_ready(one, two)
        [taken] = serving(reports[0])
        calls = [await sims[taken].inbound_call(f"+3222000{n:03d}", "800",
                                                agents={"agent1001": ANSWERS,
                                                        "agent1002": ANSWERS})
                 for n in range(2)]
        await asyncio.sleep(0.5)
        one.proc.kill()
        killed_at = time.monotonic()
        await two.until_ready(lambda status, r: serving(r) == {"pbxa", "pbxb"}, timeout_s=15)
        took_s = time.monotonic() - killed_at
        for call in calls:
            assert await asyncio.wait_for(call.wait(), 60) == "answered"
        report = await two.until_ready(lambda status, r: r["outages"]["filled"] >= 1,
                                       timeout_s=30)
        assert report["ha"]["database_ok"]
    assert took_s < 5.0
    rows = await pool.fetch("SELECT linkedid, disposition, agent FROM calls WHERE server = $1",
                            taken)
    assert sorted(r["linkedid"] for r in rows) == sorted(c.linkedid for c in calls)
    assert {r["disposition"] for r in rows} == {"answered"}
    kinds = {r["kind"] for r in await pool.fetch("SELECT kind FROM journal_gaps")}
    assert kinds == {"takeover"}


async def test_a_paused_owner_resumes_fenced_off(fresh_dsn: str, pool: asyncpg.Pool,
                                                 tmp_path: Path) -> None:
    """SIGSTOP the owner past its lease, SIGCONT: the other instance serves its PBX, and the
    resumed one gives up the lease it held (it says so); whatever it serves again is under
    a newer epoch, which fences off anything written under the old one."""
    import signal

    async with pbxs(fresh_dsn, pool) as sims, \
            running(fresh_dsn, sims, tmp_path, name="one", extra=HA, cel_tables=CEL) as one, \
            running(fresh_dsn, sims, tmp_path, name="two", extra=HA, cel_tables=CEL) as two:
        reports = await both_ready(one, two)
        before = dict(reports[0]["ha"]["serving"])
        one.proc.send_signal(signal.SIGSTOP)
        await two.until_ready(lambda status, r: serving(r) == {"pbxa", "pbxb"}, timeout_s=15)
        one.proc.send_signal(signal.SIGCONT)
        await until(lambda: b"ha_lease_lost" in one.output, timeout_s=15, every_s=0.2)
        report = await one.until_ready(lambda status, r: r["ha"] is not None, timeout_s=5)
        assert all(epoch > before.get(server, 0)
                   for server, epoch in report["ha"]["serving"].items()), (before, report["ha"])
        leases = {r["server"]: r["epoch"] for r in await pool.fetch(
            "SELECT server, epoch FROM ha_leases")}
        assert all(leases[server] > epoch for server, epoch in before.items())


async def test_a_ring_in_progress_at_the_takeover_is_enforced_by_the_new_owner(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Sales rings 20 s (app_queue's member timeout), the rule here allows 9 s (three rings
    of 3 s; the PBX runs in real time, as the daemon's ring clock does): the owner is killed
    0.5 s into a ring; the instance that takes over (within takeover_s, 2 s, and its start)
    cuts it at the deadline."""
    never = AgentScript(answer_after=None)
    rule = HA + "\n[ring]\ncycle_s = 3.0\n"
    async with pbxs(fresh_dsn, pool, speed=1.0) as sims, \
            running(fresh_dsn, sims, tmp_path, name="one", extra=rule, cel_tables=CEL) as one, \
            running(fresh_dsn, sims, tmp_path, name="two", extra=rule, cel_tables=CEL) as two:
        reports = await both_ready(one, two)
        [taken] = serving(reports[0])
        call = await sims[taken].inbound_call("+3222000777", "801", patience=15.0,
                                              agents={"agent1002": never, "agent1003": never})
        await asyncio.sleep(0.5)
        one.proc.kill()
        await two.until_ready(lambda status, r: serving(r) == {"pbxa", "pbxb"}, timeout_s=15)
        await asyncio.wait_for(call.wait(), 60)
        await two.until_ready(lambda status, r: r["outages"]["filled"] >= 1, timeout_s=30)
    violations = await pool.fetch("SELECT action, result, ring_s FROM violations"
                                  " WHERE linkedid = $1", call.linkedid)
    assert violations and {v["action"] for v in violations} == {"hangup"}
    assert {v["result"] for v in violations} == {"ok"}
    assert all(v["ring_s"] < 9.5 for v in violations), violations  # cut at the deadline


async def test_three_instances_spread_four_pbxs_each_served_once(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    names = [f"pbx{n}" for n in range(1, 5)]
    sims = {name: PBXSimulator(speed=10, systemname=name, seed=n)
            for n, name in enumerate(names)}
    for sim in sims.values():
        await sim.start()
    try:
        async with running(fresh_dsn, sims, tmp_path, name="i1", extra=HA) as i1, \
                running(fresh_dsn, sims, tmp_path, name="i2", extra=HA) as i2, \
                running(fresh_dsn, sims, tmp_path, name="i3", extra=HA) as i3:

            async def spread() -> list[set[str]] | None:
                got = [await i.readyz() for i in (i1, i2, i3)]
                served = [serving(g[1]) if g else set() for g in got]
                return served if sorted(map(len, served)) == [1, 1, 2] else None

            served = await until(spread, timeout_s=30, every_s=0.3)
    finally:
        for sim in sims.values():
            await sim.stop()
    assert set().union(*served) == set(names) and sum(map(len, served)) == 4

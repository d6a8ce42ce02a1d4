"""Two ``callcenter run`` instances lose PostgreSQL together (a network cut between them
and the database, the PBXs still writing their CEL): both stop acting and say so; once the
database answers again each PBX is served by one instance, and every call, those of the
cut included, is stored once (the gap filled from CEL once the PBX's next events date it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from callcenter.sim import AgentScript
from callcenter.sim.proxy import pg_proxy
from tests.support.ha import CEL, HA, both_ready, pbxs, serving
from tests.support.run import running
from tests.support.wait import until

ANSWERS = AgentScript(1.0, 2.0)
AGENTS = {"agent1001": ANSWERS, "agent1002": ANSWERS}


def served_once(*reports: dict[str, object]) -> bool:
    """Each PBX is served, and by one instance only."""
    held = [serving(r) for r in reports]
    return sorted(held[0] | held[1]) == ["pbxa", "pbxb"] and not held[0] & held[1]


async def test_the_database_cut_from_both_instances_then_back(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    proxy, proxied = pg_proxy(fresh_dsn)
    await proxy.start()
    try:
        async with pbxs(fresh_dsn, pool) as sims, \
                running(proxied(), sims, tmp_path, name="one", extra=HA,
                        cel_tables=CEL) as one, \
                running(proxied(), sims, tmp_path, name="two", extra=HA,
                        cel_tables=CEL) as two:
            await both_ready(one, two)
            before = [(s, await sims[s].inbound_call(f"+3222100{n}", "800", agents=AGENTS))
                      for n, s in enumerate(("pbxa", "pbxb"))]
            for _, call in before:
                assert await asyncio.wait_for(call.wait(), 30) == "answered"
            proxy.cut()
            for run in (one, two):  # neither acts on a lease it cannot renew
                await run.until_ready(
                    lambda status, r: not r["ha"]["database_ok"] and not serving(r),
                    timeout_s=20)
            during = [(s, await sims[s].inbound_call(f"+3222200{n}", "800", agents=AGENTS))
                      for n, s in enumerate(("pbxa", "pbxb"))]
            for _, call in during:
                assert await asyncio.wait_for(call.wait(), 30) == "answered"
            proxy.restore()
            for run in (one, two):
                await run.until_ready(lambda status, r: r["ha"]["database_ok"], timeout_s=30)
            # traffic goes on: the first events after the cut date it in each PBX's clock
            after = [(s, await sims[s].inbound_call(f"+3222300{n}", "800", agents=AGENTS))
                     for n, s in enumerate(("pbxa", "pbxb"))]
            for _, call in after:
                assert await asyncio.wait_for(call.wait(), 30) == "answered"

            async def settled() -> bool:  # each PBX served once, every outage filled
                reports = [(await one.readyz() or (0, {}))[1], (await two.readyz() or (0, {}))[1]]
                return served_once(*reports) and not any(r["outages"]["unfilled"]
                                                         for r in reports)

            await until(settled, 30, every_s=0.3)
    finally:
        proxy.restore()
        await proxy.stop()
    rows = await pool.fetch("SELECT server, linkedid, disposition FROM calls ORDER BY server")
    placed = {(server, call.linkedid) for server, call in (*before, *during, *after)}
    assert sorted((r["server"], r["linkedid"]) for r in rows) == sorted(placed)
    assert {r["disposition"] for r in rows} == {"answered"}

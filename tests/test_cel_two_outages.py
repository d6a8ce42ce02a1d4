"""A call that begins in one outage and ends in the next, with nothing of it received in
between but the reconnect's channel list (a takeover then a hand-back, seconds apart):
completed from CEL as answered, not closed as incomplete."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from callcenter.sim import AgentScript, PBXSimulator
from tests.support.run import running
from tests.support.wait import until

CEL_FAST = """
[cel]
settle_s = 0.5
retry_s = 0.5
"""


async def test_a_call_across_two_outages_is_completed_from_cel(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with PBXSimulator(speed=10, systemname="sim", cel_dsn=fresh_dsn) as sim:
        async with running(fresh_dsn, sim, tmp_path, extra=CEL_FAST) as first:
            await first.until_ready(lambda status, r: status == 200)
            first.proc.kill()
            await first.proc.wait()
        call = await sim.inbound_call("+3222000001", "800", agents={
            "agent1001": AgentScript(2.0, 40.0), "agent1002": AgentScript(2.0, 40.0),
            "agent1003": AgentScript(2.0, 40.0)})  # answered and talking in outage 1
        async with running(fresh_dsn, sim, tmp_path, extra=CEL_FAST) as second:
            await second.until_ready(lambda status, r: status == 200)  # its resync: the call
            other = await sim.inbound_call("+3222000002", "800")
            await until(lambda: pool.fetchval(  # other calls' events journaled
                "SELECT count(*) FROM journal WHERE linkedid = $1", other.linkedid))
            second.proc.kill()
            await second.proc.wait()
        assert await asyncio.wait_for(call.wait(), 30) == "answered"  # over in outage 2
        async with running(fresh_dsn, sim, tmp_path, extra=CEL_FAST) as third:
            await third.until_ready(lambda status, r: status == 200)
            await sim.inbound_call("+3222000003", "800")  # events after the outages

            async def filled() -> bool:
                return not await pool.fetchval("SELECT count(*) FROM journal_gaps"
                                               " WHERE filled_at IS NULL")

            await until(filled, timeout_s=30, every_s=0.2)
            await third.terminate()
    assert await pool.fetchval("SELECT count(*) FROM journal_gaps WHERE filled_at IS NOT NULL"
                               " AND kind = 'daemon_down'") == 2
    row = await pool.fetchrow("SELECT disposition, agent, incomplete_reason FROM calls"
                              " WHERE linkedid = $1", call.linkedid)
    assert row is not None and dict(row)["disposition"] == "answered", dict(row or {})

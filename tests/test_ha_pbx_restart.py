"""Asterisk restarts under an HA pair: the instance serving that PBX keeps its lease (no
takeover), logs in again once the PBX is up, records a ``link_down`` outage with the
restart recognised, fills it from CEL, and every call is stored once; the other PBX is
untouched. The simulator runs at real speed: FullyBooted's Uptime is counted in the PBX's
seconds and received on our clock, as with a real Asterisk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg

from callcenter.sim import AgentScript
from tests.support.ha import CEL, HA, both_ready, pbxs, serving
from tests.support.run import running
from tests.support.wait import until

TALKS = AgentScript(1.0, 60.0)
SHORT = AgentScript(1.0, 2.0)


async def test_a_pbx_restart_under_an_ha_pair(fresh_dsn: str, pool: asyncpg.Pool,
                                              tmp_path: Path) -> None:
    async with pbxs(fresh_dsn, pool, speed=1.0) as sims, \
            running(fresh_dsn, sims, tmp_path, name="one", extra=HA, cel_tables=CEL) as one, \
            running(fresh_dsn, sims, tmp_path, name="two", extra=HA, cel_tables=CEL) as two:
        reports = await both_ready(one, two)
        owner, other = (one, two) if serving(reports[0]) == {"pbxa"} else (two, one)
        epoch = (await owner.until_ready(lambda s, r: True))["ha"]["serving"]["pbxa"]
        cut_short = await sims["pbxa"].inbound_call("+3222400001", "800",
                                                    agents={"agent1001": TALKS})
        await asyncio.sleep(1.5)  # answered, talking
        await sims["pbxa"].restart(delay_s=2.0)  # ends its call: the restart cancels it
        later = await sims["pbxa"].inbound_call("+3222400002", "800",
                                                agents={"agent1001": SHORT, "agent1002": SHORT})
        assert await asyncio.wait_for(later.wait(), 30) == "answered"

        async def filled() -> dict[str, Any] | None:  # pbxa's restart filled from CEL
            report = (await owner.readyz() or (0, {}))[1]
            outages = report.get("outages") or {}
            done = outages.get("filled", 0) >= 1 and not [
                o for o in outages["unfilled"] if o["server"] == "pbxa"]
            return report if done else None

        report: dict[str, Any] = await until(filled, 30, every_s=0.3)
        assert report["ha"]["serving"] == {"pbxa": epoch}  # the same lease: no takeover
        assert serving((await other.readyz() or (0, {}))[1]) == {"pbxb"}
    gaps = await pool.fetch("SELECT server, kind, pbx_started_at, filled_at FROM journal_gaps"
                            " WHERE server = 'pbxa'")
    assert [(g["kind"], g["pbx_started_at"] is not None, g["filled_at"] is not None)
            for g in gaps] == [("link_down", True, True)]
    rows = await pool.fetch("SELECT linkedid, disposition FROM calls WHERE server = 'pbxa'")
    assert sorted(r["linkedid"] for r in rows) == sorted([cut_short.linkedid, later.linkedid])
    assert {r["linkedid"]: r["disposition"] for r in rows}[later.linkedid] == "answered"

"""Live views across instances: two ``callcenter run`` instances with leases, two simulated
PBXs; the wallboard of the instance that does not own a PBX shows that PBX's calls live,
and goes on showing them (its own now) after the owner is killed with -9."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from callcenter.sim import AgentScript
from callcenter.store.users import UserRepository
from callcenter.web.testing import ensure_user
from tests.support.ha import CEL, HA, both_ready, pbxs, serving
from tests.support.run import Running, running
from tests.support.wait import until

TALKS = AgentScript(1.0, 80.0)
"""Answers at once and talks 8 s (the simulators run 10 times faster)."""
SHOWN_WITHIN_S = 2.0


async def board(http: aiohttp.ClientSession, run: Running) -> dict[str, Any]:
    """The wallboard's JSON snapshot on ``run`` (signed in as a supervisor)."""
    async with http.get(run.url.removesuffix("/readyz") + "/api/v1/live") as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


def calls_on(snapshot: dict[str, Any], server: str) -> set[str]:
    """The linkedids of ``server``'s calls the board shows agents on."""
    return {a["call"]["linkedid"] for a in snapshot["agents"]
            if a["call"] and a["call"]["server"] == server}


async def shown(http: aiohttp.ClientSession, run: Running, server: str, linkedid: str,
                timeout_s: float = SHOWN_WITHIN_S) -> float:
    """Seconds until ``run``'s board shows the call (AssertionError past ``timeout_s``)."""
    started = time.monotonic()

    async def on_board() -> bool:
        return linkedid in calls_on(await board(http, run), server)

    try:
        await until(on_board, timeout_s)
    except AssertionError:
        raise AssertionError(f"{linkedid} not shown on {run.url}") from None
    return time.monotonic() - started


async def test_a_board_shows_the_calls_of_a_pbx_owned_by_another_instance(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    user, _ = await ensure_user(pool, "supervisor")
    token, _ = await UserRepository(pool).create_session(user, hours=1)
    async with pbxs(fresh_dsn, pool) as sims, \
            running(fresh_dsn, sims, tmp_path, name="one", extra=HA, cel_tables=CEL) as one, \
            running(fresh_dsn, sims, tmp_path, name="two", extra=HA, cel_tables=CEL) as two, \
            aiohttp.ClientSession(cookies={"cc_session": token}) as http:
        owned = [serving(r) for r in await both_ready(one, two)]
        owner, other = (one, two) if "pbxa" in owned[0] else (two, one)
        await other.until_ready(lambda status, r: (r["live_sync"] or {}).get("listening"))
        first = await sims["pbxa"].inbound_call("+3222000001", "800",
                                                agents={"agent1001": TALKS})
        await shown(http, owner, "pbxa", first.linkedid)
        await shown(http, other, "pbxa", first.linkedid)
        report = await other.until_ready(lambda status, r: r["live_sync"]["received"] > 0)
        assert report["live_sync"]["dropped"] == 0

        owner.proc.kill()
        assert first.linkedid in calls_on(await board(http, other), "pbxa")
        await other.until_ready(lambda status, r: serving(r) == {"pbxa", "pbxb"}, timeout_s=15)
        assert first.linkedid in calls_on(await board(http, other), "pbxa")
        second = await sims["pbxa"].inbound_call("+3222000002", "800",
                                                 agents={"agent1002": TALKS})
        await shown(http, other, "pbxa", second.linkedid)
        assert await asyncio.wait_for(first.wait(), 30) == "answered"

        async def first_gone() -> bool:
            return first.linkedid not in calls_on(await board(http, other), "pbxa")

        await until(first_gone, timeout_s=5, every_s=0.1)  # the first call ended on the board

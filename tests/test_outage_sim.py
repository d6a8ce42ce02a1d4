"""A daemon killed mid-traffic (kill -9) and started again, against the PBX simulator writing
its CEL into PostgreSQL as ``cel_pgsql`` does: every call and recording equals what a daemon
that never stopped stored; without CEL, what the restarted daemon could not see is never
recorded as something else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter import db
from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.daemon import Daemon
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.server import CallHandle
from callcenter.store.calls import CallRepository
from tests.support.run import Running, running
from tests.support.wait import until

SPEED = 10.0
RECORD_ONLY = """
[ring]
on_deadline = "record"
direct_action = "record"

[cel]
settle_s = 0.5
retry_s = 0.5
"""


@pytest.fixture
async def witness_pool(pg_server_dsn: str, template_db: str) -> AsyncIterator[asyncpg.Pool]:
    """The database of the daemon that never stops."""
    async with db.scratch_database(pg_server_dsn, "cc_witness_", template=template_db) as dsn:
        pool = await db.create_pool(dsn)
        yield pool
        await db.close_pool(pool, 10.0)


async def witness(sim: PBXSimulator, pool: asyncpg.Pool, tmp_path: Path) -> Daemon:
    """An in-process daemon (store only: no enforcement) that stays connected throughout."""
    settings = Settings(servers=[AmiServer(name="sim", port=sim.port, secret="secret")],
                        database=DatabaseSettings(spool_dir=str(tmp_path / "witness-spool"),
                                                  batch_delay_s=0.01))
    daemon = Daemon(settings, pool, log_calls=False)
    await daemon.start()
    return daemon


def traffic(sim: PBXSimulator, wave: int) -> list[asyncio.Future[CallHandle]]:
    """Queue calls answered after a ring, one ringing past the member timeout then taken by
    the next agent, a caller who gives up, a direct call to an agent's extension."""
    answer, slow = AgentScript(2.0, 25.0), AgentScript(answer_after=None)
    return [asyncio.ensure_future(c) for c in (
        sim.inbound_call(f"1380000{wave}001", "800", agents={"agent1001": answer,
                                                              "agent1002": answer}),
        sim.inbound_call(f"1380000{wave}002", "800", agents={"agent1003": slow,
                                                              "agent1001": answer,
                                                              "agent1002": answer}),
        sim.inbound_call(f"1380000{wave}003", "801", agents={"agent1002": slow,
                                                              "agent1003": slow}, patience=6.0),
        sim.inbound_call(f"1380000{wave}004", "1003", agents={"agent1003": AgentScript(3.0, 20.0)}),
    )]


def status_of(report: dict[str, Any]) -> int:
    return 200 if report["ready"] else 503


def comparable(call: dict[str, Any]) -> dict[str, Any]:
    """What the two daemons must agree on (times to 0.1 s: both read the PBX's clock)."""
    keep = ("linkedid", "direction", "caller", "callee", "queue", "disposition", "agent",
            "hangup_by", "recordings", "transfers", "incomplete_reason")
    out = {k: call[k] for k in keep}
    out |= {k: None if call[k] is None else round(call[k], 1) for k in ("wait_s", "talk_s")}
    out["rings"] = [(r["agent"], r["outcome"], round(r["ring_s"], 1), r["rings"])
                    for r in call["ring_attempts"]]
    out["violations"] = len(call["violations"])
    return out


def differences(got: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]
                ) -> list[tuple[str, str, Any, Any]]:
    """(linkedid, field, got, want) wherever the two disagree."""
    out = [(lid, "(missing)", None, None) for lid in want if lid not in got]
    out += [(lid, "(extra)", None, None) for lid in got if lid not in want]
    for lid in got.keys() & want.keys():
        out += [(lid, k, got[lid][k], want[lid][k]) for k in want[lid]
                if got[lid][k] != want[lid][k]]
    return out


async def filed(pool: asyncpg.Pool, names: set[str], timeout_s: float = 20.0) -> set[str]:
    """The recordings of ``names`` filed (ready, or empty: no talk) once all are, or at the timeout."""
    async def done() -> set[str]:
        rows = await pool.fetch("SELECT file_name FROM recordings WHERE status IN ('ready', 'empty')")
        return names & {r["file_name"] for r in rows}

    async def all_done() -> bool:
        return await done() == names

    with contextlib.suppress(AssertionError):  # the caller's assertion names the missing ones
        await until(all_done, timeout_s, every_s=0.2)
    return await done()


async def stored(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    calls = await CallRepository(pool).list_calls(limit=None)
    return {c.linkedid: comparable(call_json(c)) for c in calls if c.direction != "internal"}


def recordings_settings(tmp_path: Path) -> str:
    """The simulator's monitor directory, swept every second."""
    return f"""
[recordings]
local_dir = "{tmp_path / 'monitor'}"
store_dir = "{tmp_path / 'store'}"
sweep_interval_s = 1.0
stable_wait_s = 0.1
max_wait_s = 3.0
orphan_grace_s = 0
"""


@contextlib.asynccontextmanager
async def run_with_a_kill(sim: PBXSimulator, dsn: str, tmp_path: Path
                          ) -> AsyncIterator[tuple[Running, list[CallHandle]]]:
    """Traffic; the daemon killed mid-way; more traffic while it is gone; started again."""
    extra = RECORD_ONLY + recordings_settings(tmp_path)
    async with running(dsn, sim, tmp_path, extra=extra) as first:
        await first.until_ready(lambda status, r: status == 200)
        handles = [await f for f in traffic(sim, 1)]
        await asyncio.sleep(1.2)  # 12 s of PBX time: rings, answers, talks under way
        first.proc.kill()
        await first.proc.wait()
    handles += [await f for f in traffic(sim, 2)]  # calls the daemon never sees begin
    await asyncio.sleep(1.0)
    async with running(dsn, sim, tmp_path, extra=extra) as second:
        yield second, handles


@contextlib.asynccontextmanager
async def killed_mid_traffic(tmp_path: Path, dsn: str, witness_pool: asyncpg.Pool,
                             **sim_options: Any) -> AsyncIterator[Running]:
    """The simulator, the witness, and ``callcenter run`` killed mid-traffic and started
    again; yields the second run once every call has ended."""
    sim = PBXSimulator(speed=SPEED, systemname="sim", **sim_options)
    await sim.start()
    watcher = await witness(sim, witness_pool, tmp_path)
    try:
        async with run_with_a_kill(sim, dsn, tmp_path) as (second, handles):
            await second.until_ready(lambda status, r: status == 200)
            for h in handles:
                await asyncio.wait_for(h.wait(), 60)
            yield second
    finally:
        await watcher.stop()
        await sim.stop()


async def test_killed_daemon_with_cel_stores_what_an_uninterrupted_one_does(
        fresh_dsn: str, pool: asyncpg.Pool, witness_pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with killed_mid_traffic(tmp_path, fresh_dsn, witness_pool, cel_dsn=fresh_dsn,
                                  recordings_dir=tmp_path / "monitor") as second:
        report = await second.until_ready(
            lambda status, r: r["outages"]["filled"] >= 1 and not r["outages"]["unfilled"],
            timeout_s=30)
        assert report["outages"]["recorded"] == 1 and report["outages"]["calls_filled"] >= 4
        recorded = {n for c in (await stored(witness_pool)).values() for n in c["recordings"]}
        assert len(recorded) == 8  # every call was recorded (MixMonitor at the answer)
        assert await filed(pool, recorded) == recorded
        assert await second.terminate() < 10
    want, got = await stored(witness_pool), await stored(pool)
    assert len(want) == 8 and {c["disposition"] for c in want.values()} >= {
        "answered", "abandoned"}
    assert differences(got, want) == []
    outage = await pool.fetchrow("SELECT kind, filled_calls FROM journal_gaps")
    assert outage["kind"] == "daemon_down" and outage["filled_calls"] >= 4


async def test_without_cel_the_calls_missed_are_incomplete_never_wrong(
        fresh_dsn: str, pool: asyncpg.Pool, witness_pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with killed_mid_traffic(tmp_path, fresh_dsn, witness_pool) as second:
        report = await second.until_ready(
            lambda status, r: r["outages"]["fill_error"] is not None, timeout_s=30)
        assert report["outages"]["unfilled"] and status_of(report) == 503
        await second.terminate()
    want, got = await stored(witness_pool), await stored(pool)
    assert set(got) <= set(want)  # a call never seen is missing, never invented
    wrong = [(lid, key, call[key], want[lid][key]) for lid, call in got.items()
             for key in ("direction", "caller", "callee", "queue", "agent")
             if call[key] is not None and call[key] != want[lid][key]]
    # a call joined mid-way is dated by its uniqueid's second: within a second
    wrong += [(lid, key, call[key], want[lid][key]) for lid, call in got.items()
              for key in ("wait_s", "talk_s") if call[key] is not None
              and (want[lid][key] is None or abs(call[key] - want[lid][key]) > 1.0)]
    wrong += [(lid, "disposition", call["disposition"], want[lid]["disposition"])
              for lid, call in got.items()
              if call["disposition"] not in ("incomplete", want[lid]["disposition"])]
    assert wrong == []  # unknown (None, incomplete) where not seen; never another value

"""Rainy days in the daemon's production wiring: a stalled database, a failing spool disk.

The simulated PBX serves real AMI on loopback; PostgreSQL is reached through a
loopback proxy that a test stalls (connections open, nothing forwarded) or cuts;
the spool's disk faults are injected at its system calls (``os.write`` on the
spool's own files), everything else is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from structlog.testing import capture_logs

from callcenter import db
from callcenter.ingest.daemon import Daemon
from callcenter.live import LiveConsumer
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.model import AgentConfig, QueueConfig
from callcenter.sim.proxy import CutProxy, pg_proxy
from callcenter.store import spool as spool_module
from callcenter.web.app import CORE_FEATURES
from callcenter.web.testing import web_client
from tests.support.wait import until

SPEED = 10.0  # 15 s of ringing = 1.5 s
NEVER = AgentScript(answer_after=None)
ANSWERS = AgentScript(2.0, 3.0)


def sim_config() -> SimConfig:
    cfg = SimConfig.default()
    members = ["PJSIP/agent1001", "PJSIP/agent1002"]
    cfg.queues = [QueueConfig("support", "rrmemory", 60.0, 2.0, members, max_wait=120.0)]
    cfg.agents = [AgentConfig(f"agent{n}", f"Agent {n}") for n in (1001, 1002, 1003)]
    return cfg


@dataclass
class Rig:
    sim: PBXSimulator
    daemon: Daemon
    enforcer: RingEnforcer
    live: LiveConsumer
    proxy: CutProxy
    pool: asyncpg.Pool
    settings: Settings
    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    journaled: list[int] = field(default_factory=list)
    """Seq of every entry handed to the durable path."""

    def actions(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(t, a) for t, a in self.arrivals if a.get("Action") == name]

@contextlib.asynccontextmanager
async def rig(dsn: str, spool: Path, **database: Any) -> AsyncIterator[Rig]:
    proxy, proxied = pg_proxy(dsn)
    await proxy.start()
    pool = await db.create_pool(proxied(), min_size=1, max_size=4)
    sim = PBXSimulator(speed=SPEED, config=sim_config(), systemname="sim")
    await sim.start()
    settings = Settings(
        servers=[AmiServer(name="sim", port=sim.port, secret="secret", reconnect_min_s=0.05,
                           reconnect_max_s=0.2)],
        database=DatabaseSettings(spool_dir=str(spool), batch_delay_s=0.01, write_timeout_s=1.0,
                                  **database))
    enforcer = RingEnforcer.from_settings(settings, clock=sim.clock, pause_settle_s=0.5)
    live = LiveConsumer.from_settings(settings)
    daemon = Daemon(settings, pool, consumers=[enforcer, live], log_calls=False)
    r = Rig(sim, daemon, enforcer, live, proxy, pool, settings)
    handle = sim.action_handler.handle

    def recording_handle(action: Any) -> Any:
        r.arrivals.append((sim.clock.now(), dict(action)))
        return handle(action)

    sim.action_handler.handle = recording_handle  # type: ignore[method-assign]
    try:
        await daemon.start()
        durable = daemon.pipelines["sim"].durable
        assert durable is not None
        submit = durable.submit

        def noting_submit(entries: Any, facts: Any, received: Any) -> None:
            r.journaled.extend(e.seq for e in entries)
            submit(entries, facts, received)

        durable.submit = noting_submit  # type: ignore[method-assign]
        await until(lambda: daemon.clients["sim"].connected)
        yield r
    finally:
        proxy.restore()
        await daemon.stop()
        await sim.stop()
        pool.terminate()
        await proxy.stop()


def cut_at_deadline_ms(r: Rig, call_linkedid: str) -> float:
    """Wall ms between the first ring deadline of ``call_linkedid`` and its Hangup's arrival."""
    out = r.enforcer.outcomes[("sim", call_linkedid)][0]
    [(arrived, _)] = [(t, a) for t, a in r.actions("Hangup")
                      if a["Channel"] == out.sent["Channel"]]
    return (arrived - out.violation.at.timestamp()) / SPEED * 1000


async def read_event(resp: Any) -> str:
    """The data of the next server-sent event."""
    data = []
    while True:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if not line:
            if data:
                return "\n".join(data)
            continue
        if line.startswith("data:"):
            data.append(line[5:].strip())


async def stored_calls(pool: asyncpg.Pool) -> list[str]:
    return [r["linkedid"] for r in await pool.fetch("SELECT linkedid FROM calls ORDER BY 1")]


async def journal_seqs(pool: asyncpg.Pool) -> list[int]:
    return [r["seq"] for r in await pool.fetch("SELECT seq FROM journal ORDER BY seq")]


STALL_S = 40.0


async def test_a_stalled_database_delays_neither_enforcement_nor_the_wallboard(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with rig(fresh_dsn, tmp_path / "spool") as r, web_client(
            r.settings, r.pool, role="supervisor", live=r.live,
            features=CORE_FEATURES) as client:
        board = await client.get("/wallboard/events")
        await read_event(board)
        r.proxy.stall()
        stalled = time.monotonic()
        first = await r.sim.inbound_call("+8613800000001", "800",
                                         agents={"agent1001": NEVER, "agent1002": ANSWERS})
        # the wallboard shows the waiting caller while the database says nothing
        update = await asyncio.wait_for(read_event(board), 5)
        assert 'data-queue="support"' in update
        await until(lambda: r.actions("Hangup"), 30)
        # recorded when Asterisk's response comes back, a moment after the action arrived
        await until(lambda: r.enforcer.outcomes.get(("sim", first.linkedid)), 5)
        assert -1.0 <= cut_at_deadline_ms(r, first.linkedid) <= 100.0
        assert await asyncio.wait_for(first.wait(), 10) == "answered"
        second = await r.sim.inbound_call("+8613800000002", "800",
                                          agents={"agent1001": ANSWERS, "agent1002": ANSWERS})
        assert await asyncio.wait_for(second.wait(), 10) == "answered"
        await asyncio.wait_for(read_event(board), 5)  # still live
        board.close()
        await asyncio.sleep(max(0.0, STALL_S - (time.monotonic() - stalled)))
        ready, report = r.daemon.health()
        assert not ready and report["store"]["database"] == "unreachable"
        assert report["servers"]["sim"]["ami_connected"]
        assert r.daemon.writer.spool.depth > 0, "the stalled writes should be in the spool"
        r.proxy.restore()
        await until(lambda: r.daemon.writer.pending == 0 and r.daemon.health()[0], 30)
        await until(lambda: not r.daemon.trackers["sim"].open_calls, 10)

        async def written() -> bool:  # the last call records and journal entries
            return (await stored_calls(pool) == sorted([first.linkedid, second.linkedid])
                    and await journal_seqs(pool) == sorted(set(r.journaled)))

        await until(written, 10)
    assert await stored_calls(pool) == sorted([first.linkedid, second.linkedid])
    seqs = await journal_seqs(pool)
    assert seqs == sorted(set(r.journaled)), "every journal entry stored exactly once"


class DiskFault:
    """Makes ``os.write`` on the spool's files fail with ``errno`` while set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, spool: Path) -> None:
        self.spool = str(spool.resolve())
        self.errno: int | None = None
        real = os.write

        def write(fd: int, data: Any) -> int:
            if self.errno is not None and os.readlink(f"/proc/self/fd/{fd}").startswith(
                    self.spool):
                raise OSError(self.errno, os.strerror(self.errno))
            return real(fd, data)

        monkeypatch.setattr(spool_module.os, "write", write)


async def test_spool_disk_full_then_read_only_while_the_database_is_down(
        fresh_dsn: str, pool: asyncpg.Pool, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "spool"
    fault = DiskFault(monkeypatch, spool)
    with capture_logs() as logs:
        async with rig(fresh_dsn, spool) as r:
            writer = r.daemon.writer
            first = await r.sim.inbound_call("+8613800000001", "800",
                                             agents={"agent1001": ANSWERS})
            assert await asyncio.wait_for(first.wait(), 10) == "answered"
            await until(lambda: writer.pending == 0 and len(r.journaled) > 0)
            r.proxy.cut()
            fault.errno = errno.ENOSPC
            # the disk is full: AMI is still read, the ring rule still enforced
            ringing = await r.sim.inbound_call("+8613800000002", "800", patience=20.0,
                                               agents={"agent1001": NEVER, "agent1002": NEVER})
            await until(lambda: r.enforcer.outcomes.get(("sim", ringing.linkedid)), 30)
            await until(lambda: r.actions("Hangup"), 5)
            assert -1.0 <= cut_at_deadline_ms(r, ringing.linkedid) <= 100.0
            assert await asyncio.wait_for(ringing.wait(), 10) == "abandoned"
            await until(lambda: writer.disk.error is not None)
            ready, report = r.daemon.health()
            assert not ready and "No space left" in report["store"]["spool_error"]
            assert report["store"]["held_ops"] > 0
            board = r.live.state.snapshot(lambda number: number or "")
            assert {a["problem"] for a in board["service_alerts"]} == {
                "database_unreachable", "spool_write_failed"}
            # then read-only, with a small memory bound: what cannot be kept is a gap
            fault.errno = errno.EROFS
            writer.memory_max_bytes = writer.health()["held_bytes"] + 1
            for n in range(3):
                call = await r.sim.inbound_call(f"+861380000001{n}", "800",
                                                agents={"agent1002": ANSWERS})
                assert await asyncio.wait_for(call.wait(), 10) == "answered"
            await until(lambda: writer.lost_items["journal"] > 0)
            report = r.daemon.health()[1]
            assert "Read-only" in report["store"]["spool_error"]
            gaps = [g for g in report["store"]["gaps"] if g["what"] == "journal"]
            assert gaps and all(g["server"] == "sim" and g["first_seq"] <= g["last_seq"]
                                for g in gaps)
            # the disk and the database come back: everything resumes by itself
            fault.errno = None
            writer.memory_max_bytes = 64 << 20
            r.proxy.restore()
            await until(lambda: writer.pending == 0 and writer.database.error is None, 30)
            await until(lambda: not r.daemon.trackers["sim"].open_calls, 10)
            await asyncio.sleep(0.5)
            board = r.live.state.snapshot(lambda number: number or "")
            assert [a["problem"] for a in board["service_alerts"]] == ["store_data_dropped"]
            lost = {seq for g in writer.gaps if g.what == "journal"
                    for seq in r.journaled if g.first_seq <= seq <= g.last_seq}
    assert any(e["event"] == "spool_write_failed" and e["log_level"] == "error" for e in logs)
    assert any(e["event"] == "store_data_dropped" and e["log_level"] == "error" for e in logs)
    seqs = await journal_seqs(pool)
    assert len(seqs) == len(set(seqs))
    assert set(seqs) == set(r.journaled) - lost, "nothing lost but the recorded ranges"
    assert len(lost) == writer.lost_items["journal"]
    rows = await pool.fetch("SELECT server, first_seq, last_seq, items FROM journal_gaps"
                            " WHERE what = 'journal'")
    assert sum(r["items"] for r in rows) == len(lost)
    assert len(await stored_calls(pool)) == len(set(await stored_calls(pool)))

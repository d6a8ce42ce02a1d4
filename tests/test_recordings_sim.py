"""End to end: the simulator writes real WAVs; the daemon files them as the calls end."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import asyncpg
import pytest

pytest.importorskip("callcenter.calls.tracker", reason="the tracker has not landed yet")

from callcenter.daemon import Daemon
from callcenter.recordings.consumer import RecordingConsumer
from callcenter.settings import AmiServer, DatabaseSettings, RecordingSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.store.calls import CallRepository
from callcenter.store.recordings import RecordingRepository


async def _filed(pool: asyncpg.Pool, n: int) -> bool:
    return bool(await pool.fetchval(
        "SELECT count(*) FROM recordings WHERE status <> 'pending'") >= n)


async def test_simulated_calls_get_ready_recordings(pool: asyncpg.Pool, tmp_path: Path) -> None:
    spool, store = tmp_path / "monitor", tmp_path / "store"
    rec = RecordingSettings(store_dir=str(store), local_dir=str(spool), stable_wait_s=0.05,
                            max_wait_s=2.0, retries=0)
    sim = PBXSimulator(seed=3, speed=30, recordings_dir=spool)
    await sim.start()
    settings = Settings(
        servers=[AmiServer(name="sim", port=sim.port, secret="secret", reconnect_min_s=0.05,
                           reconnect_max_s=0.2)],
        database=DatabaseSettings(spool_dir=str(tmp_path / "dbspool"), batch_delay_s=0.01),
        recordings=rec)
    consumer = RecordingConsumer(rec, pool)
    daemon = Daemon(settings, pool, consumers=[consumer], log_calls=False)
    await daemon.start()
    try:
        deadline = time.monotonic() + 10
        while not all(c.connected for c in daemon.clients.values()):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        calls = [
            await sim.inbound_call("+3222000001", "800",
                                   agents={"agent1001": AgentScript(answer_after=3, talk=12)}),
            await sim.inbound_call("+3222000002", "802",  # recorded on the agent's channel
                                   agents={"agent1002": AgentScript(answer_after=2, talk=7)}),
            await sim.inbound_call("+3222000003", "801", patience=4,  # never bridged
                                   agents={a: AgentScript(answer_after=None)
                                           for a in ("agent1002", "agent1003")}),
        ]
        for c in calls:
            await c.wait()
        deadline = time.monotonic() + 20
        while not await _filed(pool, 3):
            assert time.monotonic() < deadline, "recordings not filed"
            await asyncio.sleep(0.1)
    finally:
        await daemon.stop()
        await sim.stop()
    repo = RecordingRepository(pool)
    by_caller = {}
    for call in await CallRepository(pool).list_calls(limit=None, server="sim"):
        if call.direction == "inbound":
            by_caller[call.caller] = (call, await repo.for_call("sim", call.linkedid))
    for caller in ("+3222000001", "+3222000002"):
        call, [r] = by_caller[caller]
        assert call.disposition == "answered" and r.status == "ready"
        assert call.talk_s is not None and r.duration_s == pytest.approx(call.talk_s, abs=0.5)
        data = (store / str(r.path)).read_bytes()
        assert r.size_bytes == len(data) and r.sha256 == hashlib.sha256(data).hexdigest()
        assert r.file_name in call.recordings and not r.short
    call, [r] = by_caller["+3222000003"]
    assert call.disposition == "abandoned" and (r.status, r.size_bytes) == ("empty", 44)
    assert not list(spool.iterdir())  # everything was moved into the store

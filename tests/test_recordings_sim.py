"""End to end: the simulator writes real WAVs; the daemon files them as the calls end."""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncpg
import pytest

from callcenter.ingest.daemon import Daemon
from callcenter.recordings.consumer import RecordingConsumer
from callcenter.settings import AmiServer, DatabaseSettings, RecordingSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.store.calls import CallRepository
from callcenter.store.recordings import RecordingRepository
from tests.support.wait import until


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
        await until(lambda: all(c.connected for c in daemon.clients.values()), timeout_s=10)
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
        await until(lambda: _filed(pool, 3), every_s=0.1)  # the recordings are filed
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


REAL2 = Path(__file__).parent / "traces" / "real2"


async def test_real_captures_link_each_recording_to_its_call(pool: asyncpg.Pool,
                                                             tmp_path: Path) -> None:
    """Every real2 capture through the tracker: the files the truth lists (made with the
    truth's sizes) are filed against their call as ready, or empty for 44-byte ones."""
    import json

    from callcenter.ingest.daemon import make_tracker
    from callcenter.ingest.pipeline_replay import ingest_items, read_capture
    from callcenter.sim.wav import write_wav

    spool = tmp_path / "monitor"
    rec = RecordingSettings(store_dir=str(tmp_path / "store"), local_dir=str(spool),
                            stable_wait_s=0, max_wait_s=0.2, retries=0)
    consumer = RecordingConsumer(rec, pool)
    expected: dict[str, int] = {}
    for capture in sorted(REAL2.glob("*.jsonl")):
        truth = json.loads(capture.with_name(capture.stem + ".expected.json").read_text())
        for call in truth["expected"]["calls"]:
            for name, size in call["recording_bytes"].items():
                assert write_wav(spool / name, (size - 44) / 16000) == size
                expected[name] = size
        await ingest_items(list(read_capture(capture)), "pbx2",
                           make_tracker("pbx2", Settings()), None, [consumer])
    await consumer.idle()
    rows = await pool.fetch("SELECT file_name, status, size_bytes, duration_s FROM recordings")
    assert len(rows) == len(expected)  # one row per file: none linked to two calls
    assert {r["file_name"]: r["size_bytes"] for r in rows} == expected
    for r in rows:
        assert r["status"] == ("empty" if r["size_bytes"] == 44 else "ready")
        assert r["duration_s"] == pytest.approx((r["size_bytes"] - 44) / 16000)

"""The daemon live over TCP (simulator / replay server) against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path
from typing import Any

import asyncpg

from callcenter.cli.calls_cmd import call_json
from callcenter.ingest.daemon import Daemon, default_consumers, make_tracker
from callcenter.ingest.pipeline_replay import ingest_items, rebuild
from callcenter.ingest.quietgc import NEVER
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import AmiServer, DatabaseSettings, Settings
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.proxy import CutProxy
from callcenter.sim.replay import ReplayServer
from callcenter.store.calls import CallRepository
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter
from tests.support.wait import until

TRACES = Path(__file__).parent / "traces"


def settings_for(port: int, spool: Path, name: str = "sim", reconnect_s: float = 0.05
                 ) -> Settings:
    return Settings(
        servers=[AmiServer(name=name, port=port, secret="secret", reconnect_min_s=reconnect_s,
                           reconnect_max_s=max(reconnect_s, 0.2))],
        database=DatabaseSettings(spool_dir=str(spool), batch_delay_s=0.01))


async def stored(pool: asyncpg.Pool, server: str) -> list[dict[str, Any]]:
    calls = await CallRepository(pool).list_calls(limit=None, server=server, newest_first=False)
    out = [call_json(c) for c in calls]
    for c in out:
        c.pop("server")
    return out


async def ended(pool: asyncpg.Pool, n: int, server: str = "sim") -> bool:
    got = await pool.fetchval("SELECT count(*) FROM calls WHERE server = $1 AND ended_at IS NOT"
                              " NULL", server)
    return bool(got >= n)


async def test_live_file_and_rebuild_give_the_same_records(pool: asyncpg.Pool,
                                                          tmp_path: Path) -> None:
    sim = PBXSimulator(seed=5, speed=40, keep_events=True)
    await sim.start()
    daemon = Daemon(settings_for(sim.port, tmp_path / "spool"), pool, log_calls=False)
    await daemon.start()
    try:
        await until(lambda: _connected(daemon))
        calls = [
            await sim.inbound_call("+3222000001", "800",
                                   agents={"agent1001": AgentScript(answer_after=4, talk=20)}),
            await sim.inbound_call("+3222000002", "801", patience=8,
                                   agents={a: AgentScript(answer_after=None)
                                           for a in ("agent1002", "agent1003")}),
            await sim.outbound_call("agent1003", "0032455", outcome="busy"),
        ]
        for c in calls:
            await c.wait()
        await until(lambda: ended(pool, len(calls)))
    finally:
        await daemon.stop()
        await sim.stop()
    live = await stored(pool, "sim")
    # the same events as a capture file, ingested under another server name
    items = [("frame", f, float(str(f.get("Timestamp", "0")))) for f in sim.events]
    writer = StoreWriter(pool, tmp_path / "spool2")
    await ingest_items(items, "file", make_tracker("file", Settings()), writer,
                       [StoreConsumer(writer)])
    await writer.close()
    assert await stored(pool, "file") == live
    assert {c["disposition"] for c in live} >= {"answered", "abandoned", "busy"}
    await rebuild(pool, lambda s: make_tracker(s, Settings()))
    assert await stored(pool, "sim") == live


async def _connected(daemon: Daemon) -> bool:
    return all(c.connected for c in daemon.clients.values())


async def test_replay_server_live_equals_file_replay(pool: asyncpg.Pool, tmp_path: Path) -> None:
    capture = TRACES / "real2" / "q_rna_twice.jsonl"
    server = ReplayServer(capture, fast=True)
    await server.start()
    # the replay server closes at the capture's end: do not reconnect (it would replay again)
    daemon = Daemon(settings_for(server.port, tmp_path / "spool", "pbx2", reconnect_s=60),
                    pool, log_calls=False)
    await daemon.start()
    try:
        n = len(server.capture.frames)
        await until(lambda: _fed(daemon, "pbx2", n))
    finally:
        await daemon.stop()
        await server.stop()
    from callcenter.ingest.pipeline_replay import read_capture

    writer = StoreWriter(pool, tmp_path / "spool2")
    await ingest_items(list(read_capture(capture)), "file", make_tracker("file", Settings()),
                       writer, [StoreConsumer(writer)])
    await writer.close()
    live = [c for c in await stored(pool, "pbx2") if c["direction"] != "internal"]
    assert live and live == [c for c in await stored(pool, "file")
                             if c["direction"] != "internal"]
    assert live[0]["disposition"] == "answered"


async def _fed(daemon: Daemon, name: str, n: int) -> bool:
    pipe = daemon.pipelines[name]
    return pipe.metrics.entries_in >= n and pipe.queue.empty()


async def test_connection_lost_mid_call_closed_incomplete_after_resync(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    sim = PBXSimulator(seed=2, speed=20)
    await sim.start()
    proxy = CutProxy.to_port(sim.port)
    await proxy.start()
    daemon = Daemon(settings_for(proxy.port, tmp_path), pool, log_calls=False)
    await daemon.start()
    try:
        await until(lambda: _connected(daemon))
        lost = await sim.inbound_call("+3222000009", "800",
                                      agents={"agent1001": AgentScript(answer_after=2, talk=30)})
        await until(lambda: _answered(pool))
        proxy.cut()  # the AMI link goes down; the call ends while we are blind
        await lost.wait()
        kept = await sim.inbound_call("+3222000010", "800",
                                      agents={"agent1002": AgentScript(answer_after=2, talk=30)})
        proxy.restore()  # reconnect + resync while `kept` is still up
        await kept.wait()
        await until(lambda: ended(pool, 2))
    finally:
        await daemon.stop()
        await proxy.stop()
        await sim.stop()
    calls = {c["caller"]: c for c in await stored(pool, "sim")}
    assert calls["+3222000009"]["disposition"] == "incomplete"
    assert calls["+3222000010"]["disposition"] == "answered"


async def _answered(pool: asyncpg.Pool) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM calls WHERE answered_at IS NOT NULL"))


async def test_garbage_on_the_wire_is_skipped(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A TCP server interleaving malformed frames with a real capture: the call is stored."""
    lines = [json.loads(x) for x in (TRACES / "real2" / "q_answer_fast.jsonl").read_text()
             .splitlines()]
    from callcenter.ami.protocol import serialize_frame

    frames = [serialize_frame(e["frame"]) for e in lines if "Event" in e.get("frame", {})]
    junk = [b"\x00\xff\xfe garbage without colon\r\n\r\n", b"Event: Hangup\r\nLinkedid\r\n\r\n",
            b"Event: \r\n\r\n"]
    data = b"".join(f + junk[i % 3] if i % 20 == 5 else f for i, f in enumerate(frames))

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        aid = next(x.split(b": ")[1] for x in head.split(b"\r\n") if x.startswith(b"ActionID"))
        writer.write(b"Response: Success\r\nActionID: " + aid + b"\r\nMessage: ok\r\n\r\n")
        writer.write(data)
        await asyncio.sleep(30)

    srv = await asyncio.start_server(on_client, "127.0.0.1", 0)
    daemon = Daemon(settings_for(srv.sockets[0].getsockname()[1], tmp_path, "pbx2", 60), pool,
                    log_calls=False)
    await daemon.start()
    try:
        await until(lambda: ended(pool, 1, "pbx2"))
    finally:
        await daemon.stop()
        srv.close()
    calls = [c for c in await stored(pool, "pbx2") if c["direction"] == "inbound"]
    assert [(c["disposition"], c["agent"]) for c in calls] == [("answered", "agent1001")]


async def answered_then_stopped(settings: Settings, pool: asyncpg.Pool, sim: PBXSimulator,
                                caller: str, agents: dict[str, AgentScript]) -> Any:
    """A daemon that sees ``caller``'s call to 800 answered, then stops; the call goes on."""
    first = Daemon(settings, pool, log_calls=False)
    await first.start()
    await until(lambda: _connected(first))
    call = await sim.inbound_call(caller, "800", agents=agents)
    await until(lambda: _answered(pool))
    await first.stop()
    return call


async def test_restart_closes_calls_the_previous_run_left_open(pool: asyncpg.Pool,
                                                              tmp_path: Path) -> None:
    """A call open when the daemon stopped, ended while it was down: incomplete, as rebuilt."""
    sim = PBXSimulator(seed=3, speed=20)
    await sim.start()
    settings = settings_for(sim.port, tmp_path)
    try:
        call = await answered_then_stopped(settings, pool, sim, "+3222000011", {
            "agent1001": AgentScript(answer_after=2, talk=30)})
        await call.wait()  # ends while nobody listens
        second = Daemon(settings, pool, log_calls=False)
        await second.start()
        await until(lambda: ended(pool, 1))
        await second.stop()
    finally:
        await sim.stop()
    [live] = await stored(pool, "sim")
    assert (live["caller"], live["disposition"], live["agent"]) == (
        "+3222000011", "incomplete", "agent1001")
    assert live["ended_at"] >= live["answered_at"]
    await rebuild(pool, lambda s: make_tracker(s, Settings()))
    assert await stored(pool, "sim") == [live]


async def test_a_restart_mid_call_resumes_it_from_the_journal_as_rebuild_does(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The daemon stops during a talk and is back before the hold and the hang-up: the
    call is followed as if it had never stopped (its record is what ``rebuild`` gives)."""
    sim = PBXSimulator(seed=3, speed=20)
    await sim.start()
    settings = settings_for(sim.port, tmp_path)
    try:
        call = await answered_then_stopped(settings, pool, sim, "+3222000012", {
            "agent1001": AgentScript(answer_after=2, talk=80, hold=(50, 10),
                                     attended_transfer_to="1003"),
            "agent1003": AgentScript(answer_after=2, talk=20)})
        second = Daemon(settings, pool, log_calls=False)
        await second.start()  # about 2.5 s (50 s simulated) before the hold
        assert call.linkedid in second.trackers["sim"].open_calls
        await call.wait()
        await until(lambda: ended(pool, 1))
        await second.stop()
    finally:
        await sim.stop()
    [live] = await stored(pool, "sim")
    # a hold while the daemon was down would not have been seen: hold is unknown (issue 18)
    assert live["disposition"] == "answered" and live["hold_s"] is None
    assert live["unknown"] == ["hold"] and live["talk_s"] is not None
    assert [t["type"] for t in live["transfers"]] == ["attended"], live
    await rebuild(pool, lambda s: make_tracker(s, Settings()))
    assert await stored(pool, "sim") == [live]


async def test_full_collections_wait_for_moments_without_ring_deadlines(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    settings = settings_for(1, tmp_path)
    daemon = Daemon(settings, pool, consumers=default_consumers(settings, pool), servers=[],
                    log_calls=False)
    enforcer = next(c for c in daemon.consumers if isinstance(c, RingEnforcer))
    assert daemon.gc.sources == [enforcer.quiet_for]
    before = gc.get_threshold()
    await daemon.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NEVER)
    finally:
        await daemon.stop()
    assert gc.get_threshold() == before

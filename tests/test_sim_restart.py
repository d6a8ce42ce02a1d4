"""The simulator's ``core restart now`` / ``core stop now`` against real3/j_core_restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from callcenter.ami.protocol import Frame
from callcenter.sim import AgentScript, PBXSimulator
from callcenter.sim.testing import SimClient
from tests.support.wait import until

TRACES = Path(__file__).parent / "traces" / "real3"
NO = AgentScript(answer_after=None)
ALL_RING = {a: NO for a in ("agent1001", "agent1002", "agent1003")}
SPEED = 100.0
TEARDOWN = {"SoftHangupRequest", "DialEnd", "AgentRingNoAnswer", "VarSet", "QueueCallerAbandon",
            "QueueCallerLeave", "Hangup", "AgentComplete", "BridgeLeave"}
NUMERIC = ("HoldTime", "RingTime")


def capture(name: str) -> list[Frame]:
    with (TRACES / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [e["frame"] for e in map(json.loads, fh) if "frame" in e]


def roles(frames: list[Frame]) -> dict[str, str]:
    """Channel name → role: ``caller1``.. in creation order, agent legs by endpoint."""
    out: dict[str, str] = {}
    callers = 0
    for f in frames:
        if f.get("Event") != "Newchannel":
            continue
        name = str(f["Channel"])
        if "/trunk-" in name:
            callers += 1
            out[name] = f"caller{callers}"
        else:
            out[name] = name.removeprefix("PJSIP/").rsplit("-", 1)[0]
    return out


def teardown(frames: list[Frame]) -> dict[str, list[tuple[str, ...]]]:
    """Per channel role, the events from the first SoftHangupRequest Cause 4 on
    (name + status/cause/position fields; ``HoldTime``/``RingTime`` kept apart)."""
    names = roles(frames)
    start = next(i for i, f in enumerate(frames)
                 if f.get("Event") == "SoftHangupRequest" and f.get("Cause") == "4")
    out: dict[str, list[tuple[str, ...]]] = {}
    for f in frames[start:]:
        event = str(f.get("Event"))
        if event not in TEARDOWN or str(f.get("Channel")) not in names:
            continue
        if event == "VarSet" and f["Variable"] not in ("ABANDONED", "QUEUESTATUS"):
            continue
        keys = ("Cause", "DialStatus", "Value", "Position", "OriginalPosition", "Count", "Reason")
        item = (event, *(f"{k}={f[k]}" for k in keys if k in f),
                *(f"dest={names.get(str(f['DestChannel']), '')}" for _ in [0] if "DestChannel" in f))
        out.setdefault(names[str(f["Channel"])], []).append(item)
    return out


def numbers(frames: list[Frame]) -> dict[tuple[str, str], int]:
    names = roles(frames)
    return {(names[str(f["Channel"])], k): int(f[k]) for f in frames
            if f.get("Event") in ("QueueCallerAbandon", "AgentRingNoAnswer")
            for k in NUMERIC if k in f}


async def read_to_eof(client: SimClient, timeout: float = 10.0) -> list[Frame]:
    """Every frame until the server closes the connection."""
    frames: list[Frame] = []
    while (frame := await client.read_frame(timeout)) is not None:
        frames.append(frame)
    return frames


async def four_callers_ringing(sim: PBXSimulator) -> None:
    """j_core_restart: four callers 1 s apart, three ring an agent each, one waits
    (on logical time only, so a loaded machine does not let the first ring time out)."""
    sim.scheduled = True
    for i in range(4):
        await sim.inbound_call(f"1380000010{i + 1}", "800", agents=ALL_RING,
                               caller_name=f"Cust 1380000010{i + 1}")
        await sim.advance(1.0)
    await sim.advance(10.5)


async def test_restart_ends_waiting_and_ringing_callers_as_real_asterisk() -> None:
    # HoldTime/RingTime are compared to the second: at speed 100 a 20 ms stall of a loaded
    # machine is 2 simulated seconds, at speed 20 it is 0.4 s
    async with PBXSimulator(speed=20, keep_events=True, restart_delay_s=1.0) as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        await four_callers_ringing(sim)
        restart = asyncio.create_task(sim.restart())
        frames = await read_to_eof(client)
        await restart
    real = capture("j_core_restart")
    assert teardown(sim.events) == teardown(real)
    ours, theirs = numbers(sim.events), numbers(real)
    assert ours.keys() == theirs.keys()
    assert all(abs(ours[k] - theirs[k]) <= (1000 if k[1] == "RingTime" else 1) for k in ours)
    shutdown = frames[-1]
    assert {k: shutdown[k] for k in ("Event", "Privilege", "Shutdown", "Restart")} == {
        "Event": "Shutdown", "Privilege": "system,all", "Shutdown": "Cleanly", "Restart": "True"}
    assert not any(f.get("Variable") == "QUEUESTATUS" for f in sim.events)
    hangups = [f for f in frames if f.get("Event") == "Hangup"]
    assert len(hangups) == 7 and frames.index(hangups[-1]) < len(frames) - 1


async def test_after_a_restart_a_fresh_pbx_takes_logins_and_calls() -> None:
    async with PBXSimulator(speed=SPEED, systemname="pbx4", keep_events=True,
                            restart_delay_s=2.0) as sim:
        first = await sim.inbound_call("13800000101", "800", agents=ALL_RING)
        await sim.advance(30)
        await sim.restart()
        client = await SimClient.connect(sim.port)
        await client.login()
        booted = await client.read_frame()
        assert booted is not None and booted["Event"] == "FullyBooted"
        assert int(booted["Uptime"]) <= 1 and booted["LastReload"] == booted["Uptime"]
        call = await sim.inbound_call("13800000102", "800",
                                      agents={"agent1001": AgentScript(1, 2)})
        assert await asyncio.wait_for(call.wait(), 5) == "answered"
        members = await client.action({"Action": "QueueStatus", "Queue": "support"})
        await client.close()
    assert first.linkedid.endswith(".0") and call.linkedid.endswith(".0")
    assert int(call.linkedid.split("-")[1].split(".")[0]) >= int(sim.pbx.started)
    assert call.channel == "PJSIP/trunk-00000000"
    listed = [f for f in members if f.get("Event") == "QueueMember"]
    assert len(listed) == 3 and {f["Paused"] for f in listed} == {"0"}
    assert all(int(f["LoginTime"]) == int(sim.pbx.started) for f in listed)


async def test_restart_hangs_up_an_answered_call() -> None:
    async with PBXSimulator(speed=SPEED, keep_events=True, restart_delay_s=0.5) as sim:
        call = await sim.inbound_call("13800000201", "800",
                                      agents={"agent1001": AgentScript(1, 300)})
        await sim.advance(5)
        await sim.restart()
        assert call.task.done()
    after = teardown(sim.events)
    assert after["caller1"] == [
        ("SoftHangupRequest", "Cause=4"), ("AgentComplete", "Reason=caller", "dest=agent1001"),
        ("BridgeLeave",), ("Hangup", "Cause=0")]
    assert after["agent1001"] == [("SoftHangupRequest", "Cause=4"), ("BridgeLeave",),
                                  ("SoftHangupRequest", "Cause=16"), ("Hangup", "Cause=0")]


@pytest.mark.parametrize(("write", "answer"), [("call,agent,command", None),
                                                ("call,agent", "Permission denied")])
async def test_core_stop_now_by_ami_command(write: str, answer: str | None) -> None:
    """command_core_stop.ccuser: with the command class, no response and the socket closes;
    a session not reading ``system`` gets no FullyBooted and no Shutdown."""
    async with PBXSimulator(speed=SPEED, read="call,agent,dialplan", write=write) as sim:
        client = await SimClient.connect(sim.port)
        reply = await client.login()
        assert reply["Message"] == "Authentication accepted"
        client.writer.write(b"Action: Command\r\nCommand: core  stop now\r\nActionID: s\r\n\r\n")
        if answer is None:
            frames = await read_to_eof(client)
            assert [f for f in frames if "Response" in f or f.get("Event") in (
                "FullyBooted", "Shutdown")] == []
            assert not sim.up
            with pytest.raises(OSError):
                await asyncio.open_connection("127.0.0.1", sim.port)
        else:
            frame = await client.read_frame()
            assert frame == {"Response": "Error", "ActionID": "s", "Message": answer}
            assert sim.up
            await client.close()


async def test_core_restart_now_by_ami_command_comes_back() -> None:
    async with PBXSimulator(speed=SPEED, restart_delay_s=1.0) as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        client.writer.write(b"Action: Command\r\nCommand: core restart now\r\n\r\n")
        frames = await read_to_eof(client)
        assert frames[-1]["Event"] == "Shutdown" and frames[-1]["Restart"] == "True"
        await until(lambda: sim.up and sim._server is not None)
        again = await SimClient.connect(sim.port)
        assert (await again.login())["Message"] == "Authentication accepted"
        await again.close()


async def test_daemon_records_callers_cut_by_a_restart_as_failed(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """End to end: the daemon sees the restart, files waiting callers as failed with their
    rings cancelled, and reconnects to the restarted PBX."""
    from callcenter.ingest.daemon import Daemon
    from callcenter.settings import AmiServer, DatabaseSettings, Settings

    sim = PBXSimulator(speed=20, restart_delay_s=1.0)
    await sim.start()
    settings = Settings(
        servers=[AmiServer(name="sim", port=sim.port, secret="secret", reconnect_min_s=0.05,
                           reconnect_max_s=0.2)],
        database=DatabaseSettings(spool_dir=str(tmp_path / "spool"), batch_delay_s=0.01))
    daemon = Daemon(settings, pool, log_calls=False)
    await daemon.start()
    try:
        await until(lambda: all(c.connected for c in daemon.clients.values()))
        for i in range(3):
            await sim.inbound_call(f"1380000030{i}", "800", agents=ALL_RING)
        await sim.advance(1.0)
        await sim.restart()
        await until(lambda: all(c.connected for c in daemon.clients.values()))
        await until(lambda: _ended(pool, 3))
        later = await sim.inbound_call("13800000399", "800",
                                       agents={"agent1002": AgentScript(1, 2)})
        await later.wait()
        await until(lambda: _ended(pool, 4))
    finally:
        await daemon.stop()
        await sim.stop()
    rows = await pool.fetch("SELECT caller, disposition, incomplete_reason, linkedid FROM calls")
    calls = {r["caller"]: r for r in rows}
    cut = [calls[f"1380000030{i}"] for i in range(3)]
    assert {r["disposition"] for r in cut} == {"failed"}
    assert all("restart" in (r["incomplete_reason"] or "") for r in cut)
    rings = await pool.fetch("SELECT linkedid, outcome FROM ring_attempts")
    cut_ids = {r["linkedid"] for r in cut}
    assert {r["outcome"] for r in rings if r["linkedid"] in cut_ids} == {"cancelled"}
    assert calls["13800000399"]["disposition"] == "answered"


async def _ended(pool: asyncpg.Pool, n: int) -> bool:
    got = await pool.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL")
    return bool(got >= n)

"""The simulator's event streams against the real Asterisk 22 captures.

Each test scripts the scenario of a capture and compares the sequence of the
call-relevant events (names and key fields, in order) with the capture's.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from callcenter.ami.protocol import Frame
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.testing import SimClient
from tests.support.sim import (
    KEY,
    NO,
    capture_frames,
    make_sim,
    summary,
    wait_for,
)

TRACES = Path(__file__).parent / "traces"


@pytest.mark.parametrize(
    ("capture", "did", "scripts", "patience", "skip"),
    [
        ("real2/q_rna_twice", "800",
         {"agent1001": NO, "agent1002": NO, "agent1003": AgentScript(5, 10)}, None, set()),
        ("real2/q_answer_fast", "802", {"agent1001": AgentScript(2, 8)}, None, set()),
        ("real2/q_answer_near_limit", "800", {"agent1001": AgentScript(13, 9)}, None, set()),
        ("real2/q_caller_hangup_while_ringing", "800", {"agent1001": NO}, 9.0, set()),
        ("real2/direct_late_answer", "1002", {"agent1002": AgentScript(20, 8)}, None, set()),
        ("real2/direct_no_answer_to_queue", "1003",
         {"agent1003": NO, "agent1001": AgentScript(4, 8)}, None, set()),
        ("real2/hold_unhold", "800", {"agent1001": AgentScript(3, 15, hold=(4, 6))}, None, set()),
        ("real/inbound_abandon_ringall", "801", {"agent1002": NO, "agent1003": NO}, 12.0,
         {"Hangup"}),  # the legs' Hangups interleave with app_queue's thread,
    ],
)
async def test_inbound_scenarios_match_captures(
    capture: str, did: str, scripts: dict[str, AgentScript], patience: float | None,
    skip: set[str],
) -> None:
    async with make_sim() as sim:
        handle = await sim.inbound_call("+3226550201", did, agents=scripts, patience=patience)
        await asyncio.wait_for(handle.wait(), 5)
    keys = KEY - skip
    assert summary(sim.events, keys) == summary(capture_frames(capture), keys)
    assert all(f["Linkedid"] == handle.linkedid for f in sim.events if "Linkedid" in f)


async def test_queue_timeout_with_all_paused_matches_capture() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        for n in (1, 2, 3):
            reply = await client.action({"Action": "QueuePause", "Queue": "support",
                                         "Interface": f"PJSIP/agent100{n}", "Paused": "true",
                                         "Reason": "Lunch"})
            assert reply[0]["Message"] == "Interface paused successfully"
        handle = await sim.inbound_call("+3225550101", "800")
        assert await asyncio.wait_for(handle.wait(), 5) == "timeout"
        for n in (1, 2, 3):
            await client.action({"Action": "QueuePause", "Queue": "support",
                                 "Interface": f"PJSIP/agent100{n}", "Paused": "false"})
        await client.close()
    assert summary(sim.events) == summary(capture_frames("real/inbound_all_paused_timeout"))
    status = [f for f in sim.events if f["Event"] == "VarSet" and f["Variable"] == "QUEUESTATUS"]
    assert [f["Value"] for f in status] == ["TIMEOUT"]
    abandon = next(f for f in sim.events if f["Event"] == "QueueCallerAbandon")
    assert abandon["HoldTime"] == "60"


@pytest.mark.parametrize(
    ("capture", "outcome", "ring"),
    [("real/outbound", "answer", 4.0), ("real2/out_busy", "busy", 0.0),
     ("real2/out_no_answer", "no_answer", 25.0)],
)
async def test_outbound_matches_captures(capture: str, outcome: str, ring: float) -> None:
    async with make_sim() as sim:
        handle = await sim.outbound_call("agent1001", "900326660701", outcome=outcome, ring=ring)
        assert await asyncio.wait_for(handle.wait(), 5) == ("answered" if outcome == "answer" else outcome)
    assert summary(sim.events) == summary(capture_frames(capture))
    hangups = {f["Channel"].split("-")[0]: (f["Cause"], f.get("TechCause")) for f in sim.events
               if f["Event"] == "Hangup"}
    expected = {f["Channel"].split("-")[0]: (f["Cause"], f.get("TechCause"))
                for f in capture_frames(capture) if f.get("Event") == "Hangup"}
    assert hangups == expected


async def test_blind_transfer_by_ami_matches_capture() -> None:
    scripts = {"agent1001": AgentScript(4, 1000), "agent1003": AgentScript(5, 10)}
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        handle = await sim.inbound_call("+3225550101", "800", agents=scripts)
        connect = await wait_for(sim, lambda f: f["Event"] == "AgentConnect")
        await sim.advance(8)
        reply = await client.action({"Action": "BlindTransfer", "Channel": connect["DestChannel"],
                                     "Context": "internal", "Exten": "1003"})
        assert reply[0]["Message"] == "Transfer succeeded"
        await asyncio.wait_for(handle.wait(), 5)
        await client.close()
    assert summary(sim.events) == summary(capture_frames("real/blind_transfer_ami"))
    complete = next(f for f in sim.events if f["Event"] == "AgentComplete")
    assert complete["Reason"] == "transfer"


async def test_attended_transfer_by_ami() -> None:
    scripts = {"agent1001": AgentScript(2, 1000), "agent1003": AgentScript(3, 12)}
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        handle = await sim.inbound_call("+3226550901", "800", agents=scripts)
        connect = await wait_for(sim, lambda f: f["Event"] == "AgentConnect")
        reply = await client.action({"Action": "Atxfer", "Channel": connect["DestChannel"],
                                     "Exten": "1003", "Context": "internal"})
        assert reply[0]["Message"] == "Atxfer successfully queued"
        await asyncio.wait_for(handle.wait(), 5)
        await client.close()
    keys = {"AgentConnect", "Hold", "AttendedTransfer", "AgentComplete"}
    assert summary(sim.events, keys) == summary(capture_frames("real2/attended_transfer"), keys)
    xfer = next(f for f in sim.events if f["Event"] == "AttendedTransfer")
    fields = json.loads((TRACES / "real2/event_fields.json").read_text())["AttendedTransfer"]["keys"]
    assert list(xfer) == fields
    locals_ = [f for f in sim.events if f["Event"] == "Newchannel" and f["Channel"].startswith("Local/")]
    assert [f["Linkedid"] for f in locals_] == [handle.linkedid] * 2
    target = [f for f in sim.events if f["Event"] == "Newchannel" and "agent1003" in f["Channel"]]
    assert target and target[0]["Linkedid"] == handle.linkedid


def test_event_fields_match_the_captures() -> None:
    """Every event type the simulator emits has the captures' field names, in order."""

    async def run() -> list[Frame]:
        scripts = {"agent1001": AgentScript(None), "agent1002": AgentScript(3, 6, hold=(1, 2),
                   blind_transfer_to="1003"), "agent1003": AgentScript(2, 3)}
        async with make_sim() as sim:
            await (await sim.inbound_call("+3222", "800", agents=scripts)).wait()
            await (await sim.outbound_call("agent1001", "9003", outcome="busy")).wait()
            await (await sim.inbound_call("+3223", "800", agents={"agent1003": NO}, patience=3)).wait()
            sim.agent_pause("agent1001", True, "x")
            sim.agent_login("agent1001", "sales")
            sim.agent_logout("agent1001", "sales")
        return sim.events

    events = asyncio.run(run())
    known: dict[str, list[str]] = {}
    for name in ("real2", "real"):
        for ev, spec in json.loads((TRACES / name / "event_fields.json").read_text()).items():
            known.setdefault(ev, spec["keys"])
    optional = {"Cause", "TechCause", "SwapUniqueid"}  # present only on some instances
    checked = set()
    for f in events:
        if f["Event"] not in known:
            continue
        want = known[f["Event"]]
        if "Timestamp" not in want:  # first seen in a capture without timestamps
            want = [*want[:2], "Timestamp", *want[2:]]
        assert list(f) == [k for k in want if k in f], f["Event"]
        assert set(want) - set(f) <= optional, f["Event"]
        checked.add(f["Event"])
    assert {"AgentCalled", "AgentRingNoAnswer", "BlindTransfer", "Hold", "QueueMemberAdded",
            "QueueCallerAbandon", "MixMonitorStart", "Hangup", "VarSet"} <= checked


async def test_timestamps_are_simulated_time() -> None:
    """At speed 60 a 15 s member timeout takes 0.25 s of wall time, 15 s of Timestamp."""
    loop = asyncio.get_running_loop()
    async with PBXSimulator(speed=60, keep_events=True) as sim:
        t0 = loop.time()
        handle = await sim.inbound_call("+3222", "800", agents={"agent1001": NO}, patience=16)
        await handle.wait()
        wall = loop.time() - t0
    ring = next(f for f in sim.events if f["Event"] == "DialState")
    rna = next(f for f in sim.events if f["Event"] == "AgentRingNoAnswer")
    assert 14.9 <= float(rna["Timestamp"]) - float(ring["Timestamp"]) <= 16.5
    assert 0.2 <= wall < 1.0
    stamps = [float(f["Timestamp"]) for f in sim.events]
    assert stamps == sorted(stamps)
    assert all(len(f["Timestamp"].split(".")[1]) == 6 for f in sim.events)


async def test_seed_makes_runs_repeatable() -> None:
    from callcenter.sim.scenario import run_random

    async def one() -> list[tuple[str, ...]]:
        async with PBXSimulator(speed=3000, keep_events=True, seed=7,
                                config=SimConfig.default(6)) as sim:
            await run_random(sim, 240, duration=3600)
            await sim.advance(1200)
        return sim.events

    first, second = await one(), await one()
    names = {str(f["Event"]) for f in first}
    assert {"AgentConnect", "AgentRingNoAnswer", "QueueCallerAbandon", "DialEnd", "Hold",
            "BlindTransfer", "QueueMemberPause"} <= names

    def arrivals(events: list[Frame]) -> list[tuple[str, str]]:
        return [(str(f["CallerIDNum"]), str(f["Exten"])) for f in events
                if f["Event"] == "Newchannel" and f["Context"] == "from-trunk"
                and f["ChannelState"] == "4"]

    # the arrivals and the scripts are drawn from the seed; the interleaving of
    # simultaneous events (and so whether an agent is free for an outbound call)
    # follows the wall clock
    n = min(len(arrivals(first)), len(arrivals(second)))
    assert n > 50
    assert arrivals(first)[:n] == arrivals(second)[:n]

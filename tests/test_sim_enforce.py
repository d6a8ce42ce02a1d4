"""The simulator reacts to enforcement actions the way the enforce/ captures show."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.testing import SimClient
from tests.support.sim import KEY, NO, capture_frames, make_sim, ringing, summary, wait_for
from tests.support.wait import until

# enforce/ used a queue "enforce" with agent1001, agent1002 and a member timeout longer than
# the 15 s after which the daemon hung up the ringing leg
SCRIPTS = {"agent1001": NO, "agent1002": AgentScript(3, 8), "agent1003": NO}


def enforce_config() -> SimConfig:
    config = SimConfig.default()
    config.queues[0].timeout = 30.0
    return config


async def _hangup_ringing(sim: PBXSimulator, endpoint: str, extra: dict[str, str]) -> list:
    client = await SimClient.connect(sim.port)
    await client.login()
    ring = await wait_for(sim, ringing(endpoint))
    await sim.advance(15.0)
    reply = await client.action({"Action": "Hangup", "Channel": ring["DestChannel"], **extra})
    await client.close()
    return reply


@pytest.mark.parametrize(
    ("capture", "cause"),
    [("enforce/enforce_queue_hangup", "19"), ("enforce/enforce_queue_hangup_nocause", None)],
)
async def test_hangup_of_ringing_queue_leg_offers_next_member(capture: str, cause: str | None) -> None:
    async with make_sim(config=enforce_config()) as sim:
        handle = await sim.inbound_call("+322870101", "800", agents=SCRIPTS)
        reply = await _hangup_ringing(sim, "agent1001", {"Cause": cause} if cause else {})
        assert reply[0]["Response"] == "Success" and reply[0]["Message"] == "Channel Hungup"
        await asyncio.wait_for(handle.wait(), 5)
    keys = KEY - {"MixMonitorStart"}  # the enforce queue did not record
    assert summary(sim.events, keys) == summary(capture_frames(capture), keys)
    rna = next(f for f in sim.events if f["Event"] == "AgentRingNoAnswer")
    hangup = next(f for f in sim.events if f["Event"] == "Hangup")
    called = next(f for f in sim.events if f["Event"] == "AgentCalled")
    rang_s = float(hangup["Timestamp"]) - float(called["Timestamp"])  # 15 s + the test's latency
    assert int(rna["RingTime"]) >= 15000 and abs(int(rna["RingTime"]) / 1000 - rang_s) < 0.5
    assert hangup["Cause"] == (cause or "0")
    nxt = [f for f in sim.events if f["Event"] == "AgentCalled"][1]
    # app_queue offers the next member at once: its retry (2 s) is skipped
    assert float(nxt["Timestamp"]) - float(hangup["Timestamp"]) < 0.5
    connect = next(f for f in sim.events if f["Event"] == "AgentConnect")
    assert connect["Interface"] == "PJSIP/agent1002"


async def test_hangup_counts_for_autopause() -> None:
    config = enforce_config()
    config.queues[0].autopause = True
    async with make_sim(config=config) as sim:
        handle = await sim.inbound_call("+322870201", "800", agents=SCRIPTS)
        await _hangup_ringing(sim, "agent1001", {"Cause": "19"})
        await asyncio.wait_for(handle.wait(), 5)
    names = [f["Event"] for f in sim.events if f["Event"] in ("AgentRingNoAnswer", "QueueMemberPause", "Hangup")]
    assert names[:3] == ["AgentRingNoAnswer", "QueueMemberPause", "Hangup"]
    pause = next(f for f in sim.events if f["Event"] == "QueueMemberPause")
    assert (pause["Queue"], pause["Paused"], pause["PausedReason"]) == ("support", "1", "Auto-Pause")


@pytest.mark.parametrize(
    ("capture", "cause", "dialstatus", "outcome"),
    [("enforce/enforce_direct_hangup_agent", "19", "NOANSWER", "answered"),
     ("enforce/enforce_direct_hangup_agent_nocause", None, "CHANUNAVAIL", "no_answer")],
)
async def test_hangup_of_direct_dial_leg(capture: str, cause: str | None, dialstatus: str,
                                         outcome: str) -> None:
    scripts = {"agent1002": NO, "agent1001": AgentScript(4, 8)}
    async with make_sim() as sim:
        handle = await sim.inbound_call("+322870501", "1002", agents=scripts)
        await _hangup_ringing(sim, "agent1002", {"Cause": cause} if cause else {})
        assert await asyncio.wait_for(handle.wait(), 5) == outcome
    assert summary(sim.events) == summary(capture_frames(capture))
    statuses = [f["Value"] for f in sim.events if f["Event"] == "VarSet" and f["Variable"] == "DIALSTATUS"]
    assert dialstatus in statuses


@pytest.mark.parametrize(
    ("capture", "exten", "priority", "recordings"),
    [("enforce/enforce_direct_redirect_label", "1002", "toqueue", 1),
     ("enforce/enforce_direct_redirect", "800", "1", 2)],
)
async def test_redirect_of_direct_dial_into_the_queue(capture: str, exten: str, priority: str,
                                                      recordings: int) -> None:
    scripts = {"agent1002": NO, "agent1001": AgentScript(4, 8)}
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        handle = await sim.inbound_call("+322870901", "1002", agents=scripts)
        await wait_for(sim, ringing("agent1002"))
        await sim.advance(15.0)
        reply = await client.action({"Action": "Redirect", "Channel": handle.channel,
                                     "Context": "from-trunk", "Exten": exten, "Priority": priority})
        assert reply[0]["Message"] == "Redirect successful"
        assert await asyncio.wait_for(handle.wait(), 5) == "answered"
        await client.close()
    assert summary(sim.events) == summary(capture_frames(capture))
    assert sum(f["Event"] == "MixMonitorStart" for f in sim.events) == recordings
    join = next(f for f in sim.events if f["Event"] == "QueueCallerJoin")
    assert join["Queue"] == "support"


async def test_queue_pause_without_queue_pauses_every_membership() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        reply = await client.action({"Action": "QueuePause", "Interface": "PJSIP/agent1002",
                                     "Paused": "true", "Reason": "ring-no-answer"})
        assert reply[0]["Message"] == "Interface paused successfully"
        status = await client.action({"Action": "QueueStatus", "Member": "PJSIP/agent1002"})
        reply = await client.action({"Action": "QueuePause", "Interface": "PJSIP/agent1002",
                                     "Paused": "false"})
        assert reply[0]["Message"] == "Interface unpaused successfully"
        await until(lambda: sum(f["Event"] == "QueueMemberPause" for f in sim.events) == 6)
        await client.close()
    pauses = [(f["Queue"], f["Paused"], f["PausedReason"]) for f in sim.events
              if f["Event"] == "QueueMemberPause"]
    assert pauses == [("support", "1", "ring-no-answer"), ("sales", "1", "ring-no-answer"),
                      ("billing", "1", "ring-no-answer"), ("support", "0", ""),
                      ("sales", "0", ""), ("billing", "0", "")]
    members = [f for f in status if f.get("Event") == "QueueMember"]
    assert len(members) == 3
    assert all(m["Paused"] == "1" and m["PausedReason"] == "ring-no-answer" for m in members)
    assert all("Timestamp" not in f and "Privilege" not in f for f in status)


async def test_stale_actions_get_the_real_errors() -> None:
    async with make_sim() as sim:
        client = await SimClient.connect(sim.port)
        await client.login()
        handle = await sim.inbound_call("+322871001", "800",
                                        agents={"agent1001": AgentScript(1, 1)})
        await handle.wait()
        gone = "PJSIP/agent1001-00000001"
        for extra in ({"Cause": "19"}, {}):
            reply = await client.action({"Action": "Hangup", "Channel": gone, **extra})
            assert (reply[0]["Response"], reply[0]["Message"]) == ("Error", "No such channel")
        reply = await client.action({"Action": "Hangup", "Channel": "/^PJSIP\\/agent1001-00000001$/",
                                     "Cause": "19"})
        assert reply[0]["Message"] == "Channels hung up will follow"
        assert reply[-1]["Event"] == "ChannelsHungupListComplete" and reply[-1]["ListItems"] == "0"
        reply = await client.action({"Action": "Redirect", "Channel": handle.channel,
                                     "Context": "from-trunk", "Exten": "800", "Priority": "1"})
        assert reply[0]["Message"] == f"Channel does not exist: {handle.channel}"
        reply = await client.action({"Action": "QueuePause", "Interface": "PJSIP/agent1009",
                                     "Paused": "true", "Reason": "ring-no-answer"})
        assert (reply[0]["Response"], reply[0]["Message"]) == ("Error", "Interface not found")
        await client.close()

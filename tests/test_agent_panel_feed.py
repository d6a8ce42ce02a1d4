"""The agent feed: each agent gets their own events; slow panels lose the oldest, not the daemon."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.agentpanel.feed import AgentFeed
from callcenter.calls.model import (
    AgentStateChanged,
    CallEnded,
    CallRecord,
    CallStarted,
    RingAttempt,
    RingEnded,
    RingStarted,
)

AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def ring(agent: str, linkedid: str = "1.1") -> RingStarted:
    attempt = RingAttempt(agent=agent, interface=f"PJSIP/{agent}", started_at=AT,
                          queue="support")
    return RingStarted("pbx1", AT, linkedid, attempt, "PJSIP/trunk-1", False)


def state(agent: str, paused: bool) -> AgentStateChanged:
    return AgentStateChanged("pbx1", AT, f"PJSIP/{agent}", agent, None, "support",
                             "paused" if paused else "available", paused,
                             "lunch" if paused else None, True)


async def test_events_go_to_the_agent_they_concern() -> None:
    feed = AgentFeed()
    call = CallRecord("pbx1", "1.1", AT, caller="+8613800000001", caller_name="Wang")
    with feed.subscribe("agent1001") as alice, feed.subscribe("agent1002") as bob:
        await feed.on_facts([CallStarted("pbx1", AT, call), ring("agent1001"),
                             state("agent1002", True)])
        event = alice.get_nowait()
        assert event is not None and (event["type"], event["caller"], event["queue"]) == (
            "ring", "+8613800000001", "support")
        assert alice.empty()
        other = bob.get_nowait()
        assert other is not None and (other["type"], other["reason"]) == ("state", "lunch")
        # a panel opened while the phone rings gets the ring first
        with feed.subscribe("agent1001") as late:
            assert late.get_nowait() == event
        attempt = RingAttempt(agent="agent1001", interface="PJSIP/agent1001", started_at=AT,
                              outcome="answered")
        call.agent, call.ring_attempts = "agent1001", [attempt]
        await feed.on_facts([RingEnded("pbx1", AT, "1.1", attempt), CallEnded("pbx1", AT, call)])
        assert [e["type"] for e in (alice.get_nowait(), alice.get_nowait()) if e] == [
            "ring_end", "ended"]
        assert feed.ringing == {} and bob.empty()
    assert feed.subscribers("agent1001") == 0


async def test_a_slow_panel_loses_its_oldest_events_and_shutdown_ends_streams() -> None:
    feed = AgentFeed(maxsize=3)
    with feed.subscribe("agent1001") as queue:
        await feed.on_facts([state("agent1001", i % 2 == 0) for i in range(10)])
        kept = [queue.get_nowait() for _ in range(3)]
        assert [e["paused"] for e in kept if e] == [False, True, False]
        feed.close_subscribers()
        assert queue.get_nowait() is None

"""Ringing told from talking by the call facts, on real captures where Asterisk reports a
ringing phone as busy (real3: the shipped pjsip.conf with ``device_state_busy_at = 1``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    Fact,
    RingEnded,
    RingStarted,
)
from callcenter.calls.tracker import CallTracker
from callcenter.ingest.pipeline import apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.kpis import ServiceLevelRules
from callcenter.live.state import LiveState

REAL3 = Path(__file__).parent / "traces" / "real3"


def status_at_agent_called(capture: str) -> set[str]:
    """The QueueMemberStatus ``Status`` values of the rung interfaces while they ring."""
    rung: set[str] = set()
    statuses: set[str] = set()
    for kind, body, _ in read_capture(REAL3 / f"{capture}.jsonl"):
        event = body.get("Event") if kind == "frame" else None
        if event == "AgentCalled":
            rung.add(body["Interface"])
        elif event == "DialEnd":  # the first answer or cancel
            break
        elif event == "QueueMemberStatus" and body["Interface"] in rung:
            statuses.add(body["Status"])
    return statuses


def board_after_each_fact(capture: str) -> Iterator[tuple[Fact, dict[str, Any]]]:
    """Each fact of ``capture`` with the board's snapshot right after it."""
    tracker = CallTracker("pbx3")
    live: LiveState | None = None
    for kind, body, t in read_capture(REAL3 / f"{capture}.jsonl"):
        for f in apply_entry(tracker, kind, body, t):
            if live is None:
                live = LiveState(ServiceLevelRules(), "UTC", lambda start=f.at: start)
            live.apply([f])
            yield f, live.snapshot(str)


def agent(snap: dict[str, Any], name: str) -> dict[str, Any]:
    return next((a for a in snap["agents"] if a["agent"] == name), {"state": "absent"})


def queue(snap: dict[str, Any], name: str) -> dict[str, int]:
    counts: dict[str, int] = next(q for q in snap["queues"] if q["name"] == name)["agents"]
    return counts


def test_the_capture_reports_a_ringing_phone_as_busy() -> None:
    assert status_at_agent_called("a_queue_answer") == {"3"}
    assert status_at_agent_called("h_sales_ringall") == {"3"}


def test_a_ringing_agent_shows_ringing_until_the_answer() -> None:
    """real3/a: agent1002 rung (device BUSY) for 1.5 s, then answers."""
    seen = []
    for f, snap in board_after_each_fact("a_queue_answer"):
        a = agent(snap, "agent1002")
        if isinstance(f, AgentStateChanged) and f.agent == "agent1002" and f.state == "on_call":
            assert a["state"] == "ringing", a
            assert a["since"] is not None and a["call"] is None
            assert queue(snap, "support")["ringing"] == 1
            assert queue(snap, "support")["on_call"] == 0
            seen.append("ringing")
        elif isinstance(f, CallAnswered):
            assert a["state"] == "on_call"
            assert a["since"] == f.at.isoformat()  # from the answer, not from the ring
            assert queue(snap, "support")["on_call"] == 1
            assert queue(snap, "support")["ringing"] == 0
            seen.append("on_call")
        elif isinstance(f, CallEnded):
            assert a["state"] == "available"
            seen.append("available")
    assert seen == ["ringing", "ringing", "on_call", "available"]


def test_ring_all_shows_both_ringing_then_one_talking() -> None:
    """real3/h: sales rings agent1003 and agent1002; agent1003 answers, agent1002's ring is
    cancelled."""
    states: list[tuple[str, str, str]] = []
    for f, snap in board_after_each_fact("h_sales_ringall"):
        if isinstance(f, RingStarted | RingEnded | CallAnswered | AgentStateChanged):
            now = (agent(snap, "agent1003")["state"], agent(snap, "agent1002")["state"])
            if not states or states[-1][1:] != now:
                states.append((type(f).__name__, *now))
    assert states == [
        ("RingStarted", "ringing", "absent"),
        ("RingStarted", "ringing", "ringing"),
        ("RingEnded", "on_call", "ringing"),      # agent1003 answered
        ("RingEnded", "on_call", "on_call"),      # agent1002's ring cancelled, still busy
        ("AgentStateChanged", "on_call", "available"),
        ("AgentStateChanged", "available", "available"),
    ]

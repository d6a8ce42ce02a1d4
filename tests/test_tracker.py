"""The call tracker alone (no sockets, no database): captures and simulator events in, records out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from callcenter.calls.model import AgentStateChanged, CallEnded, CallRecord, Fact, RingRule
from callcenter.calls.replay import record_to_json
from callcenter.calls.tracker import CallTracker
from callcenter.pipeline import Item, apply_entry
from callcenter.pipeline_replay import read_capture
from callcenter.sim import AgentScript, PBXSimulator
from tests.test_ringrule_sim import config

TRACES = Path(__file__).parent / "traces"


def track(items: Iterable[Item], tracker: CallTracker) -> list[CallRecord]:
    """Feed ``items`` to ``tracker``: the calls that ended, in order, then those still open."""
    ended = [f.call for kind, body, t in items for f in apply_entry(tracker, kind, body, t)
             if isinstance(f, CallEnded)]
    return ended + list(tracker.open_calls.values())


def replay(capture: str, tracker: CallTracker | None = None) -> list[dict[str, Any]]:
    """The calls of ``capture`` (relative to tests/traces) as JSON, internal ones left out."""
    calls = track(read_capture(TRACES / f"{capture}.jsonl"), tracker or CallTracker("pbx"))
    return [j for j in map(record_to_json, calls) if j["direction"] != "internal"]


def judged(call: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return ([(r["agent"], r["outcome"], r["within_rule"]) for r in call["ring_attempts"]],
            [(v["agent"], v["rings"], v["action"], v["result"]) for v in call["violations"]])


@pytest.mark.parametrize(("capture", "attempts", "violations"), [
    ("real/inbound_answer_ring2", [("agent1001", "answered", True)], []),
    ("real2/q_answer_near_limit", [("agent1001", "answered", True)], []),
    ("real/inbound_rna_then_next",
     [("agent1001", "no_answer", False), ("agent1002", "answered", True)],
     [("agent1001", 4, "asterisk", "not_taken")]),
    ("real2/q_rna_twice",
     [("agent1001", "no_answer", False), ("agent1002", "no_answer", False),
      ("agent1003", "answered", True)],
     [("agent1001", 4, "asterisk", "not_taken"), ("agent1002", 4, "asterisk", "not_taken")]),
    # the direct call answered after 20.0 s: live, the caller would have been redirected
    ("real2/direct_late_answer", [("agent1002", "answered", False)],
     [("agent1002", 5, "redirect", "not_taken")]),
])
def test_three_ring_judgement_of_real_calls(capture: str, attempts: list[Any],
                                             violations: list[Any]) -> None:
    [call] = replay(capture)
    assert judged(call) == (attempts, violations)


@pytest.mark.parametrize(("capture", "action", "detail", "cut_agent", "next_agent"), [
    ("enforce/enforce_queue_hangup", "hangup", "Channel Hungup", "agent1001", "agent1002"),
    ("enforce/enforce_queue_hangup_autopause", "hangup", "Channel Hungup", "agent1001",
     "agent1002"),
    ("enforce/enforce_direct_redirect_label", "redirect", "Redirect successful", "agent1002",
     "agent1001"),
    ("enforce/enforce_direct_hangup_agent", "hangup", "Channel Hungup", "agent1002",
     "agent1001"),
])
def test_enforced_ring_counted_with_its_action_and_caller_offered_on(
        capture: str, action: str, detail: str, cut_agent: str, next_agent: str) -> None:
    [call] = replay(capture)
    [cut, taken] = call["ring_attempts"]
    assert cut["agent"] == cut_agent
    assert cut["within_rule"] is False and 15.0 <= cut["ring_s"] < 15.1
    [v] = call["violations"]
    assert (v["agent"], v["action"], v["result"], v["detail"]) == (
        cut["agent"], action, "ok", detail)
    assert (taken["agent"], taken["outcome"], call["disposition"], call["agent"]) == (
        next_agent, "answered", "answered", next_agent)


def test_action_on_a_gone_channel_is_too_late() -> None:
    items = list(read_capture(TRACES / "enforce" / "enforce_queue_hangup.jsonl"))
    hangup_id = next(b["ActionID"] for k, b, _ in items if k == "sent" and b["Action"] == "Hangup")
    items = [(k, {"Response": "Error", "ActionID": hangup_id, "Message": "No such channel"}
              if b.get("ActionID") == hangup_id and k == "frame" else b, t) for k, b, t in items]
    [call] = [record_to_json(c) for c in track(items, CallTracker("pbx3"))
              if c.direction != "internal"]
    [v] = call["violations"]
    assert (v["action"], v["result"], v["detail"]) == ("hangup", "too_late", "No such channel")


def test_stale_actions_without_a_call_make_no_record() -> None:
    assert replay("enforce/enforce_stale_actions") == []


def test_ring_rule_per_queue_changes_the_judgement() -> None:
    """A queue with a 4-ring rule (20 s) sees no breach where the default sees one."""
    four = RingRule(rings_allowed=4)
    [call] = replay("real/inbound_rna_then_next",
                    CallTracker("pbx", rule_for=lambda q: four if q == "support" else RingRule()))
    assert call["violations"] == []
    assert [r["within_rule"] for r in call["ring_attempts"]] == [True, True]


def _split(capture: str, event: str) -> tuple[list[Any], list[Any]]:
    items = list(read_capture(TRACES / f"{capture}.jsonl"))
    cut = next(i for i, (_, b, _) in enumerate(items) if b.get("Event") == event)
    return items[:cut + 1], items[cut + 1:]


def test_resync_closes_lost_calls_as_incomplete_and_late_events_stay_out() -> None:
    before, after = _split("real2/q_answer_fast", "AgentConnect")
    tracker = CallTracker("pbx2")
    track(before, tracker)
    [lid] = tracker.open_calls
    t = before[-1][2]
    assert tracker.resync({lid}, _utc(t)) == []  # still there: kept open
    [ended] = [f for f in tracker.resync(set(), _utc(t + 60)) if isinstance(f, CallEnded)]
    r = ended.call
    assert (r.disposition, r.agent, r.hangup_by) == ("incomplete", "agent1001", None)
    assert r.incomplete_reason and "AMI" in r.incomplete_reason
    assert r.ended_at is not None and r.ended_at.timestamp() == pytest.approx(t, abs=1)
    assert track(after, tracker) == [] and tracker.open_calls == {}


def test_joining_mid_call_learns_the_answer_from_agent_complete() -> None:
    _, after = _split("real2/q_answer_fast", "DialEnd")
    [call] = [record_to_json(c) for c in track(after, CallTracker("pbx2"))]
    assert (call["disposition"], call["agent"], call["caller"], call["hangup_by"]) == (
        "answered", "agent1001", "+3226550101", "agent")
    assert call["talk_s"] == pytest.approx(8.0, abs=1.0)


def test_agent_states_follow_pauses_and_logins() -> None:
    tracker = CallTracker("ccpbx")
    facts: list[Fact] = []
    for kind, body, t in read_capture(TRACES / "real" / "agent_pause_unpause.jsonl"):
        facts += tracker.feed_sent(body, t) if kind == "sent" else tracker.feed(body, t)
    states = [(f.agent, f.queue, f.state, f.reason, f.in_queue) for f in facts
              if isinstance(f, AgentStateChanged)]
    assert states[:2] == [("agent1001", "support", "paused", "Break", True),
                          ("agent1001", "support", "available", None, True)]
    assert ("agent1001", "sales", "logged_out", None, False) in states
    assert tracker.agents[("PJSIP/agent1001", "support")].state == "available"


def _utc(t: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC)


async def _answer_after(seconds: float) -> CallRecord:
    async with PBXSimulator(speed=100, keep_events=True, systemname="sim",
                            config=config(["PJSIP/agent1001"])) as sim:
        call = await sim.inbound_call("+8613800000007", "800", agents={
            "agent1001": AgentScript(answer_after=seconds, talk=2.0)})
        assert await asyncio.wait_for(call.wait(), 10) == "answered"
    [record] = [c for c in track((("frame", f, time.time()) for f in sim.events),
                                  CallTracker("sim"))
                if c.direction == "inbound"]
    return record


@pytest.mark.parametrize(("answer_after", "violations"), [(14.9, 0), (15.1, 1)])
async def test_answer_just_before_and_just_after_the_deadline(answer_after: float,
                                                             violations: int) -> None:
    record = await _answer_after(answer_after)
    [attempt] = record.ring_attempts
    assert attempt.ring_s == pytest.approx(answer_after, abs=0.05)
    assert len(record.violations) == violations
    assert attempt.within_rule is (violations == 0)


EVENTS = st.sampled_from(sorted(CallTracker("x").handlers) + ["QueueMemberStatus", "Cdr"])
FIELDS = st.sampled_from(["Channel", "DestChannel", "Linkedid", "Uniqueid", "Cause", "Queue",
                          "Interface", "DialStatus", "Timestamp", "Variable", "Value",
                          "TalkTime", "Status", "Paused", "TransfererChannel", "AppData",
                          "Application", "Result", "ActionID", "Response"])
VALUES = st.one_of(st.sampled_from(["PJSIP/trunk-00000000", "PJSIP/agent1001-00000001", "L1",
                                    "Success", "ANSWER", "17", "x", "", "1795349725.5",
                                    "MIXMONITOR_FILENAME", "Local/1@x-00000000;2"]),
                   st.text(max_size=8), st.lists(st.text(max_size=4), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.dictionaries(FIELDS, VALUES, max_size=8)), max_size=25))
def test_any_sequence_of_odd_frames_never_raises(frames: list[tuple[str, dict[str, Any]]]) -> None:
    tracker = CallTracker("fuzz")
    tracker.feed_sent({"Action": "Hangup", "Channel": "PJSIP/agent1001-00000001",
                       "ActionID": "x"}, 1.0)
    for name, fields in frames:
        tracker.feed({"Event": name, **fields}, 1795349725.0)
        tracker.feed(fields, 1795349725.0)
    tracker.resync(set(), _utc(1795349800.0))
    assert tracker.open_calls == {}


async def test_direct_call_to_a_busy_agent_is_busy() -> None:
    """The dialplan's DIALSTATUS=BUSY (no DialEnd when the phone is in use) names the outcome."""
    async with PBXSimulator(speed=100, keep_events=True, systemname="sim",
                            config=config(["PJSIP/agent1001"])) as sim:
        busy_with = await sim.inbound_call("+8613800000008", "800", agents={
            "agent1001": AgentScript(answer_after=1.0, talk=10.0)})
        await sim.advance(3.0)
        direct = await sim.inbound_call("+8613800000009", "1001")
        await asyncio.wait_for(direct.wait(), 10)
        await asyncio.wait_for(busy_with.wait(), 10)
    calls = {c.caller: c for c in track((("frame", f, 0.0) for f in sim.events),
                                        CallTracker("sim"))}
    assert (calls["+8613800000009"].disposition, calls["+8613800000009"].hangup_by) == (
        "busy", "system")
    assert calls["+8613800000008"].disposition == "answered"


def test_queue_status_after_a_restart_tells_of_callers_already_waiting() -> None:
    """A QueueEntry (QueueStatus list) of a call we never saw: the caller waits since Wait s ago."""
    from callcenter.calls.model import CallStarted, QueueCallerJoined

    tracker = CallTracker("ccpbx")
    entry = {"Event": "QueueEntry", "Queue": "support", "Position": "1",
             "Channel": "PJSIP/trunk-00000002", "Uniqueid": "ccpbx-1795348794.2",
             "CallerIDNum": "+3225550102", "Wait": "6", "ActionID": "x-1"}
    facts = tracker.feed(entry, 1795348800.0)
    [started] = [f for f in facts if isinstance(f, CallStarted)]
    [joined] = [f for f in facts if isinstance(f, QueueCallerJoined)]
    assert (joined.linkedid, joined.queue, joined.at.timestamp()) == (
        "ccpbx-1795348794.2", "support", 1795348794.0)
    assert (started.call.caller, started.call.direction) == ("+3225550102", "inbound")
    assert tracker.feed(entry, 1795348805.0) == []  # listed again: already known to wait


@pytest.mark.parametrize("stamp", ["0", "99999999999", "١٢٣", "1e9", "-5", " 1795349633",
                                   "nan", ["1795349633.1", "1795349633.2"]])
def test_an_implausible_timestamp_gives_the_arrival_time_counted(
        stamp: str | list[str]) -> None:
    arrived = 1795349633.5
    tracker = CallTracker("pbx2")
    channel = {"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001", "Uniqueid": "pbx2-1.0",
               "Linkedid": "pbx2-1.0", "CallerIDNum": "+3225550101", "Exten": "800",
               "Context": "from-trunk"}
    with capture_logs() as logs:
        facts = tracker.feed({**channel, "Timestamp": stamp}, arrived)
    assert [f.at.timestamp() for f in facts] == [arrived]  # CallStarted, dated on arrival
    assert tracker.timestamps.refused == 1
    [warning] = logs
    assert (warning["event"], warning["log_level"], warning["refused"]) == (
        "ami_timestamp_refused", "warning", 1)
    tracker.feed({"Event": "Newstate", "Channel": "PJSIP/trunk-00000001",
                  "Uniqueid": "pbx2-1.0", "Linkedid": "pbx2-1.0", "Timestamp": "1795349634.25"},
                 arrived + 1)
    assert tracker.timestamps.refused == 1  # a plausible one is believed, not counted
    assert tracker.feed({"Response": "Success"}, arrived) == []
    assert tracker.timestamps.refused == 1  # no Timestamp at all is normal


def test_timestamp_refusals_are_logged_once_per_thousand() -> None:
    tracker = CallTracker("pbx2")
    with capture_logs() as logs:
        for n in range(2500):
            tracker.feed({"Event": "DeviceStateChange", "Device": f"d{n}", "Timestamp": "0"},
                         1.8e9)
    assert tracker.timestamps.refused == 2500
    assert [e["refused"] for e in logs] == [1, 1000, 2000]

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
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.sim import AgentScript, PBXSimulator
from tests.support.ringrule import config
from tests.support.tracker import replay, track

TRACES = Path(__file__).parent / "traces"


def judged(call: dict[str, Any]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return ([(r["agent"], r["outcome"], r["within_rule"]) for r in call["ring_attempts"]],
            [(v["agent"], v["rings"], v["action"], v["result"]) for v in call["violations"]])


@pytest.mark.parametrize(("capture", "attempts", "violations"), [
    ("real/inbound_answer_ring2", [("agent1001", "answered", True)], []),
    ("real2/q_answer_near_limit", [("agent1001", "answered", True)], []),
    ("real/inbound_rna_then_next",
     [("agent1001", "no_answer", False), ("agent1002", "answered", True)],
     [("agent1001", 3, "asterisk", "not_taken")]),
    ("real2/q_rna_twice",
     [("agent1001", "no_answer", False), ("agent1002", "no_answer", False),
      ("agent1003", "answered", True)],
     [("agent1001", 3, "asterisk", "not_taken"), ("agent1002", 3, "asterisk", "not_taken")]),
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


# -- the PBX ending calls and rings itself (issue 18) ----------------------------------------

def _calls(items: Iterable[Item], tracker: CallTracker | None = None) -> list[dict[str, Any]]:
    calls = track(items, tracker or CallTracker("pbx4"))
    return sorted((j for j in map(record_to_json, calls) if j["direction"] != "internal"),
                  key=lambda c: c["started_at"])


def test_pbx_restart_fails_the_waiting_callers_and_cancels_their_rings() -> None:
    """real3/j_core_restart: `core restart now` with four callers waiting (three ringing):
    SoftHangupRequest Cause 4 (system shutdown), QueueCallerAbandon, no QUEUESTATUS, and an
    AgentRingNoAnswer RingTime 14000 for agent1001: no timeout, no abandon, no missed ring."""
    from callcenter.calls.model import QueueCallerLeft, RingEnded

    tracker = CallTracker("pbx4")
    facts = [f for kind, body, t in read_capture(TRACES / "real3" / "j_core_restart.jsonl")
             for f in apply_entry(tracker, kind, body, t)]
    calls = [record_to_json(f.call) for f in facts if isinstance(f, CallEnded)]
    assert sorted(c["caller"] for c in calls) == [f"1380000010{i}" for i in range(1, 5)]
    for c in calls:
        assert (c["direction"], c["disposition"], c["hangup_by"]) == ("inbound", "failed", "system")
        assert "PBX shut down or restarted" in c["incomplete_reason"]
        assert c["violations"] == []
        assert all(r["outcome"] == "cancelled" and r["rings"] == 3 for r in c["ring_attempts"])
    assert sorted(len(c["ring_attempts"]) for c in calls) == [0, 1, 1, 1]
    assert {f.attempt.outcome for f in facts if isinstance(f, RingEnded)} == {"cancelled"}
    assert {f.reason for f in facts if isinstance(f, QueueCallerLeft)} == {"left"}


def test_shutdown_event_ends_every_open_call_as_failed() -> None:
    """A read=system session sees ``Shutdown`` (Restart: True): calls still open end there."""
    items = list(read_capture(TRACES / "real3" / "j_core_restart.jsonl"))
    cut = next(i for i, (_, b, _) in enumerate(items) if b.get("Event") == "SoftHangupRequest")
    shutdown = next(it for it in items if it[1].get("Event") == "Shutdown")
    calls = _calls([*items[:cut], shutdown])
    assert len(calls) == 4
    for c in calls:
        assert (c["disposition"], c["hangup_by"], c["ended_at"] is not None) == (
            "failed", "system", True)
        assert c["incomplete_reason"] == "the PBX restarted (Shutdown event, Restart: True)"
        assert all(r["outcome"] == "cancelled" for r in c["ring_attempts"])


def test_queue_timeout_while_ringing_cancels_the_ring_it_cut() -> None:
    """The caller's queue wait runs out while a phone rings: app_queue still emits DialEnd
    NOANSWER and AgentRingNoAnswer (RingTime < the member timeout). Derived from the real
    j_core_restart call of 13800000101 (ring of 13.5 s, RingTime 14000) without the restart's
    SoftHangupRequest Cause 4 and with the QUEUESTATUS=TIMEOUT a timeout sets."""
    lid = "pbx4-1796601886.25"
    items: list[Any] = []
    for kind, body, t in read_capture(TRACES / "real3" / "j_core_restart.jsonl"):
        if kind != "frame" or body.get("Linkedid") != lid or (
                body.get("Event") == "SoftHangupRequest" and body.get("Cause") == "4"):
            continue
        items.append((kind, body, t))
        if body.get("Event") == "QueueCallerLeave":
            items.append(("frame", {**body, "Event": "VarSet", "Variable": "QUEUESTATUS",
                                    "Value": "TIMEOUT"}, t))
    [call] = _calls(items)
    assert (call["disposition"], call["hangup_by"], call["incomplete_reason"]) == (
        "timeout", "system", None)
    [ring] = call["ring_attempts"]
    assert (ring["agent"], ring["outcome"], ring["rings"], ring["within_rule"]) == (
        "agent1001", "cancelled", 3, True)
    assert call["violations"] == []


def test_no_answer_at_the_member_timeout_stays_the_agents_miss() -> None:
    """real3/b: app_queue's member timeout (= the deadline) ends the ring at 15.003 s:
    no_answer, three rings, a violation of three rings."""
    [call] = replay("real3/b_first_agent_no_answer")
    first = call["ring_attempts"][0]
    assert (first["agent"], first["outcome"], first["rings"], first["within_rule"]) == (
        "agent1003", "no_answer", 3, False)
    assert [(v["agent"], v["rings"], v["action"]) for v in call["violations"]] == [
        ("agent1003", 3, "asterisk")]


def test_ring_cut_by_the_daemon_at_the_deadline_is_three_rings() -> None:
    """real3/c: the daemon's Redirect cut the direct ring at 15.025 s."""
    [call] = replay("real3/c_direct_daemon_redirect")
    cut = call["ring_attempts"][0]
    assert (cut["agent"], cut["outcome"], cut["rings"]) == ("agent1002", "cancelled", 3)
    assert [(v["rings"], v["action"]) for v in call["violations"]] == [(3, "redirect")]


@pytest.mark.parametrize(("ring_s", "rings"), [
    (0.2, 1), (5.0, 1), (5.3, 2), (14.0, 3), (15.0, 3), (15.012, 3), (15.5, 3), (15.6, 4),
    (20.0, 4)])
def test_rings_counted_with_the_deadline_grace(ring_s: float, rings: int) -> None:
    assert RingRule().rings(ring_s) == rings


def _local_test_call() -> list[Any]:
    """docs/deployment.md's provider-less test call, `channel originate Local/800@from-trunk
    application Wait 60`: the ;1 half (Uniqueid = Linkedid) runs Wait, the ;2 half runs
    from-trunk 800; no CallerID; agent1001 answers after 4 s; Wait ends at 60 s."""
    lid, t0 = "pbx4-1796700000.0", 1796700000.0
    one, two = "Local/800@from-trunk-00000000;1", "Local/800@from-trunk-00000000;2"
    agent = "PJSIP/agent1001-00000002"

    def ev(t: float, name: str, channel: str, uniqueid: str, **more: str) -> Any:
        body = {"Event": name, "Timestamp": f"{t0 + t:.6f}", "Channel": channel,
                "CallerIDNum": "<unknown>", "CallerIDName": "<unknown>", "Context": "from-trunk",
                "Exten": "800", "Uniqueid": uniqueid, "Linkedid": lid, **more}
        return ("frame", body, t0 + t)

    two_id, agent_id = "pbx4-1796700000.1", "pbx4-1796700000.2"
    dest = {"DestChannel": agent, "DestUniqueid": agent_id, "DestLinkedid": lid}
    return [
        ev(0.0, "Newchannel", one, lid, Context="default", Exten="s"),
        ev(0.0, "Newchannel", two, two_id),
        ev(0.01, "Newexten", two, two_id, Application="Queue", AppData="support,t,,,60"),
        ev(0.02, "QueueCallerJoin", two, two_id, Queue="support", Position="1", Count="1"),
        ev(0.03, "AgentCalled", two, two_id, Queue="support", Interface="PJSIP/agent1001",
           MemberName="Alice Agent", **dest),
        ev(0.03, "DialBegin", two, two_id, DialString="agent1001", **dest),
        ev(4.03, "DialEnd", two, two_id, DialStatus="ANSWER", **dest),
        ev(4.03, "AgentConnect", two, two_id, Queue="support", Interface="PJSIP/agent1001",
           HoldTime="4", RingTime="4", **dest),
        ev(4.04, "QueueCallerLeave", two, two_id, Queue="support", Position="1", Count="0"),
        ev(60.0, "Hangup", one, lid, Cause="16", Context="default", Exten="s"),
        ev(60.0, "HangupRequest", two, two_id),
        ev(60.01, "Hangup", agent, agent_id, Cause="16", Context="from-agents"),
        ev(60.01, "Hangup", two, two_id, Cause="16"),
    ]


def test_provider_less_local_test_call_is_an_inbound_call() -> None:
    [call] = _calls(_local_test_call())
    assert (call["direction"], call["caller"], call["callee"], call["queue"], call["agent"],
            call["disposition"], call["hangup_by"]) == (
        "inbound", None, "800", "support", "agent1001", "answered", "caller")
    assert call["wait_s"] == pytest.approx(4.03) and call["talk_s"] == pytest.approx(55.98)


def test_answered_call_cut_by_a_restart_stays_answered_with_the_reason() -> None:
    items = _local_test_call()
    talk, hangups = items[:-4], items[-4:]
    _, last, t = hangups[-1]
    soft = ("frame", {**last, "Event": "SoftHangupRequest", "Cause": "4"}, t - 0.01)
    cut = [soft, *(it for it in hangups if it[1]["Event"] == "Hangup")]
    [call] = _calls([*talk, *cut])
    assert (call["disposition"], call["hangup_by"], call["agent"]) == (
        "answered", "system", "agent1001")
    assert "PBX shut down or restarted" in call["incomplete_reason"]


@pytest.mark.parametrize(("uptime", "disposition"), [("3", "failed"), ("400", "incomplete")])
def test_link_lost_over_a_restart_fails_the_calls_it_ended(uptime: str, disposition: str) -> None:
    """The AMI link drops before any SoftHangupRequest is seen; at the new login
    ``FullyBooted`` tells the PBX's Uptime: started after the calls' last events, it restarted
    under them (failed, rings cancelled); up for long, their end was just not seen."""
    items = list(read_capture(TRACES / "real3" / "j_core_restart.jsonl"))
    cut = next(i for i, (_, b, _) in enumerate(items) if b.get("Event") == "SoftHangupRequest")
    tracker = CallTracker("pbx4")
    track(items[:cut], tracker)
    back = items[cut][2] + 5.0
    tracker.feed({"Event": "FullyBooted", "Privilege": "system,all", "Uptime": uptime,
                  "LastReload": uptime, "Status": "Fully Booted"}, back)
    calls = [record_to_json(f.call) for f in tracker.resync(set(), _utc(back + 0.5))
             if isinstance(f, CallEnded)]
    assert len(calls) == 4 and {c["disposition"] for c in calls} == {disposition}
    rings = [r["outcome"] for c in calls for r in c["ring_attempts"]]
    if disposition == "failed":
        assert {c["hangup_by"] for c in calls} == {"system"}
        assert all("restarted while the AMI link was down" in c["incomplete_reason"]
                   for c in calls)
        assert rings == ["cancelled"] * 3
    else:
        assert all("not seen" in c["incomplete_reason"] for c in calls)

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

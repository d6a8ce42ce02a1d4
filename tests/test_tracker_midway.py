"""Calls joined mid-way (daemon restart, AMI outage): what the evidence tells, and what stays
unknown. Real captures are cut after the answer; the tracker gets the rest plus the
``CoreShowChannels`` list Asterisk would give at the cut (the real CoreShowChannel field set,
real/ami_actions.jsonl), built from the capture's own frames."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callcenter.calls.model import CallEnded, CallRecord
from callcenter.calls.tracker import CallTracker
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture

TRACES = Path(__file__).parent / "traces"
SNAPSHOT_FIELDS = ("CallerIDNum", "CallerIDName", "ConnectedLineNum", "ConnectedLineName",
                   "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid",
                   "Linkedid", "ChanVariable")


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def core_show_channels(items: list[Item], at: float) -> list[dict[str, Any]]:
    """The CoreShowChannel frames of the channels alive after ``items``, taken at ``at``."""
    chans: dict[str, dict[str, Any]] = {}
    for _, f, _ in items:
        ch, ev = f.get("Channel"), f.get("Event")
        if not isinstance(ch, str) or ev is None or "Linkedid" not in f:
            continue
        if ev == "Hangup":
            chans.pop(ch, None)
            continue
        c = chans.setdefault(ch, {"born": float(f["Timestamp"]), "BridgeId": "",
                                  "Application": "", "ApplicationData": ""})
        c.update({k: f[k] for k in SNAPSHOT_FIELDS if k in f})
        c["ChannelState"], c["ChannelStateDesc"] = f["ChannelState"], f["ChannelStateDesc"]
        if ev == "Newexten":
            c["Application"], c["ApplicationData"] = f["Application"], f["AppData"]
        elif ev == "BridgeEnter":
            c["BridgeId"] = f["BridgeUniqueid"]
        elif ev == "BridgeLeave":
            c["BridgeId"] = ""
    out = []
    for ch, c in chans.items():
        secs = int(at - c.pop("born"))
        out.append({"Event": "CoreShowChannel", "ActionID": "cc-7", "Channel": ch, **c,
                    "Duration": f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"})
    return out


def _capture(name: str) -> tuple[list[Item], dict[str, Any]]:
    items = list(read_capture(TRACES / f"{name}.jsonl"))
    [want] = [c for c in json.loads((TRACES / f"{name}.expected.json").read_text())[
        "expected"]["calls"]]
    return items, want


def _at(items: list[Item], event: str, after: float = 0.0) -> float:
    """The Timestamp of the first ``event`` (plus ``after`` seconds)."""
    return next(float(f["Timestamp"]) for _, f, _ in items if f.get("Event") == event) + after


def _split(items: list[Item], t: float) -> tuple[list[Item], list[Item]]:
    cut = next(i for i, (_, f, _) in enumerate(items) if float(f.get("Timestamp", 0)) > t)
    return items[:cut], items[cut:]


def _run(tracker: CallTracker, rest: list[Item]) -> CallRecord:
    ended = [f.call for kind, body, t in rest for f in apply_entry(tracker, kind, body, t)
             if isinstance(f, CallEnded) and f.call.direction == "inbound"]
    [call] = ended
    return call


def _start(items: list[Item]) -> float:
    return _at(items, "Newchannel")


def near(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1.0


@pytest.mark.parametrize("after", [1.0, 4.0, 7.5])
def test_direct_call_joined_after_the_answer_is_answered_with_the_answer_unknown(
        after: float) -> None:
    """real2/direct_late_answer: the daemon starts while agent1002 talks to the caller; the
    two channels are Up in one bridge (CoreShowChannel BridgeId)."""
    items, want = _capture("real2/direct_late_answer")
    t = _at(items, "BridgeEnter", after)
    before, rest = _split(items, t)
    tracker = CallTracker("pbx2")
    tracker.resync(core_show_channels(before, t), _utc(t))
    call = _run(tracker, rest)
    assert (call.disposition, call.agent, call.hangup_by, call.caller, call.callee) == (
        "answered", want["answered_by"], want["hangup_by"], want["caller"], want["callee"])
    assert call.unknown == ["wait", "answer", "ring_attempts", "talk", "hold"]
    assert (call.answered_at, call.wait_s, call.talk_s, call.hold_s) == (None, None, None, None)
    assert call.ring_attempts == []
    assert abs(call.started_at.timestamp() - _start(items)) <= 0.5  # Duration dates it
    last_hangup = max(float(f["Timestamp"]) for _, f, _ in items if f.get("Event") == "Hangup")
    assert call.ended_at == _utc(last_hangup)  # seen: exact


@pytest.mark.parametrize(("capture", "event", "after"), [
    ("real3/a_queue_answer", "AgentConnect", 1.0),
    ("real3/a_queue_answer", "AgentConnect", 5.0),
    ("real3/c_direct_daemon_redirect", "AgentConnect", 2.0),
    ("real3/i_hold_attended_transfer", "Hold", 2.0),   # on hold at the cut
    ("real3/i_hold_attended_transfer", "Unhold", 1.0),
    ("real3/i_hold_attended_transfer", "LocalBridge", 1.0),  # consulting agent1003
])
def test_queue_call_joined_after_the_answer_is_dated_by_agent_complete(
        capture: str, event: str, after: float) -> None:
    """AgentComplete's TalkTime dates the answer, its Interface names the agent; the hold
    before the cut and the rings were not seen (null, flagged); the rest is exact."""
    items, want = _capture(capture)
    t = _at(items, event, after)
    before, rest = _split(items, t)
    tracker = CallTracker("pbx4")
    tracker.resync(core_show_channels(before, t), _utc(t))
    call = _run(tracker, rest)
    assert (call.disposition, call.agent, call.queue, call.hangup_by) == (
        "answered", want["answered_by"], want["queue"], want["hangup_by"])
    assert call.unknown == ["ring_attempts", "hold"]
    assert call.hold_s is None
    assert near(call.talk_s, want["talk_s"]) and near(call.wait_s, want["wait_s"])
    assert [(t.type, t.from_agent, t.to_agent) for t in call.transfers] == [
        (t["type"], t["from"], t["to"]) for t in want["transfers"]]


def test_direct_call_answered_during_an_outage_is_answered_not_failed() -> None:
    """The daemon saw agent1002 ringing, lost the AMI link, missed the answer; at the new
    login CoreShowChannels shows both channels Up in one bridge."""
    items, want = _capture("real2/direct_late_answer")
    lost, back = _at(items, "DialBegin", 5.0), _at(items, "BridgeEnter", 3.0)
    seen, _ = _split(items, lost)
    missed, rest = _split(items, back)
    tracker = CallTracker("pbx2")
    for kind, body, at in seen:
        apply_entry(tracker, kind, body, at)
    tracker.feed({"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "9000",
                  "LastReload": "9000", "Status": "Fully Booted"}, back)  # the new login
    tracker.resync(core_show_channels(missed, back), _utc(back))
    call = _run(tracker, rest)
    assert (call.disposition, call.agent, call.hangup_by) == (
        "answered", want["answered_by"], want["hangup_by"])
    assert call.unknown == ["wait", "answer", "ring_attempts", "talk", "hold"]
    assert call.started_at.timestamp() == _start(items)  # seen: exact
    [ring] = call.ring_attempts
    assert (ring.agent, ring.outcome, ring.ring_s, ring.within_rule) == (
        "agent1002", "answered", None, None)
    assert call.violations == []


def test_call_first_seen_at_its_hang_up_takes_no_later_time_as_its_start() -> None:
    """A call that began during the outage, first seen by its hang-up frames (no channel
    list): the bridge it leaves tells the answer and the agent; start and wait are unknown."""
    items, want = _capture("real2/direct_late_answer")
    _, rest = _split(items, _at(items, "HangupRequest", -0.001))
    call = _run(CallTracker("pbx2"), rest)
    assert (call.disposition, call.agent, call.hangup_by) == (
        "answered", want["answered_by"], want["hangup_by"])
    assert {"start", "wait", "answer", "talk", "hold"} <= set(call.unknown)
    assert (call.wait_s, call.talk_s) == (None, None)


def _lost_after(event: str, after: float) -> tuple[CallRecord, dict[str, Any]]:
    """real3/a_queue_answer followed until ``after`` s past ``event``; the call is gone when
    the link comes back 30 s later: the record resync closes, and the expected call."""
    items, want = _capture("real3/a_queue_answer")
    t = _at(items, event, after)
    before, _ = _split(items, t)
    tracker = CallTracker("pbx4")
    for kind, body, at in before:
        apply_entry(tracker, kind, body, at)
    [ended] = [f.call for f in tracker.resync(set(), _utc(t + 30)) if isinstance(f, CallEnded)]
    assert ended.disposition == "incomplete"
    return ended, want


def test_a_call_whose_end_was_not_seen_has_null_talk_not_zero() -> None:
    ended, want = _lost_after("AgentConnect", 2.0)
    assert ended.agent == want["answered_by"]
    assert ended.unknown == ["talk", "hold", "end"]
    assert (ended.talk_s, ended.hold_s) == (None, None)
    assert near(ended.wait_s, want["wait_s"])  # answered before the outage: wait is known


def test_a_ringing_call_whose_end_was_not_seen_has_no_wait() -> None:
    ended, _ = _lost_after("AgentCalled", 0.5)
    assert ended.unknown == ["wait", "ring_attempts", "talk", "hold", "end"]
    assert (ended.wait_s, ended.talk_s, ended.hold_s) == (None, None, None)


CAPTURES = sorted(p for d in ("real", "real2", "real3")
                  for p in (TRACES / d).glob("*.expected.json"))


@pytest.mark.parametrize("expected", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_complete_evidence_leaves_nothing_unknown(expected: Path) -> None:
    capture = expected.with_name(expected.name.replace(".expected.json", ".jsonl"))
    tracker = CallTracker("pbx")
    calls = [f.call for kind, body, t in read_capture(capture)
             for f in apply_entry(tracker, kind, body, t) if isinstance(f, CallEnded)]
    assert calls and all(c.unknown == [] for c in calls if c.direction != "internal")

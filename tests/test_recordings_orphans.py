"""Recordings never orphaned (issue 18): the tracker learns a recording from the channel
variables of later events, and the monitor-directory sweep files what is left there."""

from __future__ import annotations

from typing import Any

from callcenter.calls.model import RecordingAnnounced
from callcenter.calls.replay import record_to_json
from callcenter.calls.tracker import CallTracker
from callcenter.pipeline import Item, apply_entry
from callcenter.pipeline_replay import read_capture
from tests.test_tracker import TRACES, track

RING2 = "ccpbx-1795348139.0.wav"


def _names_the_file(body: dict[str, Any]) -> bool:
    """The frames that announce the file outside the channel variables."""
    event = body.get("Event")
    return (event == "VarSet" and body.get("Variable") in ("MIXMONITOR_FILENAME", "MIXMON_FILE")
            or event == "Newexten" and body.get("Application") == "MixMonitor"
            or event == "MixMonitorStart")


def _capture(name: str) -> list[Item]:
    return list(read_capture(TRACES / f"{name}.jsonl"))


def _without_mixmonitor(items: list[Item]) -> list[Item]:
    return [(k, b, t) for k, b, t in items if not _names_the_file(b)]


def test_missed_mixmonitor_start_is_learnt_from_chan_variable() -> None:
    """The MixMonitor start cut from a real capture: the ``ChanVariable: MIXMON_FILE=``
    of the later events still names the file."""
    items = _without_mixmonitor(_capture("real/inbound_answer_ring2"))
    [call] = [record_to_json(c) for c in track(items, CallTracker("pbx"))]
    assert call["recordings"] == [RING2] and call["disposition"] == "answered"


def test_without_chan_variables_the_cut_capture_has_no_recording() -> None:
    """The control: with the channel variables gone too, nothing names the file."""
    items = [(k, {f: v for f, v in b.items() if "ChanVariable" not in f}, t)
             for k, b, t in _without_mixmonitor(_capture("real/inbound_answer_ring2"))]
    [call] = [record_to_json(c) for c in track(items, CallTracker("pbx"))]
    assert call["recordings"] == []


def test_daemon_joining_mid_call_gets_the_recording() -> None:
    """A restart after the MixMonitor started (its frames never seen): the recording is
    announced once, with the path Asterisk gave (the consumer maps and guards it)."""
    items = _capture("real/inbound_answer_ring2")
    cut = next(i for i, (_, b, _) in enumerate(items) if b.get("Event") == "AgentConnect")
    tracker = CallTracker("pbx")
    facts = [f for k, b, t in items[cut:] for f in apply_entry(tracker, k, b, t)]
    announced = [f for f in facts if isinstance(f, RecordingAnnounced)]
    assert [f.path for f in announced] == [f"/var/spool/asterisk/monitor/{RING2}"]
    assert [c.recordings for c in track([], tracker)] == []  # ended: not open any more


def test_agent_leg_recording_of_a_joined_call() -> None:
    """real2: the queue's gosub records on the agent's channel (its own uniqueid)."""
    items = _without_mixmonitor(_capture("real2/q_answer_fast"))
    calls = [record_to_json(c) for c in track(items, CallTracker("pbx2"))]
    assert [c["recordings"] for c in calls if c["direction"] != "internal"] == [
        ["20261122-121527-1001-pbx2-1795349725.1.wav"]]


def test_unset_and_foreign_channel_variables_announce_nothing() -> None:
    tracker = CallTracker("pbx")
    base = {"Event": "Newstate", "Channel": "PJSIP/trunk-00000001", "Uniqueid": "x-1.0",
            "Linkedid": "x-1.0"}
    facts = tracker.feed({**base, "ChanVariable": ["CUSTOMER_ID=1", "MIXMON_FILE="]}, 1e9)
    assert not [f for f in facts if isinstance(f, RecordingAnnounced)]
    facts = tracker.feed({**base, "ChanVariable": "MIXMON_FILE=",
                          "DestChannel": "PJSIP/agent1001-00000002", "DestLinkedid": "other-2.0",
                          "DestChanVariable": ["MIXMON_FILE=/var/spool/asterisk/monitor/o.wav"]},
                         1e9)
    assert not [f for f in facts if isinstance(f, RecordingAnnounced)]
    assert tracker.open_calls["x-1.0"].recordings == []
    facts = tracker.feed({**base, "ChanVariable": ["QUEUENAME=", "MIXMON_FILE=/m/a.wav"]}, 1e9)
    assert [f.path for f in facts if isinstance(f, RecordingAnnounced)] == ["/m/a.wav"]
    assert not tracker.feed({**base, "ChanVariable": ["MIXMON_FILE=/m/a.wav"]}, 1e9)

"""The real ChanSpy capture (real3/chanspy): spy legs are monitoring sessions, not calls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from callcenter.calls.model import CallStarted, CallWithdrawn, MonitoringEnded, MonitoringStarted
from callcenter.calls.spying import SpyLegs, is_spy_id, mode_of, spy_channel_id
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline import apply_entry
from callcenter.ingest.pipeline_replay import capture_server_name, read_capture
from callcenter.settings import Settings
from tests.support.ingest import store_capture

CAPTURE = Path(__file__).parent / "traces" / "real3" / "chanspy.jsonl"
CALL = "pbx4-1796602250.98"
AT = datetime(2026, 12, 7, tzinfo=UTC)
SPIES = ["pbx4-1796602253.100", "pbx4-1796602262.101", "pbx4-1796602271.102"]


def test_tracker_turns_spy_legs_into_monitoring_facts() -> None:
    items = list(read_capture(CAPTURE))
    tracker = make_tracker(capture_server_name(items), Settings())
    facts = [f for kind, body, t in items for f in apply_entry(tracker, kind, body, t)]
    withdrawn = [f.linkedid for f in facts if isinstance(f, CallWithdrawn)]
    started = [f for f in facts if isinstance(f, MonitoringStarted)]
    ended = [f for f in facts if isinstance(f, MonitoringEnded)]
    assert withdrawn == SPIES
    assert [(f.spy_linkedid, f.linkedid, f.mode) for f in started] == [
        (SPIES[0], CALL, "listen"), (SPIES[1], CALL, "whisper"), (SPIES[2], CALL, "barge")]
    assert [s.spyee_channel for s in started] == ["PJSIP/agent1002-00000063"] * 3
    assert [(f.spy_linkedid, f.linkedid, f.outcome) for f in ended] == [
        (lid, CALL, "ended") for lid in SPIES]
    assert all(round((e.at - s.at).total_seconds()) == 5 for s, e in zip(started, ended,
                                                                          strict=True))
    assert not tracker.calls and SPIES[0] not in tracker.open_calls


async def test_capture_stores_one_call_and_three_sessions(pool: asyncpg.Pool,
                                                          tmp_path: Path) -> None:
    await store_capture(pool, CAPTURE, tmp_path)
    assert [r["linkedid"] for r in await pool.fetch("SELECT linkedid FROM calls")] == [CALL]
    rows = await pool.fetch("SELECT * FROM monitoring_sessions ORDER BY started_at")
    assert [(r["spy_linkedid"], r["linkedid"], r["mode"], r["status"], r["outcome"],
             r["endpoint"]) for r in rows] == [
        (SPIES[0], CALL, "listen", "ended", "ended", "supervisor2001"),
        (SPIES[1], CALL, "whisper", "ended", "ended", "supervisor2001"),
        (SPIES[2], CALL, "barge", "ended", "ended", "supervisor2001")]
    assert all(r["ended_at"] > r["started_at"] for r in rows)


def test_own_spy_leg_never_becomes_a_call() -> None:
    """A leg whose ChannelId the daemon chose is a spy leg from its first event; a leg
    its phone did not answer ends as no_answer (before or after OriginateResponse)."""
    lid = spy_channel_id()
    assert is_spy_id(lid) and not is_spy_id("pbx4-1796602253.100")
    tracker = make_tracker("s", Settings())
    base = {"Channel": "PJSIP/supervisor2001-00000001", "Uniqueid": lid, "Linkedid": lid,
            "Timestamp": "1796602253.0"}
    facts = tracker.feed({"Event": "Newchannel", "ChannelState": "0", **base}, 0)
    facts += tracker.feed({"Event": "Newstate", "ChannelState": "5", **base}, 0)
    facts += tracker.feed({"Event": "Hangup", "ChannelState": "5", "Cause": "19", **base}, 0)
    facts += tracker.feed({"Event": "OriginateResponse", "Response": "Failure", "Reason": "3",
                           "Application": "ChanSpy", "Data": "PJSIP/agent1001-,qES",
                           "Uniqueid": lid, "Timestamp": "1796602283.0"}, 0)
    assert not [f for f in facts if isinstance(f, CallStarted | CallWithdrawn)]
    assert [(f.outcome, f.linkedid) for f in facts if isinstance(f, MonitoringEnded)] == [
        ("no_answer", None)]
    assert not tracker.calls


def test_failure_reported_before_the_hangup_and_modes() -> None:
    spies = SpyLegs("s")
    lid, facts = spies.on_event({"Event": "OriginateResponse", "Response": "Failure",
                                 "Reason": "5", "Application": "ChanSpy", "Uniqueid": "x"},
                                AT)
    assert lid == "x" and [f.outcome for f in facts if isinstance(f, MonitoringEnded)] == [
        "busy"]
    assert spies.on_channel_event({"Event": "Hangup", "Linkedid": "x", "Cause": "17"},
                                  AT) == []
    assert [mode_of(d) for d in ("PJSIP/a,q", "PJSIP/a,qwES", "PJSIP/a,qBES", "PJSIP/a")] == [
        "listen", "whisper", "barge", None]



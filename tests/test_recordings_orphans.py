"""Recordings never orphaned (issue 18): the tracker learns a recording from the channel
variables of later events, and the monitor-directory sweep files what is left there."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from callcenter.calls.model import CallRecord, RecordingAnnounced, RingAttempt
from callcenter.calls.replay import record_to_json
from callcenter.calls.tracker import CallTracker
from callcenter.ingest.pipeline import Item, apply_entry
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.recordings.consumer import RecordingConsumer
from callcenter.recordings.files import SpoolScan, call_ids_in_name
from callcenter.settings import RecordingSettings
from callcenter.sim.wav import write_wav
from callcenter.store.recordings import RecordingRepository
from tests.support.expected import TRACES
from tests.support.recordings import MONITOR, ended_call, rec_settings
from tests.support.tracker import track

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


# -- the monitor-directory sweep (real PostgreSQL) ------------------------------------------
PBX1 = "pbx1-1795349725.0"
SHIPPED = f"20261206-235946-13800000001-{PBX1}.wav"  # extensions.conf's MIXMON_FILE


def _stored_call(linkedid: str = PBX1, *, ended_ago: float | None = 600,
                 agent_uniqueid: str | None = None) -> CallRecord:
    now = datetime.now(UTC)
    end = now - timedelta(seconds=ended_ago or 0)
    call = ended_call(linkedid=linkedid, talk_s=2)  # stored without any recording
    call.started_at, call.answered_at = end - timedelta(seconds=9), end - timedelta(seconds=2)
    call.ended_at = end if ended_ago is not None else None
    if agent_uniqueid:
        call.ring_attempts.append(RingAttempt(
            agent="agent1001", interface="PJSIP/agent1001", started_at=call.started_at,
            queue="support", channel="PJSIP/agent1001-00000002", uniqueid=agent_uniqueid,
            ended_at=call.answered_at, outcome="answered"))
    return call


async def _sweep(pool: asyncpg.Pool, s: RecordingSettings, *calls: CallRecord,
                 consumer: RecordingConsumer | None = None) -> RecordingConsumer:
    from callcenter.store.calls import CallRepository

    if calls:
        await CallRepository(pool).upsert_calls(list(calls))
    if consumer is None:
        consumer = RecordingConsumer(s, pool)
        await consumer.on_facts([])
    else:
        await consumer._sweep_spool(RecordingRepository(pool))
    await consumer.idle()
    return consumer


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


async def test_sweep_files_a_left_file_to_its_ended_call_and_links_it(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The call was stored (its end seen, its MixMonitor start not): the file the shipped
    dialplan named after the caller's uniqueid is filed, linked and gone from the spool."""
    s = rec_settings(tmp_path)
    spool = Path(s.local_dir)
    write_wav(spool / SHIPPED, 2.0)
    consumer = await _sweep(pool, s, _stored_call())
    [rec] = await RecordingRepository(pool).for_call("pbx1", PBX1)
    assert (rec.file_name, rec.status, rec.source_path) == (SHIPPED, "ready",
                                                            f"{MONITOR}/{SHIPPED}")
    assert rec.path is not None and (Path(s.store_dir) / rec.path).is_file()
    assert not (spool / SHIPPED).exists() and not consumer.alerts
    assert await pool.fetchval("SELECT recordings FROM calls WHERE linkedid = $1", PBX1) == [
        SHIPPED]
    await _sweep(pool, s, consumer=consumer)  # the next sweep: nothing more
    assert len(await RecordingRepository(pool).for_call("pbx1", PBX1)) == 1
    await consumer.close()


async def test_sweep_places_an_agent_leg_file_by_its_rung_channel(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """real2's queue gosub records on the agent's channel: its uniqueid, not the linkedid,
    is in the name; the call's ring attempt knows it. A second file of the same call
    (an r() leg, a subdirectory) gets its own store path."""
    s = rec_settings(tmp_path)
    spool = Path(s.local_dir)
    agent_file = "20261122-121527-1001-pbx1-1795349725.1.wav"
    write_wav(spool / agent_file, 2.0)
    write_wav(spool / "2026" / "12" / f"{PBX1}-in.wav", 2.0)
    consumer = await _sweep(pool, s, _stored_call(agent_uniqueid="pbx1-1795349725.1"))
    recs = await RecordingRepository(pool).for_call("pbx1", PBX1)
    assert sorted(r.file_name for r in recs) == sorted([agent_file, f"{PBX1}-in.wav"])
    assert {r.status for r in recs} == {"ready"} and len({r.path for r in recs}) == 2
    assert not consumer.alerts
    await consumer.close()


async def test_file_of_no_call_raises_one_alert_not_one_per_sweep(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, orphan_grace_s=300)
    spool = Path(s.local_dir)
    stray = spool / "20261206-235946-1001-pbx9-1111111111.7.wav"
    write_wav(stray, 1.0)
    _age(stray, 3600)
    write_wav(spool / "fresh-pbx9-1111111111.8.wav", 1.0)  # within the grace period
    write_wav(spool / "live-pbx1-1795349725.0.wav", 1.0)  # its call still going
    _age(spool / "live-pbx1-1795349725.0.wav", 3600)
    consumer = await _sweep(pool, s, _stored_call(ended_ago=None))
    await _sweep(pool, s, consumer=consumer)
    [alert] = consumer.alerts
    assert (alert.status, alert.file_name, alert.linkedid) == ("orphaned", stray.name, "")
    assert "matches no call" in alert.detail and stray.is_file()
    assert await pool.fetchval("SELECT count(*) FROM recordings") == 0
    assert (spool / "live-pbx1-1795349725.0.wav").is_file()
    await consumer.close()


async def test_sweep_never_touches_files_outside_or_symlinks(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A symlink to a file outside, a symlinked directory, the store inside the spool and
    a file beside the spool: none is read, moved, filed or alerted, though named after a
    stored, ended call."""
    s = rec_settings(tmp_path, orphan_grace_s=0, store_dir=str(tmp_path / "spool" / "store"))
    spool, outside = Path(s.local_dir), tmp_path / "outside"
    secret = outside / f"{PBX1}.wav"
    write_wav(secret, 1.0)
    write_wav(tmp_path / f"beside-{PBX1}.wav", 1.0)
    spool.mkdir(parents=True, exist_ok=True)
    (spool / f"link-{PBX1}.wav").symlink_to(secret)
    (spool / "linkdir").symlink_to(outside, target_is_directory=True)
    write_wav(Path(s.store_dir) / "2026" / f"pbx1_{PBX1}_1.wav", 1.0)  # filed already
    before = {p: p.read_bytes() for p in (secret, tmp_path / f"beside-{PBX1}.wav")}
    consumer = await _sweep(pool, s, _stored_call())
    assert await pool.fetchval("SELECT count(*) FROM recordings") == 0
    assert not consumer.alerts
    assert {p: p.read_bytes() for p in before} == before
    assert (spool / f"link-{PBX1}.wav").is_symlink()
    assert (Path(s.store_dir) / "2026" / f"pbx1_{PBX1}_1.wav").is_file()
    await consumer.close()


def test_spool_scan_pages_and_names() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for i in range(2500):
            (root / f"f{i}.wav").write_bytes(b"x")
        (root / "a" / "b").mkdir(parents=True)
        (root / "a" / "b" / "deep.wav").write_bytes(b"x")
        (root / ".hidden.wav").write_bytes(b"x")
        (root / "x.wav.part").write_bytes(b"x")
        scan = SpoolScan(root)
        pages = []
        while not scan.done:
            pages.append(scan.next_page(1000))
        assert [len(p) for p in pages] == [1000, 1000, 501]
        rels = {f.rel for p in pages for f in p}
        assert "a/b/deep.wav" in rels and ".hidden.wav" not in rels and "x.wav.part" not in rels
    assert SpoolScan(root).next_page(10) == []  # gone: nothing, no error
    assert call_ids_in_name(SHIPPED)[-2:] == [PBX1, "1795349725.0"]
    assert call_ids_in_name("in-800-1001-20261122-121527-1795349725.1.wav")[-1] == (
        "1795349725.1")
    assert call_ids_in_name("a.wav") == [] and call_ids_in_name("x1795349725.0.wav") == []


async def test_file_given_up_as_missing_is_filed_when_it_turns_up(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The call's own path waited ``max_wait_s`` and wrote 'missing'; the file arrives
    later (a slow NFS spool): the sweep files it. A refused row stays refused."""
    from callcenter.calls.model import CallEnded

    s = rec_settings(tmp_path, retries=0)
    call = _stored_call()
    evil = f"x-{PBX1}.wav"
    consumer = await _sweep(pool, s, call)
    call.recordings = [SHIPPED, evil]  # its end now comes, naming both
    now = datetime.now(UTC)
    await consumer.on_facts([RecordingAnnounced("pbx1", now, PBX1, f"/etc/{evil}", "PJSIP/x"),
                             CallEnded("pbx1", now, call)])
    await consumer.idle()
    rows = {r.file_name: r for r in await RecordingRepository(pool).for_call("pbx1", PBX1)}
    assert rows[SHIPPED].status == "missing" and rows[evil].detail.startswith("refused")
    write_wav(Path(s.local_dir) / SHIPPED, 2.0)
    write_wav(Path(s.local_dir) / evil, 2.0)  # the name of a refused recording
    await _sweep(pool, s, consumer=consumer)
    rows = {r.file_name: r for r in await RecordingRepository(pool).for_call("pbx1", PBX1)}
    assert rows[SHIPPED].status == "ready" and rows[SHIPPED].attempts == 1
    assert rows[evil].status == "missing" and rows[evil].detail.startswith("refused")
    assert (Path(s.local_dir) / evil).is_file()
    await consumer.close()

"""Recordings consumer: waiting, verifying, filing and linking files to calls (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from structlog.testing import capture_logs

from callcenter import db
from callcenter.calls.alerts import RecordingAlert
from callcenter.calls.model import CallEnded, CallRecord, RecordingAnnounced
from callcenter.recordings.consumer import RecordingConsumer
from callcenter.sim.wav import write_wav
from callcenter.store.recordings import Recording, RecordingRepository
from tests.support.recordings import MONITOR, START, ended_call, facts_for, rec_settings
from tests.support.wait import until


async def run_consumer(consumer: RecordingConsumer, call: CallRecord) -> None:
    await consumer.on_facts(facts_for(call))  # type: ignore[arg-type]
    await consumer.idle()


async def test_answered_call_is_filed_ready(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path)
    spool = Path(s.local_dir)
    size = write_wav(spool / "a.wav", 9.5)
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("a.wav"))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "ready" and rec.format == "wav" and not rec.short
    assert rec.duration_s == pytest.approx(9.5, abs=0.01)
    assert rec.path == "2026/12/01/pbx1_pbx1-1795349725.0_1.wav"
    stored = Path(s.store_dir) / rec.path
    assert rec.size_bytes == size == stored.stat().st_size
    assert rec.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert not (spool / "a.wav").exists()
    assert rec.source_path == f"{MONITOR}/a.wav" and rec.queue == "support"
    assert not consumer.alerts


async def test_file_appearing_late_is_waited_for(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, max_wait_s=2.0)
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts(facts_for(ended_call("late.wav")))  # type: ignore[arg-type]
    await asyncio.sleep(0.4)
    rows = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert [r.status for r in rows] == ["pending"]
    write_wav(Path(s.local_dir) / "late.wav", 3.0)
    await consumer.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "ready" and rec.duration_s == pytest.approx(3.0)


async def test_growing_file_is_filed_once_stable(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, stable_wait_s=0.3, max_wait_s=3.0)
    src = Path(s.local_dir) / "grow.wav"
    write_wav(src, 4.0)
    whole = src.read_bytes()
    src.write_bytes(whole[:4000])  # MixMonitor still writing: header claims more than present
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts(facts_for(ended_call("grow.wav")))  # type: ignore[arg-type]
    for end in (16000, 40000):
        await asyncio.sleep(0.15)
        src.write_bytes(whole[:end])
    await asyncio.sleep(0.1)
    src.write_bytes(whole)
    await consumer.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert (rec.status, rec.size_bytes, rec.attempts) == ("ready", len(whole), 1)


async def test_missing_file_retried_then_alert(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, max_wait_s=0.1, retries=2)
    seen: list[RecordingAlert] = []
    consumer = RecordingConsumer(s, pool, on_alert=seen.append)
    await run_consumer(consumer, ended_call("never.wav"))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert (rec.status, rec.path, rec.attempts) == ("missing", None, 3)
    assert "never appeared" in rec.detail
    [alert] = seen
    assert (alert.status, alert.file_name, alert.attempts, alert.linkedid) == (
        "missing", "never.wav", 3, "pbx1-1795349725.0")
    assert list(consumer.alerts) == seen


async def test_truncated_file_is_corrupt(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path)
    src = Path(s.local_dir) / "cut.wav"
    write_wav(src, 5.0)
    src.write_bytes(src.read_bytes()[:30000])
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("cut.wav"))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "corrupt" and rec.attempts == 2 and "truncated" in rec.detail
    assert rec.path and (Path(s.store_dir) / rec.path).stat().st_size == 30000
    assert [a.status for a in consumer.alerts] == ["corrupt"]


async def test_garbage_file_is_corrupt(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, retries=0)
    src = Path(s.local_dir) / "junk.wav"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"this is not audio at all" * 100)
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("junk.wav"))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert (rec.status, rec.attempts) == ("corrupt", 1)
    assert "unrecognised" in rec.detail


async def test_corrupt_file_repaired_before_last_retry(pool: asyncpg.Pool,
                                                      tmp_path: Path) -> None:
    s = rec_settings(tmp_path, retries=3, retry_delay_s=0.3)
    src = Path(s.local_dir) / "fix.wav"
    write_wav(src, 2.0)
    good = src.read_bytes()
    src.write_bytes(good[:1000])
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts(facts_for(ended_call("fix.wav")))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    src.write_bytes(good)
    await consumer.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "ready" and rec.attempts >= 2 and not consumer.alerts


async def test_header_only_wav_is_empty(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path)
    assert write_wav(Path(s.local_dir) / "b.wav", 0) == 44
    consumer = RecordingConsumer(s, pool)
    call = ended_call("b.wav")
    call.answered_at = None
    call.disposition = "abandoned"
    await run_consumer(consumer, call)
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert (rec.status, rec.duration_s, rec.size_bytes, rec.short) == ("empty", 0.0, 44, False)
    assert not consumer.alerts
    write_wav(Path(s.local_dir) / "talked.wav", 0)  # answered, yet nothing was recorded
    await run_consumer(consumer, ended_call("talked.wav", linkedid="pbx1-2.0", talk_s=30))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-2.0")
    assert (rec.status, rec.short) == ("empty", True)


async def test_two_recordings_in_one_call(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """A transfer: the agent-channel pattern records each agent leg in its own file."""
    s = rec_settings(tmp_path)
    write_wav(Path(s.local_dir) / "leg1.wav", 4.0)
    write_wav(Path(s.local_dir) / "leg2.wav", 7.0)
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("leg1.wav", "leg2.wav", talk_s=11.2))
    rows = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert sorted((r.file_name, r.status, r.path) for r in rows) == [
        ("leg1.wav", "ready", "2026/12/01/pbx1_pbx1-1795349725.0_1.wav"),
        ("leg2.wav", "ready", "2026/12/01/pbx1_pbx1-1795349725.0_2.wav")]
    assert not any(r.short for r in rows)  # together 11 s of 11.2 s talk


async def test_recording_far_shorter_than_talk_is_flagged(pool: asyncpg.Pool,
                                                          tmp_path: Path) -> None:
    s = rec_settings(tmp_path, short_ratio=0.5)
    write_wav(Path(s.local_dir) / "s.wav", 3.0)
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("s.wav", talk_s=60.0))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "ready" and rec.short and rec.talk_s == 60.0


async def test_path_mapping_and_announced_only(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The announced Asterisk path (a sub-directory of the spool) is mapped to local_dir,
    also when the final call record does not list the file."""
    s = rec_settings(tmp_path)
    write_wav(Path(s.local_dir) / "q" / "sub.wav", 2.0)
    call = ended_call()
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts([
        RecordingAnnounced("pbx1", START, call.linkedid, f"{MONITOR}/q/sub.wav", "PJSIP/x-1"),
        CallEnded("pbx1", START, call)])
    await consumer.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", call.linkedid)
    assert (rec.file_name, rec.status, rec.source_path) == (
        "sub.wav", "ready", f"{MONITOR}/q/sub.wav")


async def test_refiling_the_same_call_changes_nothing(pool: asyncpg.Pool,
                                                      tmp_path: Path) -> None:
    s = rec_settings(tmp_path)
    write_wav(Path(s.local_dir) / "a.wav", 2.0)
    consumer = RecordingConsumer(s, pool)
    call = ended_call("a.wav")
    await run_consumer(consumer, call)
    before = await RecordingRepository(pool).for_call("pbx1", call.linkedid)
    await run_consumer(consumer, call)
    after = await RecordingRepository(pool).for_call("pbx1", call.linkedid)
    assert after == before and after[0].status == "ready"


async def test_pending_rows_resumed_after_restart(pool: asyncpg.Pool, tmp_path: Path) -> None:
    s = rec_settings(tmp_path, max_wait_s=5.0)
    first = RecordingConsumer(s, pool, close_grace_s=0.05)
    await first.on_facts(facts_for(ended_call("r.wav")))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    await first.close()  # daemon stopped while waiting: the row stays pending
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "pending"
    write_wav(Path(s.local_dir) / "r.wav", 1.5)
    second = RecordingConsumer(s, pool)
    await second.on_facts([])
    await second.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "ready" and rec.duration_s == pytest.approx(1.5)


async def test_call_without_recording_writes_nothing(pool: asyncpg.Pool,
                                                     tmp_path: Path) -> None:
    consumer = RecordingConsumer(rec_settings(tmp_path), pool)
    await run_consumer(consumer, ended_call())
    assert await pool.fetchval("SELECT count(*) FROM recordings") == 0


async def test_unwritable_store_leaves_row_pending_and_alerts(pool: asyncpg.Pool,
                                                              tmp_path: Path) -> None:
    s = rec_settings(tmp_path)
    Path(s.store_dir).write_text("a file where the store directory should be")
    write_wav(Path(s.local_dir) / "a.wav", 1.0)
    consumer = RecordingConsumer(s, pool)
    await run_consumer(consumer, ended_call("a.wav"))
    [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert rec.status == "pending" and "cannot file into the store" in rec.detail
    assert [a.status for a in consumer.alerts] == ["store_failed"]
    assert (Path(s.local_dir) / "a.wav").exists()  # nothing lost


async def test_resume_finds_a_file_moved_before_the_stop(pool: asyncpg.Pool,
                                                         tmp_path: Path) -> None:
    """Stopped between the move and the final write: the stored file is used."""
    s = rec_settings(tmp_path)
    call = ended_call("m.wav")
    rel = "2026/12/01/pbx1_pbx1-1795349725.0_1.wav"
    write_wav(Path(s.store_dir) / rel, 2.0)
    await RecordingRepository(pool).upsert(Recording(
        "pbx1", call.linkedid, "m.wav", START, source_path=f"{MONITOR}/m.wav", path=rel), 0.5)
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts([])
    await consumer.idle()
    [rec] = await RecordingRepository(pool).for_call("pbx1", call.linkedid)
    assert (rec.status, rec.path, rec.duration_s) == ("ready", rel, pytest.approx(2.0))


async def test_database_not_ready_at_start_is_retried(bare_dsn: str, tmp_path: Path) -> None:
    """The service's pool reaches a database without the schema yet: the sweep fails, logs
    and tries again; once the schema is there the recording is filed."""
    s = rec_settings(tmp_path, retry_delay_s=0)
    write_wav(Path(s.local_dir) / "a.wav", 1.0)
    pool = await db.create_pool(bare_dsn, min_size=0)
    consumer = RecordingConsumer(s, pool)
    try:
        with capture_logs() as logs:
            await consumer.on_facts([])
            await until(lambda: any(e["event"] == "recording_sweep_failed" for e in logs))
        async with pool.acquire() as conn:
            await db.migrate(conn)
        await run_consumer(consumer, ended_call("a.wav"))
        [rec] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
        assert rec.status == "ready"
    finally:
        await consumer.close()
        await db.close_pool(pool, 10.0)


async def test_sweep_files_calls_whose_end_was_missed(pool: asyncpg.Pool,
                                                      tmp_path: Path) -> None:
    """Calls stored (e.g. from the spool after an outage) without recording rows are filed,
    unless they ended just now (their CallEnded is on its way) or long ago."""
    from callcenter.store.calls import CallRepository

    s = rec_settings(tmp_path)
    now = datetime.now(UTC)
    calls = []
    for linkedid, ended_ago in (("missed", 600), ("just-now", 10), ("old", 3 * 86400)):
        call = ended_call(f"{linkedid}.wav", linkedid=linkedid, talk_s=2)
        call.ended_at = now - timedelta(seconds=ended_ago)
        call.answered_at = call.ended_at - timedelta(seconds=2)
        call.started_at = call.answered_at - timedelta(seconds=5)
        write_wav(Path(s.local_dir) / f"{linkedid}.wav", 2.0)
        calls.append(call)
    await CallRepository(pool).upsert_calls(calls)
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts([])
    await consumer.idle()
    rows = await pool.fetch("SELECT linkedid, status, short FROM recordings")
    assert [(r["linkedid"], r["status"], r["short"]) for r in rows] == [
        ("missed", "ready", False)]
    await consumer.close()

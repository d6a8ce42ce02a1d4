"""Recording paths from AMI are not trusted (issue 17): a real capture whose MixMonitor
file (Newexten AppData and VarSet MIXMONITOR_FILENAME) is rewritten to a hostile path, fed
through the real tracker to the recordings consumer (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import pytest
from structlog.testing import capture_logs

from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline_replay import ingest_items, read_capture
from callcenter.recordings.consumer import RecordingConsumer
from callcenter.settings import RecordingSettings, Settings
from callcenter.sim.wav import write_wav
from callcenter.store.recordings import Recording, RecordingRepository
from tests.support.recordings import ended_call, facts_for, rec_settings

CAPTURE = Path(__file__).parent / "traces" / "real2" / "q_answer_fast.jsonl"
ORIGINAL = "/var/spool/asterisk/monitor/20261122-121527-1001-pbx2-1795349725.1.wav"
LINKEDID = "pbx2-1795349725.0"


async def file_announced(pool: asyncpg.Pool, tmp_path: Path, announced: str
                         ) -> tuple[RecordingConsumer, list[Recording]]:
    """Ingest the capture with ``announced`` as the recording's path; the call's rows."""
    text = CAPTURE.read_text(encoding="utf-8")
    assert ORIGINAL in text
    capture = tmp_path / "hostile.jsonl"
    capture.write_text(text.replace(ORIGINAL, json.dumps(announced)[1:-1]), encoding="utf-8")
    settings = RecordingSettings(store_dir=str(tmp_path / "store"),
                                 local_dir=str(tmp_path / "monitor"), stable_wait_s=0,
                                 max_wait_s=0.2, retries=0)
    consumer = RecordingConsumer(settings, pool)
    await ingest_items(list(read_capture(capture)), "pbx2", make_tracker("pbx2", Settings()),
                       None, [consumer])
    await consumer.idle()
    await consumer.close()
    return consumer, await RecordingRepository(pool).for_call("pbx2", LINKEDID)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A valid WAV outside the monitor directory (it would have become downloadable)."""
    (tmp_path / "monitor").mkdir()
    path = tmp_path / "outside" / "victim.wav"
    write_wav(path, 3.0)
    return path


def _hostile(kind: str, victim: Path, monitor: Path) -> str:
    if kind == "absolute":
        return str(victim)
    if kind == "dotdot":
        return "../outside/victim.wav"
    if kind == "dotdot_deep":
        return "../../../../../../../.." + str(victim)
    if kind == "dotdot_in_spool":
        return "/var/spool/asterisk/monitor/../../../.." + str(victim)
    (monitor / "victim.wav").symlink_to(victim)  # a symlink inside, pointing outside
    return "/var/spool/asterisk/monitor/victim.wav"


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "dotdot_deep", "dotdot_in_spool",
                                  "symlink"])
async def test_a_path_outside_the_monitor_dir_is_refused_and_the_file_left_alone(
        pool: asyncpg.Pool, tmp_path: Path, victim: Path, kind: str) -> None:
    before = (victim.read_bytes(), victim.stat().st_mtime_ns, victim.stat().st_ino)
    announced = _hostile(kind, victim, tmp_path / "monitor")
    with capture_logs() as logs:
        consumer, rows = await file_announced(pool, tmp_path, announced)
    after = victim.stat()
    assert (victim.read_bytes(), after.st_mtime_ns, after.st_ino) == before  # untouched
    assert not [p for p in (tmp_path / "store").rglob("*") if p.is_file()]  # nothing filed
    [row] = rows
    assert (row.status, row.path, row.sha256, row.size_bytes) == ("missing", None, None, None)
    assert row.file_name == "victim.wav" and row.source_path == announced
    assert row.detail.startswith("refused: ")
    [alert] = consumer.alerts
    assert (alert.status, alert.linkedid, alert.file_name) == ("refused", LINKEDID, "victim.wav")
    [line] = [e for e in logs if e["event"] == "recording_refused"]
    assert (line["log_level"], line["linkedid"], line["source_path"]) == (
        "error", LINKEDID, announced)


async def test_the_real_path_is_still_filed(pool: asyncpg.Pool, tmp_path: Path,
                                            victim: Path) -> None:
    spool = tmp_path / "monitor"
    size = write_wav(spool / "2026" / "ok.wav", 4.0)
    os.utime(spool / "2026" / "ok.wav", (0, 0))
    consumer, [row] = await file_announced(pool, tmp_path,
                                           "/var/spool/asterisk/monitor/2026/ok.wav")
    assert (row.status, row.size_bytes, row.file_name) == ("ready", size, "ok.wav")
    assert (tmp_path / "store" / str(row.path)).stat().st_size == size
    assert not (spool / "2026" / "ok.wav").exists() and not consumer.alerts


async def test_a_symlink_taking_the_file_s_place_while_waiting_is_refused(
        pool: asyncpg.Pool, tmp_path: Path, victim: Path) -> None:
    s = rec_settings(tmp_path, local_dir=str(tmp_path / "monitor"), max_wait_s=2.0)
    consumer = RecordingConsumer(s, pool)
    await consumer.on_facts(facts_for(ended_call("late.wav")))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)  # the path was checked; the file has not appeared yet
    (tmp_path / "monitor" / "late.wav").symlink_to(victim)
    await consumer.idle()
    await consumer.close()
    [row] = await RecordingRepository(pool).for_call("pbx1", "pbx1-1795349725.0")
    assert row.status == "missing" and row.detail.startswith("refused: its real path")
    assert victim.is_file() and [a.status for a in consumer.alerts] == ["refused"]

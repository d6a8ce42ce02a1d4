"""Recordings in tests: settings on a temporary directory, an ended call and its facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from callcenter.calls.model import CallEnded, CallRecord, RecordingAnnounced
from callcenter.settings import RecordingSettings

MONITOR = "/var/spool/asterisk/monitor"


START = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def rec_settings(tmp_path: Path, **kw: object) -> RecordingSettings:
    base: dict[str, object] = {
        "store_dir": str(tmp_path / "store"), "asterisk_dir": MONITOR,
        "local_dir": str(tmp_path / "spool"), "stable_wait_s": 0.05, "max_wait_s": 0.3,
        "retries": 1, "retry_delay_s": 0.05}
    return RecordingSettings.model_validate(base | kw)


def ended_call(*names: str, talk_s: float = 10.0, linkedid: str = "pbx1-1795349725.0",
               queue: str | None = "support") -> CallRecord:
    answered = START + timedelta(seconds=5)
    return CallRecord(server="pbx1", linkedid=linkedid, started_at=START, answered_at=answered,
                      ended_at=answered + timedelta(seconds=talk_s), queue=queue,
                      agent="agent1001", disposition="answered", recordings=list(names))


def facts_for(call: CallRecord) -> list[object]:
    announced = [RecordingAnnounced(call.server, START, call.linkedid, f"{MONITOR}/{n}",
                                    "PJSIP/trunk-00000001") for n in call.recordings]
    return [*announced, CallEnded(call.server, call.ended_at or START, call)]

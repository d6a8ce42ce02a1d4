"""``callcenter recordings purge|hold|verify`` against a real PostgreSQL and a real store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from callcenter.cli import main
from callcenter.recordings.files import sha256_of
from callcenter.sim.wav import write_wav
from callcenter.store.audit import AuditRepository
from callcenter.store.recordings import Recording, RecordingRepository

NOW = datetime.now(UTC)


async def cli(config: Path, dsn: str, *argv: str) -> int:
    """Run ``callcenter --config config <argv> --dsn dsn`` (its own event loop, in a thread)."""
    return await asyncio.to_thread(main, ["--config", str(config), *argv, "--dsn", dsn])


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)
    path = tmp_path / "cc.toml"
    path.write_text(f'[recordings]\nstore_dir = "{tmp_path / "store"}"\nretention_days = 365\n'
                    '[queues.support]\nretention_days = 30\n', encoding="utf-8")
    return path


async def stored(pool: asyncpg.Pool, store: Path, linkedid: str, queue: str | None,
                 age_days: float, status: str = "ready") -> Recording:
    rel = f"x/{linkedid}.wav"
    if status == "missing":
        rel = ""
    else:
        write_wav(store / rel, 1.0)
    rec = Recording("pbx1", linkedid, f"{linkedid}.wav", NOW - timedelta(days=age_days),
                    status=status,  # type: ignore[arg-type]
                    path=rel or None, queue=queue,
                    sha256=sha256_of(store / rel) if rel else None)
    await RecordingRepository(pool).upsert(rec, 0.5)
    return rec


async def statuses(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT linkedid, status FROM recordings")
    return {r["linkedid"]: r["status"] for r in rows}


async def test_purge_respects_retention_per_queue_and_legal_hold(
        pool: asyncpg.Pool, fresh_dsn: str, config: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    await stored(pool, store, "support-old", "support", 40)
    await stored(pool, store, "sales-40", "sales", 40)
    await stored(pool, store, "sales-400", "sales", 400)
    await stored(pool, store, "held", "support", 40)
    await stored(pool, store, "support-10", "support", 10)
    await stored(pool, store, "gone", "support", 400, status="missing")
    assert await cli(config, fresh_dsn, "recordings", "hold", "pbx1", "held") == 0
    assert "legal hold set on 1 recording(s) of pbx1/held" in capsys.readouterr().out
    audit = AuditRepository(pool)
    assert [e.action for e in await audit.entries(object="call:pbx1/held")] == [
        "recording_hold_set"]

    assert await cli(config, fresh_dsn, "recordings", "purge", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would purge pbx1 support-old support-old.wav" in out and "kept 30" in out
    assert "would purge pbx1 sales-400" in out and "would purge 2 recording(s)" in out
    assert "held" not in out and "sales-40 " not in out
    assert len(list(store.glob("x/*.wav"))) == 5
    assert not await audit.entries(action="recording_purged")

    assert await cli(config, fresh_dsn, "recordings", "purge") == 0
    assert "purged 2 recording(s)" in capsys.readouterr().out
    assert await statuses(pool) == {
        "support-old": "purged", "sales-40": "ready", "sales-400": "purged", "held": "ready",
        "support-10": "ready", "gone": "missing"}
    assert sorted(p.stem for p in store.glob("x/*.wav")) == ["held", "sales-40", "support-10"]
    entries = await audit.entries(action="recording_purged")
    assert sorted(e.object for e in entries) == ["call:pbx1/sales-400", "call:pbx1/support-old"]
    assert all(e.actor == "cli" and e.details["retention_days"] in (30, 365) for e in entries)

    assert await cli(config, fresh_dsn, "recordings", "hold", "pbx1", "held", "--off") == 0
    assert await cli(config, fresh_dsn, "recordings", "purge") == 0
    assert (await statuses(pool))["held"] == "purged"
    assert not (store / "x" / "held.wav").exists()


async def test_hold_on_unknown_call_exits_2(pool: asyncpg.Pool, fresh_dsn: str, config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(config, fresh_dsn, "recordings", "hold", "pbx1", "nope") == 2
    assert "no recording of call pbx1/nope" in capsys.readouterr().err


async def test_verify_reports_mismatch_and_missing(
        pool: asyncpg.Pool, fresh_dsn: str, config: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    good = await stored(pool, store, "good", "sales", 1)
    bad = await stored(pool, store, "tampered", "sales", 1)
    assert await cli(config, fresh_dsn, "recordings", "verify") == 0
    assert "verified 2 recording(s): 0 problem(s)" in capsys.readouterr().out
    target = store / str(bad.path)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF
    target.write_bytes(bytes(data))
    (store / str(good.path)).unlink()
    assert await cli(config, fresh_dsn, "recordings", "verify") == 1
    out = capsys.readouterr().out
    assert f"MISMATCH pbx1 tampered tampered.wav (x/tampered.wav): stored {bad.sha256}" in out
    assert "MISSING pbx1 good good.wav" in out
    assert "verified 2 recording(s): 2 problem(s)" in out
    [entry, _] = await AuditRepository(pool).entries(action="recordings_verified")
    assert entry.details["problems"] == 2

"""The recording endpoint: Range, permissions, audit, and paths that must not escape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from yarl import URL

from callcenter.calls.model import CallRecord
from callcenter.recordings.web import recording_url
from callcenter.settings import RecordingSettings, Settings
from callcenter.sim.wav import write_wav
from callcenter.store.audit import AuditRepository
from callcenter.store.calls import CallRepository
from callcenter.store.recordings import Recording, RecordingRepository
from callcenter.web.testing import web_client

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LINKEDID = "pbx1-1795349725.0"


@pytest.fixture
async def setup(pool: asyncpg.Pool, tmp_path: Path) -> tuple[Settings, bytes]:
    """A ready recording of agent1001's call, 2 s of WAV, and a secret outside the store."""
    store = tmp_path / "store"
    rel = "2026/12/01/pbx1_pbx1-1795349725.0_1.wav"
    write_wav(store / rel, 2.0)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    await CallRepository(pool).upsert_calls([CallRecord(
        "pbx1", LINKEDID, START, agent="agent1001", answered_at=START,
        ended_at=START + timedelta(seconds=2), disposition="answered", recordings=["a.wav"])])
    await RecordingRepository(pool).upsert(Recording(
        "pbx1", LINKEDID, "a.wav", START, status="ready", path=rel, format="wav",
        duration_s=2.0), 0.5)
    settings = Settings(recordings=RecordingSettings(store_dir=str(store)))
    return settings, (store / rel).read_bytes()


def client_for(settings: Settings, pool: asyncpg.Pool, **kw: Any) -> Any:
    """A signed-in client of an app with only this feature (others may be half-built)."""
    return web_client(settings, pool, features=("callcenter.recordings.web",), **kw)


def url() -> str:
    return recording_url(Recording("pbx1", LINKEDID, "a.wav", START))


async def audit_actions(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    entries = await AuditRepository(pool).entries(object=f"call:pbx1/{LINKEDID}")
    return [(e.actor, e.action, e.remote) for e in reversed(entries)]


async def test_supervisor_gets_whole_file_and_access_is_audited(
        pool: asyncpg.Pool, setup: tuple[Settings, bytes]) -> None:
    settings, data = setup
    async with client_for(settings, pool, role="supervisor") as client:
        resp = await client.get(url())
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "audio/wav"
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert await resp.read() == data
        name = client.username
    assert await audit_actions(pool) == [(name, "recording_fetched", "127.0.0.1")]


async def test_range_requests_return_the_right_bytes(
        pool: asyncpg.Pool, setup: tuple[Settings, bytes]) -> None:
    settings, data = setup
    async with client_for(settings, pool, role="qa") as client:
        resp = await client.get(url(), headers={"Range": "bytes=100-199"})
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert await resp.read() == data[100:200]
        seek = await client.get(url(), headers={"Range": "bytes=30000-"})  # player seeks
        assert seek.status == 206 and await seek.read() == data[30000:]
        tail = await client.get(url(), headers={"Range": "bytes=-44"})
        assert tail.status == 206 and await tail.read() == data[-44:]
        bad = await client.get(url(), headers={"Range": f"bytes={len(data) + 10}-"})
        assert bad.status == 416
    entries = await AuditRepository(pool).entries(action="recording_fetched")
    assert {e.details["range"] for e in entries} >= {"bytes=100-199", "bytes=30000-"}


async def test_agent_hears_own_call_only(pool: asyncpg.Pool,
                                         setup: tuple[Settings, bytes]) -> None:
    settings, data = setup
    async with client_for(settings, pool, role="agent", agent="agent1001") as own:
        resp = await own.get(url())
        assert resp.status == 200 and await resp.read() == data
    async with client_for(settings, pool, role="agent", agent="agent1002") as other:
        resp = await other.get(url())
        assert resp.status == 403
        assert b"RIFF" not in await resp.read()
        denied = other.username
    actions = await audit_actions(pool)
    assert actions[-1] == (denied, "recording_denied", "127.0.0.1")
    assert [a[1] for a in actions] == ["recording_fetched", "recording_denied"]


async def test_not_signed_in_is_sent_to_login(pool: asyncpg.Pool,
                                              setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    async with client_for(settings, pool, role=None) as client:
        resp = await client.get(url(), allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/login")


TRAVERSALS = [
    "/recordings/pbx1/pbx1-1795349725.0/..%2F..%2Fsecret.txt",
    "/recordings/pbx1/pbx1-1795349725.0/%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/recordings/pbx1/pbx1-1795349725.0/%2Ftmp%2Fsecret.txt",
    "/recordings/pbx1/..%2F..%2F..%2F/secret.txt",
    "/recordings/pbx1/pbx1-1795349725.0/..",
    "/recordings/pbx1/pbx1-1795349725.0/a.wav%00.txt",
    "/recordings/../../secret.txt",
]


async def test_traversal_in_the_request_reads_nothing(
        pool: asyncpg.Pool, setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    async with client_for(settings, pool, role="admin") as client:
        for raw in TRAVERSALS:
            resp = await client.get(URL(raw, encoded=True))
            assert resp.status in (400, 404), raw
            assert b"TOP SECRET" not in await resp.read()
    assert not await AuditRepository(pool).entries(action="recording_fetched")


async def test_row_path_outside_the_store_is_refused(
        pool: asyncpg.Pool, setup: tuple[Settings, bytes], tmp_path: Path) -> None:
    """Even a tampered row (or a symlink in the store) cannot lead outside store_dir."""
    settings, _ = setup
    (tmp_path / "store" / "link").symlink_to(tmp_path)
    async with client_for(settings, pool, role="admin") as client:
        for bad_path in ("../secret.txt", "2026/../../secret.txt", "/etc/passwd",
                         str(tmp_path / "secret.txt"), "", "link/secret.txt"):
            await pool.execute("UPDATE recordings SET path = $1", bad_path)
            resp = await client.get(url())
            assert resp.status == 404, bad_path
            assert b"TOP SECRET" not in await resp.read()


async def test_unplayable_statuses(pool: asyncpg.Pool, setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    cases = [("purged", 410), ("missing", 404), ("pending", 404), ("corrupt", 404)]
    async with client_for(settings, pool, role="qa") as client:
        for status, code in cases:
            await pool.execute("UPDATE recordings SET status = $1", status)
            resp = await client.get(url())
            assert resp.status == code, status
    details: list[dict[str, Any]] = [e.details for e in await AuditRepository(pool).entries(
        action="recording_unavailable")]
    assert [d["status"] for d in reversed(details)] == [c[0] for c in cases]


async def test_unknown_recording_is_404(pool: asyncpg.Pool,
                                        setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    async with client_for(settings, pool, role="qa") as client:
        resp = await client.get("/recordings/pbx1/nope/a.wav")
        assert resp.status == 404


async def test_json_list_of_a_call_and_problems(pool: asyncpg.Pool,
                                                setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    await RecordingRepository(pool).upsert(Recording(
        "pbx1", LINKEDID, "b.wav", START, status="missing", detail="file never appeared"), 0.5)
    async with client_for(settings, pool, role="agent", agent="agent1001") as own:
        resp = await own.get(f"/api/recordings/pbx1/{LINKEDID}")
        assert resp.status == 200
        got = {r["file_name"]: (r["status"], r["url"]) for r in await resp.json()}
        assert got == {"a.wav": ("ready", url()), "b.wav": ("missing", None)}
        assert (await own.get("/api/recordings/problems")).status == 403
    async with client_for(settings, pool, role="agent", agent="agent1002") as other:
        assert (await other.get(f"/api/recordings/pbx1/{LINKEDID}")).status == 403
    async with client_for(settings, pool, role="supervisor") as sup:
        resp = await sup.get("/api/recordings/problems?limit=5")
        assert [(r["file_name"], r["detail"]) for r in await resp.json()] == [
            ("b.wav", "file never appeared")]
        assert (await sup.get("/api/recordings/problems?limit=0")).status == 400
        assert (await sup.get("/api/recordings/problems?limit=x")).status == 400


async def test_a_play_is_audited_when_the_player_plays_not_when_it_fetches(
        pool: asyncpg.Pool, setup: tuple[Settings, bytes]) -> None:
    settings, _ = setup
    async with client_for(settings, pool, role="qa") as client:
        assert (await client.get(url(), headers={"Range": "bytes=0-"})).status == 206
        assert not await AuditRepository(pool).entries(action="recording_played")
        assert (await client.post(url() + "/played")).status == 403  # no CSRF token
        resp = await client.post(url() + "/played", headers={"X-CSRF-Token": client.csrf})
        assert resp.status == 204
        name = client.username
    async with client_for(settings, pool, role="agent", agent="agent1002") as other:
        resp = await other.post(url() + "/played", headers={"X-CSRF-Token": other.csrf})
        assert resp.status == 403
    actions = [a[:2] for a in await audit_actions(pool)]
    assert actions[:2] == [(name, "recording_fetched"), (name, "recording_played")]
    assert actions[-1][1] == "recording_denied"


async def test_the_audited_file_name_has_the_callers_number_masked(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    name = "20261201-080000-13812345678-pbx1-1.wav"
    write_wav(tmp_path / name, 1.0)
    await CallRepository(pool).upsert_calls([CallRecord(
        "pbx1", "c9", START, caller="13812345678", agent="agent1001",
        ended_at=START + timedelta(seconds=1), disposition="answered")])
    await RecordingRepository(pool).upsert(Recording(
        "pbx1", "c9", name, START, status="ready", path=name, format="wav"), 0.5)
    settings = Settings(recordings=RecordingSettings(store_dir=str(tmp_path)))
    async with client_for(settings, pool, role="supervisor") as client:
        resp = await client.get(recording_url(Recording("pbx1", "c9", name, START)))
        assert resp.status == 200
    [entry] = await AuditRepository(pool).entries(object="call:pbx1/c9")
    assert entry.details["file_name"] == "20261201-080000-138****5678-pbx1-1.wav"

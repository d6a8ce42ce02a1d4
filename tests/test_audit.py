"""The audit log against a real PostgreSQL."""

from __future__ import annotations

import asyncpg

from callcenter.store.audit import AuditRepository


async def test_record_and_filter(pool: asyncpg.Pool) -> None:
    audit = AuditRepository(pool)
    first = await audit.record("alice", "recording_played", "call:pbx1/1.2", remote="127.0.0.1",
                               details={"range": "bytes=0-"})
    await audit.record("bob", "login_failed", "user:bob")
    assert first.id > 0 and first.at.tzinfo is not None
    got = await audit.entries(object="call:pbx1/1.2")
    assert [(e.actor, e.action, e.remote, e.details) for e in got] == [
        ("alice", "recording_played", "127.0.0.1", {"range": "bytes=0-"})]
    assert [e.actor for e in await audit.entries()] == ["bob", "alice"]
    assert await audit.entries(actor="carol") == []

"""The audit log against a real PostgreSQL."""

from __future__ import annotations

import asyncpg

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository, readable


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


async def test_audit_page_shows_details_as_readable_text(pool: asyncpg.Pool) -> None:
    from callcenter.web.testing import web_client

    await AuditRepository(pool).record("zhao", "qa_dispute_resolved", "qa_review:7", details={
        "comment": "录音 03:10 处已礼貌结束", "items": ["polite_close", "hold_time"],
        "total_after": 95.3, "scores_before": {"polite_close": {"value": 0, "comment": "没有"}}})
    async with web_client(Settings(), pool, role="admin",
                          features=("callcenter.web.users",)) as admin:
        page = await (await admin.get("/audit", params={"actor": "zhao"})).text()
    assert "\\u" not in page and "&#34;" not in page.split("录音")[1].split("</dd>")[0]
    assert "<dt>comment</dt><dd>录音 03:10 处已礼貌结束</dd>" in page
    assert "<dt>items</dt><dd>polite_close, hold_time</dd>" in page
    assert "<dt>total_after</dt><dd>95.3</dd>" in page
    assert "没有" in page


def test_readable_detail_values() -> None:
    assert readable("中文") == "中文"
    assert readable(["a", 1]) == "a, 1"
    assert readable({"k": "值"}) == '{"k": "值"}'
    assert readable(None) == "null" and readable(True) == "true"

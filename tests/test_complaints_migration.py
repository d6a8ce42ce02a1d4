"""Migration 022 moves the complaints of 008 into the workflow's states, with their history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from callcenter import db

T = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


async def test_existing_complaints_move_into_the_new_states(bare_dsn: str) -> None:
    conn = await asyncpg.connect(bare_dsn)
    try:
        files = db.migration_files()
        workflow = next(f for f in files if f.name.startswith("022_"))
        for path in files[:files.index(workflow)]:
            await conn.execute(path.read_text(encoding="utf-8"))
        await conn.execute(
            "INSERT INTO calls (server, linkedid, direction, caller, agent, started_at)"
            " VALUES ('pbx1', 'c1', 'inbound', '13800000001', 'agent1001', $1)", T)
        for i, status in enumerate(("open", "answered", "closed")):
            note = await conn.fetchval(
                "INSERT INTO call_notes (server, linkedid, agent, category, content)"
                " VALUES ('pbx1', 'c1', $1, 'complaint', 'rude') RETURNING id", f"agent100{i}")
            answered = T + timedelta(hours=2) if status != "open" else None
            await conn.execute(
                "INSERT INTO complaints (note_id, opened_at, due_at, status, response,"
                " answered_by, answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", note, T,
                T + timedelta(hours=48), status, "sorry" if answered else "",
                "sue" if answered else None, answered)
        await conn.execute(workflow.read_text(encoding="utf-8"))

        rows = await conn.fetch("SELECT id, status, agent, number, server, linkedid,"
                                " first_due_at, closed_at FROM complaints ORDER BY id")
        assert [r["status"] for r in rows] == ["registered", "answered", "closed"]
        assert {(r["agent"], r["number"], r["server"], r["linkedid"]) for r in rows} == {
            ("agent1000", "13800000001", "pbx1", "c1"), ("agent1001", "13800000001", "pbx1", "c1"),
            ("agent1002", "13800000001", "pbx1", "c1")}
        assert all(r["first_due_at"] == T + timedelta(hours=48) for r in rows)
        assert [r["closed_at"] for r in rows] == [None, None, T + timedelta(hours=2)]
        events = await conn.fetch("SELECT complaint_id, action, to_state, text FROM"
                                  " complaint_events ORDER BY complaint_id, id")
        ids = [r["id"] for r in rows]
        assert [(e["complaint_id"], e["action"], e["to_state"], e["text"]) for e in events] == [
            (ids[0], "register", "registered", ""),
            (ids[1], "register", "registered", ""), (ids[1], "answer", "answered", "sorry"),
            (ids[2], "register", "registered", ""), (ids[2], "answer", "closed", "sorry")]
        assert await conn.fetchval("SELECT count(*) FROM complaint_calls") == 3
    finally:
        await conn.close()

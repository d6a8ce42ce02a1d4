"""Calls to show: one day of calls (answered, outbound unanswered, abandoned, open) with a
three-ring violation, recordings, QA reviews and agent notes, written straight to the
tables (shared by the console tests and the pseudo-locale sweep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.qa.forms import latest_forms
from callcenter.settings import Settings

FORMS = Path(__file__).parents[2] / "qa" / "forms"
"""The form files of the repository (a review pins one)."""

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
"""14:00 in Shanghai, 2026-11-02."""


async def add_call(pool: asyncpg.Pool, linkedid: str, minute: float, **cols: Any) -> None:
    """Store an ended inbound call answered by agent1001 in support (``cols`` override)."""
    start = T0 + timedelta(minutes=minute)
    row: dict[str, Any] = {
        "server": "pbx1", "linkedid": linkedid, "direction": "inbound",
        "caller": "13800000000", "callee": "800", "queue": "support", "agent": "agent1001",
        "started_at": start, "queue_joined_at": start, "answered_at": start + timedelta(seconds=5),
        "ended_at": start + timedelta(seconds=105), "wait_s": 5.0, "talk_s": 100.0,
        "hold_s": 0.0, "hangup_by": "caller", "disposition": "answered"} | cols
    names = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await pool.execute(f"INSERT INTO calls ({names}) VALUES ({marks})", *row.values())


async def add_violation(pool: asyncpg.Pool, linkedid: str, agent: str = "agent1002",
                        queue: str | None = "support", action: str = "hangup",
                        result: str = "ok") -> None:
    """A ring-no-answer of ``agent`` on the call with its three-ring violation."""
    start = await pool.fetchval("SELECT started_at FROM calls WHERE linkedid = $1", linkedid)
    await pool.execute(
        "INSERT INTO ring_attempts (server, linkedid, idx, agent, interface, queue, started_at,"
        " ended_at, ring_s, rings, outcome, within_rule) VALUES ('pbx1', $1, 0, $2,"
        " 'PJSIP/' || $2, $3, $4::timestamptz, $4::timestamptz + interval '16 s', 16, 4, 'no_answer', false)",
        linkedid, agent, queue, start)
    await pool.execute(
        "INSERT INTO violations (server, linkedid, idx, agent, interface, queue, ring_s, rings,"
        " deadline_s, at, action, result) VALUES ('pbx1', $1, 0, $2, 'PJSIP/' || $2, $3, 15,"
        " 3, 15, $4::timestamptz + interval '15 s', $5, $6)", linkedid, agent, queue, start, action, result)


async def add_recording(pool: asyncpg.Pool, linkedid: str, status: str = "ready") -> None:
    await pool.execute(
        "INSERT INTO recordings (server, linkedid, file_name, status, path, format, duration_s,"
        " call_started_at) SELECT server, linkedid, linkedid || '.wav', $2, linkedid || '.wav',"
        " 'wav', 6, started_at FROM calls WHERE linkedid = $1", linkedid, status)


async def add_review(pool: asyncpg.Pool, linkedid: str, status: str) -> None:
    await pool.execute("INSERT INTO qa_samples (server, linkedid, week, agent, reasons, seed)"
                       " VALUES ('pbx1', $1, '2026-W45', 'agent1001', '{random}', 1)", linkedid)
    aid = await pool.fetchval("INSERT INTO qa_assignments (server, linkedid, inspector)"
                              " VALUES ('pbx1', $1, 'test_qa') RETURNING id", linkedid)
    form = next(iter(latest_forms(FORMS).values()))
    await pool.execute(
        "INSERT INTO qa_reviews (assignment_id, server, linkedid, inspector, agent, form_id,"
        " form_version, form_hash, form_definition, total, status) VALUES ($1, 'pbx1', $2,"
        " 'test_qa', 'agent1001', $4, $5, $6, $7, 88.5, $3)", aid, linkedid, status,
        form.id, form.version, form.hash, dict(form.definition))


async def add_note(pool: asyncpg.Pool, linkedid: str, category: str) -> None:
    await pool.execute("INSERT INTO call_notes (server, linkedid, agent, category, content)"
                       " VALUES ('pbx1', $1, 'agent1001', $2, 'customer waited long')",
                       linkedid, category)


async def scenario(pool: asyncpg.Pool) -> None:
    """Calls of 2026-11-02 (Shanghai) that each filter must tell apart, and one the day
    before with c1's number."""
    await add_call(pool, "c1", 0, caller="13812345678")
    await add_violation(pool, "c1")
    await add_recording(pool, "c1")
    await add_review(pool, "c1", "submitted")
    await add_note(pool, "c1", "complaint")
    await add_call(pool, "c2", 10, direction="outbound", caller="1002", callee="13900001111",
                   queue=None, agent="agent1002", queue_joined_at=None, answered_at=None,
                   wait_s=None, talk_s=None, disposition="no_answer", hangup_by=None)
    await add_call(pool, "c3", 20, caller="13712345678", queue="sales", agent=None,
                   answered_at=None, wait_s=90.0, talk_s=None, disposition="abandoned")
    await add_call(pool, "c4", 30, caller="13855556666", agent="agent1002", wait_s=20.0)
    await add_recording(pool, "c4", "missing")
    await add_review(pool, "c4", "draft")
    await add_note(pool, "c4", "inquiry")
    await add_call(pool, "c6", 40, ended_at=None, disposition=None, talk_s=None)
    await add_call(pool, "c5", -24 * 60, caller="13812345678")


FEATURES = ("callcenter.recordings.web", "callcenter.console.web")


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.default_language = "en"
    return s

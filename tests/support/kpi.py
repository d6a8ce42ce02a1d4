"""A stored world for the KPI tests: calls, complaints, verdicts and reviews of two months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest


@pytest.fixture
async def world(pool: asyncpg.Pool) -> asyncpg.Pool:
    for lid, caller, agent, queue, start, after, survey, unknown in CALLS:
        answered = None if after is None else start + timedelta(seconds=after)
        await pool.execute(
            "INSERT INTO calls (server, linkedid, direction, caller, agent, queue, started_at,"
            " queue_joined_at, answered_at, ended_at, disposition, survey_offered, survey_score,"
            " unknown) VALUES ('pbx', $1, 'inbound', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
            " $12)", lid, caller, agent, queue, start, start + timedelta(seconds=15), answered,
            start + timedelta(minutes=5), "answered" if answered else "abandoned",
            survey is not None, survey, unknown)
    for number, reason, lid, agent, responsible, opened, due, answered, closed in COMPLAINTS:
        status = "closed" if closed else "registered"
        await pool.execute(
            "INSERT INTO complaints (number, reason, server, linkedid, agent, responsible_agent,"
            " opened_at, due_at, first_due_at, answered_at, closed_at, status)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)", number, reason,
            "pbx" if lid else None, lid, agent, responsible, opened, due, answered, closed,
            status)
    for cid, verdict, at in VERDICTS:
        await pool.execute(
            "INSERT INTO complaint_events (complaint_id, at, actor, action, from_state,"
            " to_state, verdict) VALUES ($1, $2, 'sue', $3, 'answered', 'closed', $3)",
            cid, at, verdict)
    for lid, agent, total, fatal, status in REVIEWS:
        await pool.execute("INSERT INTO qa_samples (server, linkedid, week, agent, reasons,"
                           " seed) VALUES ('pbx', $1, '2026-W45', $2, '{random}', 0)", lid, agent)
        aid = await pool.fetchval("INSERT INTO qa_assignments (server, linkedid, inspector)"
                                  " VALUES ('pbx', $1, 'quinn') RETURNING id", lid)
        await pool.execute(
            "INSERT INTO qa_reviews (assignment_id, server, linkedid, inspector, agent, form_id,"
            " form_version, form_hash, form_definition, total, fatal, status, submitted_at)"
            " VALUES ($1, 'pbx', $2, 'quinn', $3, 'f', 1, 'h', '{}', $4, $5, $6, $7)",
            aid, lid, agent, total, fatal, status, t(11, 20) if status == "submitted" else None)
    return pool


def t(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


CALLS = [  # linkedid, caller, agent, queue, start, answer after s (None: never), survey, unknown
    ("c1", "A", "a1", "q1", t(11, 2, 10), 20, 5, []),
    ("c2", "A", "a1", "q1", t(11, 3, 10), 40, 2, []),
    ("c3", "B", "a2", "q2", t(11, 4, 10), 30, None, []),
    ("c4", "C", "a2", "q2", t(11, 5, 10), None, None, []),
    ("c5", "D", "a2", "q1", t(11, 6, 10), 10, 3, ["start"]),
    ("c7", "G", "a1", "q1", t(11, 7, 10), 50, None, []),
    ("c6", "E", "a1", "q1", t(12, 1, 10), 5, None, []),
]


COMPLAINTS = [  # number, reason, call, agent, responsible, opened, first due, answered, closed
    ("A", "service_attitude", "c1", "a1", None, t(11, 2, 11), t(11, 4, 11), t(11, 3, 11),
     t(11, 5, 11)),
    ("A", "wait_time", None, None, "a2", t(11, 10), t(11, 12), t(11, 13), t(11, 20)),
    ("B", "service_attitude", "c3", "a2", None, t(11, 25), t(11, 27), None, None),
    ("F", "billing", None, None, None, t(11, 29), t(12, 20), None, None),
]


VERDICTS = [(1, "satisfied", t(11, 5, 11)), (2, "not_satisfied", t(11, 14)),
            (2, "satisfied", t(11, 20))]


REVIEWS = [("c1", "a1", 80.0, False, "submitted"), ("c2", "a1", 55.0, False, "submitted"),
           ("c3", "a2", 0.0, True, "submitted"), ("c7", "a1", 60.0, False, "submitted"),
           ("c5", "a2", 95.0, False, "draft")]

"""Notes, complaints and QA scores in reports: SQL = Python form; absent tables are skipped."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from callcenter.kpis import CENTRE, NotedCall, note_figures
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings
from callcenter.store import report_extras as extras
from callcenter.store.calls import CallRepository
from tests.support.metrics import T0, at, sample

NOTES = [NotedCall("pbx", "c1", "a1", complaint=False),
         NotedCall("pbx", "c3", "a2", complaint=True),
         NotedCall("pbx", "c4", "a1", complaint=False),
         NotedCall("pbx", "c7", "a1", complaint=True)]
PERIOD = parse_period("day", "2026-11-03", None, "Asia/Shanghai")


async def add_notes(pool: asyncpg.Pool) -> None:
    for n in NOTES:
        # c3's complaint is a registered one; c7's only has the category
        category = "complaint" if n.linkedid == "c7" else "consultation"
        note_id = await pool.fetchval(
            "INSERT INTO call_notes (server, linkedid, agent, category) VALUES ($1, $2, $3, $4)"
            " RETURNING id", n.server, n.linkedid, n.agent, category)
        if n.linkedid == "c3":
            await pool.execute("INSERT INTO complaints (note_id, opened_at, due_at)"
                               " VALUES ($1, $2, $3)", note_id, at(100), at(86400))


async def test_notes_agree_with_the_python_form(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(sample())
    await add_notes(pool)
    report = await build_report(pool, Settings(), PERIOD, ReportFilter(), now=at(160))
    expected = note_figures(sample(), NOTES)
    assert report.notes is not None
    assert report.notes.as_dict() == expected[CENTRE].as_dict()
    for row in report.agents:
        assert row.notes is not None
        assert row.notes.as_dict() == expected[row.agent].as_dict(), row.agent
    assert report.notes.notes_completeness == 3 / 5
    # complaint rate (store.kpi_reads): 1 complaining customer (c3's complaint, no number)
    # over 5 customers served (c1..c5 answered, no caller IDs: one customer each)
    assert report.complaint_rate == 1 / 5


async def test_qa_average_of_submitted_reviews(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(sample())
    async with pool.acquire() as conn:
        for lid, total in (("c1", 90.0), ("c2", 70.0), ("c3", None)):
            await conn.execute("INSERT INTO qa_samples (server, linkedid, week, agent, reasons,"
                               " seed) VALUES ('pbx', $1, '2026-W45', 'a1', '{random}', 1)", lid)
            aid = await conn.fetchval("INSERT INTO qa_assignments (server, linkedid, inspector)"
                                      " VALUES ('pbx', $1, 'qa1') RETURNING id", lid)
            await conn.execute(
                "INSERT INTO qa_reviews (assignment_id, server, linkedid, inspector, agent,"
                " form_id, form_version, form_hash, form_definition, total, status,"
                " submitted_at) VALUES ($1, 'pbx', $2, 'qa1', 'a1', 'f', 1, 'h', '{}', $3,"
                " 'submitted', $4)", aid, lid, total, T0 + timedelta(hours=1))
    report = await build_report(pool, Settings(), PERIOD, ReportFilter(), now=at(160))
    a1 = next(r for r in report.agents if r.agent == "a1")
    assert (a1.qa_reviews, a1.qa_average) == (2, 80.0)       # the review without a total is out


async def test_missing_tables_are_skipped(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(sample())
    await pool.execute("DROP TABLE complaints, qa_reviews CASCADE")
    async with pool.acquire() as conn:
        assert await extras.note_counts(conn, start=PERIOD.start, end=PERIOD.end) is None
        assert await extras.qa_averages(conn, start=PERIOD.start, end=PERIOD.end) is None
    report = await build_report(pool, Settings(), PERIOD, ReportFilter(), now=at(160))
    assert report.notes is None and not report.qa_available
    assert all(r.notes is None for r in report.agents) and report.total.offered == 10


async def test_response_time_runs_from_the_calls_start(pool: asyncpg.Pool) -> None:
    await CallRepository(pool).upsert_calls(sample())
    report = await build_report(pool, Settings(), PERIOD, ReportFilter(), now=at(160))
    # answered c1..c5 joined the queue 2 s after their start and waited 5, 20, 12, 30, 8 s:
    # response time (start -> answer) = mean(7, 22, 14, 32, 10) = 17 s; ASA from queue 15 s
    assert report.response_time_s == 17.0 and report.total.asa_s == 15.0
    a2 = next(r for r in report.agents if r.agent == "a2")
    assert a2.response_time_s == 32.0  # c4 is logged to a2 (c3's transfer leaves it a1's)

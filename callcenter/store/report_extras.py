"""Figures from other areas' tables, read only when those tables exist.

Notes and complaints come from the agent panel (``call_notes``,
``complaints``), QA scores from the QA sheet (``qa_reviews``). A database
without them (an older schema, a deployment without those features) gives
``None``, and the report says "not available".
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from callcenter.kpis import CENTRE

# Only calls with notes are read (driven by call_notes); the answered counts
# come from the call figures. A complaint note: category 'complaint' or a
# registered complaint (kpis.NotedCall.complaint).
NOTES = """
WITH n AS (
    SELECT n.server, n.linkedid, n.agent, c.agent AS call_agent,
           n.category = 'complaint' OR EXISTS (
               SELECT 1 FROM complaints k WHERE k.note_id = n.id) AS complaint
    FROM call_notes n JOIN calls c USING (server, linkedid)
    WHERE c.started_at >= $1 AND c.started_at < $2 AND c.direction = 'inbound'
      AND (c.answered_at IS NOT NULL OR 'answer' = ANY(c.unknown))
      AND ($3::text IS NULL OR c.queue = $3)),
cn AS (SELECT server, linkedid, call_agent, bool_or(complaint) AS complaint
       FROM n GROUP BY 1, 2, 3),
a AS (SELECT DISTINCT ra.server, ra.linkedid, ra.agent, cn.complaint
      FROM ring_attempts ra JOIN cn USING (server, linkedid) WHERE ra.outcome = 'answered')
SELECT '' AS agent, count(*) AS noted, count(*) FILTER (WHERE complaint) AS complaints FROM cn
WHERE $4::text[] IS NULL OR call_agent = ANY($4::text[])
UNION ALL
SELECT a.agent,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM n WHERE n.server = a.server
                        AND n.linkedid = a.linkedid AND n.agent = a.agent)),
       count(*) FILTER (WHERE a.complaint)
FROM a WHERE $4::text[] IS NULL OR a.agent = ANY($4::text[])
GROUP BY a.agent"""

QA = """
SELECT agent, count(*) AS reviews, avg(total)::float8 AS average FROM qa_reviews
WHERE status = 'submitted' AND total IS NOT NULL
  AND submitted_at >= $1 AND submitted_at < $2
  AND ($3::text[] IS NULL OR agent = ANY($3::text[]))
GROUP BY agent"""


async def tables_exist(conn: asyncpg.Connection, *names: str) -> bool:
    """True when every table of ``names`` exists in the search path."""
    found = await conn.fetchval("SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest($1::text[]) n",
                                list(names))
    return bool(found)


async def note_counts(conn: asyncpg.Connection, *, start: datetime, end: datetime,
                      queue: str | None = None, agents: list[str] | None = None
                      ) -> dict[str, tuple[int, int]] | None:
    """(noted, complaints) of the centre (key ``CENTRE``) and per agent, as in
    :func:`callcenter.kpis.note_figures`; None without the agent panel's tables."""
    if not await tables_exist(conn, "call_notes", "complaints"):
        return None
    rows = await conn.fetch(NOTES, start, end, queue, agents)
    out = {r["agent"]: (r["noted"], r["complaints"]) for r in rows}
    out.setdefault(CENTRE, (0, 0))
    return out


async def qa_averages(conn: asyncpg.Connection, *, start: datetime, end: datetime,
                      agents: list[str] | None = None) -> dict[str, tuple[int, float]] | None:
    """Per agent (reviews, mean total) of QA reviews submitted in [start, end); None without QA."""
    if not await tables_exist(conn, "qa_reviews"):
        return None
    rows = await conn.fetch(QA, start, end, agents)
    return {r["agent"]: (r["reviews"], r["average"]) for r in rows}

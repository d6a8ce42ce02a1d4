"""The SQL form of :mod:`callcenter.kpis`, over the tables of 002_calls.sql.

Each query computes, per bucket, exactly the additive sums of
:class:`~callcenter.kpis.CallFigures` / :class:`~callcenter.kpis.AgentFigures`
that the Python form computes from call records (tests check that both agree
on the same data). Buckets are local days (and hours) of the calls' start in
the centre's time zone. Call parameters: ``$1`` start, ``$2`` end (UTC, end
excluded; calls by their start), ``$3`` now (open calls are measured to it),
``$4`` queue or NULL, ``$5`` agents or NULL, ``$6`` the time zone, ``$7``
split: when given only calls still open or started at/after it, ``$8`` only
ended calls (what the rollup keeps, see :mod:`callcenter.store.report_rollup`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from callcenter.kpis import AgentFigures, CallFigures, ServiceLevelRules, add_time

# ans: answered, even at a time not observed; wait NULL when not observed (metrics.wait_unknown);
# talk_unk / hold_unk: metrics.talk_unknown / hold_unknown.
CALLS_IN_RANGE = """
    SELECT server, linkedid, direction, disposition, agent, answered_at, ended_at, hold_s,
           coalesce(queue, '') AS queue,
           (started_at AT TIME ZONE $6::text)::date AS day,
           extract(hour FROM started_at AT TIME ZONE $6::text)::int AS hour,
           answered_at IS NOT NULL OR 'answer' = ANY(unknown) AS ans,
           CASE WHEN 'wait' = ANY(unknown) OR (answered_at IS NULL AND 'answer' = ANY(unknown))
                THEN NULL
                ELSE greatest(0, extract(epoch FROM coalesce(answered_at, ended_at,
                     $3::timestamptz) - coalesce(queue_joined_at, started_at)))::float8
           END AS wait,
           answered_at IS NULL OR 'talk' = ANY(unknown) OR 'end' = ANY(unknown) AS talk_unk,
           hold_s IS NULL OR 'hold' = ANY(unknown) AS hold_unk,
           'end' = ANY(unknown) AS end_unk
    FROM calls
    WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
      AND direction IN ('inbound', 'outbound')
      AND ($4::text IS NULL OR queue = $4::text)
      AND ($7::timestamptz IS NULL OR ended_at IS NULL OR started_at >= $7::timestamptz)
      AND (NOT $8::bool OR ended_at IS NOT NULL)"""

CALL_FIGURES = f"""
WITH c AS ({CALLS_IN_RANGE} AND ($5::text[] IS NULL OR agent = ANY($5::text[]))),
r AS (
    SELECT ra.server, ra.linkedid,
           count(*) FILTER (WHERE outcome = 'answered' AND within_rule IS NOT NULL) AS ra,
           count(*) FILTER (WHERE outcome = 'answered' AND within_rule) AS raw,
           count(*) FILTER (WHERE outcome = 'no_answer') AS rna
    FROM ring_attempts ra JOIN c USING (server, linkedid)
    WHERE c.direction = 'inbound' GROUP BY 1, 2),
v AS (SELECT server, linkedid, count(*) AS n FROM violations JOIN c USING (server, linkedid)
      WHERE c.direction = 'inbound' GROUP BY 1, 2),
t AS (SELECT DISTINCT server, linkedid FROM transfers JOIN c USING (server, linkedid)),
x AS (
    SELECT c.*, c.direction = 'inbound' AS inb, c.ended_at IS NOT NULL AS ended,
           r.ra, r.raw, r.rna, v.n AS vn, t.linkedid IS NOT NULL AS tr
    FROM c LEFT JOIN r USING (server, linkedid) LEFT JOIN v USING (server, linkedid)
           LEFT JOIN t USING (server, linkedid))
SELECT day, hour, queue,
    count(*) FILTER (WHERE inb) AS offered,
    count(*) FILTER (WHERE inb AND ans) AS answered,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'abandoned' AND ended
                     AND (wait >= $10 OR wait IS NULL)) AS abandoned,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'abandoned' AND ended
                     AND wait < $10) AS short_abandoned,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'timeout' AND ended) AS timeouts,
    count(*) FILTER (WHERE inb AND NOT ans AND NOT ended) AS waiting,
    count(*) FILTER (WHERE inb AND ans AND wait <= $9) AS answered_in_sl,
    coalesce(sum(wait) FILTER (WHERE inb AND ans), 0) AS answer_wait_s,
    coalesce(max(wait) FILTER (WHERE inb), 0) AS wait_s_max,
    count(*) FILTER (WHERE inb AND ans AND ended AND NOT talk_unk) AS handled,
    coalesce(sum(extract(epoch FROM ended_at - answered_at)::float8)
             FILTER (WHERE inb AND ans AND ended AND NOT talk_unk), 0) AS talk_s,
    coalesce(sum(hold_s) FILTER (WHERE inb AND ans AND ended AND NOT hold_unk), 0) AS hold_s,
    count(*) FILTER (WHERE inb AND ans AND tr) AS transferred,
    count(*) FILTER (WHERE inb AND wait IS NULL AND (ans OR ended)) AS wait_unknown,
    count(*) FILTER (WHERE inb AND ans AND wait IS NULL) AS answered_wait_unknown,
    count(*) FILTER (WHERE inb AND ans AND ended AND talk_unk) AS talk_unknown,
    count(*) FILTER (WHERE inb AND ans AND ended AND hold_unk) AS hold_unknown,
    coalesce(sum(ra) FILTER (WHERE inb), 0)::int AS ring_answered,
    coalesce(sum(raw) FILTER (WHERE inb), 0)::int AS ring_answered_within,
    coalesce(sum(rna) FILTER (WHERE inb), 0)::int AS ring_no_answer,
    coalesce(sum(vn) FILTER (WHERE inb), 0)::int AS violations
FROM x GROUP BY day, hour, queue"""

OUTBOUND = f"""
WITH c AS ({CALLS_IN_RANGE} AND ($5::text[] IS NULL OR agent = ANY($5::text[])))
SELECT day, hour, queue, coalesce(disposition, 'open') AS k, count(*) AS n
FROM c WHERE direction = 'outbound' GROUP BY 1, 2, 3, 4"""

AGENT_CALLS = f"""
WITH c AS ({CALLS_IN_RANGE}),
ra0 AS (
    SELECT ra.*, c.day, c.queue AS call_queue, c.ended_at AS call_end, c.end_unk,
        (SELECT min(t.at) FROM transfers t WHERE t.server = ra.server
            AND t.linkedid = ra.linkedid AND t.from_agent = ra.agent
            AND t.at >= ra.ended_at) AS left_at
    FROM ring_attempts ra JOIN c USING (server, linkedid) WHERE c.direction = 'inbound'),
ra AS (
    SELECT *, bool_or(outcome = 'answered' AND call_end IS NOT NULL
                      AND (ended_at IS NULL OR (end_unk AND left_at IS NULL)))
              OVER (PARTITION BY server, linkedid, agent) AS talk_unk
    FROM ra0),
rings AS (
    SELECT day, call_queue AS queue, agent,
        count(DISTINCT (server, linkedid)) FILTER (WHERE outcome = 'answered') AS answered,
        coalesce(sum(greatest(0, extract(epoch FROM least(left_at, call_end) - ended_at)))
            FILTER (WHERE outcome = 'answered' AND call_end IS NOT NULL
                    AND NOT talk_unk), 0)::float8 AS talk_s,
        count(DISTINCT (server, linkedid)) FILTER (WHERE outcome = 'answered' AND talk_unk)
            AS talk_unknown,
        count(*) FILTER (WHERE outcome = 'answered' AND within_rule IS NOT NULL) AS ring_answered,
        count(*) FILTER (WHERE outcome = 'answered' AND within_rule) AS ring_answered_within,
        count(*) FILTER (WHERE outcome = 'no_answer') AS ring_no_answer
    FROM ra GROUP BY 1, 2, 3),
vio AS (SELECT c.day, c.queue, v.agent, count(*) AS violations
        FROM violations v JOIN c USING (server, linkedid)
        WHERE c.direction = 'inbound' GROUP BY 1, 2, 3),
outb AS (SELECT day, queue, agent, count(*) AS outbound,
                coalesce(sum(extract(epoch FROM ended_at - answered_at))
                         FILTER (WHERE NOT (ans AND talk_unk)), 0)::float8 AS outbound_talk_s,
                count(*) FILTER (WHERE ended_at IS NOT NULL AND ans AND talk_unk)
                    AS outbound_talk_unknown
         FROM c WHERE direction = 'outbound' AND agent IS NOT NULL GROUP BY 1, 2, 3)
SELECT day, queue, agent, coalesce(answered, 0) AS answered,
       coalesce(outbound, 0) AS outbound, coalesce(talk_s, 0) AS talk_s,
       coalesce(outbound_talk_s, 0) AS outbound_talk_s,
       coalesce(talk_unknown, 0) AS talk_unknown,
       coalesce(outbound_talk_unknown, 0) AS outbound_talk_unknown,
       coalesce(ring_answered, 0) AS ring_answered,
       coalesce(ring_answered_within, 0) AS ring_answered_within,
       coalesce(ring_no_answer, 0) AS ring_no_answer, coalesce(violations, 0) AS violations
FROM rings FULL JOIN vio USING (day, queue, agent) FULL JOIN outb USING (day, queue, agent)
WHERE $5::text[] IS NULL OR agent = ANY($5::text[])"""

# The state history of [$1, $2) plus each agent's last fact before it; one
# series per agent (ties broken as metrics.agent_time_figures breaks them),
# each state lasting until the next fact, cut at local midnights ($4 the zone).
AGENT_TIME = """
WITH h AS (
    SELECT agent, at, queue, state, paused, reason, in_queue FROM agent_state_history
    WHERE at >= $1::timestamptz AND at < $2::timestamptz
      AND ($3::text[] IS NULL OR agent = ANY($3::text[]))
    UNION ALL
    SELECT b.* FROM (SELECT DISTINCT agent FROM agents
                     WHERE $3::text[] IS NULL OR agent = ANY($3::text[])) a
    CROSS JOIN LATERAL (
        SELECT agent, at, queue, state, paused, reason, in_queue FROM agent_state_history s
        WHERE s.agent = a.agent AND s.at < $1::timestamptz
        ORDER BY at DESC, queue DESC, state DESC, paused DESC LIMIT 1) b),
s AS (
    SELECT *, lead(at) OVER (PARTITION BY agent ORDER BY at, queue, state, paused) AS next_at
    FROM h),
d AS (
    SELECT agent, coalesce(reason, '') AS reason,
        CASE WHEN NOT in_queue OR state IN ('logged_out', 'unavailable') THEN 'offline'
             WHEN paused THEN 'paused' ELSE state END AS activity,
        greatest(at, $1::timestamptz) AS lo,
        least(coalesce(next_at, $2::timestamptz), $2::timestamptz) AS hi
    FROM s),
x AS (
    SELECT d.agent, d.activity, d.reason, day::date AS day,
        extract(epoch FROM least(d.hi, (day + interval '1 day') AT TIME ZONE $4::text)
                - greatest(d.lo, day AT TIME ZONE $4::text))::float8 AS secs
    FROM d CROSS JOIN LATERAL generate_series(date_trunc('day', d.lo AT TIME ZONE $4::text),
                                              d.hi AT TIME ZONE $4::text, interval '1 day') day
    WHERE d.hi > d.lo AND d.activity <> 'offline')
SELECT day, agent, activity, reason, sum(secs) AS secs FROM x
WHERE secs > 0 GROUP BY 1, 2, 3, 4"""


HourKey = tuple[date, int, str]
"""(local day, local hour, queue ('' for none)) of the calls' start."""


@dataclass(frozen=True)
class CallQuery:
    """Which calls: [start, end) by start (UTC), open calls measured at ``now``."""

    start: datetime
    end: datetime
    now: datetime
    tz: str
    queue: str | None = None
    agents: list[str] | None = None
    split: datetime | None = None
    """Only calls still open or started at/after ``split`` (the part no rollup holds)."""
    closed_only: bool = False
    """Only ended calls (what the rollup holds)."""

    @property
    def args(self) -> tuple[Any, ...]:
        """The positional parameters $1..$8 of the call queries."""
        return (self.start, self.end, self.now, self.queue, self.agents, self.tz, self.split,
                self.closed_only)


async def call_figures_by_hour(conn: asyncpg.Connection, ms: ServiceLevelRules, q: CallQuery
                               ) -> dict[HourKey, CallFigures]:
    """CallFigures per (local day, local hour, queue) of the calls of ``q``."""
    out: dict[HourKey, CallFigures] = {}
    names = [n for n in CallFigures().as_dict() if n != "outbound"]
    for r in await conn.fetch(CALL_FIGURES, *q.args, ms.service_level_s, ms.short_abandon_s):
        out[r["day"], r["hour"], r["queue"]] = CallFigures(**{n: r[n] for n in names})
    for r in await conn.fetch(OUTBOUND, *q.args):
        fig = out.setdefault((r["day"], r["hour"], r["queue"]), CallFigures())
        fig.outbound[r["k"]] = r["n"]
    return out


async def agent_call_figures(conn: asyncpg.Connection, q: CallQuery
                             ) -> dict[tuple[date, str, str], AgentFigures]:
    """The call part of AgentFigures per (local day, queue, agent) of the calls of ``q``."""
    return {(r["day"], r["queue"], r["agent"]):
            AgentFigures(**{k: v for k, v in r.items() if k not in ("day", "queue", "agent")})
            for r in await conn.fetch(AGENT_CALLS, *q.args)}


async def agent_time_figures(conn: asyncpg.Connection, start: datetime, end: datetime, tz: str,
                             agents: list[str] | None = None
                             ) -> dict[tuple[date, str], AgentFigures]:
    """The time part of AgentFigures per (local day, agent) over [start, end)."""
    out: dict[tuple[date, str], AgentFigures] = {}
    for r in await conn.fetch(AGENT_TIME, start, end, agents, tz):
        add_time(out.setdefault((r["day"], r["agent"]), AgentFigures()), r["activity"],
                 r["reason"], r["secs"])
    return out


@contextlib.asynccontextmanager
async def reading(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection for one report. The queries take optional filters (``$n IS NULL OR
    ...``): they are planned for the values given, never generically (reset when the
    connection returns to the pool)."""
    async with pool.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_custom_plan")
        yield conn

"""The SQL form of :mod:`callcenter.metrics`, over the tables of 002_calls.sql.

Each query computes, per bucket, exactly the additive sums of
:class:`~callcenter.metrics.CallFigures` / :class:`~callcenter.metrics.AgentFigures`
that the Python form computes from call records (tests check that both agree
on the same data). Common parameters: ``$1`` start, ``$2`` end (UTC, end
excluded; calls by their start), ``$3`` now (open calls are measured to it),
``$4`` queue or NULL, ``$5`` agents or NULL, ``$6`` the time zone.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from callcenter.metrics import AgentFigures, CallFigures, MetricSettings, add_time

CALLS_IN_RANGE = """
    SELECT server, linkedid, direction, disposition, agent, answered_at, ended_at, hold_s,
           (started_at AT TIME ZONE $6::text)::date AS day,
           extract(hour FROM started_at AT TIME ZONE $6::text)::int AS hour,
           greatest(0, extract(epoch FROM coalesce(answered_at, ended_at, $3::timestamptz)
                    - coalesce(queue_joined_at, started_at)))::float8 AS wait
    FROM calls
    WHERE started_at >= $1::timestamptz AND started_at < $2::timestamptz
      AND direction IN ('inbound', 'outbound')
      AND ($4::text IS NULL OR queue = $4::text)"""

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
    SELECT c.*, c.direction = 'inbound' AS inb, c.answered_at IS NOT NULL AS ans,
           r.ra, r.raw, r.rna, v.n AS vn, t.linkedid IS NOT NULL AS tr
    FROM c LEFT JOIN r USING (server, linkedid) LEFT JOIN v USING (server, linkedid)
           LEFT JOIN t USING (server, linkedid))
SELECT day, hour,
    count(*) FILTER (WHERE inb) AS offered,
    count(*) FILTER (WHERE inb AND ans) AS answered,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'abandoned' AND ended_at IS NOT NULL
                     AND wait >= $8) AS abandoned,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'abandoned' AND ended_at IS NOT NULL
                     AND wait < $8) AS short_abandoned,
    count(*) FILTER (WHERE inb AND NOT ans AND disposition = 'timeout'
                     AND ended_at IS NOT NULL) AS timeouts,
    count(*) FILTER (WHERE inb AND NOT ans AND ended_at IS NULL) AS waiting,
    count(*) FILTER (WHERE inb AND ans AND wait <= $7) AS answered_in_sl,
    coalesce(sum(wait) FILTER (WHERE inb AND ans), 0) AS answer_wait_s,
    coalesce(max(wait) FILTER (WHERE inb), 0) AS wait_s_max,
    count(*) FILTER (WHERE inb AND ans AND ended_at IS NOT NULL) AS handled,
    coalesce(sum(extract(epoch FROM ended_at - answered_at)::float8)
             FILTER (WHERE inb AND ans AND ended_at IS NOT NULL), 0) AS talk_s,
    coalesce(sum(hold_s) FILTER (WHERE inb AND ans AND ended_at IS NOT NULL), 0) AS hold_s,
    count(*) FILTER (WHERE inb AND ans AND tr) AS transferred,
    coalesce(sum(ra) FILTER (WHERE inb), 0)::int AS ring_answered,
    coalesce(sum(raw) FILTER (WHERE inb), 0)::int AS ring_answered_within,
    coalesce(sum(rna) FILTER (WHERE inb), 0)::int AS ring_no_answer,
    coalesce(sum(vn) FILTER (WHERE inb), 0)::int AS violations
FROM x GROUP BY day, hour"""

OUTBOUND = f"""
WITH c AS ({CALLS_IN_RANGE} AND ($5::text[] IS NULL OR agent = ANY($5::text[])))
SELECT day, hour, coalesce(disposition, 'open') AS k, count(*) AS n
FROM c WHERE direction = 'outbound' GROUP BY 1, 2, 3"""

AGENT_CALLS = f"""
WITH c AS ({CALLS_IN_RANGE}),
ra AS (
    SELECT ra.*, c.ended_at AS call_end,
        (SELECT min(t.at) FROM transfers t WHERE t.server = ra.server
            AND t.linkedid = ra.linkedid AND t.from_agent = ra.agent
            AND t.at >= ra.ended_at) AS left_at
    FROM ring_attempts ra JOIN c USING (server, linkedid) WHERE c.direction = 'inbound'),
rings AS (
    SELECT agent,
        count(DISTINCT (server, linkedid)) FILTER (WHERE outcome = 'answered') AS answered,
        coalesce(sum(greatest(0, extract(epoch FROM least(left_at, call_end) - ended_at)))
            FILTER (WHERE outcome = 'answered' AND call_end IS NOT NULL
                    AND ended_at IS NOT NULL), 0)::float8 AS talk_s,
        count(*) FILTER (WHERE outcome = 'answered' AND within_rule IS NOT NULL) AS ring_answered,
        count(*) FILTER (WHERE outcome = 'answered' AND within_rule) AS ring_answered_within,
        count(*) FILTER (WHERE outcome = 'no_answer') AS ring_no_answer
    FROM ra GROUP BY agent),
vio AS (SELECT v.agent, count(*) AS violations FROM violations v JOIN c USING (server, linkedid)
        WHERE c.direction = 'inbound' GROUP BY v.agent),
outb AS (SELECT agent, count(*) AS outbound,
                coalesce(sum(extract(epoch FROM ended_at - answered_at)), 0)::float8
                    AS outbound_talk_s
         FROM c WHERE direction = 'outbound' AND agent IS NOT NULL GROUP BY agent)
SELECT agent, coalesce(answered, 0) AS answered, coalesce(outbound, 0) AS outbound,
       coalesce(talk_s, 0) AS talk_s, coalesce(outbound_talk_s, 0) AS outbound_talk_s,
       coalesce(ring_answered, 0) AS ring_answered,
       coalesce(ring_answered_within, 0) AS ring_answered_within,
       coalesce(ring_no_answer, 0) AS ring_no_answer, coalesce(violations, 0) AS violations
FROM rings FULL JOIN vio USING (agent) FULL JOIN outb USING (agent)
WHERE $5::text[] IS NULL OR agent = ANY($5::text[])"""

# The state history of the period plus each agent's last fact before it; one
# series per agent, ties broken as metrics.agent_time_figures breaks them.
AGENT_TIME = """
WITH h AS (
    SELECT agent, at, queue, state, paused, reason, in_queue FROM agent_state_history
    WHERE at >= $1::timestamptz AND at < $2::timestamptz
      AND ($3::text[] IS NULL OR agent = ANY($3::text[]))
    UNION ALL
    SELECT b.* FROM (SELECT DISTINCT agent FROM agent_state_history
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
        extract(epoch FROM least(coalesce(next_at, $2::timestamptz), $2::timestamptz)
                - greatest(at, $1::timestamptz))::float8 AS secs
    FROM s)
SELECT agent, activity, reason, sum(secs) AS secs FROM d
WHERE secs > 0 AND activity <> 'offline' GROUP BY 1, 2, 3"""


Bucket = tuple[Any, int]
"""(local date, local hour) of the calls' start."""


def _call_args(start: Any, end: Any, now: Any, queue: str | None, agents: list[str] | None,
               tz: str) -> tuple[Any, ...]:
    return (start, end, now, queue, agents, tz)


async def call_figures_by_hour(conn: asyncpg.Connection, ms: MetricSettings, *, start: Any,
                               end: Any, now: Any, tz: str, queue: str | None = None,
                               agents: list[str] | None = None) -> dict[Bucket, CallFigures]:
    """CallFigures per (local day, local hour) of the calls started in [start, end)."""
    args = _call_args(start, end, now, queue, agents, tz)
    out: dict[Bucket, CallFigures] = {}
    names = [n for n in CallFigures().as_dict() if n != "outbound"]
    for r in await conn.fetch(CALL_FIGURES, *args, ms.service_level_s, ms.short_abandon_s):
        out[r["day"], r["hour"]] = CallFigures(**{n: r[n] for n in names})
    for r in await conn.fetch(OUTBOUND, *args):
        fig = out.setdefault((r["day"], r["hour"]), CallFigures())
        fig.outbound[r["k"]] = r["n"]
    return out


async def agent_figures(conn: asyncpg.Connection, *, start: Any, end: Any, now: Any, tz: str,
                        queue: str | None = None, agents: list[str] | None = None
                        ) -> dict[str, AgentFigures]:
    """AgentFigures (calls, then time from the state history) per agent over [start, end)."""
    out: dict[str, AgentFigures] = {}
    for r in await conn.fetch(AGENT_CALLS, *_call_args(start, end, now, queue, agents, tz)):
        out[r["agent"]] = AgentFigures(**{k: v for k, v in r.items() if k != "agent"})
    for r in await conn.fetch(AGENT_TIME, start, end, agents):
        add_time(out.setdefault(r["agent"], AgentFigures()), r["activity"], r["reason"],
                 float(r["secs"]))
    return out

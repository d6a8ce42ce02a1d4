"""Reports benchmark: a monthly report over one million generated calls.

Creates a fresh database on the server of ``--dsn`` (default CALLCENTER_TEST_DSN,
else postgresql://postgres@127.0.0.1:5432/postgres), migrates it, generates a
year (2026) of calls with ``generate_series`` in the server — inbound queue
calls (answered, abandoned, short abandons, timeouts), outbound calls, ring
attempts (ring-no-answer before some answers), three-ring violations,
transfers, and the agents' state history (ringing, on call, wrap-up,
available; a lunch pause a day) — then times, in the same run:

- the monthly report of November 2026 (``callcenter.reports.build``: the
  figures by day and hour, every agent, the rollup refreshed first), and
- a plain aggregate query on the same calls (counts and averages per day),

and drops the database. Last line: one JSON object
``{"calls": N, "monthly_s": A, "plain_query_s": B}``.

    python bench/reports.py [--calls 1000000] [--dsn URL] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from callcenter import db
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.periods import parse_period
from callcenter.settings import Settings

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
AGENTS = 40

# One row per call with its random draws; the tables below are filled from it.
GENERATE = f"""
CREATE TEMP TABLE gen AS
SELECT i, 'b' || i AS linkedid,
       timestamptz '2026-01-01 00:00+08' + (i * (365.0 * 86400 / {{calls}})) * interval '1 second'
           + (random() * 60) * interval '1 second' AS started_at,
       random() AS r_kind, random() AS r_wait, random() AS r_talk, random() AS r_ring,
       random() AS r_rna, random() AS r_tr,
       'agent' || (1001 + (i * 7919) % {AGENTS}) AS agent,
       'agent' || (1001 + (i * 7919 + 13) % {AGENTS}) AS other,
       (ARRAY['support', 'sales', 'billing', 'vip'])[1 + i % 4] AS queue
FROM generate_series(1::bigint, {{calls}}) AS i;
"""

FILL = f"""
CREATE TEMP TABLE g AS
SELECT gen.*, CASE WHEN r_kind < 0.08 THEN 'outbound' ELSE 'inbound' END AS direction,
       CASE WHEN r_kind < 0.08 THEN (CASE WHEN r_wait < 0.6 THEN 'answered'
                                          WHEN r_wait < 0.85 THEN 'no_answer' ELSE 'busy' END)
            WHEN r_kind < 0.86 THEN 'answered' WHEN r_kind < 0.90 THEN 'abandoned'
            WHEN r_kind < 0.92 THEN 'short' WHEN r_kind < 0.95 THEN 'timeout'
            ELSE 'no_agents' END AS kind,
       2 + r_wait * 40 AS wait_s, 30 + r_talk * 400 AS talk_s, 1 + r_ring * 20 AS ring_s
FROM gen;
INSERT INTO calls (server, linkedid, direction, caller, callee, queue, queues, agent,
    started_at, queue_joined_at, answered_at, ended_at, wait_s, talk_s, hold_s, hangup_by,
    disposition)
SELECT 'pbx1', linkedid, direction, '138' || lpad((i % 100000000)::text, 8, '0'), '800',
    CASE WHEN direction = 'inbound' THEN queue END,
    CASE WHEN direction = 'inbound' THEN ARRAY[queue] ELSE '{{}}' END,
    CASE WHEN kind = 'answered' OR direction = 'outbound' THEN agent END,
    started_at,
    CASE WHEN direction = 'inbound' THEN started_at + interval '2 s' END,
    CASE WHEN kind = 'answered' THEN started_at + (2 + wait_s) * interval '1 s' END,
    started_at + (2 + CASE kind WHEN 'answered' THEN wait_s + talk_s
                                WHEN 'short' THEN r_wait * 4 WHEN 'timeout' THEN 300
                                ELSE wait_s END) * interval '1 s',
    wait_s, CASE WHEN kind = 'answered' THEN talk_s END,
    CASE WHEN kind = 'answered' AND r_tr < 0.2 THEN 15 ELSE 0 END, 'caller',
    CASE kind WHEN 'short' THEN 'abandoned' ELSE kind END
FROM g;
-- the answering ring attempt, after a ring-no-answer of another agent for 20 %
INSERT INTO ring_attempts (server, linkedid, idx, agent, interface, queue, started_at,
    ended_at, ring_s, rings, outcome, within_rule)
SELECT 'pbx1', linkedid, 0, other, 'PJSIP/' || other, queue,
       started_at + interval '2 s', started_at + interval '17 s', 15, 3, 'no_answer', false
FROM g WHERE direction = 'inbound' AND kind = 'answered' AND r_rna < 0.2 AND wait_s > 16;
INSERT INTO ring_attempts (server, linkedid, idx, agent, interface, queue, started_at,
    ended_at, ring_s, rings, outcome, within_rule)
SELECT 'pbx1', linkedid, 1, agent, 'PJSIP/' || agent, queue,
       started_at + (2 + wait_s - least(ring_s, wait_s)) * interval '1 s',
       started_at + (2 + wait_s) * interval '1 s', least(ring_s, wait_s),
       ceil(least(ring_s, wait_s) / 5), 'answered', least(ring_s, wait_s) <= 15
FROM g WHERE direction = 'inbound' AND kind = 'answered';
INSERT INTO violations (server, linkedid, idx, agent, interface, queue, ring_s, rings,
    deadline_s, at, action, result)
SELECT server, linkedid, 0, agent, interface, queue, 15, 3, 15, ended_at, 'hangup', 'ok'
FROM ring_attempts WHERE outcome = 'no_answer';
INSERT INTO transfers (server, linkedid, idx, type, from_agent, to_agent, at)
SELECT 'pbx1', linkedid, 0, 'blind', agent, other,
       started_at + (2 + wait_s + talk_s / 2) * interval '1 s'
FROM g WHERE direction = 'inbound' AND kind = 'answered' AND r_tr < 0.04;
-- each answered call moves its agent through ringing, on call, wrap-up, available
INSERT INTO agent_state_history (server, interface, queue, at, agent, state, paused, reason,
    in_queue)
SELECT 'pbx1', 'PJSIP/' || agent, queue, started_at + s.off * interval '1 s', agent, s.state,
       false, NULL, true
FROM g CROSS JOIN LATERAL (VALUES
    (2 + wait_s - least(ring_s, wait_s), 'ringing'), (2 + wait_s, 'on_call'),
    (2 + wait_s + talk_s, 'wrap_up'), (2 + wait_s + talk_s + 20, 'available')) s(off, state)
WHERE direction = 'inbound' AND kind = 'answered'
ON CONFLICT DO NOTHING;
-- a lunch pause a day per agent, 12:00-13:00 in Shanghai
INSERT INTO agent_state_history (server, interface, queue, at, agent, state, paused, reason,
    in_queue)
SELECT 'pbx1', 'PJSIP/agent' || a, '', d + p.off * interval '1 h', 'agent' || a, 'available',
       p.paused, p.reason, true
FROM generate_series(1001, 1000 + {AGENTS}) a,
     generate_series(timestamptz '2026-01-01 12:00+08', timestamptz '2026-12-31 12:00+08',
                     interval '1 day') d,
     (VALUES (0, true, 'lunch'), (1, false, NULL)) p(off, paused, reason)
ON CONFLICT DO NOTHING;
INSERT INTO agents (server, interface, agent, state, paused, updated_at)
SELECT 'pbx1', 'PJSIP/agent' || a, 'agent' || a, 'available', false, now()
FROM generate_series(1001, 1000 + {AGENTS}) a;
"""

PLAIN = """
SELECT (started_at AT TIME ZONE $3)::date AS day, count(*) AS calls,
       count(answered_at) AS answered, avg(wait_s) AS wait, avg(talk_s) AS talk,
       sum(hold_s) AS hold
FROM calls WHERE started_at >= $1 AND started_at < $2 GROUP BY 1 ORDER BY 1"""


def server_dsn(dsn: str, name: str) -> str:
    """``dsn`` with its database name replaced by ``name``."""
    base, _, query = dsn.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.rsplit("/", 1)[0] if "/" in rest else rest
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


async def generate(conn: asyncpg.Connection, calls: int) -> None:
    """Fill the calls tables of a migrated database with ``calls`` generated calls.

    Loaded like a restore when the user may (triggers off: the rollup of a
    fresh database is empty, nothing to mark dirty).
    """
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await conn.execute("SET session_replication_role = replica")
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute(GENERATE.format(calls=int(calls)))
    await conn.execute(FILL)
    await conn.execute("RESET session_replication_role")
    await conn.execute("ANALYZE")


async def timed(fn: object, repeat: int) -> float:
    """The best of ``repeat`` runs of the coroutine function ``fn`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best


async def run(dsn: str, calls: int, repeat: int) -> dict[str, float | int]:
    """Generate, time, drop; the figures of the JSON line."""
    name = "cc_bench_" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await db.create_pool(server_dsn(dsn, name), max_size=4)
        try:
            async with pool.acquire() as conn:
                await db.migrate(conn)
                t0 = time.perf_counter()
                await generate(conn, calls)
                print(f"generated {calls} calls in {time.perf_counter() - t0:.1f} s",
                      file=sys.stderr)
            settings = Settings()
            period = parse_period("month", "2026-11-01", None, settings.web.timezone)
            now = datetime(2027, 1, 1, tzinfo=UTC)

            async def monthly() -> None:
                await build_report(pool, settings, period, ReportFilter(), now=now)

            async def plain() -> None:
                await pool.fetch(PLAIN, period.start, period.end, settings.web.timezone)

            first = await timed(monthly, 1)
            print(f"first monthly report (rollup built): {first:.3f} s", file=sys.stderr)
            monthly_s = await timed(monthly, repeat)
            plain_s = await timed(plain, repeat)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return {"calls": calls, "monthly_s": round(monthly_s, 3), "plain_query_s": round(plain_s, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN") or DEFAULT_DSN)
    p.add_argument("--repeat", type=int, default=3, help="best of N timings (default 3)")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args.dsn, args.calls, args.repeat))))


if __name__ == "__main__":
    main()

"""Call search benchmark: the supervisors' /calls queries over one million generated calls.

Creates a scratch database on the server of ``--dsn`` (default CALLCENTER_TEST_DSN,
else postgresql://postgres@127.0.0.1:5432/postgres), fills it with the calls of
``bench/reports.py`` (a year, 2026) plus recordings, notes and QA reviews for a
share of them, then times a fixed set of realistic searches — each a query
string of the page parsed by ``callcenter.console.filters`` and run by
``callcenter.store.call_search``, a first page and the next — twice in the same run:

- the baseline: without migration 015's indexes (dropped before the data is loaded);
- with them (the migration's statements run again on the loaded data).

Last line: ``{"calls": N, "p50_ms": A, "p95_ms": B, "baseline_p50_ms": C,
"baseline_p95_ms": D}`` (milliseconds per page over every search and repeat).

    python bench/call_search.py [--calls 1000000] [--dsn URL] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import asyncpg

from callcenter import db
from callcenter.console.filters import parse_calls
from callcenter.store.call_search import search_calls

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
MIGRATION = Path(db.__file__).parent / "migrations" / "015_call_search.sql"
TZ = "Asia/Shanghai"
NOW = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
"""The bench's "now": the last day of the generated year."""

SEARCHES: list[dict[str, str]] = [
    {},  # the page as it opens: the last 7 days
    {"from": "2026-12-30T12:00", "to": "2026-12-30T18:00", "number": "138*5678"},
    {"from": "2026-10-01", "number": "138*5678"},
    {"from": "2026-12-01", "number": "13800012345"},
    {"from": "2026-01-01", "number": "13800012345"},  # a customer's calls of the year
    {"from": "2026-07-01", "number": "138*5678", "disposition": "abandoned"},
    {"from": "2026-12-20", "number": "5678"},
    {"from": "2026-12-01", "agent": "agent1005"},
    {"queue": "support", "disposition": "abandoned"},
    {"from": "2026-12-01", "queue": "vip", "wait_over": "38"},
    {"from": "2026-12-01", "violation": "yes"},
    {"recording": "yes", "reviewed": "no"},
    {"from": "2026-12-01", "category": "complaint"},
    {"from": "2026-12-01", "reviewed": "yes"},
    {"direction": "outbound", "disposition": "no_answer", "sort": "started", "order": "asc"},
    {"sort": "wait", "order": "desc"},
    {"from": "2026-12-24", "to": "2026-12-24", "agent": "agent1017", "violation": "no"},
]
"""Query strings of the /calls page, as supervisors fill them in."""

EXTRAS = """
INSERT INTO recordings (server, linkedid, file_name, status, call_started_at, duration_s)
SELECT server, linkedid, linkedid || '.wav',
       CASE WHEN abs(hashtext(linkedid)) % 50 = 0 THEN 'missing' ELSE 'ready' END,
       started_at, talk_s
FROM calls WHERE answered_at IS NOT NULL AND abs(hashtext(linkedid)) % 10 < 3;
INSERT INTO call_notes (server, linkedid, agent, category, content)
SELECT server, linkedid, agent,
       (ARRAY['inquiry', 'complaint', 'order', 'other'])[1 + abs(hashtext(linkedid)) % 4], ''
FROM calls WHERE agent IS NOT NULL AND abs(hashtext(linkedid || 'n')) % 10 = 0;
INSERT INTO qa_samples (server, linkedid, week, agent, reasons, seed)
SELECT server, linkedid, '2026-W01', agent, '{random}', 1
FROM calls WHERE agent IS NOT NULL AND abs(hashtext(linkedid || 'q')) % 100 = 0;
INSERT INTO qa_assignments (server, linkedid, inspector)
SELECT server, linkedid, 'qa1' FROM qa_samples;
INSERT INTO qa_reviews (assignment_id, server, linkedid, inspector, agent, form_id,
    form_version, form_hash, form_definition, status, total)
SELECT a.id, a.server, a.linkedid, 'qa1', s.agent, 'f', 1, 'h', '{}', 'submitted', 80
FROM qa_assignments a JOIN qa_samples s USING (server, linkedid);
"""


def reports_bench() -> ModuleType:
    """bench/reports.py, whose generator fills the calls tables."""
    spec = importlib.util.spec_from_file_location("bench_reports",
                                                  Path(__file__).with_name("reports.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def new_indexes() -> list[str]:
    """The names of the indexes migration 015 creates."""
    return re.findall(r"CREATE INDEX (\w+)", MIGRATION.read_text("utf-8"))


async def time_searches(pool: asyncpg.Pool, repeat: int) -> dict[int, list[float]]:
    """Milliseconds of each page fetched, by search (its index in SEARCHES): the first
    page and the next one (when there is one)."""
    samples: dict[int, list[float]] = {i: [] for i in range(len(SEARCHES))}
    for _ in range(repeat):
        for i, params in enumerate(SEARCHES):
            q = parse_calls(params, TZ, NOW)
            after = None
            for _page in range(2):
                t0 = time.perf_counter()
                rows = await search_calls(pool, q.filter, q.sort, after, q.size + 1)
                samples[i].append((time.perf_counter() - t0) * 1000)
                if len(rows) <= q.size:
                    break
                after = rows[q.size - 1].keyset
    return samples


def report(base: dict[int, list[float]], indexed: dict[int, list[float]]) -> None:
    """Each search's median page time without and with the indexes, on stderr."""
    for i, params in enumerate(SEARCHES):
        print(f"{statistics.median(base[i]):8.1f} ms {statistics.median(indexed[i]):8.1f} ms"
              f"  {params}", file=sys.stderr)


def p50_p95(samples: list[float]) -> tuple[float, float]:
    """The median and the 95th percentile of ``samples``, rounded to 0.1 ms."""
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return round(statistics.median(samples), 1), round(cuts[18], 1)


async def load(scratch: str, calls: int) -> None:
    """Fill the scratch database, without migration 015's indexes."""
    conn = await asyncpg.connect(scratch)
    try:
        for name in new_indexes():
            await conn.execute(f"DROP INDEX IF EXISTS {name}")
        t0 = time.perf_counter()
        await reports_bench().generate(conn, calls)
        await conn.execute(EXTRAS)
        await conn.execute("ANALYZE")
        print(f"generated {calls} calls in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        await conn.close()


async def add_indexes(scratch: str) -> None:
    """Run migration 015's statements again on the loaded data."""
    conn = await asyncpg.connect(scratch)
    try:
        t0 = time.perf_counter()
        await conn.execute(MIGRATION.read_text("utf-8"))
        await conn.execute("ANALYZE")
        print(f"015 indexes built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        await conn.close()


async def timed(scratch: str, repeat: int) -> dict[int, list[float]]:
    """The searches' timings on a new pool (no plan cached from another phase)."""
    pool = await db.create_pool(scratch, max_size=2)
    try:
        await time_searches(pool, 1)  # warm the cache alike for both phases
        return await time_searches(pool, repeat)
    finally:
        await db.close_pool(pool, 10.0)


async def run(dsn: str, calls: int, repeat: int) -> dict[str, float | int]:
    """Generate, time without and with the indexes, drop; the figures of the JSON line."""
    async with db.scratch_database(dsn, "cc_bench_search_", migrated=True) as scratch:
        await load(scratch, calls)
        before = await timed(scratch, repeat)
        await add_indexes(scratch)
        after = await timed(scratch, repeat)
    print("median page: without 015 indexes, with them, search", file=sys.stderr)
    report(before, after)
    (p50, p95), base = (p50_p95([t for ts in m.values() for t in ts]) for m in (after, before))
    return {"calls": calls, "p50_ms": p50, "p95_ms": p95, "baseline_p50_ms": base[0],
            "baseline_p95_ms": base[1]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN") or DEFAULT_DSN)
    p.add_argument("--repeat", type=int, default=5, help="times each search runs (default 5)")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args.dsn, args.calls, args.repeat))))


if __name__ == "__main__":
    main()

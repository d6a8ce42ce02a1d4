"""``callcenter rebuild`` over a generated stretch of a 500-seat centre's journal.

Generates, in a fresh database, the journal of ``--calls`` calls of a 500-seat centre
(about 80 calls a seat a day: 40,000 calls and ~2.8 million entries a day): each call
is one of the real2 captures (queue calls answered fast, near the limit, ring-no-answer
twice, abandons, transfers, hold, direct and outbound calls) with fresh linkedids,
channels, bridges and agents, its times shifted to its start, the calls interleaved
in arrival order across UTC days (and months, when long enough). Then, each in a child
process of its own (its peak RSS is the replay's alone):

- ``rebuild`` (:func:`callcenter.ingest.pipeline_replay.rebuild`, the real function: journal
  read, tracker, call records and agent states written), over the journal of a third
  of the calls and then of all of them: entries/s and peak RSS of each (a flat memory
  has the same peak at both sizes);
- the baseline, the previous replay path: ``JournalRepository.entries`` (a
  :class:`JournalEntry` per row, frames decoded by the pool's ``json`` codec) into the
  tracker, every call and state held until the end (its peak grows with the size).

Last line: ``{"entries": N, "entries_per_s": R, "peak_rss_mb": M, "small_peak_rss_mb": S,
"baseline_entries_per_s": B, "baseline_peak_rss_mb": P}`` (N, R, M: the full size).

    python bench/rebuild.py [--calls 15000] [--dsn URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog

from callcenter import db
from callcenter.calls.model import AgentStateChanged, CallRecord
from callcenter.ingest.pipeline import JournalFilter, apply_entry
from callcenter.ingest.pipeline_replay import read_capture, rebuild
from callcenter.store.consumer import calls_in
from callcenter.store.journal import JournalRepository

TRACES = Path(__file__).resolve().parents[1] / "tests" / "traces" / "real2"
SERVER, SEATS, CALLS_PER_DAY = "pbx2", 500, 40_000
START = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
_ID = re.compile(r"pbx2-(\d+)\.(\d+)")
_CHANNEL = re.compile(r"-([0-9a-f]{8})\b")
_UUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)[0-9a-f]{12}")
_AGENT = re.compile(r"agent(\d{4})")
_STAMP = re.compile(r'"Timestamp":"(\d+\.\d+)"')


Template = tuple[float, list[tuple[float, str, str, str | None, str]]]


def scenarios() -> list[Template]:
    """Per real2 capture, when it began and its journaled entries: (offset s, kind, event,
    linkedid, JSON)."""
    out = []
    for path in sorted(TRACES.glob("*.jsonl")):
        filt = JournalFilter(SERVER)
        entries = [e for e in map(filt.entry, read_capture(path)) if e is not None]
        t0 = entries[0].received_at
        out.append((t0, [(e.received_at - t0, e.kind, e.event, e.linkedid,
                           orjson.dumps(e.payload).decode()) for e in entries]))
    return out


def call_rows(template: Template, n: int, start: float, seat: int) -> list[tuple[Any, ...]]:
    """The journal rows of call ``n`` made from ``template``: ids, channels, bridges and
    agents of its own, its times shifted to ``start``."""
    began, entries = template
    shift = start - began

    def fix(text: str) -> str:
        text = _ID.sub(lambda m: f"pbx2-{1_000_000 + n}.{m[2]}", text)
        text = _CHANNEL.sub(lambda m: f"-{(n << 8) + int(m[1], 16) % 256:08x}", text)
        text = _UUID.sub(lambda m: f"{m[1]}{n:012x}", text)
        text = _AGENT.sub(lambda m: f"agent{1001 + (seat + int(m[1])) % SEATS}", text)
        return _STAMP.sub(lambda m: f'"Timestamp":"{float(m[1]) + shift:.6f}"', text)

    rows = []
    for offset, kind, event, linkedid, text in entries:
        at = start + offset
        frame = fix(text)
        stamp = _STAMP.search(frame)
        event_at = float(stamp[1]) if stamp else at
        rows.append((at, kind, event, fix(linkedid) if linkedid else None, frame, event_at))
    return rows


async def generate(dsn: str, calls: int) -> int:
    """Fill the journal of ``dsn`` with ``calls`` calls; the entries written."""
    templates, rng = scenarios(), random.Random(42)
    rows: list[tuple[Any, ...]] = []
    for n in range(calls):
        start = START + n * 86400 / CALLS_PER_DAY + rng.random() * 2
        rows += call_rows(rng.choice(templates), n, start, rng.randrange(SEATS))
    rows.sort(key=lambda r: r[0])
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT journal_add_month(to_timestamp($1))", START)
        await conn.execute("SELECT journal_add_month(to_timestamp($1))", rows[-1][0])
        seq = 0
        records = []
        for at, kind, event, linkedid, frame, event_at in rows:
            seq = max(seq + 1, round(at * 1e6))
            records.append((SERVER, seq, kind, datetime.fromtimestamp(at, UTC),
                            datetime.fromtimestamp(event_at, UTC), event, linkedid, frame))
        for i in range(0, len(records), 100_000):
            await conn.copy_records_to_table("journal", records=records[i:i + 100_000])
        await conn.execute("ANALYZE journal")
    finally:
        await conn.close()
    return len(rows)


async def baseline(pool: asyncpg.Pool) -> int:
    """The previous replay path: entries as JournalEntry objects, everything held."""
    from callcenter.ingest.daemon import make_tracker
    from callcenter.settings import Settings

    tracker = make_tracker(SERVER, Settings())
    calls: dict[str, CallRecord] = {}
    states: list[AgentStateChanged] = []
    n = 0
    async for e in JournalRepository(pool).entries(SERVER):
        n += 1
        facts = apply_entry(tracker, e.kind, e.payload, e.received_at)
        calls.update((c.linkedid, c) for c in calls_in(facts))
        states += [f for f in facts if isinstance(f, AgentStateChanged)]
    return n


async def child(dsn: str, mode: str) -> dict[str, Any]:
    """One measured replay in this process: entries, seconds, peak RSS (MiB)."""
    from callcenter.ingest.daemon import make_tracker
    from callcenter.settings import Settings

    pool = await db.create_pool(dsn, max_size=4)
    try:
        t0 = time.perf_counter()
        if mode == "baseline":
            n = await baseline(pool)
        else:
            await rebuild(pool, lambda s: make_tracker(s, Settings()))
            n = int(await pool.fetchval("SELECT count(*) FROM journal"))
        seconds = time.perf_counter() - t0
    finally:
        await pool.close()
    return {"entries": n, "s": seconds, "rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory (MiB): VmHWM, which starts afresh at exec
    (``ru_maxrss`` keeps the high-water mark of the parent forked from)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(dsn: str, mode: str) -> dict[str, Any]:
    """:func:`child` in a process of its own (a clean peak RSS)."""
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--dsn", dsn],
                         check=True, capture_output=True, text=True, env=env).stdout
    got: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    print(f"{mode}: {got['entries']} entries in {got['s']:.1f} s "
          f"({got['entries'] / got['s']:,.0f}/s), peak RSS {got['rss_mb']:.0f} MiB")
    return got


async def sized(server_dsn: str, calls: int, modes: list[str]) -> dict[str, dict[str, Any]]:
    """Generate ``calls`` calls in a scratch database and measure each of ``modes``."""
    async with db.scratch_database(server_dsn, "cc_bench_rebuild_", migrated=True) as dsn:
        t0 = time.perf_counter()
        entries = await generate(dsn, calls)
        print(f"generated {calls} calls, {entries} entries in {time.perf_counter() - t0:.0f} s")
        return {mode: measure(dsn, mode) for mode in modes}


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--calls", type=int, default=15_000)
    p.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN", ""),
                   help="PostgreSQL server (default: CALLCENTER_TEST_DSN, else embedded)")
    p.add_argument("--child", choices=["rebuild", "baseline"], help=argparse.SUPPRESS)
    args = p.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.child:
        print(json.dumps(asyncio.run(child(args.dsn, args.child))))
        return
    dsn = args.dsn or db.embedded_dsn(Path(tempfile.gettempdir()) / "cc-bench-pgdata")
    small = asyncio.run(sized(dsn, args.calls // 3, ["rebuild", "baseline"]))
    full = asyncio.run(sized(dsn, args.calls, ["rebuild", "baseline"]))
    r, b = full["rebuild"], full["baseline"]
    print(json.dumps({
        "entries": r["entries"], "entries_per_s": round(r["entries"] / r["s"]),
        "peak_rss_mb": round(r["rss_mb"]), "small_peak_rss_mb": round(small["rebuild"]["rss_mb"]),
        "baseline_entries_per_s": round(b["entries"] / b["s"]),
        "baseline_peak_rss_mb": round(b["rss_mb"]),
        "small_baseline_peak_rss_mb": round(small["baseline"]["rss_mb"])}))


if __name__ == "__main__":
    main()

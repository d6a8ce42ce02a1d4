"""Draining an hour of a busy centre's spool into PostgreSQL, with the event loop's stalls.

After an outage the store writer applies its spool while the daemon goes on
(AMI reading, ring deadlines, SSE all share the event loop). This bench
writes a spool as the writer does during an outage (operations of up to 500
journal entries from the real2 captures, fresh ids, ~7 MB a minute: the rate
measured on a busy centre), then drains it into a fresh database with
:class:`callcenter.store.writer.StoreWriter` while a probe task wakes every
millisecond and records how late it wakes (the loop's stalls), with full
garbage collections and the GIL switch interval as the daemon sets them. Baseline in
the same run: the stall of the old way, reading and parsing one segment's
worth of spool inside the loop at once.

    python bench/spool_drain.py [--minutes 60] [--dsn URL]

Last line: ``{"spool_mb": S, "entries": N, "drain_s": D, "entries_per_s": R,
"max_loop_stall_ms": M, "p99_loop_stall_ms": P, "baseline_stall_ms": B}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import structlog

from callcenter import db
from callcenter.ingest.daemon import SWITCH_INTERVAL_S
from callcenter.ingest.pipeline import JournalFilter
from callcenter.ingest.pipeline_replay import read_capture
from callcenter.ingest.quietgc import QuietGC
from callcenter.store.journal import JournalEntry
from callcenter.store.spool import Spool
from callcenter.store.writer import Op, StoreWriter

TRACES = Path(__file__).resolve().parents[1] / "tests" / "traces" / "real2"
MB_PER_MINUTE = 7.1
"""A busy centre's spool growth (100 MB in about 14 minutes)."""
OP_ENTRIES = 500
_ID = re.compile(r"pbx2-(\d+)\.(\d+)")


def template_entries() -> list[JournalEntry]:
    """The journaled entries of every real2 capture, in order."""
    out: list[JournalEntry] = []
    for path in sorted(TRACES.glob("*.jsonl")):
        filt = JournalFilter("pbx2")
        out += [e for e in map(filt.entry, read_capture(path)) if e is not None]
    return out


def write_spool(directory: Path, minutes: float) -> tuple[int, int]:
    """A spool of ``minutes`` of busy traffic; (entries, bytes)."""
    template = template_entries()
    spool = Spool(directory, max_bytes=1 << 40)
    target = minutes * MB_PER_MINUTE * (1 << 20)
    rng = random.Random(7)
    entries = written = 0
    seq = 1_700_000_000_000_000
    while written < target:
        call = rng.randrange(10**9)
        batch = []
        for e in rng.sample(template, OP_ENTRIES):
            seq += 1
            payload = dict(e.payload) if isinstance(e.payload, dict) else e.payload
            if isinstance(payload, dict):
                for key in ("Linkedid", "Uniqueid"):
                    if isinstance(payload.get(key), str):
                        payload[key] = _ID.sub(f"pbx2-{call}.\\2", payload[key])
            batch.append(JournalEntry.of("pbx2", seq, e.kind, payload, seq / 1e6))
        payload_bytes = Op("journal", [e.row() for e in batch]).encode()
        spool.append(payload_bytes)
        entries += len(batch)
        written += len(payload_bytes)
    spool.close()
    return entries, written


async def probe(stalls: list[float], stop: asyncio.Event) -> None:
    """Wake every millisecond; record how late each wake is (seconds)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.001)
        stalls.append(max(0.0, loop.time() - t - 0.001))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def baseline_stall(directory: Path) -> float:
    """The old way: one segment's records read and parsed inside the loop (seconds)."""
    segment = min(directory.glob("*.seg")).read_bytes()
    stalls: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(stalls, stop))
    await asyncio.sleep(0.05)
    offset = 0
    while offset + 8 <= len(segment):  # the framing: length, crc, payload
        size = int.from_bytes(segment[offset:offset + 4], "big")
        orjson.loads(segment[offset + 8:offset + 8 + size])
        offset += 8 + size
    await asyncio.sleep(0.05)
    stop.set()
    await task
    return max(stalls)


async def run(minutes: float, server_dsn: str) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="cc-bench-drain-"))
    t0 = time.perf_counter()
    entries, size = write_spool(directory, minutes)
    print(f"spool written: {entries} entries, {size / 2**20:.0f} MB "
          f"in {time.perf_counter() - t0:.1f} s")
    baseline = await baseline_stall(directory)
    async with db.scratch_database(server_dsn, "cc_bench_drain_", migrated=True) as dsn:
        drain_s, stalls, stored = await drain(directory, dsn)
    shutil.rmtree(directory, ignore_errors=True)
    assert stored == entries, f"{stored} of {entries} entries stored"
    print(f"drained in {drain_s:.1f} s; loop wakes measured: {len(stalls)}")
    return {"spool_mb": round(size / 2**20), "entries": entries, "drain_s": round(drain_s, 1),
            "entries_per_s": round(entries / drain_s),
            "max_loop_stall_ms": round(max(stalls) * 1e3, 2),
            "p99_loop_stall_ms": round(percentile(stalls, 99) * 1e3, 2),
            "baseline_stall_ms": round(baseline * 1e3, 1)}


async def drain(directory: Path, dsn: str) -> tuple[float, list[float], int]:
    """Drain the spool in ``directory`` into ``dsn``: seconds, the loop's stalls, rows stored."""
    pool = await db.create_pool(dsn)
    writer = StoreWriter(pool, directory, retry_s=0.05)
    stalls: list[float] = []
    stop = asyncio.Event()
    quiet = QuietGC([])  # full collections and the GIL switch interval as in the daemon
    quiet.start()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    watcher = asyncio.create_task(probe(stalls, stop))
    t0 = time.perf_counter()
    await writer.start()
    while writer.pending:
        await asyncio.sleep(0.05)
    drain_s = time.perf_counter() - t0
    stop.set()
    await watcher
    quiet.stop()
    stored = await pool.fetchval("SELECT count(*) FROM journal")
    await writer.close()
    await pool.close()
    return drain_s, stalls, int(stored)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0,
                        help="minutes of busy traffic in the spool")
    parser.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN", ""),
                        help="PostgreSQL server (default: CALLCENTER_TEST_DSN, else embedded)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    dsn = args.dsn or db.embedded_dsn(Path(tempfile.gettempdir()) / "cc-bench-pgdata")
    print(json.dumps(asyncio.run(run(args.minutes, dsn))))


if __name__ == "__main__":
    main()

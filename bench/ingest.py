"""Ingest benchmark: AMI frames over a socket → journal + tracker + store in PostgreSQL.

A local TCP server streams realistic call event streams (real2 captures with
fresh ids per call, 500 calls interleaved at any moment) as fast as the
daemon's pipeline takes them; the pipeline journals (COPY), tracks and stores
calls exactly as live. Measured: sustained events/s (every frame read from
the socket), the delay from a frame's arrival to its journal batch being
committed (p50/p99), and — in the same run — the raw ``COPY`` rate of the
journal's rows as the ceiling. Last line: one JSON object.

    python bench/ingest.py [--calls 3000] [--concurrent 500] [--dsn URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from callcenter import db
from callcenter.ami.protocol import AMIProtocol, serialize_frame
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline import ServerPipeline
from callcenter.ingest.pipeline_durable import DurablePath, FanOut
from callcenter.settings import Settings
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter

TRACES = Path(__file__).resolve().parents[1] / "tests" / "traces" / "real2"
TEMPLATES = ["q_answer_fast", "q_rna_twice", "q_answer_near_limit", "hold_unhold",
             "q_caller_hangup_while_ringing", "out_no_answer", "attended_transfer"]
_ID = re.compile(rb"pbx2-(\d+)\.(\d+)")
_CHAN = re.compile(rb"-(0000[0-9a-f]{4})\b")


def templates() -> list[list[bytes]]:
    """Each template call as serialized event frames."""
    out = []
    for name in TEMPLATES:
        frames = []
        for line in (TRACES / f"{name}.jsonl").read_text().splitlines():
            entry = json.loads(line)
            frame = entry.get("frame")
            if frame and "Event" in frame and frame["Event"] not in ("FullyBooted",
                                                                     "SuccessfulAuth"):
                frames.append(serialize_frame(frame))
        out.append(frames)
    return out


def call_frames(template: list[bytes], n: int) -> list[bytes]:
    """The template's frames with ids and channel names unique to call ``n``."""
    def ids(m: re.Match[bytes]) -> bytes:
        return b"pbx2-%d.%s" % (1_900_000_000 + n, m.group(2))

    def chan(m: re.Match[bytes]) -> bytes:
        return b"-%08x" % (n * 16 + int(m.group(1), 16) % 16)

    now = b"%.6f" % time.time()
    return [re.sub(rb"Timestamp: [\d.]+", b"Timestamp: " + now, _CHAN.sub(chan, _ID.sub(ids, f)))
            for f in template]


def stream(calls: int, concurrent: int, seed: int = 7) -> tuple[bytes, int]:
    """The whole byte stream (``concurrent`` calls interleaved) and its frame count."""
    rng = random.Random(seed)
    tpls = templates()
    active: list[list[bytes]] = []
    started, chunks, frames = 0, [], 0
    while started < calls or active:
        while len(active) < concurrent and started < calls:
            active.append(call_frames(tpls[started % len(tpls)], started)[::-1])
            started += 1
        i = rng.randrange(len(active))
        chunks.append(active[i].pop())
        frames += 1
        if not active[i]:
            active[i] = active[-1]
            active.pop()
    return b"".join(chunks), frames


def source(calls: int, concurrent: int, ready: Any) -> None:
    """Child process: build the stream, listen, report (port, frames) on ``ready``, serve once.

    The client gets a banner, any login is accepted, then the stream as fast as it reads.
    """
    data, frames = stream(calls, concurrent)

    async def main() -> None:
        done = asyncio.Event()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"Asterisk Call Manager/11.0.0\r\n")
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
            for i in range(0, len(data), 1 << 16):
                writer.write(data[i:i + (1 << 16)])
                await writer.drain()
            writer.close()
            await writer.wait_closed()  # the last buffered bytes are sent before the loop ends
            done.set()

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        ready.put((server.sockets[0].getsockname()[1], frames, len(data)))
        await done.wait()

    asyncio.run(main())


async def copy_rate(pool: asyncpg.Pool, rows: int = 200_000) -> float:
    """Raw COPY rows/s of journal-shaped rows into an unlogged scratch table."""
    frame = json.dumps({"Event": "Newstate", "Channel": "PJSIP/agent1001-00000001",
                        "Uniqueid": "pbx2-1.1", "Linkedid": "pbx2-1.0", "x" * 20: "y" * 200})
    now = time.time()
    from datetime import UTC, datetime
    ts = datetime.fromtimestamp(now, UTC)
    recs = [("b", i, "frame", ts, ts, "Newstate", "pbx2-1.0", frame) for i in range(rows)]
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE copy_bench (server text, seq bigint, kind text,"
                           " received_at timestamptz, event_time timestamptz, event text,"
                           " linkedid text, frame text)")
        t0 = time.perf_counter()
        for i in range(0, rows, 5000):
            await conn.copy_records_to_table("copy_bench", records=recs[i:i + 5000])
        return rows / (time.perf_counter() - t0)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ready: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=source, args=(args.calls, args.concurrent, ready))
    child.start()
    port, frames, size = await asyncio.to_thread(ready.get)
    print(f"stream: {frames} frames, {size / 1e6:.1f} MB, {args.calls} calls, "
          f"{args.concurrent} concurrent", file=sys.stderr)
    admin_dsn = args.dsn or os.environ.get("CALLCENTER_DSN") or db.embedded_dsn(
        Path(tempfile.gettempdir()) / "callcenter-bench-pg")
    async with db.scratch_database(admin_dsn, "cc_bench_", migrated=True) as dsn:
        return await measure(args, dsn, port, frames, child)


async def measure(args: argparse.Namespace, dsn: str, port: int, frames: int,
                  child: multiprocessing.Process) -> dict[str, Any]:
    """Ingest the child's stream into the database of ``dsn``; the figures."""
    pool = await db.create_pool(dsn)
    try:
        ceiling = await copy_rate(pool)
        delays: list[float] = []

        def committed(arrivals: Any, at: float) -> None:
            delays.extend(at - t for t in arrivals)

        with tempfile.TemporaryDirectory() as spool:
            writer = StoreWriter(pool, spool)
            await writer.start()
            store = StoreConsumer(writer)
            fanout = FanOut([store])
            durable = DurablePath("pbx2", writer, fanout, on_committed=committed)
            pipe = ServerPipeline("pbx2", make_tracker("pbx2", Settings()), durable,
                                  batch_size=args.batch, batch_delay_s=0.02,
                                  queue_size=args.queue)
            pipe.start()
            reader, w = await asyncio.open_connection("127.0.0.1", port)
            proto = AMIProtocol()
            w.write(b"Action: Login\r\nUsername: bench\r\nSecret: x\r\n\r\n")
            t0, cpu0 = time.perf_counter(), time.process_time()
            got = 0
            while chunk := await reader.read(1 << 16):
                t = time.time()
                for f in proto.feed(chunk):
                    if "Event" in f:
                        got += 1
                        await pipe.put("frame", f, t)
            await pipe.stop()
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            await fanout.close()
            await writer.close()
            w.close()
            child.join()
        journaled = await pool.fetchval("SELECT count(*) FROM journal")
        calls = await pool.fetchval("SELECT count(*) FROM calls")
        if got != frames:
            print(f"WARNING: {frames - got} of {frames} frames not received", file=sys.stderr)
        print(f"ingested {got} events in {elapsed:.2f} s ({cpu / got * 1e6:.1f} µs of this"
              f" process's CPU per event); journal rows {journaled}, "
              f"calls {calls}; metrics {vars(pipe.metrics)} "
              f"queue {vars(pipe.queue_metrics)}", file=sys.stderr)
        q = statistics.quantiles(delays, n=100)
        return {"events_per_s": round(got / elapsed), "p50_ms": round(q[49] * 1000, 1),
                "p99_ms": round(q[98] * 1000, 1), "copy_rows_per_s": round(ceiling)}
    finally:
        await pool.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--concurrent", type=int, default=500)
    p.add_argument("--batch", type=int, default=1000, help="journal batch (entries)")
    p.add_argument("--queue", type=int, default=2000, help="ingest queue bound (entries)")
    p.add_argument("--dsn", help="PostgreSQL server (default CALLCENTER_DSN, else embedded)")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()

"""Live views across instances: delay from an AMI event to the live state of another
instance (through PostgreSQL's LISTEN/NOTIFY), against the same instance's in the same run.

Three processes: the simulated PBX (a child process, like Asterisk) keeps
``--concurrent`` calls in progress (``--agents`` agents in one queue; see
``bench/live_fanout.py``); this process runs the owner's daemon (AMI client → tracker →
live state, journal and store) with the live sync publishing; a second child process is
another instance: a live consumer fed only by its live sync's listener.

Delay of one fact = when that instance's live state folded it minus when the owner's
daemon received (from the AMI socket) the event the tracker learned it from. The
baseline is the same fact reaching the owner's own live state.

    python bench/live_sync.py [--concurrent 200] [--agents 50] [--warmup 10] [--seconds 20]
                              [--dsn URL]

Last line: ``{"facts": N, "same_p50_ms": A, "same_p99_ms": B, "other_p50_ms": C,
"other_p99_ms": D}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from live_fanout import percentile, quiet, start_sim

Ident = tuple[str, str, str, str | None, str | None, str | None]


def ident(fact: Any) -> Ident:
    """The same fact in both processes (a call record may have changed in between)."""
    call, attempt = getattr(fact, "call", None), getattr(fact, "attempt", None)
    return (type(fact).__name__, fact.server, fact.at.isoformat(),
            getattr(fact, "linkedid", None) or (call.linkedid if call else None),
            getattr(fact, "interface", None) or (attempt.interface if attempt else None),
            getattr(fact, "queue", None))


def timed(live: Any, method: str, seen: dict[Ident, float]) -> None:
    """Note when each fact passing through ``live.<method>`` was folded in."""
    inner = getattr(live, method)

    def fold(facts: Any) -> None:
        inner(facts)
        now = time.time()
        for f in facts:
            seen.setdefault(ident(f), now)

    setattr(live, method, fold)


# ------------------------------------------------------------------ the other instance

def other_process(dsn: str, conn: Connection) -> None:
    quiet()
    conn.send(asyncio.run(run_other(dsn, conn)))


async def run_other(dsn: str, conn: Connection) -> dict[Ident, float]:
    from callcenter import db
    from callcenter.live import LiveConsumer
    from callcenter.live.sync import LiveSync
    from callcenter.settings import Settings
    from callcenter.store.calls import CallRepository

    pool = await db.create_pool(dsn)
    live = LiveConsumer.from_settings(Settings())
    seen: dict[Ident, float] = {}
    timed(live, "feed_remote", seen)
    sync = LiveSync.for_dsn("other", dsn, live, calls=CallRepository(pool),
                            owns=lambda server: False)
    tasks = [asyncio.create_task(run()) for run in sync.tasks().values()]
    while not sync.listener.link.connected:
        await asyncio.sleep(0.05)
    conn.send("listening")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await pool.close()
    return seen


# ------------------------------------------------------------------ the owner (here)

async def run(args: argparse.Namespace) -> dict[str, Any]:
    from callcenter import db
    from callcenter.ingest.daemon import Daemon
    from callcenter.live import LiveConsumer
    from callcenter.live.sync import LiveSync
    from callcenter.live.wire import synced
    from callcenter.settings import AmiServer, Settings
    from callcenter.store.calls import CallRepository
    from callcenter.store.setup import open_store

    ctx = mp.get_context("spawn")
    loop = asyncio.get_running_loop()
    tmp = Path(tempfile.mkdtemp(prefix="live-sync-"))
    dsn = args.dsn or db.embedded_dsn(tmp / "pgdata")
    pool = await open_store(dsn)
    sim, sim_end, port = await start_sim(ctx, args)
    other_end, other_child = ctx.Pipe()
    other = ctx.Process(target=other_process, args=(dsn, other_child))
    other.start()
    await loop.run_in_executor(None, other_end.recv)  # "listening"

    settings = Settings()
    settings.database.spool_dir = str(tmp / "spool")
    settings.servers = [AmiServer(name="bench", port=port, secret="secret")]
    live = LiveConsumer.from_settings(settings)
    daemon = Daemon(settings, pool, consumers=[live], log_calls=False)
    sync = LiveSync.for_dsn("owner", dsn, live, calls=CallRepository(pool),
                            owns=daemon.pipelines.__contains__)
    sync_tasks = [asyncio.create_task(task()) for task in sync.tasks().values()]
    same: dict[Ident, float] = {}
    timed(live, "feed", same)
    await daemon.start()
    received: dict[Ident, float] = {}
    tracker = daemon.trackers["bench"]
    feed = tracker.feed

    def stamped(frame: Any, received_at: float) -> Any:
        facts = feed(frame, received_at)
        for f in filter(synced, facts):
            received.setdefault(ident(f), received_at)
        return facts

    tracker.feed = stamped  # type: ignore[method-assign]
    sim_end.send("go")
    await asyncio.sleep(args.warmup)
    measured_from = time.time()
    sim_stats = await loop.run_in_executor(None, sim_end.recv)
    await asyncio.sleep(1.0)  # the last notifications arrive
    other_end.send("stop")
    seen = await loop.run_in_executor(None, other_end.recv)
    other.join(10)
    sim.join(20)
    health = sync.health()
    for task in sync_tasks:
        task.cancel()
    await asyncio.gather(*sync_tasks, return_exceptions=True)
    await daemon.stop()
    await live.close()
    await pool.close()

    measured = {k: at for k, at in received.items() if at >= measured_from}
    same_ms = [(same[k] - at) * 1000 for k, at in measured.items() if k in same]
    other_ms = [(seen[k] - at) * 1000 for k, at in measured.items() if k in seen]

    def p(values: list[float], q: float) -> float | None:
        return round(percentile(values, q), 1) if values else None

    return {
        "calls_started": sim_stats["calls_started"], "facts_measured": len(measured),
        "facts_not_seen_by_other": len(measured) - len(other_ms),
        "notifications": health["published"], "dropped": health["dropped"],
        "max_other_ms": round(max(other_ms), 1) if other_ms else None,
        "summary": {"facts": len(other_ms), "same_p50_ms": p(same_ms, 50),
                    "same_p99_ms": p(same_ms, 99), "other_p50_ms": p(other_ms, 50),
                    "other_p99_ms": p(other_ms, 99)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds to ramp up to --concurrent calls (not measured)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--dsn", help="PostgreSQL URL (default: an embedded server)")
    args = parser.parse_args()
    quiet()
    result = asyncio.run(run(args))
    summary = result.pop("summary")
    print(json.dumps(result))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""Ring-rule enforcement lateness with 1,000 calls ringing at once, production wiring.

The simulated PBX runs in a child process (as Asterisk would) with N agents
who never answer, all members of one queue whose member timeout (60 s) is
longer than the 15 s rule; N customers call at once, so N phones ring
together. This process runs the daemon as ``callcenter run`` does
(:class:`callcenter.ingest.daemon.Daemon`: AMI client → tracker → real-time path →
enforcer → command port, and the durable path journaling every event to
PostgreSQL through a loopback proxy), which must hang up each ring (Cause 19)
at its deadline. A second round (``--db-stall SECONDS``, default 20) does the
same while the database does not answer: the proxy stops forwarding, without
closing, from before the rings start until SECONDS after the deadlines. Lateness = when the action reaches the simulator minus (the
ring's first event Timestamp + 15 s), in wall milliseconds. The simulator is
one Python process that needs a few milliseconds to react to each Hangup (the
next member is offered: a dozen events), so with 1,000 deadlines in a few
seconds its own backlog is part of that arrival figure; the time the daemon
wrote each action to the AMI socket is measured too (``sent_*``). Also printed:
the frames per second this process handled while the deadlines fired.

Database: ``--dsn``, else ``CALLCENTER_TEST_DSN``, else the embedded server.
Run: ``python bench/ring_deadlines.py [--ringing 1000] [--speed 1.0] [--db-stall 20]``.
Last line: ``{"ringing": N, "p50_late_ms": A, "p99_late_ms": B, "max_late_ms": C,
"stall_p99_late_ms": D}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog

from callcenter import db
from callcenter.ami.client import AMIClient
from callcenter.ingest.daemon import Daemon
from callcenter.ringrule.enforcer import RingEnforcer
from callcenter.settings import AmiServer, Settings
from callcenter.sim import AgentScript, PBXSimulator, SimConfig
from callcenter.sim.model import AgentConfig, QueueConfig
from callcenter.sim.proxy import pg_proxy

RING_EVENTS = ("AgentCalled", "DialBegin")
DEADLINE_S = Settings().ring.deadline_s


def quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def sim_config(n: int) -> SimConfig:
    """N agents in one rrmemory queue ``support`` (member timeout 60 s), DID 800."""
    agents = [AgentConfig(f"agent{1001 + i}", f"Agent {1001 + i}") for i in range(n)]
    queue = QueueConfig("support", "rrmemory", 60.0, 2.0, [f"PJSIP/{a.endpoint}" for a in agents],
                        max_wait=300.0)
    return SimConfig(agents, [queue], {"800": "support"})


class SharedClock:
    """The simulator's clock, rebuilt from its epoch and monotonic origin (any process)."""

    def __init__(self, speed: float, epoch0: float, mono0: float) -> None:
        self.speed, self._epoch0, self._mono0 = speed, epoch0, mono0

    def now(self) -> float:
        return self._epoch0 + (time.monotonic() - self._mono0) * self.speed


async def run_sim(n: int, speed: float, conn: Connection | None,
                  ready: asyncio.Future[Any] | None = None) -> dict[str, Any]:
    """Serve the PBX; ring N agents on "go"; return ring starts and Hangup arrivals."""
    sim = PBXSimulator(speed=speed, config=sim_config(n), systemname="bench")
    sim.pbx.default_script = AgentScript(answer_after=None)
    ring_start: dict[str, float] = {}
    arrivals: dict[str, float] = {}
    done = asyncio.Event()

    def on_pbx_event(frame: dict[str, Any]) -> None:
        if frame.get("Event") in RING_EVENTS:
            ring_start.setdefault(str(frame["DestChannel"]), float(str(frame["Timestamp"])))

    sim.pbx.listeners.insert(0, on_pbx_event)
    handle = sim.action_handler.handle

    def timed_handle(action: Any) -> Any:
        if action.get("Action") == "Hangup":
            arrivals.setdefault(str(action.get("Channel")), sim.clock.now())
            if len(arrivals) >= n:
                done.set()
        return handle(action)

    sim.action_handler.handle = timed_handle  # type: ignore[method-assign]
    await sim.start()
    hello = {"port": sim.port, "epoch0": sim.clock._epoch0, "mono0": sim.clock._mono0}
    loop = asyncio.get_running_loop()
    if conn is not None:
        conn.send(hello)
        await loop.run_in_executor(None, conn.recv)  # "go"
    elif ready is not None:
        ready.set_result(hello)
        await asyncio.sleep(0.2)
    # a quiet moment first, as on a live PBX: the daemon learns the clock offset from
    # events that were not held up behind a burst
    for paused in (True, False, True, False):
        sim.agent_pause("agent1001", paused, "warm-up")
        await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    for i in range(n):
        await sim.inbound_call(f"+86138{i:08d}", "800")
    while len(ring_start) < n:
        await asyncio.sleep(0.01)
    setup_s = time.perf_counter() - t0
    await asyncio.wait_for(done.wait(), 60.0 + 2 * DEADLINE_S / speed)
    await asyncio.sleep(0.3)
    await sim.stop()
    return {"ring_start": ring_start, "arrivals": arrivals, "setup_s": setup_s}


def sim_process(n: int, speed: float, conn: Connection) -> None:
    quiet()
    conn.send(asyncio.run(run_sim(n, speed, conn)))


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def run(n: int, speed: float, dsn: str, stall_s: float | None) -> dict[str, Any]:
    """One round: N phones ringing at once against the daemon; the database stalled from
    before the rings until ``stall_s`` after the deadlines when given."""
    loop = asyncio.get_running_loop()
    parent, child = mp.get_context("spawn").Pipe()
    proc = mp.get_context("spawn").Process(target=sim_process, args=(n, speed, child))
    proc.start()
    hello = await loop.run_in_executor(None, parent.recv)
    proxy, proxied = pg_proxy(dsn)
    await proxy.start()
    pool = await db.create_pool(proxied(), min_size=1, max_size=4)
    settings = Settings()
    settings.database.spool_dir = tempfile.mkdtemp(prefix="cc-bench-spool-")
    settings.database.write_timeout_s = 5.0
    clock = SharedClock(speed, hello["epoch0"], hello["mono0"])
    enforcer = RingEnforcer.from_settings(settings, clock=clock)
    sent_at: dict[str, float] = {}
    frames = [0]

    def client_factory(server: AmiServer, *, on_event: Any, on_sent: Any, on_connect: Any) -> Any:
        async def counted(frame: Any, at: float) -> None:
            frames[0] += 1
            await on_event(frame, at)

        def note_sent(action: dict[str, Any], at: float) -> None:
            if action.get("Action") == "Hangup":  # ``at``: when it was written (Unix seconds)
                sent_at.setdefault(str(action.get("Channel")),
                                   clock.now() - (time.time() - at) * speed)
            on_sent(action, at)

        return AMIClient.from_settings(server, on_event=counted, on_sent=note_sent,
                                       on_connect=on_connect)

    server = AmiServer(name="bench", host="127.0.0.1", port=hello["port"], secret="secret")
    daemon = Daemon(settings, pool, consumers=[enforcer], servers=[server],
                    client_factory=client_factory, log_calls=False)
    await daemon.start()
    await enforcer.drain()
    if stall_s is not None:
        proxy.stall()
    parent.send("go")
    sim_task = loop.run_in_executor(None, parent.recv)
    while len(enforcer.book) < n:
        await asyncio.sleep(0.005)
    ringing_at_once = len(enforcer.book)
    first = enforcer.book.next_deadline() or clock.now()
    await asyncio.sleep(max(0.0, (first - clock.now()) / speed))
    frames0, t0 = frames[0], time.perf_counter()
    while enforcer.fired < n:
        await asyncio.sleep(0.005)
    await enforcer.drain()
    await asyncio.sleep(0.2)  # the PBX's reactions to the last actions
    fire_s = time.perf_counter() - t0
    fired_frames = frames[0] - frames0
    if stall_s is not None:
        await asyncio.sleep(stall_s)
        spooled = daemon.writer.spooled_ops
        proxy.restore()
    else:
        spooled = 0
    result = await sim_task
    proc.join(10)
    await daemon.stop()
    journaled = await pool.fetchval("SELECT count(*) FROM journal")
    await pool.close()
    await proxy.stop()
    ring_start, arrivals = result["ring_start"], result["arrivals"]
    late_ms = [(arrivals[ch] - (ring_start[ch] + DEADLINE_S)) / speed * 1000
               for ch in arrivals if ch in ring_start]
    sent_ms = [(sent_at[ch] - (ring_start[ch] + DEADLINE_S)) / speed * 1000
               for ch in sent_at if ch in ring_start]
    fired = [x * 1000 for x in enforcer.lateness_s]
    results = [o.violation.result for outs in enforcer.outcomes.values() for o in outs]
    return {
        "database": f"stalled {stall_s:g} s past the deadlines" if stall_s else "answering",
        "sim_setup_s": round(result["setup_s"], 3),
        "ringing_at_once": ringing_at_once,
        "actions_received": len(arrivals),
        "results_ok": results.count("ok"),
        "early": sum(x < 0 for x in late_ms),
        "min_late_ms": round(min(late_ms), 3),
        "mean_late_ms": round(statistics.fmean(late_ms), 2),
        "timer_late_ms_p50_p99": [round(percentile(fired, p), 2) for p in (50, 99)],
        "sent_late_ms_p50_p99_max": [round(percentile(sent_ms, p), 2) for p in (50, 99)]
        + [round(max(sent_ms), 2)],
        "frames_while_firing": fired_frames,
        "frames_per_s_while_firing": round(fired_frames / fire_s),
        "ops_spooled_during_stall": spooled,
        "journal_rows_after": journaled,
        "summary": {
            "ringing": len(late_ms),
            "p50_late_ms": round(percentile(late_ms, 50), 2),
            "p99_late_ms": round(percentile(late_ms, 99), 2),
            "max_late_ms": round(max(late_ms), 2),
        },
    }


async def bench(n: int, speed: float, dsn: str, stall_s: float) -> dict[str, Any]:
    """Both rounds on one fresh database each; the summary of both."""
    summary: dict[str, Any] = {}
    for stall in (None, stall_s):
        async with db.scratch_database(dsn, "cc_bench_", migrated=True) as fresh:
            out = await run(n, speed, fresh, stall)
        print(f"--- database {out['database']}")
        round_summary = out.pop("summary")
        for key, value in out.items():
            print(f"{key:28s} {value}")
        if stall is None:
            summary = round_summary
        else:
            summary["stall_p99_late_ms"] = round_summary["p99_late_ms"]
            summary["stall_max_late_ms"] = round_summary["max_late_ms"]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ringing", type=int, default=1000, help="calls ringing at once")
    parser.add_argument("--speed", type=float, default=1.0, help="simulator speed factor")
    parser.add_argument("--db-stall", type=float, default=20.0,
                        help="seconds the database stays stalled after the deadlines (round 2)")
    parser.add_argument("--dsn", default=os.environ.get("CALLCENTER_TEST_DSN", ""),
                        help="PostgreSQL server (default: CALLCENTER_TEST_DSN, else embedded)")
    args = parser.parse_args()
    quiet()
    dsn = args.dsn or db.embedded_dsn(Path(tempfile.gettempdir()) / "cc-bench-pgdata")
    print(json.dumps(asyncio.run(bench(args.ringing, args.speed, dsn, args.db_stall))))


if __name__ == "__main__":
    main()

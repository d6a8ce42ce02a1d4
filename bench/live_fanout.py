"""Wallboard fan-out: delay from an AMI event to the board update reaching 200 SSE clients.

Three processes, as in production: the simulated PBX (a child process, like
Asterisk) keeps ``--concurrent`` calls in progress (``--agents`` agents in one
queue answer after a few seconds and talk; callers wait in the queue when all
are busy; every ended call is replaced by a new one); this process runs the
daemon (AMI client → journal → tracker → store and live consumers) and the web
app; a second child process holds ``--clients`` signed-in SSE connections to
``/wallboard/events`` and timestamps every board it receives.

Delay of one update = when a client received the board of version *v* minus
when the daemon received (from the AMI socket) the first event that changed
the board since version *v-1* was published. The journal commit, the tracker,
the live state, the rendering (Jinja, per language) and the socket writes are
all inside it.

    python bench/live_fanout.py [--clients 200] [--concurrent 500] [--agents 100]
                                [--warmup 20] [--seconds 30] [--dsn URL]

The ramp-up (``--warmup`` seconds, calls started evenly) is not measured.

Last line: ``{"clients": 200, "p50_ms": A, "p99_ms": B}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import multiprocessing as mp
import random
import re
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import structlog

VERSION = re.compile(rb'data-version="(\d+)"')


def quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


# ------------------------------------------------------------------ the PBX (child)

def sim_process(concurrent: int, agents: int, warmup: float, seconds: float,
                conn: Connection) -> None:
    quiet()
    asyncio.run(run_sim(concurrent, agents, warmup, seconds, conn))


async def run_sim(concurrent: int, n_agents: int, warmup: float, seconds: float,
                  conn: Connection) -> None:
    from callcenter.sim import AgentScript, PBXSimulator, SimConfig
    from callcenter.sim.model import AgentConfig, QueueConfig

    agents = [AgentConfig(f"agent{1001 + i}", f"Agent {1001 + i}") for i in range(n_agents)]
    queue = QueueConfig("support", "rrmemory", 15.0, 1.0, [f"PJSIP/{a.endpoint}" for a in agents],
                        max_wait=3600.0)
    sim = PBXSimulator(speed=1.0, systemname="bench",
                       config=SimConfig(agents, [queue], {"800": "support"}))
    rng = random.Random(7)
    sim.pbx.default_script = AgentScript(answer_after=2.0, talk=20.0)
    await sim.start()
    loop = asyncio.get_running_loop()
    conn.send({"port": sim.port})
    await loop.run_in_executor(None, conn.recv)  # "go"
    stop_at = time.monotonic() + warmup + seconds
    started = 0

    async def one_call(delay: float) -> None:
        nonlocal started
        await asyncio.sleep(delay)
        while time.monotonic() < stop_at:
            started += 1
            script = AgentScript(answer_after=rng.uniform(1, 6), talk=rng.uniform(10, 40))
            call = await sim.inbound_call(f"+86138{started:08d}", "800",
                                          agents={a.endpoint: script for a in agents})
            await call

    tasks = [asyncio.create_task(one_call(i * warmup / concurrent)) for i in range(concurrent)]
    await asyncio.sleep(warmup + seconds)
    conn.send({"calls_started": started})
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await sim.stop()


async def start_sim(ctx: Any, args: argparse.Namespace) -> tuple[Any, Connection, int]:
    """The simulator's process (``--concurrent``, ``--agents``, ``--warmup``,
    ``--seconds``), the pipe to it (send "go" to start the calls) and its AMI port."""
    sim_end, sim_child = ctx.Pipe()
    sim = ctx.Process(target=sim_process,
                      args=(args.concurrent, args.agents, args.warmup, args.seconds, sim_child))
    sim.start()
    port = (await asyncio.get_running_loop().run_in_executor(None, sim_end.recv))["port"]
    return sim, sim_end, port


# ------------------------------------------------------------------ the browsers (child)

def clients_process(url: str, tokens: list[str], conn: Connection) -> None:
    quiet()
    conn.send(asyncio.run(run_clients(url, tokens, conn)))


async def run_clients(url: str, tokens: list[str], conn: Connection) -> list[tuple[float, int]]:
    import aiohttp

    received: list[tuple[float, int]] = []
    connected = 0
    stop = asyncio.Event()

    async def client(token: str) -> None:
        nonlocal connected
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookies={"cc_session": token}, cookie_jar=jar,
                                         timeout=aiohttp.ClientTimeout(total=None)) as s, \
                s.get(url) as resp:
            assert resp.status == 200, resp.status
            connected += 1
            async for line in resp.content:
                if line.startswith(b"data: <div class=\"board\""):
                    match = VERSION.search(line)
                    if match:
                        received.append((time.time(), int(match.group(1))))
                if stop.is_set():
                    return

    tasks = [asyncio.create_task(client(t)) for t in tokens]
    while connected < len(tokens):
        await asyncio.sleep(0.05)
    conn.send("connected")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "stop"
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


# ------------------------------------------------------------------ the daemon (here)

class Origins:
    """When the daemon received the first event behind each published board version."""

    def __init__(self) -> None:
        self.fact_at: dict[int, float] = {}
        self.pending = math.inf
        self.by_version: dict[int, float] = {}
        self.published_at: dict[int, float] = {}
        self.applied_ms: list[float] = []

    def instrument(self, tracker: Any, live: Any) -> None:
        feed, feed_live, publish = tracker.feed, live.feed, live.publish

        def timed_feed(frame: Any, received_at: float) -> Any:
            facts = feed(frame, received_at)
            for f in facts:
                self.fact_at[id(f)] = received_at
            return facts

        def timed_feed_live(facts: Any) -> None:  # the real-time path calls live.feed
            first = min((self.fact_at.pop(id(f), math.inf) for f in facts), default=math.inf)
            before = live.state.version
            feed_live(facts)
            if live.state.version != before:
                self.pending = min(self.pending, first)
                if first < math.inf:
                    self.applied_ms.append((time.time() - first) * 1000)

        def timed_publish() -> None:
            if self.pending < math.inf:
                self.by_version[live.state.version] = self.pending
            self.pending = math.inf
            publish()
            self.published_at[live.state.version] = time.time()

        tracker.feed, live.feed, live.publish = timed_feed, timed_feed_live, timed_publish


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp import web

    from callcenter import db
    from callcenter.ingest.daemon import Daemon
    from callcenter.live import LiveConsumer
    from callcenter.settings import AmiServer, Settings
    from callcenter.store.setup import open_store
    from callcenter.store.users import UserRepository
    from callcenter.web.app import CORE_FEATURES, create_app
    from callcenter.web.testing import ensure_user

    ctx = mp.get_context("spawn")
    loop = asyncio.get_running_loop()
    tmp = Path(tempfile.mkdtemp(prefix="live-fanout-"))
    dsn = args.dsn or db.embedded_dsn(tmp / "pgdata")
    pool = await open_store(dsn)
    sim, sim_end, port = await start_sim(ctx, args)

    settings = Settings()
    settings.web.secure_cookies = False
    settings.database.spool_dir = str(tmp / "spool")
    settings.servers = [AmiServer(name="bench", port=port, secret="secret")]
    live = LiveConsumer.from_settings(settings)
    if args.interval is not None:
        live.min_interval_s = args.interval
    daemon = Daemon(settings, pool, consumers=[live], log_calls=False)
    await daemon.start()
    origins = Origins()
    origins.instrument(daemon.trackers["bench"], live)
    runner = web.AppRunner(create_app(settings, pool, live=live, features=CORE_FEATURES))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    web_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    name, _ = await ensure_user(pool, "supervisor")
    users = UserRepository(pool)
    tokens = [(await users.create_session(name, hours=1))[0] for _ in range(args.clients)]
    cl_end, cl_child = ctx.Pipe()
    clients = ctx.Process(target=clients_process, args=(
        f"http://127.0.0.1:{web_port}/wallboard/events", tokens, cl_child))
    clients.start()
    await loop.run_in_executor(None, cl_end.recv)  # "connected"

    sim_end.send("go")
    await asyncio.sleep(args.warmup)
    measured_from = time.time()
    t0 = time.monotonic()
    peak_calls = peak_waiting = 0
    while time.monotonic() - t0 < args.seconds:
        await asyncio.sleep(0.5)
        peak_calls = max(peak_calls, len(live.state.open_calls))
        peak_waiting = max(peak_waiting, len(live.state.waiting))
    sim_stats = await loop.run_in_executor(None, sim_end.recv)
    cl_end.send("stop")
    received = await loop.run_in_executor(None, cl_end.recv)
    clients.join(10)
    sim.join(20)
    await runner.cleanup()
    await daemon.stop()
    await live.close()
    await pool.close()

    for v, at in list(origins.by_version.items()):
        if at < measured_from:  # the ramp-up is not measured
            del origins.by_version[v]
    delays = [(at - origins.by_version[v]) * 1000 for at, v in received
              if v in origins.by_version]
    published = [(origins.published_at[v] - origins.by_version[v]) * 1000
                 for v in origins.by_version if v in origins.published_at]
    fanout = [(at - origins.published_at[v]) * 1000 for at, v in received
              if v in origins.by_version and v in origins.published_at]
    return {
        "event_to_live_state_ms_p50_p99": [round(percentile(origins.applied_ms, p), 1)
                                           for p in (50, 99)],
        "event_to_rendered_ms_p50_p99": [round(percentile(published, p), 1) for p in (50, 99)],
        "rendered_to_client_ms_p50_p99": [round(percentile(fanout, p), 1) for p in (50, 99)],
        "calls_started": sim_stats["calls_started"], "peak_open_calls": peak_calls,
        "peak_waiting": peak_waiting, "versions_published": len(origins.by_version),
        "updates_received": len(delays), "max_ms": round(max(delays), 1) if delays else None,
        "summary": {"clients": args.clients,
                    "p50_ms": round(percentile(delays, 50), 1) if delays else None,
                    "p99_ms": round(percentile(delays, 99), 1) if delays else None},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=500)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--warmup", type=float, default=20.0,
                        help="seconds to ramp up to --concurrent calls (not measured)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--interval", type=float,
                        help="the live consumer's minimum seconds between updates (default 0.05)")
    parser.add_argument("--dsn", help="PostgreSQL URL (default: an embedded server)")
    args = parser.parse_args()
    quiet()
    result = asyncio.run(run(args))
    summary = result.pop("summary")
    print(json.dumps(result))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

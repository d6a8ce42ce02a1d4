"""``callcenter demo``: embedded PostgreSQL + the PBX simulator + the daemon + the web UI.

One clock: the simulated PBX starts :data:`HISTORY_S` in the past and runs ``--speed``
times faster only until it reaches the wall clock, then in real time. Calls, CEL and
agent states are therefore never stamped after the moment the web app stamps a note,
a complaint or an alert, and every figure (talk, on-call, occupancy) reads one time line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import inspect
import time
from pathlib import Path
from typing import Any

import structlog

from callcenter.cli.common import add_dsn_argument, dsn_from_settings, settings_from_args
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store, start_web, stop_event
from callcenter.daemon import Daemon, callback_consumer, default_consumers
from callcenter.settings import AmiServer, Settings
from callcenter.sim.clock import SimClock
from callcenter.sim.model import SimConfig
from callcenter.store.calls import CallRepository

log = structlog.get_logger(__name__)

HISTORY_S = 3600.0
"""How far in the past the simulated clock starts (with ``--speed`` above 1): the demo
opens with the last hour's calls replayed quickly, then runs in real time."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run everything locally against the PBX simulator")
    p.add_argument("--for", dest="duration", type=float, metavar="SECONDS",
                   help="stop after this many seconds and print a summary")
    p.add_argument("--speed", type=float, default=10.0,
                   help="simulated seconds per real second until the simulated clock, "
                        "started an hour ago, reaches the wall clock (default 10)")
    p.add_argument("--calls-per-hour", type=float, default=60.0,
                   help="random arrivals per simulated hour (default 60: a busy but staffed "
                        "centre for the simulator's 3 agents)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the simulator")
    p.add_argument("--port", type=int, metavar="PORT",
                   help="the web UI's port (default: web.port, 8080; 0: any free port)")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


async def _demo_users(pool: Any) -> Any:
    """The web package's demo users, when it provides ``ensure_demo_users``."""
    import importlib

    for name in ("callcenter.web", "callcenter.web.app", "callcenter.web.auth",
                 "callcenter.web.users"):
        with contextlib.suppress(ImportError):
            fn = getattr(importlib.import_module(name), "ensure_demo_users", None)
            if fn is not None:
                result = fn(pool)
                return await result if inspect.isawaitable(result) else result
    return None


def demo_clock(speed: float) -> SimClock:
    """The demo's PBX clock: :data:`HISTORY_S` ago, catching up with the wall clock at
    ``speed`` (at 1× or slower it simply starts now)."""
    history = HISTORY_S if speed > 1 else 0.0
    return SimClock(speed, time.time() - history, catch_up=True)


def shipped_queues(settings: Settings) -> SimConfig:
    """The simulator's PBX with every queue's member timeout at the ring rule's deadline,
    as ``dialplan/queues.conf`` ships them, surveying the queues of ``survey.queues``."""
    from callcenter.ringrule.policy import rule_for_settings

    config = SimConfig.default()
    config.survey.queues = frozenset(settings.survey.queues)
    rule_for = rule_for_settings(settings)
    for queue in config.queues:
        queue.timeout = rule_for(queue.name).deadline_s
    return config


@guarded
async def run(args: argparse.Namespace) -> int:
    if args.duration is not None and args.duration <= 0:
        raise CliError("--for: give a positive number of seconds")
    if args.speed <= 0 or args.calls_per_hour <= 0:
        raise CliError("--speed and --calls-per-hour must be positive")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise CliError("--port: give a port number from 0 to 65535")
    from callcenter.sim import PBXSimulator
    from callcenter.sim.scenario import run_random

    base = Path(settings_from_args(args).database.data_dir).parent
    settings, pool = await open_cli_store(args, migrate=True)
    monitor = base / "monitor"
    settings.recordings.local_dir = str(monitor)
    if not Path(settings.recordings.store_dir).is_absolute():  # not the current directory
        settings.recordings.store_dir = str(base / settings.recordings.store_dir)
    settings.web.secure_cookies = False  # the demo serves plain http on loopback
    if args.port is not None:
        settings.web.port = args.port
    # the simulated PBX is configured as the shipped dialplan/ (every member timeout = the
    # three-ring deadline) and writes its CEL into the demo's database, as cel_pgsql does
    clock = demo_clock(args.speed)
    sim = PBXSimulator(seed=args.seed, clock=clock, recordings_dir=monitor,
                       systemname="sim", secret="demo", config=shipped_queues(settings),
                       answers_getconfig=True, cel_dsn=dsn_from_settings(settings))
    await sim.start()
    settings.servers = [AmiServer(name="sim", host=sim.host, port=sim.port, secret="demo",
                                  reconnect_min_s=0.2, reconnect_max_s=2.0)]
    stop = stop_event()
    settings.callbacks.agi_port = 0  # a free port, the simulated PBX's AGI() steps told
    callbacks = callback_consumer(settings, pool)
    callbacks.agi.on_listening = lambda port: sim.use_agi(settings.callbacks.agi_host, port)
    daemon = Daemon(settings, pool, consumers=[*default_consumers(settings), callbacks],
                    on_fatal=lambda task: stop.set())
    await daemon.start()
    try:
        web = await start_web(settings, pool, daemon)
    except OSError as exc:
        await daemon.stop()
        await sim.stop()
        why = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise CliError(f"cannot serve the web UI on {settings.web.host}:{settings.web.port} "
                       f"({why}): pass --port with a free port, or --port 0") from None
    users = await _demo_users(pool) if web else None
    traffic = asyncio.create_task(run_random(sim, args.calls_per_hour, seed=args.seed))
    print(f"callcenter demo: PBX simulator on {sim.host}:{sim.port} (the last hour at "
          f"×{args.speed:g}, then real time), "
          f"database {'(embedded) ' if not settings.database.dsn else ''}ready")
    print(f"  web UI: {web[1]}" if web else "  web UI: not built yet")
    if users:
        print(f"  users: {users}")
    print("  calls: `callcenter calls` in another terminal" +
          ("" if args.duration else "; Ctrl-C to stop"))
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
    finally:
        traffic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await traffic
        if web:
            await web[0].cleanup()
        await daemon.stop()
        await sim.stop()
        counts = await CallRepository(pool).count_by_disposition()
        await pool.close()
    total = sum(counts.values())
    print(f"calls logged: {total}" + (" (" + ", ".join(f"{k}: {v}" for k, v in counts.items())
                                      + ")" if counts else ""))
    return 0

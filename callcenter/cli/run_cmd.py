"""``callcenter run``: the daemon on the configured Asterisk servers (+ the web UI).

Also the plumbing the store-side commands share: opening the store from the
arguments and turning expected errors into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib.util
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from callcenter import db
from callcenter.cli.common import add_dsn_argument, dsn_from_settings, settings_from_args
from callcenter.ingest.daemon import Daemon, callback_consumer, default_consumers
from callcenter.ingest.pipeline_replay import CaptureError
from callcenter.logging_setup import configure_logging
from callcenter.settings import Settings
from callcenter.store.setup import SchemaError, StoreUnavailable, open_store
from callcenter.store.writer import UNREACHABLE

log = structlog.get_logger(__name__)


class CliError(Exception):
    """Bad command-line input; the message is shown as is."""


Handler = Callable[[argparse.Namespace], Awaitable[int]]


def guarded(fn: Handler) -> Handler:
    """Run ``fn``; expected errors print ``callcenter: <message>`` and exit with 2."""

    @functools.wraps(fn)
    async def run(args: argparse.Namespace) -> int:
        try:
            return await fn(args)
        except (CliError, CaptureError, StoreUnavailable, SchemaError) as exc:
            print(f"callcenter: {exc}", file=sys.stderr)
            return 2

    return run


async def open_cli_store(args: argparse.Namespace, *, migrate: bool = False
                         ) -> tuple[Settings, asyncpg.Pool]:
    """Settings (``--config``, env, ``--dsn``), logging configured, and a pool on a
    database with this version's schema: migrated first only with ``migrate=True``
    (run, demo); otherwise checked and left untouched (see ``open_store``)."""
    settings = settings_from_args(args)
    configure_logging(settings.log_format)
    pool = await open_store(dsn_from_settings(settings), migrate=migrate)
    return settings, pool


async def start_web(settings: Settings, pool: asyncpg.Pool, daemon: Daemon | None
                    ) -> tuple[Any, str] | None:
    """Serve the web app when the package has one; returns (runner, URL) or None."""
    if importlib.util.find_spec("callcenter.web.app") is None:
        return None
    from aiohttp import web

    from callcenter.agentpanel.web import attach_feed
    from callcenter.web import health
    from callcenter.web.app import create_app

    live = next((c for c in (daemon.consumers if daemon else []) if type(c).__module__
                 .startswith("callcenter.live")), None)
    app = create_app(settings, pool, live=live, commands=daemon.commands if daemon else None)
    attach_feed(app, daemon.consumers if daemon else [])
    if daemon is not None:
        health.setup(app, daemon)
    runner = web.AppRunner(app)
    await runner.setup()
    # live views stream until their browser leaves: stopping waits for them this long
    site = web.TCPSite(runner, settings.web.host, settings.web.port, shutdown_timeout=1.0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{settings.web.host}:{port}/"


def stop_event() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, event.set)
    return event


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the daemon on the configured Asterisk servers")
    add_dsn_argument(p)
    p.add_argument("--no-web", action="store_true", help="do not serve the web UI")
    p.set_defaults(handler=run)


async def open_daemon_store(args: argparse.Namespace) -> tuple[Settings, asyncpg.Pool, bool]:
    """Settings, logging, and a pool for the daemon: migrated when PostgreSQL answers;
    otherwise a pool that connects when it can (True: migrate on the first connection)."""
    settings = settings_from_args(args)
    configure_logging(settings.log_format)
    dsn = dsn_from_settings(settings)
    try:
        probe = await asyncpg.connect(dsn, timeout=settings.database.write_timeout_s)
    except UNREACHABLE as exc:
        log.error("database_unreachable_at_start", error=repr(exc),
                  then="enforcing and spooling; migrating and catching up once it answers")
        return settings, await db.create_pool(dsn, min_size=0), True
    await probe.close()
    return settings, await open_store(dsn), False


async def exit_promptly(code: int, timeout_s: float = 1.0) -> int:
    """``code`` once every other task has ended; tasks that ignore their cancellation for
    ``timeout_s`` (I/O on a database that does not answer) are logged and the process
    exits at once rather than hang on them."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=timeout_s)
    stuck = [t for t in others if not t.done()]
    if stuck:
        log.error("tasks_stuck_at_exit", tasks=[t.get_name() for t in stuck],
                  coroutines=[getattr(t.get_coro(), "__qualname__", "?") for t in stuck])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


@guarded
async def run(args: argparse.Namespace) -> int:
    if not settings_from_args(args).servers:
        raise CliError("no Asterisk servers configured: add [[servers]] to the TOML file "
                       "(see docs/running.md) or run `callcenter demo`")
    settings, pool, migrate = await open_daemon_store(args)
    stop = stop_event()
    daemon = Daemon(settings, pool, consumers=[*default_consumers(settings, pool),
                                               callback_consumer(settings, pool)], migrate=migrate,
                    on_fatal=lambda task: stop.set())
    await daemon.start()
    web = None if args.no_web else await start_web(settings, pool, daemon)
    if web:
        log.info("web_started", url=web[1])
    try:
        await stop.wait()
    finally:
        if web:
            await web[0].cleanup()
        await daemon.stop()
        await db.close_pool(pool)
    if daemon.supervisor.fatal is not None:
        print(f"callcenter: stopped: task {daemon.supervisor.fatal} kept failing (see the log)",
              file=sys.stderr)
        return await exit_promptly(1)
    return await exit_promptly(0)

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
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from callcenter.cli.common import add_dsn_argument, dsn_from_settings, settings_from_args
from callcenter.daemon import Daemon, default_consumers
from callcenter.logging_setup import configure_logging
from callcenter.pipeline_replay import CaptureError
from callcenter.settings import Settings
from callcenter.store.setup import SchemaError, StoreUnavailable, open_store

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
    from callcenter.commands import CommandPort
    from callcenter.web.app import create_app

    live = next((c for c in (daemon.consumers if daemon else []) if type(c).__module__
                 .startswith("callcenter.live")), None)
    app = create_app(settings, pool, live=live,
                     commands=CommandPort(daemon.clients) if daemon else None)
    attach_feed(app, daemon.consumers if daemon else [])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.web.host, settings.web.port)
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


@guarded
async def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not settings.servers:
        raise CliError("no Asterisk servers configured: add [[servers]] to the TOML file "
                       "(see README, Configuration) or run `callcenter demo`")
    settings, pool = await open_cli_store(args, migrate=True)
    daemon = Daemon(settings, pool, consumers=default_consumers(settings))
    stop = stop_event()
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
        await pool.close()
    return 0

"""``callcenter rebuild [--since ISO]``: re-derive call records from the journal."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from callcenter.cli.common import add_dsn_argument, settings_from_args
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.ingest.daemon import make_tracker
from callcenter.ingest.pipeline_replay import rebuild


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rebuild", help="regenerate call records from the event journal")
    p.add_argument("--since", help="only calls with events at/after this ISO 8601 time "
                   "(no offset: the centre's time zone)")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


def parse_since(text: str, tz: str) -> datetime:
    """An ISO 8601 time as UTC; without an offset it is read in ``tz``."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since: not an ISO 8601 date/time: {text!r} "
                       "(e.g. 2026-11-22 or 2026-11-22T08:00:00+08:00)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


@guarded
async def run(args: argparse.Namespace) -> int:
    tz = settings_from_args(args).web.timezone
    since = parse_since(args.since, tz) if args.since else None
    settings, pool = await open_cli_store(args)
    try:
        done = await rebuild(pool, lambda server: make_tracker(server, settings), since,
                             {s.name: s.cel_table for s in settings.servers})
    finally:
        await pool.close()
    total = sum(done.values())
    detail = ", ".join(f"{s}: {n}" for s, n in done.items()) or "journal empty"
    print(f"rebuilt {total} call(s) ({detail})")
    return 0

"""``callcenter recordings purge|hold|verify``: retention, legal hold and integrity."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

import asyncpg

from callcenter.cli.common import add_dsn_argument
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.recordings.retention import PurgeItem, plan_purge, purge, verify
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.recordings import RecordingRepository

ACTOR = "cli"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("recordings", help="purge, legal hold and verify call recordings")
    cmds = p.add_subparsers(dest="recordings_command", metavar="ACTION", required=True)
    pp = cmds.add_parser("purge", help="delete recordings past their retention (audited)")
    pp.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    hp = cmds.add_parser("hold", help="set (or with --off clear) a call's legal hold")
    hp.add_argument("server", help="the Asterisk server's name")
    hp.add_argument("linkedid", help="the call's linkedid")
    hp.add_argument("--off", action="store_true", help="release the hold")
    cmds.add_parser("verify", help="re-check every stored file against its SHA-256 "
                                   "(exit 1 on any mismatch)")
    for sp in cmds.choices.values():
        add_dsn_argument(sp)
    p.set_defaults(handler=run)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _line(verb: str, item: PurgeItem) -> str:
    r = item.rec
    return (f"{verb} {r.server} {r.linkedid} {r.file_name} ({r.path}; queue {r.queue or '-'}, "
            f"{item.age_days:.0f} days old, kept {item.retention_days})")


async def _purge(settings: Settings, pool: asyncpg.Pool, dry_run: bool) -> int:
    items = await plan_purge(pool, settings, datetime.now(UTC))
    if dry_run:
        for item in items:
            print(_line("would purge", item))
        print(f"would purge {len(items)} recording(s)")
        return 0
    done = await purge(pool, settings, items, ACTOR, {"os_user": _os_user()})
    for item in done:
        print(_line("purged", item))
    print(f"purged {len(done)} recording(s)")
    return 0


async def _hold(pool: asyncpg.Pool, server: str, linkedid: str, off: bool) -> int:
    changed = await RecordingRepository(pool).set_hold(server, linkedid, not off)
    if not changed:
        raise CliError(f"no recording of call {server}/{linkedid}")
    action = "recording_hold_released" if off else "recording_hold_set"
    await AuditRepository(pool).record(ACTOR, action, f"call:{server}/{linkedid}",
                                       details={"recordings": changed, "os_user": _os_user()})
    print(f"legal hold {'released on' if off else 'set on'} {changed} recording(s) of "
          f"{server}/{linkedid}")
    return 0


async def _verify(settings: Settings, pool: asyncpg.Pool) -> int:
    checked, problems = await verify(pool, settings.recordings.store_dir)
    for p in problems:
        r = p.rec
        extra = f": stored {r.sha256}, now {p.actual_sha256}" if p.problem == "mismatch" else ""
        print(f"{p.problem.upper()} {r.server} {r.linkedid} {r.file_name} ({r.path}){extra}")
    await AuditRepository(pool).record(ACTOR, "recordings_verified", "recordings", details={
        "checked": checked, "problems": len(problems), "os_user": _os_user()})
    print(f"verified {checked} recording(s): {len(problems)} problem(s)")
    return 1 if problems else 0


@guarded
async def run(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        if args.recordings_command == "purge":
            return await _purge(settings, pool, args.dry_run)
        if args.recordings_command == "hold":
            return await _hold(pool, args.server, args.linkedid, args.off)
        return await _verify(settings, pool)
    finally:
        await pool.close()

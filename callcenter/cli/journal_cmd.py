"""``callcenter journal months|prune``: the journal's monthly partitions and retention."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from callcenter.cli.common import add_dsn_argument
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.store.journal_partitions import JournalPartitions, time_of


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("journal", help="the journal's months: list them, prune old ones")
    p.add_argument("action", choices=["months", "prune"],
                   help="months: the partitions and the horizon; prune: drop (or detach) "
                        "the months older than the retention")
    p.add_argument("--keep-months", type=int,
                   help="full months kept before the current one (default: [database] "
                        "journal_retention_months)")
    p.add_argument("--dry-run", action="store_true", help="prune: say what, change nothing")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


def _day(seq: int) -> str:
    return time_of(seq).strftime("%Y-%m-%d")


@guarded
async def run(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        months = JournalPartitions(pool)
        if args.action == "months":
            for p in await months.months():
                print(f"{p.name}: {_day(p.from_seq)} .. {_day(p.until_seq)} (UTC)")
            horizon = await months.horizon()
            print(f"kept from: {time_of(horizon).isoformat() if horizon else 'the beginning'}")
            return 0
        keep = settings.database.journal_retention_months if args.keep_months is None \
            else args.keep_months
        if keep <= 0:
            raise CliError("journal prune: retention is 0 (keep forever): set [database] "
                           "journal_retention_months or give --keep-months")
        done = await months.prune(datetime.now(UTC), keep,
                                  settings.database.journal_retention_action, args.dry_run)
    finally:
        await pool.close()
    verb = ("would " if args.dry_run else "") + settings.database.journal_retention_action
    names = ", ".join(p.name for p in done.pruned) or "no month"
    print(f"{verb}: {names}; journal kept from {time_of(done.cutoff_seq).isoformat()}")
    if done.held_by:
        print(f"held back by open call(s): {', '.join(done.held_by)}")
    return 0

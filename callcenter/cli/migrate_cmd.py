"""``callcenter migrate``: apply the SQL migrations."""

from __future__ import annotations

import argparse

from callcenter.cli.common import add_dsn_argument, dsn_from_settings, settings_from_args
from callcenter.cli.run_cmd import guarded
from callcenter.store.setup import migrate_store


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("migrate", help="apply database migrations")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


@guarded
async def run(args: argparse.Namespace) -> int:
    applied = await migrate_store(dsn_from_settings(settings_from_args(args)))
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0

"""``callcenter migrate``: apply the SQL migrations."""

from __future__ import annotations

import argparse

import asyncpg

from callcenter import db
from callcenter.cli.common import add_dsn_argument, dsn_from_settings, settings_from_args


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("migrate", help="apply database migrations")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    conn = await asyncpg.connect(dsn_from_settings(settings))
    try:
        applied = await db.migrate(conn)
    finally:
        await conn.close()
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0

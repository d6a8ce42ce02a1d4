"""The ``callcenter`` command line.

Each sub-command lives in a module of this package that defines
``register(subparsers)``; the module adds its parser and sets ``handler`` to a
function taking the parsed arguments and returning an exit code (a coroutine
function is run with asyncio).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

from callcenter.settings import SettingsError

COMMAND_MODULES = [
    "callcenter.cli.migrate_cmd",
    "callcenter.cli.run_cmd",
    "callcenter.cli.demo_cmd",
    "callcenter.cli.replay_cmd",
    "callcenter.cli.calls_cmd",
    "callcenter.cli.rebuild_cmd",
    "callcenter.cli.sim_cmd",
    "callcenter.cli.report_cmd",
    "callcenter.cli.user_cmd",
    "callcenter.cli.checkconfig_cmd",
    "callcenter.cli.qa_cmd",
    "callcenter.cli.recordings_cmd",
    "callcenter.cli.ha_cmd",
    "callcenter.cli.journal_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    from callcenter.settings import user_data_dir

    parser = argparse.ArgumentParser(
        prog="callcenter",
        description="Call-centre telephony integration service for Asterisk.",
        epilog=f"Without a database URL (--dsn, CALLCENTER_DSN or [database] dsn) every "
               f"command uses the embedded PostgreSQL in {user_data_dir() / 'pgdata'} "
               f"(spool: {user_data_dir() / 'spool'}), from whatever directory it runs.",
    )
    parser.add_argument("--config", help="TOML configuration file (or CALLCENTER_CONFIG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        result = handler(args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    except SettingsError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())

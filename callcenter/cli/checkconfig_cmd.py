"""``callcenter check-config DIR``: is this Asterisk configuration what the daemon needs?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.asterisk_conf import ConfInputError
from callcenter.cli.common import settings_from_args
from callcenter.deploy.check import check_config, check_database
from callcenter.deploy.findings import Finding


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check-config",
        help="check an Asterisk configuration directory against the settings",
        description="Reads manager.conf, queues.conf, extensions.conf, pjsip.conf, cel.conf, "
                    "cel_pgsql.conf (and modules.conf if present) of DIR and prints each "
                    "inconsistency with the daemon's settings as FILE:LINE: message; with a "
                    "database URL (--dsn or CALLCENTER_DSN) it also checks the CEL table. "
                    "Exit 0 when clean or with warnings only, 1 with findings, 2 when DIR or a "
                    "file cannot be read.",
    )
    p.add_argument("directory", metavar="DIR", help="the Asterisk configuration (e.g. dialplan/)")
    p.add_argument("--server", metavar="NAME",
                   help="the [[servers]] entry this PBX is (its cel_table); default: any")
    p.add_argument("--dsn", help="PostgreSQL URL of the callcenter database (default: "
                                 "CALLCENTER_DSN; none: the CEL table is not checked)")
    p.add_argument("--no-database", action="store_true",
                   help="do not connect to the database")
    p.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    directory = Path(args.directory)
    try:
        findings = check_config(directory, settings, args.server)
        if settings.database.dsn and not args.no_database:
            findings += await check_database(directory, settings, settings.database.dsn,
                                             args.server)
    except ConfInputError as exc:
        print(f"callcenter check-config: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(f"{directory / finding.file}:{finding.line}: {finding.text}")
    return _verdict(directory, findings)


def _verdict(directory: Path, findings: list[Finding]) -> int:
    errors = sum(not f.warning for f in findings)
    if errors:
        print(f"{errors} finding(s), {len(findings) - errors} warning(s)", file=sys.stderr)
        return 1
    print(f"{directory}: consistent with the settings"
          + (f" ({len(findings)} warning(s))" if findings else ""))
    return 0

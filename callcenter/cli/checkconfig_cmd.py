"""``callcenter check-config DIR``: is this Asterisk configuration what the daemon needs?"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.asterisk_conf import ConfInputError
from callcenter.deploy.check import check_config
from callcenter.settings import load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check-config",
        help="check an Asterisk configuration directory against the settings",
        description="Reads manager.conf, queues.conf, extensions.conf and pjsip.conf of DIR and "
                    "prints each inconsistency with the daemon's settings as FILE:LINE: message. "
                    "Exit 0 when clean, 1 with findings, 2 when DIR or a file cannot be read.",
    )
    p.add_argument("directory", metavar="DIR", help="the Asterisk configuration (e.g. dialplan/)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(getattr(args, "config", None))
    directory = Path(args.directory)
    try:
        findings = check_config(directory, settings)
    except ConfInputError as exc:
        print(f"callcenter check-config: {exc}", file=sys.stderr)
        return 2
    for finding in findings:
        print(f"{directory / finding.file}:{finding.line}: {finding.message}")
    if findings:
        print(f"{len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"{directory}: consistent with the settings")
    return 0

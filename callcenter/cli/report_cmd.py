"""``callcenter report``: write a period's report as CSV or XLSX (for a cron job)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callcenter.cli.common import (
    add_dsn_argument,
    add_lang_argument,
    language,
    settings_from_args,
)
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.reports.build import ReportFilter, build_report
from callcenter.reports.export import FORMATS, to_csv, write
from callcenter.reports.periods import KINDS, PeriodError, parse_period
from callcenter.web.i18n import gettext_for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="write a daily/weekly/monthly report as CSV or XLSX")
    p.add_argument("--period", default="month", help=f"{' | '.join(KINDS)} (default month)")
    p.add_argument("--from", dest="start", help="a day of the period, YYYY-MM-DD (default: "
                   "the last complete period, in the centre's time zone)")
    p.add_argument("--to", dest="end", help="last day of a --period range, YYYY-MM-DD")
    p.add_argument("--queue", help="only this queue")
    p.add_argument("--agent", action="append", default=[],
                   help="only this agent (repeat for a team)")
    p.add_argument("--format", dest="fmt", help="csv | xlsx (default: from --out, else csv)")
    p.add_argument("--out", default="-", help="output file ('-': CSV on stdout)")
    add_lang_argument(p)
    add_dsn_argument(p)
    p.set_defaults(handler=run)


def output_format(fmt: str | None, out: str) -> str:
    """The format asked for, or the one of the output file's suffix; csv by default."""
    chosen = (fmt or Path(out).suffix.lstrip(".") or "csv").lower()
    if chosen not in FORMATS:
        raise CliError(f"--format: {chosen!r} is not one of {', '.join(FORMATS)}")
    if chosen == "xlsx" and out == "-":
        raise CliError("--format xlsx needs --out FILE")
    return chosen


@guarded
async def run(args: argparse.Namespace) -> int:
    fmt = output_format(args.fmt, args.out)
    settings = settings_from_args(args)
    tz, _ = settings.web.timezone, gettext_for(language(args, settings))
    try:
        period = parse_period(args.period, args.start, args.end, tz)
    except PeriodError as exc:
        raise CliError(str(exc)) from None
    if args.out != "-" and not Path(args.out).resolve().parent.is_dir():
        raise CliError(f"--out: directory of {args.out} does not exist")
    settings, pool = await open_cli_store(args)
    try:
        report = await build_report(pool, settings, period,
                                    ReportFilter(args.queue, tuple(args.agent)))
    finally:
        await pool.close()
    if args.out == "-":
        sys.stdout.write(to_csv(report, _))
        return 0
    try:
        write(report, fmt, args.out, _)
    except OSError as exc:
        raise CliError(f"--out: cannot write {args.out}: {exc.strerror}") from None
    print(_("wrote %(path)s (%(fmt)s, %(period)s, %(n)d inbound calls)", path=args.out,
            fmt=fmt, period=period.label, n=report.total.offered))
    return 0

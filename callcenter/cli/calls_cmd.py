"""``callcenter calls``: recent calls as a table, or every call as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.calls.model import CallRecord
from callcenter.cli.common import add_dsn_argument, add_lang_argument, language
from callcenter.cli.run_cmd import guarded, open_cli_store
from callcenter.store.calls import CallRepository
from callcenter.web.i18n import Gettext, gettext_for
from callcenter.web.sheets import text_width
from callcenter.web.words import labeller

COLUMNS = ("Started", "Server", "Linkedid", "Direction", "Caller", "Called number", "Queue",
           "Agent", "Disposition", "Wait", "Talk")
"""Column headers (English msgids)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("calls", help="list recent calls")
    p.add_argument("--json", action="store_true", help="print a JSON array (record_to_json)")
    p.add_argument("--all", action="store_true", help="every call, oldest first")
    p.add_argument("--limit", type=int, default=30, help="calls to show (default 30)")
    add_lang_argument(p)
    add_dsn_argument(p)
    p.set_defaults(handler=run)


def call_json(call: CallRecord) -> dict[str, Any]:
    """The ``calls --json`` object of one call (the tracker's record_to_json shape)."""
    from callcenter.calls.replay import record_to_json

    out: dict[str, Any] = record_to_json(call)
    return out


def _secs(value: float | None, _: Gettext) -> str:
    return "" if value is None else _("%(n)d s", n=round(value))


def table(calls: list[CallRecord], tz: str, _: Gettext | None = None) -> str:
    """A plain-text table of ``calls`` in ``_``'s language (default English), times in
    the centre's time zone ``tz``; columns aligned for wide (CJK) characters too."""
    _ = _ or gettext_for("en")
    zone, label = ZoneInfo(tz), labeller(_)

    def when(t: datetime) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    rows = [[_(h) for h in COLUMNS]] + [
        [when(c.started_at), c.server, c.linkedid, label("direction", c.direction),
         c.caller or "", c.callee or "", c.queue or "", c.agent or "",
         label("disposition", c.disposition), _secs(c.wait_s, _), _secs(c.talk_s, _)]
        for c in calls]
    widths = [max(text_width(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v + " " * (w - text_width(v))
                               for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


@guarded
async def run(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        repo = CallRepository(pool)
        limit = None if args.all else max(args.limit, 0)
        calls = await repo.list_calls(limit=limit, newest_first=not args.all)
    finally:
        await pool.close()
    _ = gettext_for(language(args, settings))
    if args.json:
        json.dump([call_json(c) for c in calls], sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        print(table(calls, settings.web.timezone, _) if calls else _("no calls yet"))
    return 0
